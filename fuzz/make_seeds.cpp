// Writes seed inputs for the fuzz targets into SEED_DIR/<target>/: small valid files of every kind
// each target reads (made here, at run time: nothing binary is committed).
//   fuzz_make_seeds SEED_DIR
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>  // after <cstdio>: it uses size_t and FILE

#include <filesystem>
#include <fstream>
#include <vector>

#include "engine/blob.h"
#include "engine/tfjs_model.h"
#include "posenet/image.h"
#include "tests/tiny_model.h"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::vector<uint8_t>& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<uint8_t> read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

posenet::Image pattern(int height, int width) {
    posenet::Image img;
    img.height = height, img.width = width;
    img.pixels.resize(size_t(height) * width * 3);
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t(i * 37 + i / 7);
    return img;
}

std::vector<uint8_t> jpeg(const posenet::Image& img, bool progressive) {
    jpeg_compress_struct c{};
    jpeg_error_mgr err{};
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char* out = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &out, &size);
    c.image_width = JDIMENSION(img.width), c.image_height = JDIMENSION(img.height);
    c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 80, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = const_cast<JSAMPROW>(img.pixels.data() + size_t(c.next_scanline) * img.width * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    std::vector<uint8_t> bytes(out, out + size);
    free(out);
    return bytes;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_make_seeds SEED_DIR\n");
        return 2;
    }
    const fs::path dir = argv[1];
    fs::create_directories(dir);
    const fs::path scratch = dir / "scratch";
    fs::create_directories(scratch);

    // Images: PNG (RGB, grey via PGM-like content), JPEG baseline and progressive, PPM, PGM.
    const auto img = pattern(12, 17);
    posenet::write_png(scratch / "a.png", img.view());
    write(dir / "fuzz_image" / "rgb.png", read(scratch / "a.png"));
    write(dir / "fuzz_image" / "baseline.jpg", jpeg(img, false));
    write(dir / "fuzz_image" / "progressive.jpg", jpeg(img, true));
    std::vector<uint8_t> ppm = {'P', '6', '\n', '1', '7', ' ', '1', '2', '\n', '2', '5', '5', '\n'};
    ppm.insert(ppm.end(), img.pixels.begin(), img.pixels.end());
    write(dir / "fuzz_image" / "rgb.ppm", ppm);
    std::vector<uint8_t> pgm = {'P', '5', ' ', '4', ' ', '3', ' ', '6', '5', '5', '3', '5', '\n'};
    for (int i = 0; i < 24; ++i) pgm.push_back(uint8_t(i * 11));
    write(dir / "fuzz_image" / "grey16.pgm", pgm);

    // Models: TF.js models as model.json NUL shard (fuzz_tfjs_model), and their blobs behind the mode
    // byte of fuzz_blob (0: as is, 3: resealed). The tiny model (plain convs); a richer variant with a
    // depthwise conv, a max pool, a Pad folded into a conv and a fused stem; one with a uint8-quantized
    // weight (the last in the manifest, so the shard is the float weights and then its bytes).
    using posenet::test::TinyModel;
    TinyModel tiny, rich, quant;
    posenet::test::make_conv2_depthwise(rich);
    posenet::test::insert_maxpool(rich);
    posenet::test::insert_pad(rich, 1, 1, 1, 1);
    posenet::test::fuse_stem(rich);
    auto& last = quant.model["weightsManifest"][0]["weights"].back();
    const size_t quantized = posenet::test::element_count(last);
    last["quantization"] = {{"dtype", "uint8"}, {"scale", 0.01}, {"min", -1.0}};
    for (auto& [name, model] : {std::pair<const char*, TinyModel*>{"tiny", &tiny}, {"rich", &rich}, {"quant", &quant}}) {
        const fs::path json = model->write(scratch / name);
        std::vector<uint8_t> shard = read(scratch / name / "group1-shard1of1.bin");
        if (model == &quant) {
            shard.resize(shard.size() - quantized * 4);
            for (size_t i = 0; i < quantized; ++i) shard.push_back(uint8_t(i * 7));
            write(scratch / name / "group1-shard1of1.bin", shard);
        }
        std::vector<uint8_t> joined = read(json);
        joined.push_back(0);
        joined.insert(joined.end(), shard.begin(), shard.end());
        write(dir / "fuzz_tfjs_model" / (std::string(name) + ".bin"), joined);
        const fs::path blob = scratch / (std::string(name) + ".pnb");
        posenet::engine::save_blob(posenet::engine::load_tfjs_model(json), blob);
        for (uint8_t mode : {0, 3}) {
            std::vector<uint8_t> bytes = {mode};
            const auto b = read(blob);
            bytes.insert(bytes.end(), b.begin(), b.end());
            write(dir / "fuzz_blob" / (std::string(name) + "-mode" + std::to_string(mode) + ".pnb"), bytes);
        }
    }

    // Pose decoders: a few small grids of plain numbers.
    for (int s = 0; s < 4; ++s) {
        std::vector<uint8_t> bytes = {uint8_t(8 + s), uint8_t(8 + s), uint8_t(15), uint8_t(1 + s * 5)};
        float thr = 0.1f * float(s), nms = 20.0f;
        bytes.insert(bytes.end(), reinterpret_cast<uint8_t*>(&thr), reinterpret_cast<uint8_t*>(&thr) + 4);
        bytes.insert(bytes.end(), reinterpret_cast<uint8_t*>(&nms), reinterpret_cast<uint8_t*>(&nms) + 4);
        bytes.push_back(uint8_t(s & 1));
        for (int i = 0; i < 4 * 115 * 81; ++i) bytes.push_back(uint8_t((i * 2654435761u) >> (8 + s)));
        write(dir / "fuzz_pose_decoders" / ("grid" + std::to_string(s) + ".bin"), bytes);
    }
    fs::remove_all(scratch);
    return 0;
}
