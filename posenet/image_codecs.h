// Internal: the image codecs behind load_image / decode_image / write_png (posenet/image.h). Each
// decoder takes the whole file in memory, checks the declared size with check_image_size before it
// allocates pixels, refuses truncated or corrupt data, and throws ImageError(file, reason) on failure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "posenet/image.h"

namespace posenet::codecs {

// The supported formats, for error messages.
inline constexpr const char* kSupportedFormats = "JPEG, PNG, binary PNM (P5 PGM, P6 PPM)";

// Throws ImageError "image is WxH pixels, more than the limit of N pixels (too large to decode)" when
// width * height > kMaxImagePixels or a side > kMaxImageSide, and "image has no pixels" for a zero side.
void check_image_size(uint64_t width, uint64_t height, const std::string& file);

// A reason that starts "cannot decode <format>: ", so every decoding failure reads alike.
std::string cannot_decode(const char* format, const std::string& why);

// Decoders of one format each; `bytes` starts with the format's signature.
Image decode_jpeg(std::span<const uint8_t> bytes, const std::string& file);
Image decode_png(std::span<const uint8_t> bytes, const std::string& file);
Image decode_pnm(std::span<const uint8_t> bytes, const std::string& file);

// A PNG file of an RGB8, RGBA8 or Gray8 view (validated by the caller). Throws ImageError(file, ...).
std::vector<uint8_t> encode_png(const ImageView& image, const std::string& file);

}  // namespace posenet::codecs
