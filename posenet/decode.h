// Model outputs -> poses, exactly as @tensorflow-models/pose-detection@2.1.3's PoseNet detector does it
// on the tfjs cpu backend (dist/posenet/calculators/*, scale_poses.js, flip_poses.js).
//
// Inputs are the outputs for one image, NHWC without the batch dimension, h x w cells:
//   scores        h*w*17  sigmoid of the heatmap logits (see sigmoid())
//   offsets       h*w*34  channel k = dy of keypoint k, 17 + k = dx
//   displacement  h*w*32  channel e = dy of POSE_CHAIN edge e, 16 + e = dx (fwd: parent -> child,
//                         bwd: child -> parent)
// Keypoints come back in model-input pixels, or, given a Letterbox, in source image pixels
// (scalePoses, then flipPosesHorizontal if asked). Internally every coordinate is the package's JS
// double; it is rounded to float once, at the end.
#pragma once

#include <span>
#include <vector>

#include "posenet/config.h"
#include "posenet/export.h"
#include "posenet/pose.h"
#include "posenet/preprocess.h"

namespace posenet {

// tf.sigmoid on the cpu backend: 1 / (1 + Math.exp(-x)) in double, stored as float32.
POSENET_API float sigmoid(float logit);
POSENET_API void sigmoid(std::span<const float> logits, std::span<float> scores);  // same sizes
POSENET_API std::vector<float> sigmoid(std::span<const float> logits);

// Where decoded keypoints go. nullptr letterbox: model-input pixels (flip not allowed).
struct ToImage {
    const Letterbox* letterbox = nullptr;
    bool flip_horizontal = false;  // x = image_width - 1 - x, after scaling
};

// decodeSinglePose: per keypoint the first maximum (row-major) of its h x w scores; position
// fl32(cell * stride + offset); pose score = (sum of the 17 scores in double) / 17.
POSENET_API Pose decode_single_pose(std::span<const float> scores, std::span<const float> offsets, int height, int width,
                        int output_stride, ToImage to_image = {});

// decodeMultiplePoses: root candidates are cells with score >= score_threshold that are the maximum of
// their 3x3 window, taken from the package's max-heap; a root within nms_radius (model-input pixels)
// of the same keypoint of an accepted pose is skipped; each pose is grown along POSE_CHAIN (bwd edges
// 15..0, then fwd edges 0..15) with 2 offset refinement steps. Pose score = sum of the scores of
// keypoints not within nms_radius of an earlier pose's same keypoint, / 17. Decode order, not sorted.
// Throws std::invalid_argument for bad sizes, max_poses < 1, score_threshold outside [0, 1] or
// nms_radius <= 0 (the package's validateEstimationConfig).
POSENET_API std::vector<Pose> decode_multiple_poses(std::span<const float> scores, std::span<const float> offsets,
                                        std::span<const float> displacement_fwd,
                                        std::span<const float> displacement_bwd, int height, int width,
                                        int output_stride, int max_poses, double score_threshold,
                                        double nms_radius, ToImage to_image = {});

// The detector's choice: max_poses == 1 -> decode_single_pose (displacements unused), else
// decode_multiple_poses with the config's threshold and radius. Throws ConfigError for a config that
// validate(EstimationConfig) refuses.
POSENET_API std::vector<Pose> decode_poses(std::span<const float> scores, std::span<const float> offsets,
                               std::span<const float> displacement_fwd, std::span<const float> displacement_bwd,
                               int height, int width, int output_stride, const EstimationConfig& config,
                               const Letterbox* letterbox);

// scalePoses / flipPosesHorizontal on poses already in model-input pixels (float in, float out;
// decoding with a ToImage is more exact: it scales the decoder's doubles).
POSENET_API void scale_poses(std::span<Pose> poses, const Letterbox& letterbox);
POSENET_API void flip_poses_horizontal(std::span<Pose> poses, int image_width);

// The package's Math.round: nearest integer, halves toward +infinity.
POSENET_API double js_round(double x);

}  // namespace posenet
