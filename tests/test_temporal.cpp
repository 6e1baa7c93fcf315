// Tracking and keypoint smoothing (posenet/tracking.h, posenet/smoothing.h): hand-computed answers for
// the filters, IoU and OKS, and frame-by-frame parity with pose-detection's own trackers and filters
// (tools/reference/temporal_reference.mjs) over generated sequences.
//
// Tolerance against the JS: ids, track lists and filter lists must be identical; similarities and
// smoothed coordinates within 1e-9 relative (absolute 1e-15 near zero). The arithmetic is the same
// IEEE double arithmetic in the same order, except Math.exp and Math.asinh: V8's (fdlibm ports) and
// glibc's differ in the last bit for some arguments, and the filters carry such differences from
// frame to frame, damped. The worst differences seen are printed (PARITY temporal lines).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numbers>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "posenet/errors.h"
#include "posenet/smoothing.h"
#include "posenet/tracking.h"
#include "tests/test_support.h"

namespace {

using namespace posenet;
using nlohmann::json;
namespace fs = std::filesystem;

// ---------------------------------------------------------------- hand-computed answers

constexpr double kPi = std::numbers::pi;

TEST_CASE("temporal: LowPassFilter is an EMA, with an asinh-compressed step under a threshold") {
    LowPassFilter f(0.25);
    CHECK_FALSE(f.has_last_raw_value());
    CHECK(f.apply(8) == 8);  // first value passes
    CHECK(f.has_last_raw_value());
    CHECK(f.apply(0) == 6);  // 8 + 0.25 * (0 - 8)
    CHECK(f.last_raw_value() == 0);
    CHECK(f.apply_with_alpha(10, 0.5) == 8);  // 6 + 0.5 * 4
    CHECK(f.apply(10, 2.0) == doctest::Approx(8 + 0.5 * 2 * std::asinh(1.0)).epsilon(1e-15));
    f.reset();
    CHECK(f.apply(-3) == -3);
}

TEST_CASE("temporal: OneEuroFilter on a step") {
    // 10 Hz timestamps; beta 0: a plain EMA with alpha = 1 / (1 + f / (2 pi cutoff)).
    const double a = 1 / (1 + 10 / (2 * kPi * 1.0));
    SUBCASE("beta 0: y_n = 1 - (1 - a)^(n - 1)") {
        OneEuroFilter f({.frequency = 10, .min_cut_off = 1, .beta = 0, .derivate_cut_off = 1, .threshold_cut_off = std::nullopt});
        CHECK(f.apply(0, 100000, 1) == 0);
        for (int n = 2; n <= 8; ++n)
            CHECK(f.apply(1, 100000 * n, 1) == doctest::Approx(1 - std::pow(1 - a, n - 1)).epsilon(1e-12));
    }
    SUBCASE("beta > 0: the step's speed raises the cut-off") {
        OneEuroFilter f({.frequency = 10, .min_cut_off = 1, .beta = 0.1, .derivate_cut_off = 1, .threshold_cut_off = std::nullopt});
        CHECK(f.apply(0, 100000, 1) == 0);
        // d = (1 - 0) * 10 Hz; its EMA (first value 0) = a * 10; cut-off = 1 + 0.1 * 10a.
        const double cut_off = 1 + 0.1 * (a * 10);
        const double alpha = 1 / (1 + 10 / (2 * kPi * cut_off));
        CHECK(f.apply(1, 200000, 1) == doctest::Approx(alpha).epsilon(1e-12));
    }
    SUBCASE("value scale multiplies the speed") {
        OneEuroFilter f({.frequency = 10, .min_cut_off = 1, .beta = 0.1, .derivate_cut_off = 1, .threshold_cut_off = std::nullopt});
        f.apply(0, 100000, 0.5);
        const double cut_off = 1 + 0.1 * (a * 10 * 0.5);
        CHECK(f.apply(1, 200000, 0.5) == doctest::Approx(1 / (1 + 10 / (2 * kPi * cut_off))).epsilon(1e-12));
    }
    SUBCASE("a threshold compresses the step: threshold * asinh(step / threshold)") {
        OneEuroFilter f({.frequency = 10, .min_cut_off = 1, .beta = 0, .derivate_cut_off = 1, .threshold_cut_off = 0.5,
                         .threshold_beta = 0});
        f.apply(0, 100000, 1);
        CHECK(f.apply(1, 200000, 1) == doctest::Approx(a * 0.5 * std::asinh(2.0)).epsilon(1e-12));
    }
    SUBCASE("timestamps not after the last pass the value through") {
        OneEuroFilter f({.frequency = 10, .min_cut_off = 1, .beta = 0, .derivate_cut_off = 1, .threshold_cut_off = std::nullopt});
        CHECK(f.apply(5, 0, 1) == 5);  // the first timestamp must be > 0
        CHECK(f.apply(0, 100000, 1) == 0);
        CHECK(f.apply(1, 100000, 1) == 1);  // same timestamp: unfiltered, state unchanged
        CHECK(f.apply(1, 50000, 1) == 1);
        CHECK(f.apply(1, 200000, 1) == doctest::Approx(a).epsilon(1e-12));
    }
    SUBCASE("the frequency follows the timestamps") {
        OneEuroFilter f({.frequency = 1000, .min_cut_off = 1, .beta = 0, .derivate_cut_off = 1, .threshold_cut_off = std::nullopt});
        f.apply(0, 100000, 1);
        CHECK(f.apply(1, 300000, 1) == doctest::Approx(1 / (1 + 5 / (2 * kPi))).epsilon(1e-12));  // 5 Hz
    }
}

TEST_CASE("temporal: RelativeVelocityFilter") {
    RelativeVelocityFilter f({.window_size = 5, .velocity_scale = 1});
    CHECK(f.apply(0, 0, 1) == 0);  // first value: alpha 1
    // distance 1 in 0.1 s: velocity 10, alpha = 1 - 1 / (1 + 10) = 10 / 11.
    CHECK(f.apply(1, 100000, 1) == doctest::Approx(10.0 / 11).epsilon(1e-12));
    // 33333 us later, +1: the window element (0.1 s) does not fit in 2/30 s, so velocity = 1 / 0.033333 s.
    const double v = 1 / 0.033333, alpha = 1 - 1 / (1 + v);
    const double y = 10.0 / 11 + alpha * (2 - 10.0 / 11);
    CHECK(f.apply(2, 133333, 1) == doctest::Approx(y).epsilon(1e-9));
    CHECK(f.apply(7, 133333, 1) == 7);  // same timestamp: unfiltered
}

TEST_CASE("temporal: getObjectScale and rectFromBox") {
    CHECK(get_object_scale({.width = 0.5, .height = 0.25}, {.height = 480, .width = 640}) == (320 + 120) / 2.0);
    const Rect r = rect_from_box({.x_min = 0.1, .y_min = 0.2, .x_max = 0.5, .y_max = 0.8, .width = 0.4, .height = 0.6});
    CHECK(r.x_center == doctest::Approx(0.3));
    CHECK(r.y_center == doctest::Approx(0.5));
    CHECK(r.width == 0.4);
    CHECK(r.height == 0.6);
}

TEST_CASE("temporal: KeypointsSmoothingFilter: normalized keypoints, object scale, unfiltered small objects") {
    const std::vector<TrackingKeypoint> k0 = {{0.5, 0.5, 0.9}}, k1 = {{0.6, 0.5, 0.8}};
    const ImageSize size{.height = 100, .width = 200};
    OneEuroFilterConfig c{.frequency = 10, .min_cut_off = 1, .beta = 0.01, .derivate_cut_off = 1,
                          .threshold_cut_off = std::nullopt, .min_allowed_object_scale = 20, .disable_value_scaling = false};
    KeypointsSmoothingFilter f(c);
    CHECK_THROWS_AS(f.apply(k0, 1, std::nullopt, true), ConfigError);
    const Rect roi{.width = 0.5, .height = 0.5};  // object scale (100 + 50) / 2 = 75 px
    CHECK(f.apply(k0, 100000, size, true, roi)[0].x == 0.5);
    const auto out = f.apply(k1, 200000, size, true, roi);
    // In pixels: 100 -> 120, speed 200 px/s * (1/75), cut-off 1 + 0.01 * a * 200/75.
    const double a = 1 / (1 + 10 / (2 * kPi));
    const double alpha = 1 / (1 + 10 / (2 * kPi * (1 + 0.01 * a * 200 / 75)));
    CHECK(out[0].x == doctest::Approx((100 + alpha * 20) / 200).epsilon(1e-12));
    CHECK(out[0].y == doctest::Approx(0.5).epsilon(1e-15));
    CHECK(out[0].score == 0.8);
    // Object scale 15 px < 20: passed through unfiltered.
    CHECK(f.apply(k0, 300000, size, true, Rect{.width = 0.1, .height = 0.1})[0].x == 0.5);
}

BoundingBox box(double x0, double y0, double x1, double y1) { return {x0, y0, x1, y1, x1 - x0, y1 - y0}; }

TEST_CASE("temporal: IoU of known boxes") {
    CHECK(iou(box(0, 0, 2, 2), box(1, 1, 3, 3)) == doctest::Approx(1.0 / 7));
    CHECK(iou(box(0, 0, 2, 2), box(0, 0, 2, 2)) == 1.0);
    CHECK(iou(box(0, 0, 2, 2), box(2, 0, 4, 2)) == 0.0);  // touching edges
    CHECK(iou(box(0, 0, 1, 1), box(5, 5, 6, 6)) == 0.0);
    CHECK(iou(box(0, 0, 4, 4), box(1, 1, 2, 2)) == doctest::Approx(1.0 / 16));
}

std::array<TrackingKeypoint, kNumKeypoints> grid_keypoints(double dx, double dy, double score) {
    std::array<TrackingKeypoint, kNumKeypoints> k{};
    for (int i = 0; i < kNumKeypoints; ++i) k[size_t(i)] = {0.2 + 0.1 * (i % 5) + dx, 0.1 + 0.1 * (i / 5) + dy, score};
    return k;  // x in [0.2, 0.6], y in [0.1, 0.4]: area 0.12
}

TEST_CASE("temporal: OKS and area of known keypoints") {
    const KeypointTrackerParams p{};
    const auto track = grid_keypoints(0, 0, 0.9);
    CHECK(keypoints_area(track, 0.3) == doctest::Approx(0.4 * 0.3).epsilon(1e-14));
    CHECK(oks(track, track, p) == 1.0);
    const auto pose = grid_keypoints(0.03, 0.04, 0.8);  // d^2 = 0.0025 for every keypoint
    double sum = 0;
    for (double f : p.keypoint_falloff) sum += std::exp(-0.0025 / (2 * (0.12 + 1e-6) * (2 * f) * (2 * f)));
    CHECK(oks(pose, track, p) == doctest::Approx(sum / 17).epsilon(1e-12));
    auto few = pose;
    for (size_t i = 3; i < few.size(); ++i) few[i].score = 0.1;  // 3 valid < min_number_of_keypoints 4
    CHECK(oks(few, track, p) == 0.0);
    few[3].score = 0.3;  // >= threshold counts for OKS: 4 valid
    double sum4 = 0;
    for (size_t i = 0; i < 4; ++i) sum4 += std::exp(-0.0025 / (2 * (0.12 + 1e-6) * std::pow(2 * p.keypoint_falloff[i], 2)));
    CHECK(oks(few, track, p) == doctest::Approx(sum4 / 4).epsilon(1e-12));
    // area: only score > threshold; none: the seeds give (0 - 1) * (0 - 1) = 1.
    CHECK(keypoints_area(grid_keypoints(0, 0, 0.3), 0.3) == 1.0);
}

TEST_CASE("temporal: pose_box and to_tracking_pose (PoseNet poses)") {
    Pose pose;
    for (int i = 0; i < kNumKeypoints; ++i) pose.keypoints[size_t(i)] = {float(100 + 10 * i), float(50 + 5 * i), i < 3 ? 0.9f : 0.2f, kKeypointNames[size_t(i)]};
    pose.id = 7;
    const TrackingPose t = to_tracking_pose(pose, {.height = 200, .width = 400});
    CHECK(t.keypoints[1].x == 110.0 / 400);
    CHECK(t.keypoints[1].y == 55.0 / 200);
    CHECK(t.id == 7);
    REQUIRE(t.box);
    CHECK(t.box->x_min == 100.0 / 400);  // keypoints 0..2 only (score > 0.3)
    CHECK(t.box->x_max == 120.0 / 400);
    CHECK(t.box->height == 60.0 / 200 - 50.0 / 200);
    for (auto& k : pose.keypoints) k.score = 0.1f;  // none passes: all keypoints
    CHECK(to_tracking_pose(pose, {.height = 200, .width = 400}).box->x_max == 260.0 / 400);
    CHECK_THROWS_AS(to_tracking_pose(pose, {.height = 0, .width = 400}), ConfigError);
}

TEST_CASE("temporal: tracker configs are validated as validateTrackerConfig does") {
    CHECK_THROWS_AS(KeypointTracker({.max_tracks = 0}), ConfigError);
    CHECK_THROWS_AS(BoundingBoxTracker({.max_age_ms = 0}), ConfigError);
    CHECK_THROWS_AS(KeypointTracker({.keypoint_tracker_params = {.keypoint_confidence_threshold = 1.5}}), ConfigError);
    CHECK_THROWS_AS(KeypointTracker({.keypoint_tracker_params = {.min_number_of_keypoints = 0}}), ConfigError);
    KeypointTrackerConfig c;
    c.keypoint_tracker_params.keypoint_falloff[4] = 0;
    CHECK_THROWS_WITH_AS(KeypointTracker{c}, doctest::Contains("keypoint_falloff[4]"), ConfigError);
    CHECK_NOTHROW(BoundingBoxTracker{});
    CHECK_NOTHROW(KeypointTracker{});
}

TrackingPose tracking_pose_at(double dx, double dy) {
    TrackingPose p;
    p.keypoints = grid_keypoints(dx, dy, 0.9);
    p.box = pose_box(p.keypoints);
    return p;
}

TEST_CASE("temporal: tracker ids follow poses, expire after maxAge, and never come back") {
    for (int kind = 0; kind < 2; ++kind) {
        CAPTURE(kind);
        std::unique_ptr<PoseTracker> tracker;
        if (kind == 0) tracker = std::make_unique<KeypointTracker>();
        else tracker = std::make_unique<BoundingBoxTracker>();
        std::vector<TrackingPose> f1 = {tracking_pose_at(0, 0), tracking_pose_at(0.3, 0.5)};
        tracker->apply(f1, 1'000'000);
        CHECK(f1[0].id == 1);
        CHECK(f1[1].id == 2);
        std::vector<TrackingPose> f2 = {tracking_pose_at(0.31, 0.5), tracking_pose_at(0.01, 0)};  // swapped, moved
        tracker->apply(f2, 1'033'000);
        CHECK(f2[0].id == 2);
        CHECK(f2[1].id == 1);
        CHECK(tracker->track_ids() == std::vector<int>{1, 2});  // same timestamp: creation order (stable sort)
        std::vector<TrackingPose> none;
        tracker->apply(none, 2'033'000);  // exactly maxAge later: kept
        CHECK(tracker->track_ids().size() == 2);
        tracker->apply(none, 2'033'001);  // older than maxAge: dropped
        CHECK(tracker->track_ids().empty());
        std::vector<TrackingPose> f3 = {tracking_pose_at(0.01, 0)};
        tracker->apply(f3, 2'040'000);
        CHECK(f3[0].id == 3);
        tracker->reset();
        tracker->apply(f3, 2'050'000);
        CHECK(f3[0].id == 4);  // reset keeps the counter
        const int gone[] = {4};
        tracker->remove(gone);
        CHECK(tracker->tracks().empty());
    }
}

TEST_CASE("temporal: poses beyond maxTracks get ids; only the freshest maxTracks tracks are kept") {
    BoundingBoxTracker tracker({.max_tracks = 2});
    std::vector<TrackingPose> f = {tracking_pose_at(0, 0), tracking_pose_at(0.5, 0), tracking_pose_at(0, 0.5)};
    tracker.apply(f, 1000);
    CHECK(f[0].id == 1);
    CHECK(f[1].id == 2);
    CHECK(f[2].id == 3);
    CHECK(tracker.track_ids() == std::vector<int>{1, 2});  // stable sort: same timestamps keep their order
}

TEST_CASE("temporal: PoseSmoother keeps one filter per track and drops those the tracker lost") {
    PoseSmoother smoother;
    std::vector<TrackingPose> f = {tracking_pose_at(0, 0), tracking_pose_at(0.3, 0.3)};
    f[0].id = 1;
    f[1].id = 2;
    smoother.apply(f, 1000, {.height = 100, .width = 100});
    CHECK(smoother.filter_ids() == std::vector<int>{1, 2});
    const int live[] = {2};
    smoother.apply(std::span(f).first(1), 2000, {.height = 100, .width = 100}, live);
    CHECK(smoother.filter_ids() == std::vector<int>{2});
    smoother.reset();
    CHECK(smoother.filter_ids().empty());
}

// ---------------------------------------------------------------- the package's own code, in node

std::optional<fs::path> temporal_tool() {
    const fs::path tool = test::source_root() / "tools" / "reference";
    if (!fs::is_directory(tool / "node_modules") || test::run_command("node --version").exit_code != 0) {
        std::printf("SKIP TF.js temporal comparison: node or tools/reference/node_modules is missing (run ./run.sh test)\n");
        return std::nullopt;
    }
    return tool / "temporal_reference.mjs";
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs temporal_reference.mjs on `input` (or --defaults when null); nullopt when node is missing.
std::optional<json> temporal_reference(const json& input) {
    auto tool = temporal_tool();
    if (!tool) return std::nullopt;
    static const fs::path dir = test::scratch_dir("temporal-reference");
    static int counter = 0;
    const std::string n = std::to_string(counter++);
    const fs::path in = dir / ("in" + n + ".json"), out = dir / ("out" + n + ".json");
    std::string cmd = "node '" + tool->string() + "' --out '" + out.string() + "'";
    if (input.is_null()) {
        cmd += " --defaults";
    } else {
        std::ofstream(in) << input.dump();
        cmd += " '" + in.string() + "'";
    }
    const auto r = test::run_command(cmd);
    if (r.exit_code != 0) FAIL("temporal_reference.mjs failed: " << cmd << "\n" << r.output);
    return json::parse(slurp(out));
}

TEST_CASE("temporal: the named defaults are the package's constants") {
    const auto d = temporal_reference(nullptr);
    if (!d) return;
    const json& kt = (*d)["DEFAULT_KEYPOINT_TRACKER_CONFIG"];
    CHECK(kt["maxTracks"] == kDefaultKeypointTrackerConfig.max_tracks);
    CHECK(kt["maxAge"] == kDefaultKeypointTrackerConfig.max_age_ms);
    CHECK(kt["minSimilarity"] == kDefaultKeypointTrackerConfig.min_similarity);
    const json& kp = kt["keypointTrackerParams"];
    CHECK(kp["keypointConfidenceThreshold"] == kDefaultKeypointTrackerConfig.keypoint_tracker_params.keypoint_confidence_threshold);
    CHECK(kp["minNumberOfKeypoints"] == kDefaultKeypointTrackerConfig.keypoint_tracker_params.min_number_of_keypoints);
    REQUIRE(kp["keypointFalloff"].size() == size_t(kNumKeypoints));
    for (size_t i = 0; i < size_t(kNumKeypoints); ++i)
        CHECK(kp["keypointFalloff"][i] == kDefaultKeypointTrackerConfig.keypoint_tracker_params.keypoint_falloff[i]);
    const json& bt = (*d)["DEFAULT_BOUNDING_BOX_TRACKER_CONFIG"];
    CHECK(bt["maxTracks"] == kDefaultBoundingBoxTrackerConfig.max_tracks);
    CHECK(bt["maxAge"] == kDefaultBoundingBoxTrackerConfig.max_age_ms);
    CHECK(bt["minSimilarity"] == kDefaultBoundingBoxTrackerConfig.min_similarity);

    auto same_one_euro = [](const json& j, const OneEuroFilterConfig& c) {
        CAPTURE(j.dump());
        CHECK(j["frequency"] == c.frequency);
        CHECK(j["minCutOff"] == c.min_cut_off);
        CHECK(j["beta"] == c.beta);
        CHECK(j["derivateCutOff"] == c.derivate_cut_off);
        CHECK(j.contains("thresholdCutOff") == c.threshold_cut_off.has_value());
        if (c.threshold_cut_off) {
            CHECK(j["thresholdCutOff"] == *c.threshold_cut_off);
            CHECK(j["thresholdBeta"] == c.threshold_beta);
        }
        CHECK(j.contains("minAllowedObjectScale") == c.min_allowed_object_scale.has_value());
        if (c.min_allowed_object_scale) CHECK(j["minAllowedObjectScale"] == *c.min_allowed_object_scale);
        CHECK(j.value("disableValueScaling", false) == c.disable_value_scaling);
    };
    same_one_euro((*d)["KEYPOINT_FILTER_CONFIG"], kMoveNetKeypointFilterConfig);
    same_one_euro((*d)["BLAZEPOSE_LANDMARKS_SMOOTHING_CONFIG_ACTUAL"]["oneEuroFilter"], kBlazePoseLandmarksSmoothingConfigActual);
    same_one_euro((*d)["BLAZEPOSE_LANDMARKS_SMOOTHING_CONFIG_AUXILIARY"]["oneEuroFilter"],
                  kBlazePoseLandmarksSmoothingConfigAuxiliary);
    same_one_euro((*d)["BLAZEPOSE_WORLD_LANDMARKS_SMOOTHING_CONFIG_ACTUAL"]["oneEuroFilter"],
                  kBlazePoseWorldLandmarksSmoothingConfigActual);
}

// ---------------------------------------------------------------- generated sequences

// Deterministic everywhere (no std distributions: their algorithms are the library's).
struct Random {
    std::mt19937_64 engine;
    explicit Random(uint64_t seed) : engine(seed) {}
    double uniform() { return double(engine() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    double normal() {  // Box-Muller
        const double u = 1 - uniform(), v = uniform();
        return std::sqrt(-2 * std::log(u)) * std::cos(2 * kPi * v);
    }
    int below(int n) { return int(uniform() * n); }
};

// A standing person, height 1 (y down), centred on the hips.
constexpr std::array<std::array<double, 2>, kNumKeypoints> kBody = {{
    {0, -0.45}, {0.03, -0.48}, {-0.03, -0.48}, {0.06, -0.46}, {-0.06, -0.46}, {0.12, -0.3}, {-0.12, -0.3},
    {0.16, -0.1}, {-0.16, -0.1}, {0.18, 0.05}, {-0.18, 0.05}, {0.08, 0.05}, {-0.08, 0.05}, {0.09, 0.28},
    {-0.09, 0.28}, {0.09, 0.5}, {-0.09, 0.5},
}};

struct Person {
    double x0, y0, vx, vy;          // pixels, pixels per second
    double height;                  // pixels
    double noise;                   // pixels
    double base_score;
    std::vector<std::pair<int, int>> visible;  // frame ranges [first, last)
    std::vector<int> low_keypoints;            // always scored below 0.3
};

struct Frame {
    int64_t timestamp_us;
    ImageSize size;
    std::vector<Pose> poses;
};

struct Scenario {
    std::string name;
    std::vector<Frame> frames;
};

std::vector<int64_t> timestamps(Random& r, int count, int64_t start, const std::vector<std::pair<int, int64_t>>& gaps) {
    std::vector<int64_t> t;
    int64_t now = start;
    for (int i = 0; i < count; ++i) {
        t.push_back(now);
        now += 33333 + int64_t(r.uniform(-4000, 4000));
        for (auto [frame, gap] : gaps)
            if (frame == i) now += gap;
    }
    return t;
}

Scenario make_scenario(const std::string& name, uint64_t seed, ImageSize size, const std::vector<Person>& people,
                       const std::vector<int64_t>& times, double miss_rate) {
    Random r(seed);
    Scenario s{name, {}};
    for (size_t f = 0; f < times.size(); ++f) {
        Frame frame{times[f], size, {}};
        const double t = double(times[f] - times[0]) * 1e-6;
        for (const Person& p : people) {
            bool on = false;
            for (auto [a, b] : p.visible) on = on || (int(f) >= a && int(f) < b);
            if (!on || r.uniform() < miss_rate) continue;
            Pose pose;
            const double cx = p.x0 + p.vx * t, cy = p.y0 + p.vy * t;
            const double swing = 0.05 * std::sin(6 * t + p.x0);
            double sum = 0;
            for (int k = 0; k < kNumKeypoints; ++k) {
                double bx = kBody[size_t(k)][0], by = kBody[size_t(k)][1];
                if (k >= 7 && k <= 10) bx += (k % 2 ? swing : -swing);
                Keypoint& kp = pose.keypoints[size_t(k)];
                kp.x = float(cx + bx * p.height + p.noise * r.normal());
                kp.y = float(cy + by * p.height + p.noise * r.normal());
                double score = std::clamp(p.base_score + 0.15 * r.normal(), 0.01, 0.99);
                if (std::find(p.low_keypoints.begin(), p.low_keypoints.end(), k) != p.low_keypoints.end())
                    score = r.uniform(0.01, 0.29);
                kp.score = float(score);
                kp.name = kKeypointNames[size_t(k)];
                sum += kp.score;
            }
            pose.score = float(sum / kNumKeypoints);
            frame.poses.push_back(pose);
        }
        // Detections come in no particular order.
        for (size_t i = frame.poses.size(); i > 1; --i) std::swap(frame.poses[i - 1], frame.poses[size_t(r.below(int(i)))]);
        s.frames.push_back(std::move(frame));
    }
    return s;
}

std::vector<Scenario> scenarios() {
    std::vector<Scenario> out;
    {
        // Four people: two cross each other, one arrives late, one leaves for longer than maxAge
        // (1 s) and comes back, one leaves for less; noisy keypoints; some always-low keypoints.
        Random r(1);
        const ImageSize size{.height = 480, .width = 640};
        std::vector<Person> people = {
            {100, 300, 120, 0, 200, 3, 0.8, {{0, 120}}, {3, 4}},
            {540, 310, -120, 0, 210, 3, 0.75, {{0, 120}}, {}},
            {320, 250, 10, -5, 150, 2, 0.6, {{20, 120}}, {15, 16}},
            {200, 150, 20, 30, 120, 4, 0.5, {{0, 40}, {80, 110}, {113, 120}}, {0, 1, 2}},
        };
        out.push_back(make_scenario("crossing", 11, size, people, timestamps(r, 120, 5'000'000, {}), 0.03));
    }
    {
        // A crowd: 22 people (more than maxTracks 18), small and fast, empty frames, and a gap of
        // 1.2 s after which every track has expired.
        Random r(2);
        const ImageSize size{.height = 720, .width = 1280};
        std::vector<Person> people;
        for (int i = 0; i < 22; ++i)
            people.push_back({r.uniform(50, 1230), r.uniform(80, 650), r.uniform(-300, 300), r.uniform(-100, 100),
                              r.uniform(40, 160), r.uniform(0.5, 6), r.uniform(0.25, 0.9),
                              {{r.below(10), 30}, {32, 60 - r.below(10)}}, {}});
        out.push_back(make_scenario("crowd", 12, size, people, timestamps(r, 60, 33333, {{44, 1'200'000}}), 0.1));
    }
    {
        // One person (the single-pose path): timestamps from 0, a repeated timestamp.
        Random r(3);
        const ImageSize size{.height = 257, .width = 257};
        std::vector<Person> people = {{60, 130, 40, 5, 180, 2.5, 0.7, {{0, 90}}, {4}}};
        auto t = timestamps(r, 90, 0, {});
        t[30] = t[29];
        for (size_t i = 31; i < t.size(); ++i) t[i] = t[i - 1] + 33000;
        out.push_back(make_scenario("single", 13, size, people, t, 0));
    }
    return out;
}

json poses_json(const Frame& f) {
    json poses = json::array();
    for (const Pose& p : f.poses) {
        json kps = json::array();
        for (const Keypoint& k : p.keypoints)
            kps.push_back({{"x", double(k.x)}, {"y", double(k.y)}, {"score", double(k.score)}, {"name", std::string(k.name)}});
        poses.push_back({{"score", double(p.score)}, {"keypoints", kps}});
    }
    return poses;
}

json one_euro_json(const OneEuroFilterConfig& c) {
    json j = {{"frequency", c.frequency}, {"minCutOff", c.min_cut_off}, {"beta", c.beta},
              {"derivateCutOff", c.derivate_cut_off}, {"disableValueScaling", c.disable_value_scaling}};
    if (c.threshold_cut_off) {
        j["thresholdCutOff"] = *c.threshold_cut_off;
        j["thresholdBeta"] = c.threshold_beta;
    }
    if (c.min_allowed_object_scale) j["minAllowedObjectScale"] = *c.min_allowed_object_scale;
    return {{"oneEuroFilter", j}};
}

json velocity_json(const VelocityFilterConfig& c) {
    json j = {{"windowSize", c.window_size}, {"velocityScale", c.velocity_scale}, {"disableValueScaling", c.disable_value_scaling}};
    if (c.min_allowed_object_scale) j["minAllowedObjectScale"] = *c.min_allowed_object_scale;
    return {{"velocityFilter", j}};
}

// A tracker + smoothing configuration, for us and (as the package's config objects) for the JS.
struct Case {
    std::string name;
    enum Kind { kNoTracker, kKeypointTracker, kBoxTracker } tracker = kNoTracker;
    KeypointTrackerConfig keypoint{};
    BoundingBoxTrackerConfig bounding_box{};
    json tracker_config;  // null: the package's default
    std::optional<PoseSmootherConfig> smoothing;
    json smoothing_config;  // a name of temporal_reference.mjs or a KeypointsSmoothingConfig object
    std::vector<std::string> scenarios;
};

std::vector<Case> cases() {
    std::vector<Case> c;
    c.push_back({"keypoint tracker, MoveNet smoothing (defaults)", Case::kKeypointTracker, {}, {}, nullptr,
                 PoseSmootherConfig{}, "moveNetKeypointFilter", {"crossing", "crowd"}});
    c.push_back({"bounding-box tracker, MoveNet smoothing (defaults)", Case::kBoxTracker, {}, {}, nullptr,
                 PoseSmootherConfig{}, "moveNetKeypointFilter", {"crossing", "crowd"}});
    c.push_back({"keypoint tracker (3 tracks, 300 ms, 0.4, threshold 0.5, 6 keypoints), BlazePose filter on pixels",
                 Case::kKeypointTracker,
                 {.max_tracks = 3, .max_age_ms = 300, .min_similarity = 0.4,
                  .keypoint_tracker_params = {.keypoint_confidence_threshold = 0.5, .min_number_of_keypoints = 6}},
                 {},
                 {{"maxTracks", 3}, {"maxAge", 300}, {"minSimilarity", 0.4},
                  {"keypointTrackerParams", {{"keypointConfidenceThreshold", 0.5}, {"minNumberOfKeypoints", 6}}}},
                 PoseSmootherConfig{kBlazePoseLandmarksSmoothingConfigActual, SmoothingSpace::Image},
                 "blazePoseLandmarksActual", {"crossing", "crowd"}});
    {
        KeypointTrackerConfig k{.min_similarity = 0.05};
        k.keypoint_tracker_params.keypoint_falloff.fill(0.05);
        const VelocityFilterConfig v{};
        c.push_back({"keypoint tracker (falloff 0.05, 0.05), velocity filter (MediaPipe defaults), normalized", Case::kKeypointTracker,
                     k, {}, {{"minSimilarity", 0.05}, {"keypointTrackerParams", {{"keypointFalloff", std::vector<double>(17, 0.05)}}}},
                     PoseSmootherConfig{v, SmoothingSpace::Normalized}, velocity_json(v), {"crossing", "crowd"}});
    }
    {
        const VelocityFilterConfig v{.window_size = 3, .velocity_scale = 5, .min_allowed_object_scale = 1e-6};
        c.push_back({"bounding-box tracker (5 tracks, 100 ms, 0.3), velocity filter on pixels", Case::kBoxTracker, {},
                     {.max_tracks = 5, .max_age_ms = 100, .min_similarity = 0.3},
                     {{"maxTracks", 5}, {"maxAge", 100}, {"minSimilarity", 0.3}},
                     PoseSmootherConfig{v, SmoothingSpace::Image}, velocity_json(v), {"crossing", "crowd"}});
    }
    {
        // Object scale below 80 px: unfiltered (the crowd has such people).
        const OneEuroFilterConfig o{.frequency = 25, .min_cut_off = 1, .beta = 0.5, .derivate_cut_off = 1,
                                    .threshold_cut_off = 10, .threshold_beta = 2, .min_allowed_object_scale = 80,
                                    .disable_value_scaling = false};
        c.push_back({"bounding-box tracker, One Euro with threshold and minimum object scale, on pixels", Case::kBoxTracker,
                     {}, {}, nullptr, PoseSmootherConfig{o, SmoothingSpace::Image}, one_euro_json(o), {"crossing", "crowd"}});
    }
    c.push_back({"keypoint tracker, no smoothing", Case::kKeypointTracker, {}, {}, nullptr, std::nullopt, nullptr, {"crowd"}});
    c.push_back({"no tracker, MoveNet smoothing (single pose)", Case::kNoTracker, {}, {}, nullptr, PoseSmootherConfig{},
                 "moveNetKeypointFilter", {"single"}});
    c.push_back({"no tracker, BlazePose auxiliary filter on pixels (single pose)", Case::kNoTracker, {}, {}, nullptr,
                 PoseSmootherConfig{kBlazePoseLandmarksSmoothingConfigAuxiliary, SmoothingSpace::Image},
                 "blazePoseLandmarksAuxiliary", {"single"}});
    return c;
}

// Captures each frame's similarity matrix, as the JS side wraps computeSimilarity.
template <class Base>
struct Capturing : Base {
    using Base::Base;
    mutable std::vector<std::vector<double>> last;
    std::vector<std::vector<double>> compute_similarity(std::span<const TrackingPose> poses) const override {
        return last = Base::compute_similarity(poses);
    }
};

struct Worst {
    double relative = 0;
    long values = 0, exact = 0;
    void add(double ours, double js) {
        ++values;
        if (ours == js) {
            ++exact;
            return;
        }
        const double diff = std::abs(ours - js);
        const double scale = std::max(std::abs(ours), std::abs(js));
        if (diff <= 1e-15 && scale < 1e-6) return;  // near zero: absolute
        relative = std::max(relative, diff / scale);
    }
};

std::unique_ptr<PoseTracker> make_tracker(const Case& c, bool capturing) {
    if (c.tracker == Case::kKeypointTracker)
        return capturing ? std::unique_ptr<PoseTracker>(std::make_unique<Capturing<KeypointTracker>>(c.keypoint))
                         : std::make_unique<KeypointTracker>(c.keypoint);
    if (c.tracker == Case::kBoxTracker)
        return capturing ? std::unique_ptr<PoseTracker>(std::make_unique<Capturing<BoundingBoxTracker>>(c.bounding_box))
                         : std::make_unique<BoundingBoxTracker>(c.bounding_box);
    return nullptr;
}

const std::vector<std::vector<double>>& captured(const PoseTracker& t) {
    if (auto* k = dynamic_cast<const Capturing<KeypointTracker>*>(&t)) return k->last;
    return dynamic_cast<const Capturing<BoundingBoxTracker>&>(t).last;
}

TEST_CASE("temporal: trackers and smoothing match pose-detection frame by frame") {
    if (!temporal_tool()) return;
    const std::vector<Scenario> all = scenarios();
    long total_frames = 0, total_poses = 0, total_values = 0;
    double worst_overall = 0;
    for (const Case& c : cases()) {
        for (const Scenario& s : all) {
            if (std::find(c.scenarios.begin(), c.scenarios.end(), s.name) == c.scenarios.end()) continue;
            CAPTURE(c.name);
            CAPTURE(s.name);
            json input = {{"tracker", nullptr}, {"smoothing", nullptr}, {"boxScoreThreshold", kPoseBoxScoreThreshold},
                          {"frames", json::array()}};
            if (c.tracker != Case::kNoTracker)
                input["tracker"] = {{"type", c.tracker == Case::kKeypointTracker ? "keypoint" : "boundingBox"},
                                    {"config", c.tracker_config}};
            if (c.smoothing)
                input["smoothing"] = {{"config", c.smoothing_config},
                                      {"space", c.smoothing->space == SmoothingSpace::Image ? "image" : "normalized"}};
            for (const Frame& f : s.frames)
                input["frames"].push_back({{"timestamp", f.timestamp_us},
                                           {"imageSize", {{"width", f.size.width}, {"height", f.size.height}}},
                                           {"poses", poses_json(f)}});
            const auto reference = temporal_reference(input);
            REQUIRE(reference);
            const json& js_frames = (*reference)["frames"];
            REQUIRE(js_frames.size() == s.frames.size());

            // Ours twice: the double-level API (compared with the JS) and the Pose-level API (compared
            // with our double-level results: same ids, x = float(x * width)).
            auto tracker = make_tracker(c, true);
            auto pose_tracker = make_tracker(c, false);
            std::optional<PoseSmoother> smoother, pose_smoother;
            if (c.smoothing) smoother.emplace(*c.smoothing), pose_smoother.emplace(*c.smoothing);
            Worst similarity, keypoints, pixels;
            int new_ids = 0, linked = 0;
            std::vector<int> seen;
            for (size_t fi = 0; fi < s.frames.size(); ++fi) {
                CAPTURE(fi);
                const Frame& f = s.frames[fi];
                const json& js = js_frames[fi];
                std::vector<TrackingPose> poses;
                for (const Pose& p : f.poses) poses.push_back(to_tracking_pose(p, f.size));
                if (tracker) tracker->apply(poses, f.timestamp_us);
                if (smoother) {
                    if (tracker) smoother->apply(poses, f.timestamp_us, f.size, tracker->track_ids());
                    else smoother->apply(poses, f.timestamp_us, f.size);
                }
                std::vector<Pose> pose_level = f.poses;
                if (pose_tracker) pose_level = pose_tracker->apply(std::move(pose_level), f.timestamp_us, f.size);
                if (pose_smoother) {
                    if (pose_tracker)
                        pose_level = pose_smoother->apply(std::move(pose_level), f.timestamp_us, f.size,
                                                          pose_tracker->track_ids());
                    else
                        pose_level = pose_smoother->apply(std::move(pose_level), f.timestamp_us, f.size);
                }

                std::vector<int> ids;
                for (const TrackingPose& p : poses) ids.push_back(p.id);
                REQUIRE(ids == js["ids"].get<std::vector<int>>());
                for (int id : ids) {
                    if (std::find(seen.begin(), seen.end(), id) == seen.end()) ++new_ids, seen.push_back(id);
                    else ++linked;
                }
                if (tracker) {
                    REQUIRE(tracker->track_ids() == js["trackIds"].get<std::vector<int>>());
                    const auto& m = captured(*tracker);
                    const json& jm = js["similarity"];
                    REQUIRE(m.size() == jm.size());
                    for (size_t i = 0; i < m.size(); ++i) {
                        REQUIRE(m[i].size() == jm[i].size());
                        for (size_t j = 0; j < m[i].size(); ++j) similarity.add(m[i][j], jm[i][j].get<double>());
                    }
                }
                if (smoother) REQUIRE(smoother->filter_ids() == js["filterIds"].get<std::vector<int>>());
                for (size_t i = 0; i < poses.size(); ++i) {
                    const json& jp = js["poses"][i];
                    const BoundingBox& b = *poses[i].box;
                    CHECK(b.x_min == jp["box"]["xMin"].get<double>());
                    CHECK(b.y_max == jp["box"]["yMax"].get<double>());
                    CHECK(b.width == jp["box"]["width"].get<double>());
                    REQUIRE(pose_level[i].id == poses[i].id);
                    for (size_t k = 0; k < size_t(kNumKeypoints); ++k) {
                        const TrackingKeypoint& kp = poses[i].keypoints[k];
                        keypoints.add(kp.x, jp["keypoints"][k][0].get<double>());
                        keypoints.add(kp.y, jp["keypoints"][k][1].get<double>());
                        pixels.add(kp.x * f.size.width, jp["pixels"][k][0].get<double>());
                        pixels.add(kp.y * f.size.height, jp["pixels"][k][1].get<double>());
                        if (smoother) {
                            CHECK(pose_level[i].keypoints[k].x == float(kp.x * f.size.width));
                            CHECK(pose_level[i].keypoints[k].y == float(kp.y * f.size.height));
                        } else {
                            CHECK(pose_level[i].keypoints[k].x == f.poses[i].keypoints[k].x);
                        }
                    }
                }
                total_poses += long(poses.size());
            }
            CHECK(similarity.relative <= 1e-9);
            CHECK(keypoints.relative <= 1e-9);
            CHECK(pixels.relative <= 1e-9);
            total_frames += long(s.frames.size());
            total_values += keypoints.values + similarity.values;
            worst_overall = std::max({worst_overall, similarity.relative, keypoints.relative, pixels.relative});
            std::printf("PARITY temporal %s / %s: %zu frames, %d ids, %d links; similarity %ld values (%ld exact), worst "
                        "%.3g; keypoints %ld values (%ld exact), worst %.3g; pixels worst %.3g\n",
                        c.name.c_str(), s.name.c_str(), s.frames.size(), new_ids, linked, similarity.values,
                        similarity.exact, similarity.relative, keypoints.values, keypoints.exact, keypoints.relative,
                        pixels.relative);
        }
    }
    std::printf("PARITY temporal: %ld frames, %ld poses, %ld values compared; worst relative difference %.3g\n",
                total_frames, total_poses, total_values, worst_overall);
}

}  // namespace
