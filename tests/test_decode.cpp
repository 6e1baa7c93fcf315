// Pose decoding: hand-made heatmaps, offsets and displacements with known answers. Expected values
// were cross-checked against the package's own decoders (pose-detection 2.1.3 on tfjs-backend-cpu).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "posenet/decode.h"

using namespace posenet;

namespace {

// Model outputs for one image on an h x w grid, all zero until set.
struct Outputs {
    int h, w;
    std::vector<float> scores, offsets, fwd, bwd;
    Outputs(int h_, int w_)
        : h(h_), w(w_), scores(size_t(h * w * 17)), offsets(size_t(h * w * 34)), fwd(size_t(h * w * 32)),
          bwd(size_t(h * w * 32)) {}
    size_t cell(int y, int x) const { return size_t(y) * size_t(w) + size_t(x); }
    void score(int y, int x, int k, float v) { scores[cell(y, x) * 17 + size_t(k)] = v; }
    void offset(int y, int x, int k, float dy, float dx) {
        offsets[cell(y, x) * 34 + size_t(k)] = dy;
        offsets[cell(y, x) * 34 + 17 + size_t(k)] = dx;
    }
    void disp_fwd(int y, int x, int e, float dy, float dx) {
        fwd[cell(y, x) * 32 + size_t(e)] = dy;
        fwd[cell(y, x) * 32 + 16 + size_t(e)] = dx;
    }
    void disp_bwd(int y, int x, int e, float dy, float dx) {
        bwd[cell(y, x) * 32 + size_t(e)] = dy;
        bwd[cell(y, x) * 32 + 16 + size_t(e)] = dx;
    }
    std::vector<Pose> multi(int max_poses, double threshold, double nms, ToImage to = {}) const {
        return decode_multiple_poses(scores, offsets, fwd, bwd, h, w, 16, max_poses, threshold, nms, to);
    }
};

constexpr int kNose = 0, kLeftEye = 1, kLeftEar = 3, kLeftElbow = 7, kLeftWrist = 9;

}  // namespace

TEST_CASE("decode: sigmoid is 1 / (1 + exp(-x)) in double, rounded to float32") {
    CHECK(sigmoid(0.0f) == 0.5f);
    CHECK(sigmoid(100.0f) == 1.0f);
    CHECK(sigmoid(-100.0f) > 0.0f);
    for (float x : {-7.25f, -1.0f, -0.1f, 0.3f, 2.0f, 5.5f})
        CHECK(sigmoid(x) == float(1.0 / (1.0 + std::exp(-double(x)))));
    const std::vector<float> logits = {-1.0f, 0.0f, 3.0f};
    const std::vector<float> s = sigmoid(logits);
    CHECK(s[1] == 0.5f);
    CHECK(s[2] == sigmoid(3.0f));
}

TEST_CASE("decode: Math.round semantics") {
    CHECK(js_round(2.5) == 3.0);
    CHECK(js_round(-2.5) == -2.0);
    CHECK(js_round(0.49999999999999994) == 0.0);
    CHECK(js_round(-0.5000000000000001) == -1.0);
    CHECK(js_round(4503599627370497.0) == 4503599627370497.0);
}

TEST_CASE("decode: single pose takes the peak cell plus its offset") {
    Outputs o(5, 5);
    for (float& s : o.scores) s = 0.1f;
    o.score(2, 3, kLeftWrist, 0.9f);
    o.offset(2, 3, kLeftWrist, 1.5f, -2.25f);
    o.offset(0, 0, kNose, 0.75f, 3.0f);
    const Pose p = decode_single_pose(o.scores, o.offsets, 5, 5, 16);
    const Keypoint& wrist = p.keypoints[kLeftWrist];
    CHECK(wrist.name == "left_wrist");
    CHECK(wrist.x == 3 * 16 - 2.25f);
    CHECK(wrist.y == 2 * 16 + 1.5f);
    CHECK(wrist.score == 0.9f);
    // Flat heatmaps: the first maximum in row-major order (cell 0) wins.
    CHECK(p.keypoints[kNose].x == 3.0f);
    CHECK(p.keypoints[kNose].y == 0.75f);
    CHECK(p.keypoints[kNose].score == 0.1f);
    double total = 0;
    for (int k = 0; k < 17; ++k) total += double(k == kLeftWrist ? 0.9f : 0.1f);
    CHECK(p.score == float(total / 17));

    // Ties: the earlier cell wins, even against a later one of the same score.
    o.score(4, 4, kLeftWrist, 0.9f);
    CHECK(decode_single_pose(o.scores, o.offsets, 5, 5, 16).keypoints[kLeftWrist].y == 33.5f);
    // The position is float32: cell * stride + offset rounded once.
    o.offset(2, 3, kLeftWrist, 0.1f, 0.0f);
    CHECK(decode_single_pose(o.scores, o.offsets, 5, 5, 16).keypoints[kLeftWrist].y == float(32.0 + double(0.1f)));
}

TEST_CASE("decode: single pose maps back through the letterbox and flips") {
    Outputs o(17, 17);  // 257 x 257 at stride 16
    o.score(8, 8, kNose, 0.8f);
    o.offset(8, 8, kNose, 0.5f, 0.5f);  // nose at (128.5, 128.5) in the model input
    const Letterbox lb = compute_letterbox(200, 100, 257, 257);  // 100 wide x 200 tall, pads 0.25
    const Pose p = decode_single_pose(o.scores, o.offsets, 17, 17, 16, {&lb, false});
    // x = (128.5 - 0.25 * 257) * 100 / (257 * 0.5) = 50; y = 128.5 * 200 / 257 = 100.
    CHECK(p.keypoints[kNose].x == doctest::Approx(50.0).epsilon(1e-6));
    CHECK(p.keypoints[kNose].y == doctest::Approx(100.0).epsilon(1e-6));
    const double sx = 100.0 / (257 * (1 - 0.25 - 0.25)), sy = 200.0 / (257 * (1 - 0.0 - 0.0));
    CHECK(p.keypoints[kNose].x == float((128.5 + -0.25 * 257) * sx));
    CHECK(p.keypoints[kNose].y == float((128.5 + -0.0 * 257) * sy));

    const Pose f = decode_single_pose(o.scores, o.offsets, 17, 17, 16, {&lb, true});
    for (int k = 0; k < 17; ++k) {
        CHECK(f.keypoints[size_t(k)].y == p.keypoints[size_t(k)].y);
        CHECK(f.keypoints[size_t(k)].x == doctest::Approx(100 - 1 - double(p.keypoints[size_t(k)].x)));
    }
    CHECK(f.keypoints[kNose].x == doctest::Approx(49.0).epsilon(1e-6));

    // scale_poses / flip_poses_horizontal on model-input poses agree.
    std::vector<Pose> model = {decode_single_pose(o.scores, o.offsets, 17, 17, 16)};
    CHECK(model[0].keypoints[kNose].x == 128.5f);
    scale_poses(model, lb);
    flip_poses_horizontal(model, 100);
    CHECK(model[0].keypoints[kNose].x == f.keypoints[kNose].x);
    CHECK(model[0].keypoints[kNose].name == "nose");

    CHECK_THROWS_AS(decode_single_pose(o.scores, o.offsets, 17, 17, 16, {nullptr, true}), std::invalid_argument);
}

TEST_CASE("decode: multi pose follows displacements with two offset refinements") {
    Outputs o(9, 9);
    o.score(2, 2, kNose, 0.95f);  // the only root above the threshold
    o.score(2, 3, kLeftEye, 0.3f);
    o.offset(2, 2, kNose, 0.0f, 0.0f);
    // Forward edge 0 (nose -> left_eye) from the nose cell: (32, 32) + (3, 17) = (35, 49) -> cell (2, 3).
    o.disp_fwd(2, 2, 0, 3.0f, 17.0f);
    o.offset(2, 3, kLeftEye, -1.25f, 0.75f);  // left_eye = (2*16 - 1.25, 3*16 + 0.75)
    // Backward: a wrist root grows its elbow with edge 6 (left_elbow -> left_wrist).
    o.score(6, 6, kLeftWrist, 0.9f);
    o.offset(6, 6, kLeftWrist, 0.5f, -0.5f);   // wrist = (96.5, 95.5)
    o.disp_bwd(6, 6, 6, -40.0f, 7.0f);         // -> (56.5, 102.5) -> cell (4, 6)
    o.offset(4, 6, kLeftElbow, 1.0f, 1.0f);    // elbow = (65, 97)
    o.score(4, 6, kLeftElbow, 0.25f);

    const std::vector<Pose> poses = o.multi(5, 0.5, 20);
    REQUIRE(poses.size() == 2);
    const Pose& a = poses[0];
    CHECK(a.keypoints[kNose].x == 32.0f);
    CHECK(a.keypoints[kNose].y == 32.0f);
    CHECK(a.keypoints[kNose].score == 0.95f);
    CHECK(a.keypoints[kLeftEye].x == 48.75f);
    CHECK(a.keypoints[kLeftEye].y == 30.75f);
    CHECK(a.keypoints[kLeftEye].score == 0.3f);
    // left_ear: zero displacement from the eye, nearest cell (2, 3), zero offset.
    CHECK(a.keypoints[kLeftEar].x == 48.0f);
    CHECK(a.keypoints[kLeftEar].y == 32.0f);
    CHECK(a.score == float((double(0.95f) + double(0.3f)) / 17));

    const Pose& b = poses[1];
    CHECK(b.keypoints[kLeftWrist].x == 95.5f);
    CHECK(b.keypoints[kLeftWrist].y == 96.5f);
    CHECK(b.keypoints[kLeftElbow].x == 97.0f);
    CHECK(b.keypoints[kLeftElbow].y == 65.0f);
    CHECK(b.keypoints[kLeftElbow].score == 0.25f);
    for (int k = 0; k < 17; ++k) CHECK(b.keypoints[size_t(k)].name == kKeypointNames[size_t(k)]);
}

TEST_CASE("decode: multi pose returns two separated people in heap order") {
    Outputs o(9, 9);
    for (int k = 0; k < 17; ++k) {
        o.score(2, 2, k, 0.8f);  // person A, enqueued first, lower score
        o.score(6, 6, k, 0.9f);  // person B
    }
    const std::vector<Pose> poses = o.multi(5, 0.5, 20);
    REQUIRE(poses.size() == 2);
    CHECK(poses[0].keypoints[kNose].x == 96.0f);  // B first: higher root score
    CHECK(poses[0].score == doctest::Approx(0.9));
    CHECK(poses[1].keypoints[kNose].x == 32.0f);
    CHECK(poses[1].score == doctest::Approx(0.8));
    CHECK(o.multi(1, 0.5, 20).size() == 1);
    CHECK(o.multi(5, 0.85, 20).size() == 1);  // A's roots are below the threshold

    // Equal root scores come out in the package's max-heap order, not in enqueue order:
    // roots enqueued P1..P4 (row-major) are dequeued P1, P4, P3, P2.
    Outputs q(9, 9);
    q.score(1, 1, kNose, 0.9f);
    q.score(1, 7, kNose, 0.9f);
    q.score(7, 1, kNose, 0.9f);
    q.score(7, 7, kNose, 0.9f);
    const std::vector<Pose> tied = q.multi(10, 0.5, 20);
    REQUIRE(tied.size() == 4);
    CHECK(tied[0].keypoints[kNose].x == 16.0f);
    CHECK(tied[0].keypoints[kNose].y == 16.0f);
    CHECK(tied[1].keypoints[kNose].x == 112.0f);
    CHECK(tied[1].keypoints[kNose].y == 112.0f);
    CHECK(tied[2].keypoints[kNose].x == 16.0f);
    CHECK(tied[2].keypoints[kNose].y == 112.0f);
    CHECK(tied[3].keypoints[kNose].x == 112.0f);
    CHECK(tied[3].keypoints[kNose].y == 16.0f);
}

TEST_CASE("decode: multi pose NMS suppresses a duplicate root and discounts overlapping keypoints") {
    Outputs o(9, 9);
    o.score(2, 2, kNose, 0.9f);
    o.score(2, 4, kNose, 0.85f);  // a second nose root 32 px to the right
    // Within nms_radius 40 (squared: 1024 <= 1600) of the first pose's nose: skipped.
    CHECK(o.multi(5, 0.5, 40).size() == 1);
    // nms_radius 32 is inclusive (<=); 31.9 lets it through.
    CHECK(o.multi(5, 0.5, 32).size() == 1);
    CHECK(o.multi(5, 0.5, 31.9).size() == 2);

    // The second pose's left_eye lands on the first pose's left_eye: its score is not counted.
    o.disp_fwd(2, 4, 0, 0.0f, -32.0f);
    o.score(2, 2, kLeftEye, 0.4f);  // below the threshold: not a root
    const std::vector<Pose> poses = o.multi(5, 0.5, 20);
    REQUIRE(poses.size() == 2);
    CHECK(poses[0].score == float((double(0.9f) + double(0.4f)) / 17));
    CHECK(poses[1].keypoints[kLeftEye].x == 32.0f);
    CHECK(poses[1].keypoints[kLeftEye].score == 0.4f);
    CHECK(poses[1].score == float(double(0.85f) / 17));
}

TEST_CASE("decode: multi pose maps back and flips like the single pose") {
    Outputs o(17, 17);
    o.score(8, 8, kNose, 0.8f);
    o.offset(8, 8, kNose, 0.5f, 0.5f);
    const Letterbox lb = compute_letterbox(200, 100, 257, 257);
    const std::vector<Pose> m = o.multi(3, 0.5, 20, {&lb, true});
    REQUIRE(m.size() == 1);
    const Pose s = decode_single_pose(o.scores, o.offsets, 17, 17, 16, {&lb, true});
    CHECK(m[0].keypoints[kNose].x == s.keypoints[kNose].x);
    CHECK(m[0].keypoints[kNose].y == s.keypoints[kNose].y);

    EstimationConfig config;
    config.max_poses = 3;
    config.flip_horizontal = true;
    const std::vector<Pose> d = decode_poses(o.scores, o.offsets, o.fwd, o.bwd, 17, 17, 16, config, &lb);
    REQUIRE(d.size() == 1);
    CHECK(d[0].keypoints[kNose].x == s.keypoints[kNose].x);
    config.max_poses = 1;
    CHECK(decode_poses(o.scores, o.offsets, {}, {}, 17, 17, 16, config, &lb)[0].keypoints[kNose].x ==
          s.keypoints[kNose].x);
}

TEST_CASE("decode: bad sizes and parameters are reported") {
    Outputs o(3, 3);
    CHECK_THROWS_AS(decode_single_pose(o.scores, o.offsets, 3, 4, 16), std::invalid_argument);
    CHECK_THROWS_AS(decode_single_pose(o.scores, o.fwd, 3, 3, 16), std::invalid_argument);
    CHECK_THROWS_AS(decode_single_pose(o.scores, o.offsets, 3, 3, 0), std::invalid_argument);
    CHECK_THROWS_AS(o.multi(0, 0.5, 20), std::invalid_argument);
    CHECK_THROWS_AS(o.multi(2, 1.5, 20), std::invalid_argument);
    CHECK_THROWS_AS(o.multi(2, 0.5, 0), std::invalid_argument);
    CHECK_THROWS_AS(decode_multiple_poses(o.scores, o.offsets, o.fwd, o.offsets, 3, 3, 16, 2, 0.5, 20),
                    std::invalid_argument);
    CHECK(o.multi(5, 0.5, 20).empty());  // nothing above the threshold
}

namespace {

// The reference side (Node, pose-detection 2.1.3 + tfjs-backend-cpu 4.22.0) filled the same arrays from
// this xorshift32, ran tf.sigmoid, decodeSinglePose, decodeMultiplePoses, then scalePoses and
// flipPosesHorizontal for a 333 x 480 image, and summed (index * fround(value)) over every pose score
// and keypoint x, y, score in order. Matching sums mean matching float32 results, pose for pose.
struct RandomCase {
    int h, w, stride;
    double threshold, nms;
    int max_poses;
    bool quantized;  // logits rounded to integers: many exact ties in the heap
    size_t poses;
    double single_sum, multi_sum, mapped_sum;
    float first_left_shoulder_x, first_mapped_left_shoulder_x;
};

double checksum(const std::vector<Pose>& poses) {
    double acc = 0;
    int i = 0;
    for (const Pose& p : poses) {
        acc += (++i) * double(p.score);
        for (const Keypoint& k : p.keypoints) {
            acc += (++i) * double(k.x);
            acc += (++i) * double(k.y);
            acc += (++i) * double(k.score);
        }
    }
    return acc;
}

}  // namespace

TEST_CASE("decode: random outputs decode exactly as the package does (cross-checked sums)") {
    const RandomCase cases[] = {
        {9, 13, 16, 0.5, 20, 10, false, 10, 76605.744687855244, 5698385.7107347790, 17809078.469376650,
         54.880001068115234f, 320.3651123046875f},
        {5, 7, 32, 0, 10, 30, true, 30, 57052.793561518192, 72430511.591610670, 151033672.27688950,
         28.219982147216797f, 419.565185546875f},
        {17, 11, 16, 0.3, 40, 5, false, 5, 87485.293420553207, 1811391.2607756909, 4859685.4301694017,
         163.67103576660156f, -6.524550437927246f},
    };
    for (const RandomCase& c : cases) {
        CAPTURE(c.h);
        uint32_t s = 2463534242u + uint32_t(c.h * 1000 + c.w);
        auto u = [&] {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            return double(s) / 4294967296.0;
        };
        Outputs o(c.h, c.w);
        std::vector<float> logits(o.scores.size());
        for (float& v : logits) {
            const double x = (u() - 0.7) * 8;
            v = float(c.quantized ? js_round(x) : x);
        }
        for (float& v : o.offsets) v = float((u() - 0.5) * 24);
        for (float& v : o.fwd) v = float((u() - 0.5) * 80);
        for (float& v : o.bwd) v = float((u() - 0.5) * 80);
        sigmoid(logits, o.scores);

        const Pose single = decode_single_pose(o.scores, o.offsets, c.h, c.w, c.stride);
        CHECK(checksum({single}) == c.single_sum);
        const auto multi = decode_multiple_poses(o.scores, o.offsets, o.fwd, o.bwd, c.h, c.w, c.stride, c.max_poses,
                                                 c.threshold, c.nms);
        REQUIRE(multi.size() == c.poses);
        CHECK(multi[0].keypoints[5].x == c.first_left_shoulder_x);
        CHECK(checksum(multi) == c.multi_sum);
        const Letterbox lb = compute_letterbox(480, 333, (c.h - 1) * c.stride + 1, (c.w - 1) * c.stride + 1);
        const auto mapped = decode_multiple_poses(o.scores, o.offsets, o.fwd, o.bwd, c.h, c.w, c.stride,
                                                  c.max_poses, c.threshold, c.nms, {&lb, true});
        CHECK(mapped[0].keypoints[5].x == c.first_mapped_left_shoulder_x);
        CHECK(checksum(mapped) == c.mapped_sum);
    }
}
