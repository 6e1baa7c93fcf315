// Image decoding on hostile and unusual input (posenet/image.h): truncated files at every kind of cut,
// headers that claim huge sizes, files that are not regular files, crafted JPEG tables, and the pixel
// conventions of every PNG flavour, JPEG (checked against libjpeg-turbo's own decoding) and PNM.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csetjmp>
#include <cstdlib>
#include <functional>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "posenet/image.h"
#include "tests/test_support.h"

using namespace posenet;
using namespace posenet::test;
using namespace std::string_literals;

// The option structs below are filled with designated initializers; the fields left out keep their
// defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
  // "...\x00..."s keeps the NULs

namespace {

// ------------------------------------------------------------------------------------------------
// Test images and files

// A smooth RGB image with some texture, so that lossy JPEG stays within a few levels of it.
Image smooth_image(int width, int height) {
    Image img;
    img.width = width;
    img.height = height;
    img.pixels.resize(size_t(width) * size_t(height) * 3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            uint8_t* p = img.pixels.data() + (size_t(y) * size_t(width) + size_t(x)) * 3;
            p[0] = uint8_t(40 + 170 * x / std::max(1, width - 1));
            p[1] = uint8_t(30 + 180 * y / std::max(1, height - 1));
            p[2] = uint8_t(128 + 60 * ((x / 8 + y / 8) % 2));
        }
    return img;
}

// Random bytes: images where every pixel differs from its neighbours.
Image noise_image(int width, int height, uint32_t seed) {
    Image img;
    img.width = width;
    img.height = height;
    img.pixels.resize(size_t(width) * size_t(height) * 3);
    for (auto& p : img.pixels) {
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        p = uint8_t(seed >> 24);
    }
    return img;
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<uint8_t> read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

// The error load_image throws for `path` (checking it names the file), or "(no error)".
std::string load_error(const fs::path& path) {
    try {
        load_image(path);
    } catch (const ImageError& e) {
        CHECK(e.file() == path.string());
        CHECK(std::string(e.what()).find(path.string()) != std::string::npos);
        return e.what();
    }
    return "(no error)";
}

std::string decode_error(const std::vector<uint8_t>& bytes, const std::string& name) {
    try {
        decode_image(bytes, name);
    } catch (const ImageError& e) {
        CHECK(e.file() == name);
        return e.what();
    }
    return "(no error)";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int max_difference(const Image& a, const Image& b) {
    REQUIRE(a.pixels.size() == b.pixels.size());
    int worst = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
    return worst;
}

// Binary PPM (P6, maxval 255) of an RGB8 image.
std::vector<uint8_t> make_ppm(const Image& img) {
    std::vector<uint8_t> out = bytes_of("P6\n" + std::to_string(img.width) + " " + std::to_string(img.height) + "\n255\n");
    out.insert(out.end(), img.pixels.begin(), img.pixels.end());
    return out;
}

// ------------------------------------------------------------------------------------------------
// JPEG through libjpeg (the test's own encoder and reference decoder)

struct JpegOptions {
    int quality = 100;
    bool full_chroma = true;  // 4:4:4; else libjpeg's default 4:2:0
    bool progressive = false;
    J_COLOR_SPACE in_space = JCS_RGB;  // JCS_RGB, JCS_GRAYSCALE or JCS_CMYK
    J_COLOR_SPACE file_space = JCS_UNKNOWN;  // JCS_UNKNOWN: libjpeg's default for in_space
    std::vector<jpeg_scan_info> scans;  // a custom scan script
};

// pixels: width * height * components (3 for RGB, 1 grey, 4 CMYK).
std::vector<uint8_t> encode_jpeg(const uint8_t* pixels, int width, int height, const JpegOptions& o) {
    jpeg_compress_struct c{};
    jpeg_error_mgr err{};
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char* out = nullptr;
    unsigned long out_size = 0;
    jpeg_mem_dest(&c, &out, &out_size);
    c.image_width = JDIMENSION(width);
    c.image_height = JDIMENSION(height);
    c.in_color_space = o.in_space;
    c.input_components = o.in_space == JCS_RGB ? 3 : o.in_space == JCS_CMYK ? 4 : 1;
    jpeg_set_defaults(&c);
    if (o.file_space != JCS_UNKNOWN) jpeg_set_colorspace(&c, o.file_space);
    jpeg_set_quality(&c, o.quality, TRUE);
    if (o.full_chroma)
        for (int i = 0; i < c.num_components; ++i) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    if (o.progressive) jpeg_simple_progression(&c);
    if (!o.scans.empty()) {
        c.scan_info = o.scans.data();
        c.num_scans = int(o.scans.size());
    }
    jpeg_start_compress(&c, TRUE);
    const size_t row = size_t(width) * size_t(c.input_components);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = const_cast<JSAMPROW>(pixels + c.next_scanline * row);
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    std::vector<uint8_t> bytes(out, out + out_size);
    jpeg_destroy_compress(&c);
    std::free(out);
    return bytes;
}

std::vector<uint8_t> encode_jpeg(const Image& img, const JpegOptions& o = {}) {
    return encode_jpeg(img.pixels.data(), img.width, img.height, o);
}

// libjpeg-turbo's own decoding at its defaults, to RGB (valid files only).
Image libjpeg_decode(const std::vector<uint8_t>& bytes) {
    jpeg_decompress_struct d{};
    jpeg_error_mgr err{};
    d.err = jpeg_std_error(&err);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    Image img;
    img.width = int(d.output_width);
    img.height = int(d.output_height);
    img.pixels.resize(size_t(img.width) * size_t(img.height) * 3);
    while (d.output_scanline < d.output_height) {
        JSAMPROW r = img.pixels.data() + size_t(d.output_scanline) * size_t(img.width) * 3;
        jpeg_read_scanlines(&d, &r, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return img;
}

// Offset of the first marker `code` (0xFF code) in a JPEG's header segments.
size_t find_marker(const std::vector<uint8_t>& jpeg, uint8_t code) {
    size_t pos = 2;
    while (pos + 4 <= jpeg.size() && jpeg[pos] == 0xFF) {
        if (jpeg[pos + 1] == code) return pos;
        pos += 2 + (size_t(jpeg[pos + 2]) << 8 | jpeg[pos + 3]);
    }
    FAIL("marker not found");
    return 0;
}

// ------------------------------------------------------------------------------------------------
// PNG through libpng (the test's own encoder), and chunk surgery with valid CRCs

struct PngSpec {
    int width = 0, height = 0;
    int color_type = PNG_COLOR_TYPE_RGB;
    int bit_depth = 8;
    bool interlaced = false;
    std::vector<uint8_t> rows;  // packed rows as PNG stores them (16-bit big-endian)
    std::vector<png_color> palette;
    std::vector<uint8_t> palette_alpha;  // tRNS for palette images
};

void append_to(png_structp png, png_bytep data, size_t length) {
    auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
    out->insert(out->end(), data, data + length);
}

std::vector<uint8_t> make_png(const PngSpec& s) {
    std::vector<uint8_t> out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    const size_t row_bytes = s.rows.size() / size_t(s.height);
    std::vector<png_bytep> rows(size_t(s.height));
    for (size_t y = 0; y < rows.size(); ++y) rows[y] = const_cast<png_bytep>(s.rows.data() + y * row_bytes);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        FAIL("libpng could not write the test PNG");
        return {};
    }
    png_set_write_fn(png, &out, append_to, nullptr);
    png_set_IHDR(png, info, png_uint_32(s.width), png_uint_32(s.height), s.bit_depth, s.color_type,
                 s.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (!s.palette.empty()) png_set_PLTE(png, info, s.palette.data(), int(s.palette.size()));
    if (!s.palette_alpha.empty())
        png_set_tRNS(png, info, s.palette_alpha.data(), int(s.palette_alpha.size()), nullptr);
    png_write_info(png, info);
    if (s.interlaced) png_set_interlace_handling(png);
    png_write_image(png, rows.data());
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return out;
}

struct PngChunk {
    std::string type;
    std::vector<uint8_t> data;
};

std::vector<PngChunk> png_chunks(const std::vector<uint8_t>& png) {
    std::vector<PngChunk> chunks;
    size_t pos = 8;
    while (pos + 12 <= png.size()) {
        const size_t length = size_t(png[pos]) << 24 | size_t(png[pos + 1]) << 16 | size_t(png[pos + 2]) << 8 | png[pos + 3];
        chunks.push_back({std::string(png.begin() + long(pos) + 4, png.begin() + long(pos) + 8),
                          std::vector<uint8_t>(png.begin() + long(pos) + 8, png.begin() + long(pos + 8 + length))});
        pos += 12 + length;
    }
    return chunks;
}

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(v >> shift));
}

// A PNG file of these chunks, each with a correct CRC.
std::vector<uint8_t> png_of_chunks(const std::vector<PngChunk>& chunks) {
    std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    for (const auto& c : chunks) {
        put_be32(out, uint32_t(c.data.size()));
        const size_t start = out.size();
        out.insert(out.end(), c.type.begin(), c.type.end());
        out.insert(out.end(), c.data.begin(), c.data.end());
        put_be32(out, uint32_t(crc32(0, out.data() + start, uInt(out.size() - start))));
    }
    return out;
}

PngChunk ihdr(uint32_t width, uint32_t height, uint8_t bit_depth = 8, uint8_t color_type = 2) {
    PngChunk c{"IHDR", {}};
    put_be32(c.data, width);
    put_be32(c.data, height);
    c.data.insert(c.data.end(), {bit_depth, color_type, 0, 0, 0});
    return c;
}

// Peak resident memory of this process, in MiB.
long peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024;
}

// The cut points of a file of `size` bytes whose header (or signature) ends at `header_end`: inside the
// header, right after it, at several points of the data, and one and two bytes short of the end.
std::vector<size_t> cut_points(size_t header_end, size_t size) {
    std::vector<size_t> cuts = {header_end / 2, header_end - 1, header_end, header_end + 1, size / 4, size / 2,
                                size * 3 / 4,   size - 16,      size - 2,   size - 1};
    std::vector<size_t> valid;
    for (size_t c : cuts)
        if (c > 0 && c < size && std::find(valid.begin(), valid.end(), c) == valid.end()) valid.push_back(c);
    return valid;
}

}  // namespace

// ------------------------------------------------------------------------------------------------

TEST_CASE("image decode: truncated JPEG, PNG and PPM files are refused at every cut, naming the file") {
    const fs::path dir = scratch_dir("image_decode_truncated");
    const Image photo = noise_image(64, 48, 7);
    struct Case {
        const char* name;
        std::vector<uint8_t> bytes;
        size_t header_end;  // where the pixel data starts (about)
        size_t signature;   // a cut shorter than this is not recognisable as the format at all
    };
    std::vector<Case> cases;
    const auto jpeg = encode_jpeg(photo);
    cases.push_back({"photo.jpg", jpeg, find_marker(jpeg, 0xDA) + 14, 3});
    const auto progressive = encode_jpeg(photo, {.quality = 90, .full_chroma = false, .progressive = true});
    cases.push_back({"progressive.jpg", progressive, find_marker(progressive, 0xDA) + 12, 3});
    write_png(dir / "full.png", photo.view());
    const auto png = read_bytes(dir / "full.png");
    cases.push_back({"photo.png", png, 8 + 25 + 8, 8});
    const auto ppm = make_ppm(photo);
    cases.push_back({"photo.ppm", ppm, 13, 2});
    PngSpec interlaced{.width = 64, .height = 48, .interlaced = true, .rows = photo.pixels};
    cases.push_back({"interlaced.png", make_png(interlaced), 8 + 25 + 8, 8});

    for (const auto& c : cases) {
        CAPTURE(c.name);
        CHECK(decode_image(c.bytes, c.name).pixels.size() == photo.pixels.size());  // whole: fine
        for (size_t cut : cut_points(c.header_end, c.bytes.size())) {
            CAPTURE(cut);
            const fs::path path = dir / (std::to_string(cut) + "-" + c.name);
            write_bytes(path, std::vector<uint8_t>(c.bytes.begin(), c.bytes.begin() + long(cut)));
            const std::string error = load_error(path);
            if (cut >= c.signature) CHECK(contains(error, "truncated"));
            else CHECK(contains(error, "cannot decode"));
        }
    }
}

TEST_CASE("image decode: a PNG whose image data stops early, in well-formed chunks, is refused") {
    // The chunk structure is intact (CRCs right, IEND present): only the compressed stream is short.
    const Image photo = noise_image(40, 30, 3);
    const fs::path dir = scratch_dir("image_decode_short_idat");
    write_png(dir / "full.png", photo.view());
    auto chunks = png_chunks(read_bytes(dir / "full.png"));
    for (auto& c : chunks)
        if (c.type == "IDAT") c.data.resize(c.data.size() * 2 / 3);
    write_bytes(dir / "short.png", png_of_chunks(chunks));
    const std::string error = load_error(dir / "short.png");
    CHECK(contains(error, "short.png"));
    CHECK(contains(error, "truncated"));
}

TEST_CASE("image decode: decoding A then a truncated B never returns B with A's pixels") {
    // The same size and header, so that a decoder reusing memory would show A through B's missing part.
    const Image a = noise_image(128, 96, 11), b = noise_image(128, 96, 12);
    const fs::path dir = scratch_dir("image_decode_stale");
    std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> pairs;
    pairs.emplace_back(make_ppm(a), make_ppm(b));
    pairs.emplace_back(encode_jpeg(a), encode_jpeg(b));
    write_png(dir / "a.png", a.view());
    write_png(dir / "b.png", b.view());
    pairs.emplace_back(read_bytes(dir / "a.png"), read_bytes(dir / "b.png"));
    for (auto& [bytes_a, bytes_b] : pairs) {
        for (int round = 0; round < 3; ++round) {
            const Image decoded_a = decode_image(bytes_a, "a");
            CHECK(decoded_a.width == 128);
            std::vector<uint8_t> cut(bytes_b.begin(), bytes_b.begin() + long(bytes_b.size() * (round + 1) / 4));
            CHECK(contains(decode_error(cut, "b"), "truncated"));
        }
    }
}

TEST_CASE("image decode: headers claiming huge sizes are refused as too large, before any allocation") {
    const fs::path dir = scratch_dir("image_decode_huge");
    const std::string limit = "image is 100000x100000 pixels, more than the limit of 268435456 pixels";

    write_bytes(dir / "huge.ppm", bytes_of("P6\n100000 100000\n255\n"));
    CHECK(load_error(dir / "huge.ppm") == (dir / "huge.ppm").string() + ": " + limit + " (too large to decode)");
    write_bytes(dir / "huge.pgm", bytes_of("P5 100000 100000 65535\n\x01\x02"));
    CHECK(contains(load_error(dir / "huge.pgm"), limit));
    write_bytes(dir / "absurd.ppm", bytes_of("P6\n99999999999999999999999 2\n255\n"));
    CHECK(contains(load_error(dir / "absurd.ppm"), "more than the limit of 268435456 pixels"));
    write_bytes(dir / "long.ppm", bytes_of("P6\n70000 3\n255\n"));
    CHECK(contains(load_error(dir / "long.ppm"), "image is 70000x3 pixels, a side longer than the limit of 65536 pixels"));
    write_bytes(dir / "empty.ppm", bytes_of("P6\n0 3\n255\n"));
    CHECK(contains(load_error(dir / "empty.ppm"), "no pixels"));

    // PNG: a well-formed IHDR, and one with a wrong CRC and nothing after it.
    write_bytes(dir / "huge.png", png_of_chunks({ihdr(100000, 100000), {"IDAT", {0x78, 0x9C}}, {"IEND", {}}}));
    CHECK(contains(load_error(dir / "huge.png"), limit));
    auto bad_crc = png_of_chunks({ihdr(100000, 100000)});
    bad_crc[bad_crc.size() - 1] ^= 0xFF;
    write_bytes(dir / "bad-crc.png", bad_crc);
    CHECK(contains(load_error(dir / "bad-crc.png"), limit));

    // JPEG: a SOF declaring 65535 x 65535 (the format's maximum), then nothing.
    auto jpeg = encode_jpeg(smooth_image(16, 16));
    const size_t sof = find_marker(jpeg, 0xC0);
    jpeg[sof + 5] = jpeg[sof + 6] = jpeg[sof + 7] = jpeg[sof + 8] = 0xFF;
    jpeg.resize(sof + 12);
    write_bytes(dir / "huge.jpg", jpeg);
    CHECK(contains(load_error(dir / "huge.jpg"), "image is 65535x65535 pixels, more than the limit of 268435456 pixels"));

    // At the limit but hollow: a 16384 x 16384 header (2^28 pixels) with a few bytes of data is refused
    // as truncated without touching 768 MiB.
    const long rss_before = peak_rss_mib();
    write_bytes(dir / "hollow.ppm", bytes_of("P6\n16384 16384\n255\n" + std::string(100, 'x')));
    CHECK(contains(load_error(dir / "hollow.ppm"), "truncated"));
    write_bytes(dir / "hollow.png", png_of_chunks({ihdr(16384, 16384), {"IDAT", {0x78, 0x9C, 0x63, 0, 0}}, {"IEND", {}}}));
    CHECK(contains(load_error(dir / "hollow.png"), "hollow.png"));
    jpeg = encode_jpeg(smooth_image(16, 16));
    const size_t sof2 = find_marker(jpeg, 0xC0);
    jpeg[sof2 + 5] = jpeg[sof2 + 7] = 0x40;  // 16384 x 16384
    jpeg[sof2 + 6] = jpeg[sof2 + 8] = 0x00;
    write_bytes(dir / "hollow.jpg", jpeg);
    CHECK(contains(load_error(dir / "hollow.jpg"), "hollow.jpg"));
    CHECK(peak_rss_mib() - rss_before < 256);
}

TEST_CASE("image decode: a FIFO, a directory, a device and an oversized file are refused at once") {
    const fs::path dir = scratch_dir("image_decode_special");
    const fs::path fifo = dir / "photo.jpg";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Run it aside: a decoder that opened the FIFO for reading would wait for a writer forever.
    auto error = std::async(std::launch::async, [fifo]() -> std::string {
        try {
            load_image(fifo);
        } catch (const ImageError& e) {
            return e.what();
        }
        return "(no error)";
    });
    if (error.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        FAIL_CHECK("load_image blocked on a FIFO");
        int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);  // let it go
        if (fd >= 0) ::close(fd);
    }
    const std::string fifo_error = error.get();
    CHECK(contains(fifo_error, "photo.jpg"));
    CHECK(contains(fifo_error, "FIFO"));

    CHECK(contains(load_error(dir), "directory"));
    const std::string device = load_error("/dev/zero");
    CHECK(contains(device, "/dev/zero"));
    CHECK(contains(device, "not a regular file"));
    CHECK(contains(load_error(dir / "missing.png"), "not found"));

    // A sparse file one byte over the limit: refused from its size, nothing read.
    {
        std::ofstream(dir / "big.png") << "\x89PNG";
    }
    fs::resize_file(dir / "big.png", kMaxImageFileBytes + 1);
    CHECK(contains(load_error(dir / "big.png"), "more than the limit of " + std::to_string(kMaxImageFileBytes)));
}

TEST_CASE("image decode: crafted JPEG Huffman tables are refused cleanly") {
    const auto jpeg = encode_jpeg(smooth_image(32, 32));
    const size_t dht = find_marker(jpeg, 0xC4);
    // Code counts summing over 256 (each of the 16 counts 255).
    auto over = jpeg;
    for (int i = 0; i < 16; ++i) over[dht + 5 + size_t(i)] = 0xFF;
    CHECK(contains(decode_error(over, "counts.jpg"), "counts.jpg: cannot decode JPEG: corrupt"));
    // Counts that fit but cannot form a prefix code (three 1-bit codes).
    auto overfull = jpeg;
    overfull[dht + 5] = 3;
    CHECK(contains(decode_error(overfull, "overfull.jpg"), "overfull.jpg: cannot decode JPEG"));
    // A DHT segment whose length is shorter than its counts say.
    auto short_segment = jpeg;
    short_segment[dht + 2] = 0;
    short_segment[dht + 3] = 19;
    CHECK(contains(decode_error(short_segment, "short.jpg"), "short.jpg: cannot decode JPEG"));
    // A table class/id out of range.
    auto bad_id = jpeg;
    bad_id[dht + 4] = 0x17;
    CHECK(contains(decode_error(bad_id, "id.jpg"), "id.jpg: cannot decode JPEG"));
}

TEST_CASE("image decode: corrupted bytes anywhere give a clean error or an image of the declared size") {
    // Deterministic single- and multi-byte corruptions of each format: no crash, no hang, and any image
    // that comes back has the size its header declares.
    const Image photo = noise_image(48, 40, 5);
    const fs::path dir = scratch_dir("image_decode_mutations");
    write_png(dir / "p.png", photo.view());
    const std::vector<std::pair<std::string, std::vector<uint8_t>>> files = {
        {"m.jpg", encode_jpeg(photo)},
        {"m-progressive.jpg", encode_jpeg(photo, {.quality = 80, .full_chroma = false, .progressive = true})},
        {"m.png", read_bytes(dir / "p.png")},
        {"m.ppm", make_ppm(photo)}};
    uint32_t seed = 2024;
    auto next = [&seed] { return seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5; };
    int errors = 0, images = 0;
    for (const auto& [name, original] : files) {
        for (int trial = 0; trial < 150; ++trial) {
            auto bytes = original;
            const int flips = 1 + int(next() % 4);
            for (int f = 0; f < flips; ++f) {
                // Mostly in the first 400 bytes, where the headers and tables are.
                const size_t at = next() % 2 ? next() % std::min<size_t>(400, bytes.size()) : next() % bytes.size();
                bytes[at] = uint8_t(next());
            }
            try {
                const Image img = decode_image(bytes, name);
                CHECK(img.pixels.size() == size_t(img.width) * size_t(img.height) * 3);
                ++images;
            } catch (const ImageError& e) {
                CHECK(contains(e.what(), name));
                ++errors;
            }
        }
    }
    CHECK(errors > 0);
    CHECK(images > 0);
}

TEST_CASE("image decode: write_png then load_image gives the same pixels") {
    const fs::path dir = scratch_dir("image_decode_round_trip");
    const Image rgb = noise_image(37, 23, 9);
    write_png(dir / "rgb.png", rgb.view());
    const Image back = load_image(dir / "rgb.png");
    CHECK(back.width == 37);
    CHECK(back.height == 23);
    CHECK(back.pixels == rgb.pixels);

    // RGBA with a padded stride: alpha dropped on loading, colour kept even where alpha is 0.
    const int stride = 37 * 4 + 5;
    std::vector<uint8_t> rgba(size_t(stride) * 23, 0xEE);
    for (int y = 0; y < 23; ++y)
        for (int x = 0; x < 37; ++x) {
            std::memcpy(&rgba[size_t(y) * stride + size_t(x) * 4], &rgb.pixels[(size_t(y) * 37 + size_t(x)) * 3], 3);
            rgba[size_t(y) * stride + size_t(x) * 4 + 3] = uint8_t(x * 7);
        }
    ImageView view;
    view.data = rgba.data();
    view.width = 37;
    view.height = 23;
    view.row_stride_bytes = stride;
    view.format = PixelFormat::RGBA8;
    write_png(dir / "rgba.png", view);
    CHECK(load_image(dir / "rgba.png").pixels == rgb.pixels);

    view.format = PixelFormat::BGRA8;  // written as RGB, channels swapped
    write_png(dir / "bgra.png", view);
    const Image bgra = load_image(dir / "bgra.png");
    CHECK(bgra.pixels[0] == rgb.pixels[2]);
    CHECK(bgra.pixels[2] == rgb.pixels[0]);

    std::vector<uint8_t> grey(37 * 23);
    for (size_t i = 0; i < grey.size(); ++i) grey[i] = uint8_t(i * 3);
    view.data = grey.data();
    view.row_stride_bytes = 37;
    view.format = PixelFormat::Gray8;
    write_png(dir / "grey.png", view);
    const Image g = load_image(dir / "grey.png");
    for (size_t i = 0; i < grey.size(); ++i) {
        CHECK(g.pixels[3 * i] == grey[i]);
        CHECK(g.pixels[3 * i + 2] == grey[i]);
    }

    // A failed write leaves nothing behind (the folder does not exist).
    CHECK_THROWS_AS(write_png(dir / "nowhere" / "x.png", rgb.view()), ImageError);
    CHECK_FALSE(fs::exists(dir / "nowhere"));
}

TEST_CASE("image decode: grey, grey+alpha, RGBA, palette, 16-bit and interlaced PNGs decode to the expected RGB8") {
    const int w = 9, h = 4;
    auto check_rgb = [&](const PngSpec& spec, const std::function<std::array<int, 3>(int, int)>& expected) {
        const Image img = decode_image(make_png(spec), "flavour.png");
        REQUIRE(img.width == w);
        REQUIRE(img.height == h);
        int wrong = 0;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const auto e = expected(x, y);
                const uint8_t* p = &img.pixels[(size_t(y) * w + size_t(x)) * 3];
                wrong += p[0] != e[0] || p[1] != e[1] || p[2] != e[2];
            }
        CHECK(wrong == 0);
    };
    auto value = [](int x, int y) { return (x * 29 + y * 71) % 256; };
    auto value16 = [](int x, int y) { return (x * 7919 + y * 15331) % 65536; };

    SUBCASE("grey 8-bit") {
        PngSpec s{.width = w, .height = h, .color_type = PNG_COLOR_TYPE_GRAY};
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) s.rows.push_back(uint8_t(value(x, y)));
        check_rgb(s, [&](int x, int y) { return std::array{value(x, y), value(x, y), value(x, y)}; });
    }
    SUBCASE("grey 1-bit and 4-bit, scaled to 0..255") {
        PngSpec s1{.width = w, .height = h, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 1};
        PngSpec s4{.width = w, .height = h, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 4};
        for (int y = 0; y < h; ++y) {
            uint16_t bits = 0;
            for (int x = 0; x < w; ++x) bits |= uint16_t(((x + y) % 2) << (15 - x));
            s1.rows.push_back(uint8_t(bits >> 8));
            s1.rows.push_back(uint8_t(bits));
            for (int x = 0; x < w; x += 2) s4.rows.push_back(uint8_t((x + y) % 16 << 4 | (x + 1 + y) % 16));
        }
        check_rgb(s1, [](int x, int y) { const int v = (x + y) % 2 * 255; return std::array{v, v, v}; });
        check_rgb(s4, [](int x, int y) { const int v = (x + y) % 16 * 17; return std::array{v, v, v}; });
    }
    SUBCASE("grey + alpha: alpha dropped") {
        PngSpec s{.width = w, .height = h, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA};
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) s.rows.insert(s.rows.end(), {uint8_t(value(x, y)), uint8_t(x * 20)});
        check_rgb(s, [&](int x, int y) { return std::array{value(x, y), value(x, y), value(x, y)}; });
    }
    SUBCASE("RGBA: alpha dropped, not composited") {
        PngSpec s{.width = w, .height = h, .color_type = PNG_COLOR_TYPE_RGB_ALPHA};
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                s.rows.insert(s.rows.end(), {uint8_t(value(x, y)), uint8_t(x * 10), uint8_t(y * 50), uint8_t(x == 0 ? 0 : 128)});
        check_rgb(s, [&](int x, int y) { return std::array{value(x, y), x * 10, y * 50}; });
    }
    SUBCASE("palette 8-bit with transparency, palette 4-bit") {
        PngSpec s{.width = w, .height = h, .color_type = PNG_COLOR_TYPE_PALETTE};
        for (int i = 0; i < 16; ++i) s.palette.push_back({uint8_t(i * 16), uint8_t(255 - i * 8), uint8_t(i * 3)});
        s.palette_alpha = {0, 50, 100};
        PngSpec s4 = s;
        s4.bit_depth = 4;
        for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) s.rows.push_back(uint8_t((x + 3 * y) % 16));
            for (int x = 0; x < w; x += 2) s4.rows.push_back(uint8_t((x + 3 * y) % 16 << 4 | (x + 1 + 3 * y) % 16));
        }
        auto expected = [](int x, int y) { const int i = (x + 3 * y) % 16; return std::array{i * 16, 255 - i * 8, i * 3}; };
        check_rgb(s, expected);
        check_rgb(s4, expected);
    }
    SUBCASE("16-bit RGB and grey: the high byte (v >> 8)") {
        PngSpec rgb{.width = w, .height = h, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 16};
        PngSpec grey{.width = w, .height = h, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 16};
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const int v = value16(x, y);
                for (int c = 0; c < 3; ++c) rgb.rows.insert(rgb.rows.end(), {uint8_t((v + c * 4097) % 65536 >> 8), uint8_t((v + c * 4097) % 65536)});
                grey.rows.insert(grey.rows.end(), {uint8_t(v >> 8), uint8_t(v)});
            }
        check_rgb(rgb, [&](int x, int y) {
            const int v = value16(x, y);
            return std::array{v >> 8, (v + 4097) % 65536 >> 8, (v + 2 * 4097) % 65536 >> 8};
        });
        check_rgb(grey, [&](int x, int y) { const int v = value16(x, y) >> 8; return std::array{v, v, v}; });
    }
    SUBCASE("Adam7 interlaced equals the same image not interlaced") {
        PngSpec s{.width = w, .height = h, .interlaced = true};
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) s.rows.insert(s.rows.end(), {uint8_t(value(x, y)), uint8_t(x), uint8_t(y)});
        check_rgb(s, [&](int x, int y) { return std::array{value(x, y), x, y}; });
    }
}

TEST_CASE("image decode: JPEG pixels are libjpeg-turbo's at its defaults, within a few levels of the source") {
    const Image source = smooth_image(96, 64);
    const auto q100 = encode_jpeg(source);  // quality 100, 4:4:4
    const Image ours = decode_image(q100, "q100.jpg");
    CHECK(ours.width == 96);
    CHECK(ours.height == 64);
    CHECK(max_difference(ours, source) <= 4);
    CHECK(decode_image(q100, "q100.jpg").pixels == ours.pixels);  // deterministic
    CHECK(ours.pixels == libjpeg_decode(q100).pixels);

    // 4:2:0 at quality 85 (fancy upsampling matters here) and progressive: exactly libjpeg's.
    const Image noise = noise_image(70, 45, 21);
    for (const JpegOptions& o : {JpegOptions{.quality = 85, .full_chroma = false},
                                 JpegOptions{.quality = 90, .full_chroma = false, .progressive = true}}) {
        const auto bytes = encode_jpeg(noise, o);
        CHECK(decode_image(bytes, "x.jpg").pixels == libjpeg_decode(bytes).pixels);
    }

    // Grey JPEG: R = G = B.
    std::vector<uint8_t> grey(96 * 64);
    for (size_t i = 0; i < grey.size(); ++i) grey[i] = uint8_t(i % 96 * 2);
    const Image g = decode_image(encode_jpeg(grey.data(), 96, 64, {.in_space = JCS_GRAYSCALE}), "grey.jpg");
    int worst = 0;
    for (size_t i = 0; i < grey.size(); ++i) {
        CHECK(g.pixels[3 * i] == g.pixels[3 * i + 1]);
        CHECK(g.pixels[3 * i] == g.pixels[3 * i + 2]);
        worst = std::max(worst, std::abs(int(g.pixels[3 * i]) - int(grey[i])));
    }
    CHECK(worst <= 2);

    // The shared photos, when present: exactly libjpeg-turbo's decoding.
    if (auto shared = shared_dir()) {
        int compared = 0;
        for (const auto& e : fs::directory_iterator(*shared / "images" / "people"))
            if (e.path().extension() == ".jpg" && compared < 4) {
                const auto bytes = read_bytes(e.path());
                CAPTURE(e.path().string());
                CHECK(load_image(e.path()).pixels == libjpeg_decode(bytes).pixels);
                ++compared;
            }
    }
}

TEST_CASE("image decode: CMYK and YCCK JPEGs are converted as Chrome does (inverted CMYK)") {
    // Constant blocks so that the lossy round trip keeps each value within a level or two.
    const int w = 32, h = 16;
    std::vector<uint8_t> cmyk(size_t(w) * h * 4);
    const uint8_t colours[4][4] = {{255, 255, 255, 255}, {200, 100, 50, 255}, {255, 128, 0, 128}, {30, 60, 90, 200}};
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) std::memcpy(&cmyk[(size_t(y) * w + size_t(x)) * 4], colours[x / 8], 4);
    for (J_COLOR_SPACE space : {JCS_CMYK, JCS_YCCK}) {
        CAPTURE(int(space));
        const Image img = decode_image(encode_jpeg(cmyk.data(), w, h, {.in_space = JCS_CMYK, .file_space = space}), "cmyk.jpg");
        for (int block = 0; block < 4; ++block) {
            const uint8_t* c = colours[block];
            const uint8_t* p = &img.pixels[(size_t(8) * w + size_t(block * 8 + 4)) * 3];
            for (int ch = 0; ch < 3; ++ch) CHECK(std::abs(int(p[ch]) - c[ch] * c[3] / 255) <= 3);
        }
    }
}

TEST_CASE("image decode: a JPEG with more scans than any real one is refused") {
    // A legal progressive script of 1 + 63 * 10 scans (every AC coefficient on its own, refined bit by
    // bit): libjpeg would spend a pass over the image on each.
    std::vector<uint8_t> grey(16 * 16, 128);
    JpegOptions o{.quality = 90, .in_space = JCS_GRAYSCALE};
    o.scans.push_back({1, {0, 0, 0, 0}, 0, 0, 0, 0});
    for (int k = 1; k < 64; ++k) {
        o.scans.push_back({1, {0, 0, 0, 0}, k, k, 0, 9});
        for (int al = 8; al >= 0; --al) o.scans.push_back({1, {0, 0, 0, 0}, k, k, al + 1, al});
    }
    const auto many = encode_jpeg(grey.data(), 16, 16, o);
    CHECK(contains(decode_error(many, "scans.jpg"), "more than 500 scans"));
    // A usual progressive file (libjpeg's simple progression, 6 scans for grey) is fine.
    CHECK_NOTHROW(decode_image(encode_jpeg(grey.data(), 16, 16, {.progressive = true, .in_space = JCS_GRAYSCALE}), "ok.jpg"));
}

TEST_CASE("image decode: PNM headers, maxvals and grey as the reference tool reads them") {
    // Comments and any whitespace between fields; exactly one whitespace byte before the data.
    const auto comment = bytes_of("P6 # a comment\n2\t# another\r\n1\n255\n\x01\x02\x03\x04\x05\x06trailing bytes ignored");
    const Image c = decode_image(comment, "c.ppm");
    CHECK(c.width == 2);
    CHECK(c.height == 1);
    CHECK(c.pixels == std::vector<uint8_t>{1, 2, 3, 4, 5, 6});
    // P5 grey expanded to RGB.
    const Image g = decode_image(bytes_of("P5\n3 1\n255\n\x00\x80\xFF"s), "g.pgm");
    CHECK(g.pixels == std::vector<uint8_t>{0, 0, 0, 128, 128, 128, 255, 255, 255});
    // maxval 15: round(v * 255 / 15); maxval 65535 (two bytes, big-endian): round(v * 255 / 65535).
    CHECK(decode_image(bytes_of("P5\n3 1\n15\n\x00\x07\x0F"s), "m.pgm").pixels ==
          std::vector<uint8_t>{0, 0, 0, 119, 119, 119, 255, 255, 255});
    CHECK(decode_image(bytes_of("P5\n3 1\n65535\n\x00\x80\x80\x80\xFF\xFF"s), "w.pgm").pixels ==
          std::vector<uint8_t>{0, 0, 0, 128, 128, 128, 255, 255, 255});
    // A sample above maxval, a maxval out of range, a missing field, no space before the data.
    CHECK(contains(decode_error(bytes_of("P5\n2 1\n100\n\x10\xF0"), "over.pgm"), "above the maxval"));
    CHECK(contains(decode_error(bytes_of("P5\n2 1\n70000\n\x10\xF0"), "max.pgm"), "maxval"));
    CHECK(contains(decode_error(bytes_of("P6\n2 x\n255\n"), "field.ppm"), "corrupt header"));
    CHECK(contains(decode_error(bytes_of("P6\n1 1\n255"), "end.ppm"), "truncated"));
    CHECK(contains(decode_error(bytes_of("P6\n1 1\n255#\n\x01\x02\x03"), "space.ppm"), "corrupt header"));
}

TEST_CASE("image decode: other formats are refused with the list of supported ones") {
    const std::string supported = "supported: JPEG, PNG, binary PNM";
    const auto bmp = decode_error(bytes_of(std::string("BM") + std::string(60, '\0')), "photo.bmp");
    CHECK(contains(bmp, "photo.bmp: cannot decode: BMP is not a supported format"));
    CHECK(contains(bmp, supported));
    CHECK(contains(decode_error(bytes_of("GIF89a" + std::string(30, '\0')), "a.gif"), "GIF is not a supported format"));
    CHECK(contains(decode_error(bytes_of("P3\n1 1\n255\n1 2 3\n"), "a.ppm"), "P3 (ASCII PPM) is not a supported format"));
    const auto garbage = decode_error(std::vector<uint8_t>(100, 0x42), "garbage.jpg");
    CHECK(contains(garbage, "garbage.jpg: cannot decode: not an image in a supported format"));
    CHECK(contains(garbage, supported));
    CHECK(contains(decode_error({}, "empty.png"), "empty.png: file is empty"));
}
