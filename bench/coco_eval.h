// COCO keypoint evaluation: a port of pycocotools' COCOeval with iouType 'keypoints' (evaluate,
// accumulate, summarize), so AP figures compare with those the COCO tools print.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "posenet/pose.h"

namespace posenet {

// One entry of a COCO results file.
struct CocoDetection {
    int64_t image_id = 0;
    int64_t category_id = 1;  // person
    double score = 0;
    std::array<double, 3 * kNumKeypoints> keypoints{};  // x, y, v per keypoint; OKS reads only x and y
};

// A pose in source-image pixels as a detection; v is the keypoint score.
CocoDetection to_coco_detection(int64_t image_id, const Pose& pose);

// COCO results JSON: [{image_id, category_id, keypoints: [x, y, v] * 17, score}, ...].
nlohmann::json to_coco_results(const std::vector<CocoDetection>& detections);
// Throws std::runtime_error naming the entry at fault.
std::vector<CocoDetection> parse_coco_results(const nlohmann::json& results);

// The official keypoint sigmas (pycocotools' kpt_oks_sigmas), COCO keypoint order.
inline constexpr std::array<double, kNumKeypoints> kCocoSigmas = {
    .026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089};

// pycocotools' computeOks for one ground-truth annotation (COCO json: keypoints, bbox, area) and one
// detection: over the gt's labelled keypoints, or, when it has none, by distance outside its bbox
// grown by its own size on each side.
double coco_oks(const nlohmann::json& annotation, const CocoDetection& detection);

inline constexpr std::array<std::string_view, 10> kCocoStatNames = {"AP",  "AP50", "AP75", "APm", "APl",
                                                                    "AR",  "AR50", "AR75", "ARm", "ARl"};

// COCOeval.stats for keypoints (maxDets 20; areas all, medium, large), in kCocoStatNames order; -1 where
// no ground truth falls in the setting, as pycocotools reports. Evaluates every image and category of the
// annotations (a COCO person_keypoints file). Detections on images the annotations do not list are an
// error, as in pycocotools' loadRes. Throws std::runtime_error naming what is malformed.
std::array<double, 10> evaluate_coco_keypoints(const nlohmann::json& annotations,
                                               const std::vector<CocoDetection>& detections);

}  // namespace posenet
