// Draws poses onto an RGB image: keypoints as dots, the skeleton as lines.
#pragma once

#include <cstdint>
#include <span>

#include "posenet/export.h"
#include "posenet/image.h"
#include "posenet/pose.h"

namespace posenet {

struct OverlayColour {
    uint8_t r = 0, g = 0, b = 0;
    bool operator==(const OverlayColour&) const = default;
};

// The colour of track `id` (Pose::id >= 0): one of 12 distinct colours, by id modulo 12, so a track
// keeps its colour from frame to frame.
POSENET_API OverlayColour track_colour(int id);

// Keypoints below min_score (and the bones touching them) are not drawn. Untracked poses (id -1): a
// cyan skeleton and red keypoints; tracked poses: the skeleton in track_colour(id), white keypoints.
// Marks grow with the image (a step per 400 pixels of its longer side), to stay visible.
POSENET_API void draw_poses(Image& image, std::span<const Pose> poses, float min_score = 0.3f);

}  // namespace posenet
