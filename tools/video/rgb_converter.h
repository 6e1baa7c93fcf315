// Decoded pictures (any pixel format libswscale reads: YUV, grey, RGB variants) into RGB8
// posenet::Images, for the FFmpeg decoder and the YUV4MPEG2 reader alike.
#pragma once

#include <cstdint>
#include <string_view>

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

#include "posenet/image.h"

struct SwsContext;

namespace posenet::video {

// A picture's planes as FFmpeg lays them out, with the colour tags that decide its conversion.
struct Picture {
    const uint8_t* planes[4] = {};
    int strides[4] = {};
    int width = 0, height = 0;
    AVPixelFormat format = AV_PIX_FMT_NONE;
    AVColorSpace colorspace = AVCOL_SPC_UNSPECIFIED;
    AVColorRange range = AVCOL_RANGE_UNSPECIFIED;
};

// A decoded frame's planes and tags (the frame keeps owning its memory).
Picture picture_of(const AVFrame& frame);

// The conversion, by libswscale with bit-exact arithmetic (the same picture always gives the same
// pixels) and bilinear chroma upsampling:
// - YUV: the picture's matrix; untagged: BT.709 at 720 lines and more, else BT.601 (what players
//   assume). Its range; untagged: limited (16..235), except FFmpeg's full-range yuvj formats.
// - grey: full range unless tagged limited.
// - RGB and the like: rearranged, alpha dropped.
class RgbConverter {
public:
    RgbConverter() = default;
    ~RgbConverter();
    RgbConverter(const RgbConverter&) = delete;
    RgbConverter& operator=(const RgbConverter&) = delete;

    // Writes `picture` into `out` (resized to the picture's size, tightly packed RGB8). Throws
    // VideoError naming `input` for a pixel format libswscale cannot read.
    void convert(const Picture& picture, Image& out, std::string_view input);

private:
    struct Layout {
        int width = 0, height = 0;
        AVPixelFormat format = AV_PIX_FMT_NONE;
        AVColorSpace colorspace = AVCOL_SPC_UNSPECIFIED;
        AVColorRange range = AVCOL_RANGE_UNSPECIFIED;
        bool operator==(const Layout&) const = default;
    };
    void prepare(const Layout& layout, std::string_view input);

    SwsContext* context_ = nullptr;  // made for layout_, remade when a picture's layout differs
    Layout layout_;
    uint8_t* scratch_ = nullptr;  // libswscale's output, padded and aligned as it likes, then copied
    int scratch_stride_ = 0;
};

}  // namespace posenet::video
