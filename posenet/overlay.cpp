#include "posenet/overlay.h"

#include <cmath>
#include <cstdlib>
#include <iterator>

namespace posenet {

namespace {

using Rgb = OverlayColour;

// Tableau's 10 colours and two more, distinct on photos and from one another.
constexpr Rgb kTrackPalette[12] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                   {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                   {188, 189, 34},  {23, 190, 207}, {255, 215, 0},   {0, 0, 128}};

void put(Image& img, int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
    uint8_t* p = img.pixels.data() + (size_t(y) * img.width + x) * 3;
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
}

void disc(Image& img, float cx, float cy, int radius, Rgb c) {
    const int x0 = int(std::lround(cx)), y0 = int(std::lround(cy));
    for (int dy = -radius; dy <= radius; ++dy)
        for (int dx = -radius; dx <= radius; ++dx)
            if (dx * dx + dy * dy <= radius * radius) put(img, x0 + dx, y0 + dy, c);
}

void line(Image& img, float xa, float ya, float xb, float yb, int width, Rgb c) {
    const float len = std::hypot(xb - xa, yb - ya);
    const int steps = std::max(1, int(std::ceil(len)));
    for (int i = 0; i <= steps; ++i) {
        float t = float(i) / float(steps);
        disc(img, xa + t * (xb - xa), ya + t * (yb - ya), width / 2, c);
    }
}

}  // namespace

OverlayColour track_colour(int id) {
    const int n = int(std::size(kTrackPalette));
    return kTrackPalette[((id % n) + n) % n];
}

void draw_poses(Image& image, std::span<const Pose> poses, float min_score) {
    // Scale marks with the photo so they stay visible on large images.
    const int scale = std::max(1, std::max(image.width, image.height) / 400);
    for (const Pose& pose : poses) {
        const bool tracked = pose.id >= 0;
        const Rgb bone = tracked ? track_colour(pose.id) : Rgb{0, 255, 255};
        const Rgb joint = tracked ? Rgb{255, 255, 255} : Rgb{255, 40, 40};
        for (const auto& [a, b] : kAdjacentPairs) {
            const Keypoint& p = pose.keypoints[size_t(a)];
            const Keypoint& q = pose.keypoints[size_t(b)];
            if (p.score >= min_score && q.score >= min_score) line(image, p.x, p.y, q.x, q.y, 2 * scale, bone);
        }
        for (const Keypoint& k : pose.keypoints)
            if (k.score >= min_score) disc(image, k.x, k.y, 2 * scale + 1, joint);
    }
}

}  // namespace posenet
