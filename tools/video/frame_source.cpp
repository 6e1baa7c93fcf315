// The parts of frame_source.h that image folders need too, without FFmpeg (in posenet_frames).
#include "tools/video/frame_source.h"

namespace posenet::video {

VideoError::VideoError(std::string_view input, std::string_view reason)
    : std::runtime_error(std::string(input) + ": " + std::string(reason)) {}

int64_t frame_time_us(int64_t index, FrameRate rate) {
    if (!rate.known()) rate = kDefaultFrameRate;
    // index * 1e6 * den / num, rounded to nearest, in 128 bits (no overflow for any index).
    const __int128 numerator = __int128(index) * 1000000 * rate.den;
    return int64_t((numerator * 2 + rate.num) / (2 * __int128(rate.num)));
}

}  // namespace posenet::video
