// JPEG through libjpeg-turbo (the decoder Chrome uses), at its default settings: ISLOW DCT, fancy
// upsampling. libjpeg reports errors through error_exit, which we turn into a longjmp back to the phase
// that called it; the warnings that mean pixels are missing (premature end of data, corrupt entropy
// data) are treated as errors, so a truncated or damaged file is refused instead of filled with grey.
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <cstring>
#include <optional>
#include <utility>

#include <jpeglib.h>
#include <jerror.h>

#include "posenet/image_codecs.h"

namespace posenet::codecs {

namespace {

// More scans than any real progressive JPEG has (they use about 10); each scan is a pass over the
// whole image, so a file of thousands of tiny scans would take minutes. libjpeg-turbo's own fuzz
// targets stop at 500 too.
constexpr int kMaxJpegScans = 500;

enum class JpegFailure { None, Error, Truncated, CorruptData, TooManyScans };

struct JpegErrors {
    jpeg_error_mgr manager;  // first: libjpeg hands callbacks &manager as cinfo->err
    std::jmp_buf jump;
    JpegFailure failure = JpegFailure::None;
    char message[JMSG_LENGTH_MAX] = {};
};

[[noreturn]] void stop(j_common_ptr cinfo, JpegFailure failure) {
    auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
    errors->failure = failure;
    if (failure == JpegFailure::TooManyScans)
        std::snprintf(errors->message, sizeof errors->message, "more than %d scans", kMaxJpegScans);
    else
        (*cinfo->err->format_message)(cinfo, errors->message);
    std::longjmp(errors->jump, 1);
}

void on_error_exit(j_common_ptr cinfo) { stop(cinfo, JpegFailure::Error); }

void on_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;  // trace messages
    switch (cinfo->err->msg_code) {
        case JWRN_JPEG_EOF:  // the data ended: libjpeg would fill the rest with grey
            stop(cinfo, JpegFailure::Truncated);
        case JWRN_HIT_MARKER:  // a marker where entropy-coded data should be: the rest of the scan is lost
        case JWRN_MUST_RESYNC:  // a restart marker missing: rows skipped
        case JWRN_HUFF_BAD_CODE:
        case JWRN_ARITH_BAD_CODE: stop(cinfo, JpegFailure::CorruptData);
        default: cinfo->err->num_warnings++;  // harmless (extraneous bytes between markers, unknown JFIF version...)
    }
}

void on_output_message(j_common_ptr) {}  // a library never prints

void on_progress(j_common_ptr cinfo) {
    if (cinfo->is_decompressor && reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number > kMaxJpegScans)
        stop(cinfo, JpegFailure::TooManyScans);
}

struct JpegDecoder {
    jpeg_decompress_struct cinfo{};
    JpegErrors errors{};
    jpeg_progress_mgr progress{};
    bool created = false;

    JpegDecoder() {
        cinfo.err = jpeg_std_error(&errors.manager);
        errors.manager.error_exit = on_error_exit;
        errors.manager.emit_message = on_emit_message;
        errors.manager.output_message = on_output_message;
        progress.progress_monitor = on_progress;
    }
    ~JpegDecoder() {
        if (created) jpeg_destroy_decompress(&cinfo);
    }
    JpegDecoder(const JpegDecoder&) = delete;
    JpegDecoder& operator=(const JpegDecoder&) = delete;
};

// The phases that call into libjpeg, each a setjmp target: a libjpeg failure returns false with
// errors.failure and errors.message set. Nothing here has a destructor the longjmp could skip.
bool read_header(JpegDecoder& d, std::span<const uint8_t> bytes) {
    if (setjmp(d.errors.jump)) return false;
    jpeg_create_decompress(&d.cinfo);
    d.created = true;
    d.cinfo.progress = &d.progress;
    jpeg_mem_src(&d.cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&d.cinfo, TRUE);
    return true;
}

// Decodes into `img` (pixels reserved by the caller, grown row by row so that rows that never arrive
// are never touched). `cmyk_row` holds one row of 4-channel output when the JPEG is CMYK or YCCK.
bool read_pixels(JpegDecoder& d, Image& img, std::vector<uint8_t>& cmyk_row) {
    if (setjmp(d.errors.jump)) return false;
    jpeg_decompress_struct& cinfo = d.cinfo;
    jpeg_start_decompress(&cinfo);
    const size_t row_bytes = size_t(cinfo.output_width) * 3;
    const bool cmyk = cinfo.out_color_space == JCS_CMYK;
    while (cinfo.output_scanline < cinfo.output_height) {
        const size_t y = cinfo.output_scanline;
        img.pixels.resize((y + 1) * row_bytes);  // within the reserved capacity: no reallocation
        uint8_t* out = img.pixels.data() + y * row_bytes;
        JSAMPROW row = cmyk ? cmyk_row.data() : out;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) stop(reinterpret_cast<j_common_ptr>(&cinfo), JpegFailure::Truncated);
        if (cmyk) {
            // Adobe's inverted CMYK, converted as Chrome does: R = C * K / 255 (G from M, B from Y).
            for (size_t x = 0; x < cinfo.output_width; ++x) {
                const unsigned k = cmyk_row[4 * x + 3];
                out[3 * x] = uint8_t(cmyk_row[4 * x] * k / 255);
                out[3 * x + 1] = uint8_t(cmyk_row[4 * x + 1] * k / 255);
                out[3 * x + 2] = uint8_t(cmyk_row[4 * x + 2] * k / 255);
            }
        }
    }
    // Reads on to the EOI marker: a file cut after its last scan line is still refused as truncated.
    jpeg_finish_decompress(&cinfo);
    return true;
}

// The frame size from the first SOFn marker, found by walking the marker segments from the SOI, so
// that a header declaring a huge image is refused as too large even when the rest of it is broken.
// nullopt when the walk ends before a SOFn: libjpeg then says what is wrong.
std::optional<std::pair<uint32_t, uint32_t>> frame_size(std::span<const uint8_t> b) {
    size_t pos = 2;  // after the SOI
    while (pos + 4 <= b.size()) {
        if (b[pos] != 0xFF) return std::nullopt;
        const uint8_t marker = b[pos + 1];
        if (marker == 0xFF) {  // fill byte
            ++pos;
            continue;
        }
        pos += 2;
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
        if (marker == 0xD8 || marker == 0xD9 || marker == 0xDA) return std::nullopt;
        const size_t length = size_t(b[pos]) << 8 | b[pos + 1];
        if (length < 2) return std::nullopt;
        const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (sof) {
            if (pos + 7 > b.size()) return std::nullopt;
            const uint32_t height = uint32_t(b[pos + 3]) << 8 | b[pos + 4];
            const uint32_t width = uint32_t(b[pos + 5]) << 8 | b[pos + 6];
            return std::pair{width, height};
        }
        pos += length;
    }
    return std::nullopt;
}

std::string failure_reason(const JpegErrors& errors) {
    switch (errors.failure) {
        case JpegFailure::Truncated: return "truncated: the data ends before the image is complete (" + std::string(errors.message) + ")";
        case JpegFailure::CorruptData: return "corrupt image data: " + std::string(errors.message);
        case JpegFailure::TooManyScans: return "refused: " + std::string(errors.message) + " (a decoding-time bomb)";
        default: return "corrupt or unsupported: " + std::string(errors.message);
    }
}

}  // namespace

Image decode_jpeg(std::span<const uint8_t> bytes, const std::string& file) {
    if (auto size = frame_size(bytes); size && size->second != 0) check_image_size(size->first, size->second, file);

    JpegDecoder d;
    if (!read_header(d, bytes)) throw ImageError(file, cannot_decode("JPEG", failure_reason(d.errors)));
    jpeg_decompress_struct& cinfo = d.cinfo;
    check_image_size(cinfo.image_width, cinfo.image_height, file);
    switch (cinfo.jpeg_color_space) {
        case JCS_GRAYSCALE:
        case JCS_YCbCr:
        case JCS_RGB: cinfo.out_color_space = JCS_RGB; break;
        case JCS_CMYK:
        case JCS_YCCK: cinfo.out_color_space = JCS_CMYK; break;  // converted to RGB in read_pixels
        default:
            throw ImageError(file, cannot_decode("JPEG", "unsupported colour space (" + std::to_string(cinfo.num_components) +
                                                             " components, neither grey, YCbCr, RGB, CMYK nor YCCK)"));
    }
    // libjpeg's defaults, stated: Chrome decodes with the same.
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    cinfo.scale_num = cinfo.scale_denom = 1;

    Image img;
    img.width = int(cinfo.image_width);
    img.height = int(cinfo.image_height);
    img.pixels.reserve(size_t(img.width) * size_t(img.height) * 3);
    std::vector<uint8_t> cmyk_row(cinfo.out_color_space == JCS_CMYK ? size_t(img.width) * 4 : 0);
    if (!read_pixels(d, img, cmyk_row)) throw ImageError(file, cannot_decode("JPEG", failure_reason(d.errors)));
    if (int(cinfo.output_width) != img.width || int(cinfo.output_height) != img.height)
        throw ImageError(file, cannot_decode("JPEG", "decoded size differs from the header's"));
    return img;
}

}  // namespace posenet::codecs
