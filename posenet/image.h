// Images in and out: non-owning views over 8-bit pixels or HxWx3 float32, and an owned RGB8 image
// loaded with stb_image.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "posenet/errors.h"
#include "posenet/export.h"

namespace posenet {

enum class PixelFormat { RGB8, RGBA8, BGR8, BGRA8, Gray8 };

// Bytes per pixel of a format (3, 4, 3, 4, 1).
constexpr int bytes_per_pixel(PixelFormat format) {
    switch (format) {
        case PixelFormat::RGB8:
        case PixelFormat::BGR8: return 3;
        case PixelFormat::RGBA8:
        case PixelFormat::BGRA8: return 4;
        case PixelFormat::Gray8: return 1;
    }
    return 0;
}
POSENET_API const char* to_string(PixelFormat format);

// 8-bit pixels, row by row; rows are row_stride_bytes apart (>= width * bytes_per_pixel; 0 means
// tightly packed). Alpha is ignored (dropped, not composited), as tf.browser.fromPixels does.
struct ImageView {
    const uint8_t* data = nullptr;
    int height = 0, width = 0;
    int row_stride_bytes = 0;
    PixelFormat format = PixelFormat::RGB8;
    int stride() const { return row_stride_bytes > 0 ? row_stride_bytes : width * bytes_per_pixel(format); }
};

// HxWx3 float32 RGB (values 0..255 for preprocessing), rows row_stride_floats apart
// (0 means tightly packed: width * 3).
struct FloatImageView {
    const float* data = nullptr;
    int height = 0, width = 0;
    int row_stride_floats = 0;
    int stride() const { return row_stride_floats > 0 ? row_stride_floats : width * 3; }
};

// Throws ConfigError unless data is set, sizes are positive and the stride fits a row.
POSENET_API void validate(const ImageView& image);
POSENET_API void validate(const FloatImageView& image);

// An owned, tightly packed RGB8 image.
struct Image {
    int height = 0, width = 0;
    std::vector<uint8_t> pixels;  // height * width * 3
    ImageView view() const { return {pixels.data(), height, width, width * 3, PixelFormat::RGB8}; }
};

// Larger images are refused before decoding (width * height > 2^28).
inline constexpr uint64_t kMaxImagePixels = uint64_t(1) << 28;

// Decodes PNG, JPEG, BMP, TGA, GIF (first frame), PSD, PNM (P5/P6) etc. with stb_image into RGB8
// (grey expanded, alpha dropped, 16-bit reduced to 8). Throws ImageError for a missing, unreadable,
// empty, corrupt or too large file. Note: stb_image's JPEG decoder upsamples chroma smoothly, unlike
// the reference's jpeg-js; compare with TF.js on PNG/PPM inputs.
POSENET_API Image load_image(const std::filesystem::path& path);
// The same from bytes in memory; `name` is used in error messages.
POSENET_API Image decode_image(std::span<const uint8_t> bytes, std::string_view name);

// Copies any 8-bit view into an owned RGB8 image (BGR swapped, alpha dropped, grey expanded).
POSENET_API Image to_rgb(const ImageView& image);

// Writes a PNG (RGB8, RGBA8 or Gray8 as is; BGR formats are converted). Throws ImageError.
POSENET_API void write_png(const std::filesystem::path& path, const ImageView& image);

}  // namespace posenet
