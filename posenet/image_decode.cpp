// load_image / decode_image / write_png: reading the file under the project's one rule for untrusted
// files (engine/file_io.h), recognising the format by its signature, and the size limits.
#include <cstring>
#include <optional>

#include "engine/file_io.h"
#include "posenet/image.h"
#include "posenet/image_codecs.h"

namespace posenet {

namespace codecs {

void check_image_size(uint64_t width, uint64_t height, const std::string& file) {
    const std::string size = std::to_string(width) + "x" + std::to_string(height);
    if (width == 0 || height == 0) throw ImageError(file, "image has no pixels (" + size + ")");
    // Each side is checked first against 2^32 so that the product cannot overflow.
    if (width > kMaxImagePixels || height > kMaxImagePixels || width * height > kMaxImagePixels)
        throw ImageError(file, "image is " + size + " pixels, more than the limit of " +
                                   std::to_string(kMaxImagePixels) + " pixels (too large to decode)");
    if (width > kMaxImageSide || height > kMaxImageSide)
        throw ImageError(file, "image is " + size + " pixels, a side longer than the limit of " +
                                   std::to_string(kMaxImageSide) + " pixels (too large to decode)");
}

std::string cannot_decode(const char* format, const std::string& why) {
    return std::string("cannot decode ") + format + ": " + why;
}

}  // namespace codecs

namespace {

bool starts_with(std::span<const uint8_t> bytes, const char* signature, size_t length) {
    return bytes.size() >= length && std::memcmp(bytes.data(), signature, length) == 0;
}

// Formats we recognise but do not decode, so the error can say what the file is.
std::optional<std::string> unsupported_format(std::span<const uint8_t> b) {
    if (starts_with(b, "BM", 2)) return "BMP";
    if (starts_with(b, "GIF87a", 6) || starts_with(b, "GIF89a", 6)) return "GIF";
    if (starts_with(b, "8BPS", 4)) return "PSD";
    if (starts_with(b, "#?RADIANCE", 10) || starts_with(b, "#?RGBE", 6)) return "HDR (Radiance)";
    if (starts_with(b, "II*\0", 4) || starts_with(b, "MM\0*", 4)) return "TIFF";
    if (starts_with(b, "RIFF", 4) && b.size() >= 12 && std::memcmp(b.data() + 8, "WEBP", 4) == 0) return "WebP";
    if (starts_with(b, "\x53\x80\xF6\x34", 4)) return "Softimage PIC";
    if (b.size() >= 12 && std::memcmp(b.data() + 4, "ftyp", 4) == 0) return "ISO media (HEIF, AVIF, MP4)";
    if (starts_with(b, "\xFF\x0A", 2) || starts_with(b, "\0\0\0\x0CJXL ", 8)) return "JPEG XL";
    if (b.size() >= 2 && b[0] == 'P') {
        switch (b[1]) {
            case '1': return "PNM P1 (ASCII bitmap)";
            case '2': return "PNM P2 (ASCII PGM)";
            case '3': return "PNM P3 (ASCII PPM)";
            case '4': return "PNM P4 (PBM bitmap)";
            case '7': return "PAM (P7)";
            case 'F':
            case 'f': return "PFM (float PNM)";
        }
    }
    return std::nullopt;
}

}  // namespace

Image decode_image(std::span<const uint8_t> bytes, std::string_view name) {
    const std::string file(name);
    if (bytes.empty()) throw ImageError(file, "file is empty");
    if (bytes.size() > kMaxImageFileBytes)
        throw ImageError(file, "file is " + std::to_string(bytes.size()) + " bytes, more than the limit of " +
                                   std::to_string(kMaxImageFileBytes));
    if (starts_with(bytes, "\x89PNG\r\n\x1A\n", 8)) return codecs::decode_png(bytes, file);
    if (starts_with(bytes, "\xFF\xD8\xFF", 3)) return codecs::decode_jpeg(bytes, file);
    if (starts_with(bytes, "P5", 2) || starts_with(bytes, "P6", 2)) return codecs::decode_pnm(bytes, file);
    const std::string supported = std::string(" (supported: ") + codecs::kSupportedFormats + ")";
    if (auto format = unsupported_format(bytes)) throw ImageError(file, "cannot decode: " + *format + " is not a supported format" + supported);
    throw ImageError(file, "cannot decode: not an image in a supported format" + supported);
}

Image load_image(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::string why;
    auto bytes = engine::read_regular_file(path, kMaxImageFileBytes, why);
    if (!bytes) {
        if (why == "no such file") throw ImageError(file, "file not found");
        if (why.rfind("is ", 0) == 0) throw ImageError(file, "file " + why);  // "is a FIFO, not a regular file"
        throw ImageError(file, "cannot read: " + why);
    }
    return decode_image(*bytes, file);
}

void write_png(const std::filesystem::path& path, const ImageView& image) {
    validate(image);
    const std::string file = path.string();
    std::vector<uint8_t> png;
    if (image.format == PixelFormat::BGR8 || image.format == PixelFormat::BGRA8) {
        png = codecs::encode_png(to_rgb(image).view(), file);
    } else {
        png = codecs::encode_png(image, file);
    }
    if (auto problem = engine::write_file_atomically(path, png)) throw ImageError(file, "cannot write PNG: " + *problem);
}

}  // namespace posenet
