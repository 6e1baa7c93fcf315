#include "posenet/image.h"

#include <stdexcept>

namespace posenet {

const char* to_string(PixelFormat format) {
    switch (format) {
        case PixelFormat::RGB8: return "RGB8";
        case PixelFormat::RGBA8: return "RGBA8";
        case PixelFormat::BGR8: return "BGR8";
        case PixelFormat::BGRA8: return "BGRA8";
        case PixelFormat::Gray8: return "Gray8";
    }
    return "?";
}

void validate(const ImageView& image) {
    if (image.data == nullptr) throw ConfigError("image view: data is null");
    if (image.width <= 0 || image.height <= 0)
        throw ConfigError("image view: size " + std::to_string(image.height) + "x" + std::to_string(image.width) +
                          " (height x width) must be positive");
    if (bytes_per_pixel(image.format) == 0) throw ConfigError("image view: unknown pixel format " + std::to_string(int(image.format)));
    const int64_t row = int64_t(image.width) * bytes_per_pixel(image.format);
    if (image.row_stride_bytes < 0 || (image.row_stride_bytes != 0 && image.row_stride_bytes < row))
        throw ConfigError("image view: row stride " + std::to_string(image.row_stride_bytes) + " is less than a row (" +
                          std::to_string(row) + " bytes, " + to_string(image.format) + ")");
}

void validate(const FloatImageView& image) {
    if (image.data == nullptr) throw ConfigError("float image view: data is null");
    if (image.width <= 0 || image.height <= 0)
        throw ConfigError("float image view: size " + std::to_string(image.height) + "x" + std::to_string(image.width) +
                          " (height x width) must be positive");
    if (image.row_stride_floats < 0 || (image.row_stride_floats != 0 && image.row_stride_floats < int64_t(image.width) * 3))
        throw ConfigError("float image view: row stride " + std::to_string(image.row_stride_floats) +
                          " is less than width * 3");
}

ImageError::ImageError(const std::string& file, const std::string& reason)
    : std::runtime_error(file + ": " + reason), file_(file) {}

Image to_rgb(const ImageView& image) {
    validate(image);
    Image out;
    out.width = image.width;
    out.height = image.height;
    out.pixels.resize(size_t(image.width) * size_t(image.height) * 3);
    const int bpp = bytes_per_pixel(image.format);
    const bool bgr = image.format == PixelFormat::BGR8 || image.format == PixelFormat::BGRA8;
    const bool gray = image.format == PixelFormat::Gray8;
    for (int y = 0; y < image.height; ++y) {
        const uint8_t* row = image.data + size_t(y) * size_t(image.stride());
        uint8_t* dst = out.pixels.data() + size_t(y) * size_t(image.width) * 3;
        for (int x = 0; x < image.width; ++x) {
            const uint8_t* p = row + size_t(x) * size_t(bpp);
            if (gray) {
                dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = p[0];
            } else {
                dst[3 * x] = p[bgr ? 2 : 0];
                dst[3 * x + 1] = p[1];
                dst[3 * x + 2] = p[bgr ? 0 : 2];
            }
        }
    }
    return out;
}

}  // namespace posenet
