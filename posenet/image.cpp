#include "posenet/image.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <system_error>

// The one translation unit that holds stb_image and stb_image_write.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#endif
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

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
    : std::runtime_error("image '" + file + "': " + reason), file_(file) {}

Image decode_image(std::span<const uint8_t> bytes, std::string_view name) {
    const std::string file(name);
    if (bytes.empty()) throw ImageError(file, "file is empty");
    if (bytes.size() > size_t(INT32_MAX)) throw ImageError(file, "file is too large (over 2 GiB)");
    int w = 0, h = 0, comp = 0;
    const int len = int(bytes.size());
    if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &comp)) {
        const char* why = stbi_failure_reason();
        throw ImageError(file, std::string("cannot decode (not a supported image or corrupt): ") +
                                   (why ? why : "unknown reason"));
    }
    if (w <= 0 || h <= 0)
        throw ImageError(file, "image has no pixels (" + std::to_string(w) + "x" + std::to_string(h) + ")");
    if (uint64_t(w) * uint64_t(h) > kMaxImagePixels)
        throw ImageError(file, "image is too large: " + std::to_string(w) + "x" + std::to_string(h) +
                                   " pixels exceeds the limit of 2^28 pixels");
    std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
        stbi_load_from_memory(bytes.data(), len, &w, &h, &comp, 3), stbi_image_free);
    if (!pixels) {
        const char* why = stbi_failure_reason();
        throw ImageError(file, std::string("cannot decode (corrupt or truncated): ") +
                                   (why ? why : "unknown reason"));
    }
    Image img;
    img.width = w;
    img.height = h;
    img.pixels.assign(pixels.get(), pixels.get() + size_t(w) * size_t(h) * 3);
    return img;
}

Image load_image(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) throw ImageError(file, "file not found");
    if (std::filesystem::is_directory(status)) throw ImageError(file, "is a directory, not an image file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ImageError(file, std::string("cannot open: ") + std::strerror(errno));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw ImageError(file, "read error");
    return decode_image(bytes, file);
}

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

void write_png(const std::filesystem::path& path, const ImageView& image) {
    validate(image);
    const std::string file = path.string();
    int ok = 0;
    if (image.format == PixelFormat::BGR8 || image.format == PixelFormat::BGRA8) {
        Image rgb = to_rgb(image);
        ok = stbi_write_png(file.c_str(), rgb.width, rgb.height, 3, rgb.pixels.data(), rgb.width * 3);
    } else {
        ok = stbi_write_png(file.c_str(), image.width, image.height, bytes_per_pixel(image.format),
                            image.data, image.stride());
    }
    if (!ok) throw ImageError(file, "cannot write PNG");
}

}  // namespace posenet
