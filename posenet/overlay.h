// Draws poses onto an RGB image: keypoints as dots, the skeleton as lines.
#pragma once

#include <span>

#include "posenet/export.h"
#include "posenet/image.h"
#include "posenet/pose.h"

namespace posenet {

// Keypoints below min_score (and the bones touching them) are not drawn.
POSENET_API void draw_poses(Image& image, std::span<const Pose> poses, float min_score = 0.3f);

}  // namespace posenet
