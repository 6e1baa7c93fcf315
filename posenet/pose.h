// Keypoints, poses and the skeleton of @tensorflow-models/pose-detection@2.1.3's PoseNet.
// Sources: dist/constants.js (COCO_KEYPOINTS, COCO_CONNECTED_KEYPOINTS_PAIRS) and
// dist/posenet/constants.js (POSE_CHAIN, NUM_KEYPOINTS, K_LOCAL_MAXIMUM_RADIUS).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace posenet {

inline constexpr int kNumKeypoints = 17;  // NUM_KEYPOINTS
inline constexpr int kNumEdges = 16;      // POSE_CHAIN.length; displacements have 2 * 16 channels
inline constexpr int kLocalMaximumRadius = 1;  // K_LOCAL_MAXIMUM_RADIUS

// COCO_KEYPOINTS, in model channel order.
inline constexpr std::array<std::string_view, kNumKeypoints> kKeypointNames = {
    "nose",       "left_eye",    "right_eye",      "left_ear",   "right_ear",   "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip",  "left_knee",   "right_knee",     "left_ankle", "right_ankle"};

// Index of a keypoint name, or -1.
constexpr int keypoint_index(std::string_view name) {
    for (int i = 0; i < kNumKeypoints; ++i)
        if (kKeypointNames[size_t(i)] == name) return i;
    return -1;
}

struct Keypoint {
    float x = 0, y = 0;  // pixels (source image, or model input where a function says so)
    float score = 0;     // sigmoid heatmap score, 0..1
    std::string_view name;
};

struct Pose {
    float score = 0;  // single pose: mean keypoint score; multi: see decode.h
    std::array<Keypoint, kNumKeypoints> keypoints{};
    int id = -1;      // track id given by a PoseTracker (posenet/tracking.h); -1: untracked
};

// One POSE_CHAIN entry: parent -> child. Displacement channel e is the dy of edge e, 16 + e its dx;
// forward displacements point parent -> child, backward ones child -> parent.
struct Edge {
    int parent, child;
};

// POSE_CHAIN, in the package's order (the decoder's traversal order depends on it).
inline constexpr std::array<std::array<std::string_view, 2>, kNumEdges> kPoseChainNames = {{
    {"nose", "left_eye"},          {"left_eye", "left_ear"},      {"nose", "right_eye"},
    {"right_eye", "right_ear"},    {"nose", "left_shoulder"},     {"left_shoulder", "left_elbow"},
    {"left_elbow", "left_wrist"},  {"left_shoulder", "left_hip"}, {"left_hip", "left_knee"},
    {"left_knee", "left_ankle"},   {"nose", "right_shoulder"},    {"right_shoulder", "right_elbow"},
    {"right_elbow", "right_wrist"}, {"right_shoulder", "right_hip"}, {"right_hip", "right_knee"},
    {"right_knee", "right_ankle"},
}};

inline constexpr std::array<Edge, kNumEdges> kPoseChain = [] {
    std::array<Edge, kNumEdges> edges{};
    for (size_t e = 0; e < edges.size(); ++e)
        edges[e] = Edge{keypoint_index(kPoseChainNames[e][0]), keypoint_index(kPoseChainNames[e][1])};
    return edges;
}();
static_assert(kPoseChain[0].parent == 0 && kPoseChain[0].child == 1);
static_assert(kPoseChain[15].parent == 14 && kPoseChain[15].child == 16);

// COCO_CONNECTED_KEYPOINTS_PAIRS: the pairs util.getAdjacentPairs(PoseNet) returns, for drawing.
inline constexpr std::array<std::array<int, 2>, 16> kAdjacentPairs = {{
    {0, 1}, {0, 2}, {1, 3}, {2, 4}, {5, 6}, {5, 7}, {5, 11}, {6, 8},
    {6, 12}, {7, 9}, {8, 10}, {11, 12}, {11, 13}, {12, 14}, {13, 15}, {14, 16},
}};

}  // namespace posenet
