#include "engine/fp_strict.h"

#include "posenet/decode.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace posenet {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A keypoint as the package holds it: x, y are JS numbers (doubles); score is a value read from a
// Float32Array (or NaN where the JS would read `undefined`).
struct KeypointD {
    double x = 0, y = 0;
    float score = 0;
    bool set = false;
};
struct PoseD {
    double score = 0;
    std::array<KeypointD, kNumKeypoints> keypoints{};
};

void check_sizes(std::span<const float> data, int height, int width, int channels, const char* what) {
    const size_t need = size_t(height) * size_t(width) * size_t(channels);
    if (data.size() != need)
        throw std::invalid_argument(std::string(what) + " has " + std::to_string(data.size()) + " values, expected " +
                                    std::to_string(height) + "x" + std::to_string(width) + "x" +
                                    std::to_string(channels) + " = " + std::to_string(need));
}

void check_grid(int height, int width, int output_stride) {
    if (height <= 0 || width <= 0)
        throw std::invalid_argument("output grid " + std::to_string(height) + "x" + std::to_string(width) +
                                    " is empty");
    if (output_stride <= 0) throw std::invalid_argument("output stride must be positive");
}

// A TensorBuffer3D over h x w x c float32 values: get(y, x, c) as the JS reads it.
struct Buffer3 {
    const float* data;
    int height, width, channels;
    float get(int y, int x, int c) const {
        return data[(size_t(y) * size_t(width) + size_t(x)) * size_t(channels) + size_t(c)];
    }
};

// scale_poses.js then flip_poses.js, in doubles, rounded to float at the end.
struct Mapper {
    bool scale = false, flip = false;
    double scale_x = 1, scale_y = 1, offset_x = 0, offset_y = 0, flip_width = 0;

    explicit Mapper(const ToImage& to) {
        if (to.letterbox == nullptr) {
            if (to.flip_horizontal)
                throw std::invalid_argument("flip_horizontal needs the letterbox (for the image width)");
            return;
        }
        const Letterbox& lb = *to.letterbox;
        const LetterboxPadding& p = lb.padding;
        const double height = lb.image_height, width = lb.image_width;
        const double in_h = lb.input_height, in_w = lb.input_width;
        scale_y = height / (in_h * (1 - p.top - p.bottom));
        scale_x = width / (in_w * (1 - p.left - p.right));
        offset_y = -p.top * in_h;
        offset_x = -p.left * in_w;
        // The package skips scaling when it is the identity; (v + 0) * 1 == v anyway.
        scale = true;
        flip = to.flip_horizontal;
        flip_width = width;
    }
    Keypoint operator()(double x, double y, float score, int id) const {
        if (scale) {
            x = (x + offset_x) * scale_x;
            y = (y + offset_y) * scale_y;
        }
        if (flip) x = flip_width - 1 - x;
        return Keypoint{float(x), float(y), score, kKeypointNames[size_t(id)]};
    }
};

// ---- decodeMultiplePoses helpers (decode_multiple_poses_util.js, build_part_with_score_queue.js) ----

struct Part {
    int heatmap_y, heatmap_x, id;
};
struct PartWithScore {
    float score;
    Part part;
};

// max_heap.js, verbatim: a 1-based heap formula (children 2k, 2k+1; parent floor(k/2)) applied to a
// 0-based array, which fixes the order in which equal and near-equal roots come out.
class MaxHeap {
public:
    explicit MaxHeap(size_t max_size) { queue_.resize(max_size); }
    void enqueue(const PartWithScore& x) {
        queue_[size_t(++n_)] = x;
        swim(n_);
    }
    PartWithScore dequeue() {
        PartWithScore max = queue_[0];
        exchange(0, n_--);
        sink(0);
        return max;
    }
    bool empty() const { return n_ == -1; }
    int size() const { return n_ + 1; }

private:
    static long half(long k) { return k / 2; }  // Math.floor(k / 2), k >= 0
    bool less(long i, long j) const { return queue_[size_t(i)].score < queue_[size_t(j)].score; }
    void exchange(long i, long j) { std::swap(queue_[size_t(i)], queue_[size_t(j)]); }
    void swim(long k) {
        while (k > 0 && less(half(k), k)) {
            exchange(k, half(k));
            k = half(k);
        }
    }
    void sink(long k) {
        while (2 * k <= n_) {
            long j = 2 * k;
            if (j < n_ && less(j, j + 1)) j++;
            if (!less(k, j)) break;
            exchange(k, j);
            k = j;
        }
    }
    std::vector<PartWithScore> queue_;
    long n_ = -1;  // numberOfElements
};

bool score_is_maximum_in_local_window(int keypoint_id, float score, int heatmap_y, int heatmap_x,
                                      int local_maximum_radius, const Buffer3& scores) {
    const int height = scores.height, width = scores.width;
    bool local_maximum = true;
    const int y_start = std::max(heatmap_y - local_maximum_radius, 0);
    const int y_end = std::min(heatmap_y + local_maximum_radius + 1, height);
    for (int y = y_start; y < y_end; ++y) {
        const int x_start = std::max(heatmap_x - local_maximum_radius, 0);
        const int x_end = std::min(heatmap_x + local_maximum_radius + 1, width);
        for (int x = x_start; x < x_end; ++x) {
            if (scores.get(y, x, keypoint_id) > score) {
                local_maximum = false;
                break;
            }
        }
        if (!local_maximum) break;
    }
    return local_maximum;
}

MaxHeap build_part_with_score_queue(double score_threshold, int local_maximum_radius, const Buffer3& scores) {
    MaxHeap queue(size_t(scores.height) * size_t(scores.width) * size_t(scores.channels));
    for (int y = 0; y < scores.height; ++y)
        for (int x = 0; x < scores.width; ++x)
            for (int k = 0; k < scores.channels; ++k) {
                const float score = scores.get(y, x, k);
                // `score < scoreThreshold`: a float32 value against a JS number (double).
                if (double(score) < score_threshold) continue;
                if (score_is_maximum_in_local_window(k, score, y, x, local_maximum_radius, scores))
                    queue.enqueue({score, {y, x, k}});
            }
    return queue;
}

// getImageCoords: part.heatmapX * outputStride + x, in doubles (exact: an integer plus a float32).
void image_coords(const Part& part, int output_stride, const Buffer3& offsets, double& x, double& y) {
    const double off_y = offsets.get(part.heatmap_y, part.heatmap_x, part.id);
    const double off_x = offsets.get(part.heatmap_y, part.heatmap_x, part.id + kNumKeypoints);
    x = double(part.heatmap_x * output_stride) + off_x;
    y = double(part.heatmap_y * output_stride) + off_y;
}

double squared_distance(double y1, double x1, double y2, double x2) {
    const double dy = y2 - y1;
    const double dx = x2 - x1;
    return dy * dy + dx * dx;
}

bool within_nms_radius_of_corresponding_point(const std::vector<PoseD>& poses, double squared_nms_radius,
                                              double x, double y, int keypoint_id) {
    for (const PoseD& p : poses) {
        const KeypointD& k = p.keypoints[size_t(keypoint_id)];
        if (squared_distance(y, x, k.y, k.x) <= squared_nms_radius) return true;
    }
    return false;
}

// getStridedIndexNearPoint: clamp(Math.round(v / outputStride), 0, size - 1). A NaN coordinate
// stays NaN in the JS (and then reads `undefined`); here it returns -1.
int strided_index(double v, int output_stride, int size) {
    const double r = js_round(v / output_stride);
    if (std::isnan(r)) return -1;
    if (r < 0) return 0;
    if (r > size - 1) return size - 1;
    return int(r);
}

// TensorBuffer.get with a NaN index gives undefined; arithmetic on it gives NaN.
double get_or_nan(const Buffer3& b, int y, int x, int c) {
    return (y < 0 || x < 0) ? kNaN : double(b.get(y, x, c));
}

KeypointD traverse_to_target_keypoint(int edge_id, const KeypointD& source, int target_id, const Buffer3& scores,
                                      const Buffer3& offsets, int output_stride, const Buffer3& displacements,
                                      int offset_refine_step = 2) {
    const int height = scores.height, width = scores.width;
    const int num_edges = displacements.channels / 2;
    // Nearest neighbour for the source->target displacement.
    const int sy = strided_index(source.y, output_stride, height);
    const int sx = strided_index(source.x, output_stride, width);
    const double disp_y = get_or_nan(displacements, sy, sx, edge_id);
    const double disp_x = get_or_nan(displacements, sy, sx, num_edges + edge_id);
    // addVectors(point, displacement)
    double tx = source.x + disp_x;
    double ty = source.y + disp_y;
    for (int i = 0; i < offset_refine_step; ++i) {
        const int iy = strided_index(ty, output_stride, height);
        const int ix = strided_index(tx, output_stride, width);
        const double off_y = get_or_nan(offsets, iy, ix, target_id);
        const double off_x = get_or_nan(offsets, iy, ix, target_id + kNumKeypoints);
        // addVectors({x: ix * stride, y: iy * stride}, offsetPoint)
        tx = (ix < 0 ? kNaN : double(ix * output_stride)) + off_x;
        ty = (iy < 0 ? kNaN : double(iy * output_stride)) + off_y;
    }
    const int fy = strided_index(ty, output_stride, height);
    const int fx = strided_index(tx, output_stride, width);
    KeypointD k;
    k.x = tx;
    k.y = ty;
    k.score = float(get_or_nan(scores, fy, fx, target_id));
    k.set = true;
    return k;
}

std::array<KeypointD, kNumKeypoints> decode_pose(const PartWithScore& root, const Buffer3& scores,
                                                 const Buffer3& offsets, int output_stride,
                                                 const Buffer3& displacements_fwd,
                                                 const Buffer3& displacements_bwd) {
    std::array<KeypointD, kNumKeypoints> kp{};
    KeypointD& r = kp[size_t(root.part.id)];
    image_coords(root.part, output_stride, offsets, r.x, r.y);
    r.score = root.score;
    r.set = true;
    // Upwards in the tree, following the backward displacements.
    for (int edge = kNumEdges - 1; edge >= 0; --edge) {
        const int source = kPoseChain[size_t(edge)].child;
        const int target = kPoseChain[size_t(edge)].parent;
        if (kp[size_t(source)].set && !kp[size_t(target)].set)
            kp[size_t(target)] = traverse_to_target_keypoint(edge, kp[size_t(source)], target, scores, offsets,
                                                             output_stride, displacements_bwd);
    }
    // Downwards, following the forward displacements.
    for (int edge = 0; edge < kNumEdges; ++edge) {
        const int source = kPoseChain[size_t(edge)].parent;
        const int target = kPoseChain[size_t(edge)].child;
        if (kp[size_t(source)].set && !kp[size_t(target)].set)
            kp[size_t(target)] = traverse_to_target_keypoint(edge, kp[size_t(source)], target, scores, offsets,
                                                             output_stride, displacements_fwd);
    }
    return kp;
}

double instance_score(const std::vector<PoseD>& existing, double squared_nms_radius,
                      const std::array<KeypointD, kNumKeypoints>& kp) {
    double result = 0.0;
    for (int id = 0; id < kNumKeypoints; ++id) {
        const KeypointD& k = kp[size_t(id)];
        if (!within_nms_radius_of_corresponding_point(existing, squared_nms_radius, k.x, k.y, id))
            result += double(k.score);
    }
    return result / kNumKeypoints;
}

}  // namespace

double js_round(double x) {
    // ECMAScript Math.round: the integer closest to x, ties toward +infinity. floor(x + 0.5) would be
    // wrong for 0.49999999999999994 and for odd integers above 2^52; x - floor(x) is exact.
    if (!std::isfinite(x)) return x;
    const double f = std::floor(x);
    return (x - f >= 0.5) ? f + 1 : f;
}

float sigmoid(float logit) {
    return float(1.0 / (1.0 + std::exp(-double(logit))));
}

void sigmoid(std::span<const float> logits, std::span<float> scores) {
    if (logits.size() != scores.size()) throw std::invalid_argument("sigmoid: input and output sizes differ");
    for (size_t i = 0; i < logits.size(); ++i) scores[i] = sigmoid(logits[i]);
}

std::vector<float> sigmoid(std::span<const float> logits) {
    std::vector<float> out(logits.size());
    sigmoid(logits, out);
    return out;
}

Pose decode_single_pose(std::span<const float> scores, std::span<const float> offsets, int height, int width,
                        int output_stride, ToImage to_image) {
    check_grid(height, width, output_stride);
    check_sizes(scores, height, width, kNumKeypoints, "heatmap scores");
    check_sizes(offsets, height, width, 2 * kNumKeypoints, "offsets");
    const Mapper map(to_image);
    const Buffer3 s{scores.data(), height, width, kNumKeypoints};
    const Buffer3 o{offsets.data(), height, width, 2 * kNumKeypoints};
    const int cells = height * width;

    Pose pose;
    double total_score = 0.0;  // totalScore += score: JS number
    for (int k = 0; k < kNumKeypoints; ++k) {
        // argmax2d: tf.argMax over the reshaped [h*w, 17], cpu kernel: first maximum wins (`>`).
        float max = scores[size_t(k)];
        int max_index = 0;
        for (int j = 0; j < cells; ++j) {
            const float v = scores[size_t(j) * kNumKeypoints + size_t(k)];
            if (v > max) {
                max = v;
                max_index = j;
            }
        }
        // int32 floorDiv and mod.
        const int y = max_index / width;
        const int x = max_index - y * width;
        // getOffsetPoints: tf.add(cast(coords * stride, float32), offsetVectors): float32 result.
        const float py = float(double(float(y * output_stride)) + double(o.get(y, x, k)));
        const float px = float(double(float(x * output_stride)) + double(o.get(y, x, k + kNumKeypoints)));
        // getPointsConfidence: Float32Array.
        const float score = s.get(y, x, k);
        total_score += double(score);
        pose.keypoints[size_t(k)] = map(px, py, score, k);
    }
    pose.score = float(total_score / kNumKeypoints);
    return pose;
}

std::vector<Pose> decode_multiple_poses(std::span<const float> scores, std::span<const float> offsets,
                                        std::span<const float> displacement_fwd,
                                        std::span<const float> displacement_bwd, int height, int width,
                                        int output_stride, int max_poses, double score_threshold,
                                        double nms_radius, ToImage to_image) {
    check_grid(height, width, output_stride);
    check_sizes(scores, height, width, kNumKeypoints, "heatmap scores");
    check_sizes(offsets, height, width, 2 * kNumKeypoints, "offsets");
    check_sizes(displacement_fwd, height, width, 2 * kNumEdges, "forward displacements");
    check_sizes(displacement_bwd, height, width, 2 * kNumEdges, "backward displacements");
    if (max_poses < 1) throw std::invalid_argument("max_poses must be >= 1, got " + std::to_string(max_poses));
    if (!(score_threshold >= 0.0 && score_threshold <= 1.0))
        throw std::invalid_argument("score_threshold must be in [0, 1], got " + std::to_string(score_threshold));
    if (!(nms_radius > 0)) throw std::invalid_argument("nms_radius must be > 0, got " + std::to_string(nms_radius));
    const Mapper map(to_image);

    const Buffer3 s{scores.data(), height, width, kNumKeypoints};
    const Buffer3 o{offsets.data(), height, width, 2 * kNumKeypoints};
    const Buffer3 fwd{displacement_fwd.data(), height, width, 2 * kNumEdges};
    const Buffer3 bwd{displacement_bwd.data(), height, width, 2 * kNumEdges};

    std::vector<PoseD> poses;
    MaxHeap queue = build_part_with_score_queue(score_threshold, kLocalMaximumRadius, s);
    const double squared_nms_radius = nms_radius * nms_radius;
    while (int(poses.size()) < max_poses && !queue.empty()) {
        const PartWithScore root = queue.dequeue();
        double rx, ry;
        image_coords(root.part, output_stride, o, rx, ry);
        if (within_nms_radius_of_corresponding_point(poses, squared_nms_radius, rx, ry, root.part.id)) continue;
        PoseD pose;
        pose.keypoints = decode_pose(root, s, o, output_stride, fwd, bwd);
        pose.score = instance_score(poses, squared_nms_radius, pose.keypoints);
        poses.push_back(pose);
    }

    std::vector<Pose> out(poses.size());
    for (size_t i = 0; i < poses.size(); ++i) {
        out[i].score = float(poses[i].score);
        for (int k = 0; k < kNumKeypoints; ++k) {
            const KeypointD& kp = poses[i].keypoints[size_t(k)];
            out[i].keypoints[size_t(k)] = map(kp.x, kp.y, kp.score, k);
        }
    }
    return out;
}

std::vector<Pose> decode_poses(std::span<const float> scores, std::span<const float> offsets,
                               std::span<const float> displacement_fwd, std::span<const float> displacement_bwd,
                               int height, int width, int output_stride, const EstimationConfig& config,
                               const Letterbox* letterbox) {
    validate(config);
    const ToImage to{letterbox, config.flip_horizontal};
    if (config.max_poses == 1) return {decode_single_pose(scores, offsets, height, width, output_stride, to)};
    return decode_multiple_poses(scores, offsets, displacement_fwd, displacement_bwd, height, width, output_stride,
                                 config.max_poses, config.score_threshold, config.nms_radius, to);
}

void scale_poses(std::span<Pose> poses, const Letterbox& letterbox) {
    const Mapper map(ToImage{&letterbox, false});
    for (Pose& p : poses)
        for (int k = 0; k < kNumKeypoints; ++k) {
            Keypoint& kp = p.keypoints[size_t(k)];
            const std::string_view name = kp.name;
            kp = map(kp.x, kp.y, kp.score, k);
            kp.name = name.empty() ? kKeypointNames[size_t(k)] : name;
        }
}

void flip_poses_horizontal(std::span<Pose> poses, int image_width) {
    for (Pose& p : poses)
        for (Keypoint& kp : p.keypoints) kp.x = float(double(image_width) - 1 - double(kp.x));
}

}  // namespace posenet
