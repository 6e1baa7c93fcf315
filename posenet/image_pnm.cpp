// Binary PNM (P5 grey, P6 RGB), parsed strictly: the header's size is checked against the limits and
// the pixel data must all be there before anything is allocated.
#include <cstring>

#include "posenet/image_codecs.h"

namespace posenet::codecs {

namespace {

bool is_pnm_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

struct PnmHeader {
    int channels = 0;  // 1 (P5) or 3 (P6)
    uint64_t width = 0, height = 0, maxval = 0;
    size_t data_offset = 0;
};

// Reads "P5|P6 <space/comments> width <...> height <...> maxval <one space>" (netpbm's format).
PnmHeader parse_header(std::span<const uint8_t> bytes, const std::string& file) {
    const char* format = bytes[1] == '5' ? "PGM (P5)" : "PPM (P6)";
    PnmHeader h;
    h.channels = bytes[1] == '5' ? 1 : 3;
    size_t pos = 2;
    auto truncated = [&]() { return ImageError(file, cannot_decode(format, "truncated header (the file ends at byte " + std::to_string(bytes.size()) + ")")); };
    auto number = [&](const char* what) -> uint64_t {
        // Whitespace and '#' comments (to the end of the line) may separate the fields.
        bool separated = false;
        while (pos < bytes.size()) {
            if (is_pnm_space(bytes[pos])) {
                ++pos;
            } else if (bytes[pos] == '#') {
                while (pos < bytes.size() && bytes[pos] != '\n' && bytes[pos] != '\r') ++pos;
            } else {
                break;
            }
            separated = true;
        }
        if (pos >= bytes.size()) throw truncated();
        if (!separated || bytes[pos] < '0' || bytes[pos] > '9')
            throw ImageError(file, cannot_decode(format, std::string("corrupt header: expected the ") + what +
                                                             " at byte " + std::to_string(pos)));
        uint64_t value = 0;
        while (pos < bytes.size() && bytes[pos] >= '0' && bytes[pos] <= '9') {
            // Saturate: any value this large is refused by the limits below.
            value = value > (uint64_t(1) << 40) ? value : value * 10 + (bytes[pos] - '0');
            ++pos;
        }
        if (pos >= bytes.size()) throw truncated();
        return value;
    };
    h.width = number("width");
    h.height = number("height");
    h.maxval = number("maxval");
    // Exactly one whitespace byte ends the header; the raster starts right after it.
    if (!is_pnm_space(bytes[pos]))
        throw ImageError(file, cannot_decode(format, "corrupt header: no whitespace after the maxval at byte " + std::to_string(pos)));
    h.data_offset = pos + 1;
    if (h.maxval == 0 || h.maxval > 65535)
        throw ImageError(file, cannot_decode(format, "corrupt header: maxval " + std::to_string(h.maxval) + " is not in 1..65535"));
    return h;
}

}  // namespace

Image decode_pnm(std::span<const uint8_t> bytes, const std::string& file) {
    const PnmHeader h = parse_header(bytes, file);
    const char* format = h.channels == 1 ? "PGM (P5)" : "PPM (P6)";
    check_image_size(h.width, h.height, file);
    const size_t sample_bytes = h.maxval > 255 ? 2 : 1;
    const size_t samples = size_t(h.width) * size_t(h.height) * size_t(h.channels);
    const size_t need = samples * sample_bytes;
    const size_t have = bytes.size() - h.data_offset;
    if (have < need)
        throw ImageError(file, cannot_decode(format, "truncated pixel data: " + std::to_string(have) + " bytes where the header (" +
                                                         std::to_string(h.width) + "x" + std::to_string(h.height) + ", maxval " +
                                                         std::to_string(h.maxval) + ") needs " + std::to_string(need)));
    const uint8_t* data = bytes.data() + h.data_offset;

    // One 8-bit value per sample value: maxval 255 as is, others round(v * 255 / maxval).
    std::vector<uint8_t> to_8bit(size_t(h.maxval) + 1);
    for (uint64_t v = 0; v <= h.maxval; ++v) to_8bit[v] = uint8_t((v * 255 * 2 + h.maxval) / (2 * h.maxval));

    Image img;
    img.width = int(h.width);
    img.height = int(h.height);
    img.pixels.resize(size_t(h.width) * size_t(h.height) * 3);
    const size_t pixels = size_t(h.width) * size_t(h.height);
    bool above_maxval = false;
    auto sample = [&](size_t i) -> uint8_t {
        const uint32_t v = sample_bytes == 2 ? uint32_t(data[2 * i]) << 8 | data[2 * i + 1] : data[i];
        if (v > h.maxval) {
            above_maxval = true;
            return 0;
        }
        return to_8bit[v];
    };
    uint8_t* out = img.pixels.data();
    if (sample_bytes == 1 && h.maxval == 255 && h.channels == 3) {
        std::memcpy(out, data, need);
    } else if (h.channels == 3) {
        for (size_t i = 0; i < samples; ++i) out[i] = sample(i);
    } else {
        for (size_t i = 0; i < pixels; ++i) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = sample(i);
    }
    if (above_maxval)
        throw ImageError(file, cannot_decode(format, "corrupt pixel data: a sample is above the maxval " + std::to_string(h.maxval)));
    return img;
}

}  // namespace posenet::codecs
