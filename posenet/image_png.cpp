// PNG through libpng, both ways. Before libpng sees a file, its chunk structure is walked: the IHDR's
// size is checked against the limits, a file that ends inside a chunk or before IEND is refused as
// truncated, and one whose image data is too small to inflate to the declared size is refused as
// corrupt, all before any pixel memory is allocated. libpng's errors longjmp back to the phase that
// called it; its warnings (problems in ancillary chunks, which libpng skips) are ignored.
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <new>

#include "posenet/image_codecs.h"

namespace posenet::codecs {

namespace {

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// Deflate expands at most 1032:1 (a 258-byte match in 2 bits), so image data of N bytes inflates to
// at most about 1032 * N bytes.
constexpr uint64_t kMaxDeflateRatio = 1032;

// Walks the chunks after the signature; throws ImageError for an oversized, truncated or hollow file.
void check_chunks(std::span<const uint8_t> b, const std::string& file) {
    size_t pos = 8;
    uint64_t idat_bytes = 0, min_image_bytes = 0;
    bool first = true;
    while (true) {
        if (b.size() - pos < 12)
            throw ImageError(file, cannot_decode("PNG", "truncated: the file ends at byte " + std::to_string(b.size()) +
                                                            (pos == b.size() ? ", before the IEND chunk" : ", inside a chunk header")));
        const uint32_t length = be32(b.data() + pos);
        const std::string type(reinterpret_cast<const char*>(b.data() + pos + 4), 4);
        for (char c : type)
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))  // chunk types are four ASCII letters
                throw ImageError(file, cannot_decode("PNG", "corrupt: no valid chunk at byte " + std::to_string(pos)));
        if (first && type == "IHDR" && length == 13 && b.size() - pos >= 8 + 13) {
            const uint8_t* ihdr = b.data() + pos + 8;
            const uint64_t width = be32(ihdr), height = be32(ihdr + 4);
            check_image_size(width, height, file);  // before anything else, even a CRC error
            const uint64_t channels = ihdr[9] == 2 ? 3 : ihdr[9] == 4 ? 2 : ihdr[9] == 6 ? 4 : 1;
            min_image_bytes = width * height * channels * ihdr[8] / 8;
        }
        first = false;
        if (length > 0x7FFFFFFFu) throw ImageError(file, cannot_decode("PNG", "corrupt: chunk " + type + " at byte " +
                                                                                  std::to_string(pos) + " has an invalid length"));
        if (b.size() - pos - 12 < length)
            throw ImageError(file, cannot_decode("PNG", "truncated: chunk " + type + " at byte " + std::to_string(pos) + " declares " +
                                                            std::to_string(length) + " bytes, the file has " +
                                                            std::to_string(b.size() - pos - 12) + " after its header"));
        if (type == "IDAT") idat_bytes += length;
        pos += 12 + size_t(length);
        if (type == "IEND") break;
    }
    if (min_image_bytes > kMaxDeflateRatio * idat_bytes + 1024)
        throw ImageError(file, cannot_decode("PNG", "corrupt: " + std::to_string(idat_bytes) +
                                                        " bytes of image data cannot hold the declared image (" +
                                                        std::to_string(min_image_bytes) + " bytes)"));
}

struct PngState {
    std::span<const uint8_t> bytes;
    size_t pos = 0;
    bool ran_out = false;
    std::string message;  // set before the longjmp; only assigned, so no destructor is skipped
};

void on_png_error(png_structp png, png_const_charp message) {
    auto* state = static_cast<PngState*>(png_get_error_ptr(png));
    try {
        state->message = message ? message : "unknown error";
    } catch (...) {
    }
    png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}  // a library never prints

void read_from_memory(png_structp png, png_bytep out, size_t length) {
    auto* state = static_cast<PngState*>(png_get_io_ptr(png));
    if (state->bytes.size() - state->pos < length) {
        state->ran_out = true;
        png_error(png, "the file ends early");
    }
    std::memcpy(out, state->bytes.data() + state->pos, length);
    state->pos += length;
}

struct PngReader {
    PngState state;
    png_structp png = nullptr;
    png_infop info = nullptr;
    ~PngReader() {
        if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    }
};

// The phases that call into libpng, each a setjmp target: false on a libpng error (state.message).
bool read_header(PngReader& r) {
    if (setjmp(png_jmpbuf(r.png))) return false;
    png_set_read_fn(r.png, &r.state, read_from_memory);
    // Our own size check has run on the IHDR already; libpng's limits would only word it differently.
    png_set_user_limits(r.png, 0x7FFFFFFF, 0x7FFFFFFF);
    png_read_info(r.png, r.info);
    // To RGB8: palette and low-bit grey expanded (tRNS to alpha), 16-bit cut to the high byte (as
    // stb_image did), alpha stripped, grey copied into R, G and B, interlaced passes combined.
    png_set_expand(r.png);
    png_set_strip_16(r.png);
    png_set_strip_alpha(r.png);
    png_set_gray_to_rgb(r.png);
    png_set_interlace_handling(r.png);
    png_read_update_info(r.png, r.info);
    return true;
}

bool read_pixels(PngReader& r, png_bytepp rows) {
    if (setjmp(png_jmpbuf(r.png))) return false;
    png_read_image(r.png, rows);
    png_read_end(r.png, nullptr);  // the rest of the data and its CRCs, up to IEND
    return true;
}

struct PngWriter {
    PngState state;
    std::vector<uint8_t> out;
    png_structp png = nullptr;
    png_infop info = nullptr;
    ~PngWriter() {
        if (png) png_destroy_write_struct(&png, info ? &info : nullptr);
    }
};

void write_to_memory(png_structp png, png_bytep data, size_t length) {
    auto* w = static_cast<PngWriter*>(png_get_io_ptr(png));
    try {
        w->out.insert(w->out.end(), data, data + length);
    } catch (const std::bad_alloc&) {
        png_error(png, "out of memory");
    }
}

void flush_memory(png_structp) {}

bool write_image(PngWriter& w, const ImageView& image, png_bytepp rows) {
    if (setjmp(png_jmpbuf(w.png))) return false;
    png_set_write_fn(w.png, &w, write_to_memory, flush_memory);
    const int color_type = image.format == PixelFormat::Gray8   ? PNG_COLOR_TYPE_GRAY
                           : image.format == PixelFormat::RGBA8 ? PNG_COLOR_TYPE_RGB_ALPHA
                                                                : PNG_COLOR_TYPE_RGB;
    png_set_IHDR(w.png, w.info, png_uint_32(image.width), png_uint_32(image.height), 8, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w.png, w.info);
    png_write_image(w.png, rows);
    png_write_end(w.png, nullptr);
    return true;
}

}  // namespace

Image decode_png(std::span<const uint8_t> bytes, const std::string& file) {
    check_chunks(bytes, file);
    PngReader r;
    r.state.bytes = bytes;
    r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r.state, on_png_error, on_png_warning);
    if (r.png) r.info = png_create_info_struct(r.png);
    if (!r.png || !r.info) throw ImageError(file, cannot_decode("PNG", "out of memory"));
    auto failure = [&]() {
        // libpng's words for a compressed stream that stops before the last row.
        const bool truncated = r.state.ran_out || r.state.message == "Not enough image data";
        return ImageError(file, cannot_decode("PNG", (truncated ? "truncated: " : "corrupt: ") + r.state.message));
    };
    if (!read_header(r)) throw failure();

    const uint32_t width = png_get_image_width(r.png, r.info), height = png_get_image_height(r.png, r.info);
    check_image_size(width, height, file);
    if (png_get_channels(r.png, r.info) != 3 || png_get_bit_depth(r.png, r.info) != 8 ||
        png_get_rowbytes(r.png, r.info) != size_t(width) * 3)
        throw ImageError(file, cannot_decode("PNG", "unexpected layout after conversion to RGB8"));

    Image img;
    img.width = int(width);
    img.height = int(height);
    img.pixels.resize(size_t(width) * size_t(height) * 3);
    std::vector<png_bytep> rows(height);
    for (size_t y = 0; y < height; ++y) rows[y] = img.pixels.data() + y * size_t(width) * 3;
    if (!read_pixels(r, rows.data())) throw failure();
    return img;
}

std::vector<uint8_t> encode_png(const ImageView& image, const std::string& file) {
    PngWriter w;
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w.state, on_png_error, on_png_warning);
    if (w.png) w.info = png_create_info_struct(w.png);
    if (!w.png || !w.info) throw ImageError(file, "cannot write PNG: out of memory");
    const size_t stride = image.row_stride_bytes > 0 ? size_t(image.row_stride_bytes)
                                                     : size_t(image.width) * size_t(bytes_per_pixel(image.format));
    std::vector<png_bytep> rows(size_t(image.height));
    for (size_t y = 0; y < rows.size(); ++y) rows[y] = const_cast<png_bytep>(image.data + y * stride);
    if (!write_image(w, image, rows.data())) throw ImageError(file, "cannot write PNG: " + w.state.message);
    return std::move(w.out);
}

}  // namespace posenet::codecs
