// Images in and out: non-owning views over 8-bit pixels or HxWx3 float32, and an owned RGB8 image
// decoded from JPEG (libjpeg-turbo), PNG (libpng) or binary PNM (our own strict parser).
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

// Limits on untrusted image files. The sizes an image header declares are checked against the first two
// before any pixel memory is allocated; a file is refused before it is read when it is larger than the
// third (2 GiB: room for a 16-bit PPM at the pixel limit).
inline constexpr uint64_t kMaxImagePixels = uint64_t(1) << 28;     // width * height
inline constexpr uint64_t kMaxImageSide = uint64_t(1) << 16;       // width and height, each
inline constexpr uint64_t kMaxImageFileBytes = uint64_t(1) << 31;  // bytes in the file

// Decodes an image file into RGB8. Supported formats, recognised by their signature (not the name):
// - JPEG, with libjpeg-turbo at its defaults (ISLOW DCT, fancy upsampling): the decoder Chrome uses, so
//   the pixels are those a browser decodes before colour management. The reference tool decodes with
//   jpeg-js, which upsamples chroma differently; the TF.js parity tests feed both sides TF.js's own
//   pixels. Grey is expanded; CMYK and YCCK are converted as Chrome does (Adobe's inverted CMYK:
//   R = C * K / 255, ...). No EXIF rotation is applied (the reference tool's decoder applies none).
// - PNG, with libpng: grey, grey + alpha and palette expanded; 16-bit samples reduced to their high
//   byte (v >> 8, as stb_image did before; the reference's pngjs rounds v * 255 / 65535, at most 1 off);
//   gamma and colour profiles ignored; the first image of an animated PNG.
// - PNM, binary P5 (grey) and P6 (RGB), maxval 1..65535: maxval 255 is taken as is, any other is
//   rescaled to round(v * 255 / maxval), as the reference tool does; a sample above maxval is corrupt;
//   bytes after the image are ignored.
// Alpha is dropped, not composited (see ImageView). BMP, GIF, TGA, PSD, HDR, TIFF, WebP, ASCII PNM and
// the rest are refused with an error that lists the supported formats.
// Throws ImageError (posenet/errors.h; what() is "FILE: reason", e.g. "photo.png: image is
// 100000x100000 pixels, more than the limit of 268435456 pixels (too large to decode)") naming the
// reason: not found, not a regular file (a directory, FIFO or device is refused before anything is
// read, so a FIFO cannot block), larger than kMaxImageFileBytes, empty, unsupported format, too large
// (kMaxImagePixels, kMaxImageSide), truncated (data missing anywhere: never filled in, so no pixel comes
// from an earlier image or from grey fill), or corrupt.
POSENET_API Image load_image(const std::filesystem::path& path);
// The same from bytes in memory; `name` is used in error messages.
POSENET_API Image decode_image(std::span<const uint8_t> bytes, std::string_view name);

// Copies any 8-bit view into an owned RGB8 image (BGR swapped, alpha dropped, grey expanded).
POSENET_API Image to_rgb(const ImageView& image);

// Writes a PNG with libpng (RGB8, RGBA8 or Gray8 as is; BGR8/BGRA8 converted to RGB8), whole or not at all
// (a temporary file renamed into place). Throws ImageError.
POSENET_API void write_png(const std::filesystem::path& path, const ImageView& image);

}  // namespace posenet
