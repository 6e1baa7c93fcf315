// The public API and `posenet detect`: config rules, config/model mismatches, bad images.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/blob.h"
#include "engine/tfjs_model.h"
#include "posenet/detector.h"
#include "tests/test_support.h"
#include "tests/tiny_model.h"

using namespace posenet;
using namespace posenet::test;

namespace {

std::string config_error(const ModelConfig& c) {
    try {
        validate(c);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

// A real-looking tiny model blob (stride 2) for API tests that need no ../shared.
fs::path tiny_blob(const std::string& name) {
    auto dir = scratch_dir(name);
    TinyModel t;
    auto net = engine::load_tfjs_model(t.write(dir));
    engine::save_blob(net, dir / "tiny.pnb");
    return dir / "tiny.pnb";
}

}  // namespace

TEST_CASE("detector: pose-detection's config rules, each error naming its field") {
    ModelConfig c;
    c.model = "x.pnb";
    CHECK(config_error(c) == "(no error)");  // nothing set: everything comes from the model
    c.architecture = Architecture::MobileNetV1;
    c.multiplier = 0.75f;
    c.output_stride = 32;
    CHECK(config_error(c).find("multiplier 0.75: an outputStride of 32 needs multiplier 1") == 0);
    c.multiplier = 1.0f;
    CHECK(config_error(c) == "(no error)");
    c.output_stride = 4;
    CHECK(config_error(c).find("outputStride 4") == 0);
    c = {};
    c.multiplier = 0.6f;
    CHECK(config_error(c).find("multiplier 0.6") == 0);
    c = {};
    c.architecture = Architecture::ResNet50;
    c.multiplier = 0.75f;
    CHECK(config_error(c).find("multiplier") == 0);  // ResNet has none
    c.multiplier = 1.0f;
    c.output_stride = 8;
    CHECK(config_error(c).find("outputStride 8") == 0);
    c.output_stride = 32;
    CHECK(config_error(c) == "(no error)");
    c.quant_bytes = 3;
    CHECK(config_error(c).find("quantBytes 3") == 0);
    c = {};
    c.input_resolution = {257, 0};
    CHECK(config_error(c).find("inputResolution") == 0);
    c.input_resolution = {10, 10};
    c.output_stride = 16;
    CHECK(config_error(c).find("too small") != std::string::npos);

    DetectorOptions o;
    o.device = -5;
    CHECK_THROWS_WITH_AS(validate(o), doctest::Contains("device -5"), ConfigError);

    EstimationConfig e;
    e.max_poses = 0;
    CHECK_THROWS_WITH_AS(validate(e), doctest::Contains("maxPoses 0"), ConfigError);
    e.max_poses = 2;
    e.score_threshold = 1.5f;
    CHECK_THROWS_WITH_AS(validate(e), doctest::Contains("scoreThreshold 1.5"), ConfigError);
    e.score_threshold = 0.5f;
    e.nms_radius = 0;
    CHECK_THROWS_WITH_AS(validate(e), doctest::Contains("nmsRadius 0"), ConfigError);
}

TEST_CASE("detector: TF.js's input resolution rounding") {
    CHECK(valid_input_resolution({300, 300}, 16).width == 289);
    CHECK(valid_input_resolution({513, 257}, 16).height == 513);
    CHECK(valid_input_resolution({250, 353}, 8).height == 249);
    CHECK(valid_input_resolution({250, 353}, 32).width == 353);
}

TEST_CASE("detector: a config that does not match the model file names the field") {
    auto blob = tiny_blob("detector-mismatch");
    ModelConfig c;
    c.model = blob;
    c.output_stride = 16;
    CHECK_THROWS_WITH_AS(PoseDetector(c, {Backend::Cpu}), doctest::Contains("outputStride: the config says 16"), ConfigError);
    auto shared = require_shared("detector: config mismatch on a real model");
    if (!shared) return;
    ModelConfig r;
    r.model = *shared / "models/posenet/mobilenet/quant2/075/model-stride8.json";
    r.output_stride = 8;
    r.quant_bytes = 4;
    CHECK_THROWS_WITH_AS(PoseDetector(r, {Backend::Cpu}), doctest::Contains("quantBytes: the config says 4"), ConfigError);
    r.quant_bytes = 2;
    r.multiplier = 1.0f;
    CHECK_THROWS_WITH_AS(PoseDetector(r, {Backend::Cpu}), doctest::Contains("multiplier: the config says 1"), ConfigError);
    r.multiplier = 0.75f;
    r.architecture = Architecture::ResNet50;
    r.multiplier.reset();
    // The architecture is named, not a multiplier rule that depends on it.
    CHECK_THROWS_WITH_AS(PoseDetector(r, {Backend::Cpu}), doctest::Contains("architecture: the config says ResNet50"), ConfigError);
    r.architecture = Architecture::MobileNetV1;
    PoseDetector ok(r, {Backend::Cpu});
    CHECK(ok.input_resolution().width == 257);
}

TEST_CASE("detector: bad images are clear errors") {
    auto blob = tiny_blob("detector-images");
    ModelConfig c;
    c.model = blob;
    c.input_resolution = {33, 33};
    PoseDetector d(c, {Backend::Cpu});
    std::vector<uint8_t> px(12 * 10 * 4, 100);
    CHECK_NOTHROW(d.estimate_poses(ImageView{px.data(), 10, 12, 12 * 4, PixelFormat::RGBA8}));
    CHECK_THROWS_AS(d.estimate_poses(ImageView{px.data(), 10, 0, 0, PixelFormat::RGB8}), ConfigError);
    CHECK_THROWS_AS(d.estimate_poses(ImageView{nullptr, 10, 12, 36, PixelFormat::RGB8}), ConfigError);
    CHECK_THROWS_AS(d.estimate_poses(ImageView{px.data(), 10, 12, 5, PixelFormat::RGB8}), ConfigError);  // stride < row
    auto dir = scratch_dir("detector-bad-files");
    std::ofstream(dir / "corrupt.png", std::ios::binary) << "\x89PNG\r\n\x1a\nthis is not a png";
    std::ofstream(dir / "empty.jpg", std::ios::binary);
    CHECK_THROWS_WITH(load_image(dir / "corrupt.png"), doctest::Contains("corrupt.png"));
    CHECK_THROWS_WITH(load_image(dir / "empty.jpg"), doctest::Contains("empty.jpg"));
    CHECK_THROWS_WITH(load_image(dir / "missing.png"), doctest::Contains("missing.png"));
}

TEST_CASE("detect CLI: many images (several in flight) give each image's own poses and overlay, in order") {
    auto blob = tiny_blob("detect-cli-many");
    auto dir = blob.parent_path();
    std::vector<std::string> photos;
    for (int i = 0; i < 7; ++i) {
        const int w = 30 + i * 7, h = 20 + (i % 3) * 11;
        const fs::path path = dir / ("photo-" + std::to_string(i) + ".ppm");
        std::ofstream ppm(path, std::ios::binary);
        ppm << "P6\n" << w << " " << h << "\n255\n";
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) ppm << char(x * 6 + i * 30) << char(y * 8) << char(128 + (x ^ y) * i);
        photos.push_back(path.string());
    }
    const std::string cli = posenet_cli() + " detect --backend cpu --model " + blob.string() +
                            " --input-resolution 33 --max-poses 3 --score-threshold 0.1 ";
    std::string all;
    for (const auto& p : photos) all += " " + p;
    auto r = run_command(cli + all + " --json - --overlay " + (dir / "all").string());
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const auto together = nlohmann::json::parse(r.output);
    REQUIRE(together.size() == photos.size());
    for (size_t i = 0; i < photos.size(); ++i) {
        CAPTURE(i);
        auto one = run_command(cli + photos[i] + " --json - --overlay " + (dir / ("one-" + std::to_string(i))).string());
        REQUIRE_MESSAGE(one.exit_code == 0, one.output);
        CHECK(together[i] == nlohmann::json::parse(one.output)[0]);
        const std::string png = "photo-" + std::to_string(i) + ".png";
        std::ifstream a(dir / "all" / png, std::ios::binary), b(dir / ("one-" + std::to_string(i)) / png, std::ios::binary);
        CHECK(std::string(std::istreambuf_iterator<char>(a), {}) == std::string(std::istreambuf_iterator<char>(b), {}));
    }
    // A broken image among them: the error names it, after the images before it were reported.
    std::ofstream(dir / "broken.png") << "not a png";
    r = run_command(cli + photos[0] + " " + photos[1] + " " + (dir / "broken.png").string() + " " + photos[2]);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("broken.png") != std::string::npos);
    CHECK(r.output.find("photo-1.ppm (") != std::string::npos);
    CHECK(r.output.find("photo-2.ppm (") == std::string::npos);
}

TEST_CASE("detect CLI: poses as JSON, overlays, and clean failures") {
    auto blob = tiny_blob("detect-cli");
    auto dir = blob.parent_path();
    // A 40x30 gradient photo, as binary PPM.
    {
        std::ofstream ppm(dir / "photo.ppm", std::ios::binary);
        ppm << "P6\n40 30\n255\n";
        for (int y = 0; y < 30; ++y)
            for (int x = 0; x < 40; ++x) ppm << char(x * 6) << char(y * 8) << char(128);
    }
    std::string cli = posenet_cli() + " detect --model " + blob.string() + " --input-resolution 33 ";
    auto r = run_command(cli + (dir / "photo.ppm").string() + " --max-poses 3 --score-threshold 0.1 --json " +
                         (dir / "out.json").string() + " --overlay " + (dir / "overlay").string());
    CHECK(r.exit_code == 0);
    std::ifstream in(dir / "out.json");
    auto j = nlohmann::json::parse(in);
    REQUIRE(j.size() == 1);
    CHECK(j[0]["width"] == 40);
    CHECK(j[0]["poses"].is_array());
    if (!j[0]["poses"].empty()) CHECK(j[0]["poses"][0]["keypoints"].size() == 17);
    CHECK(fs::exists(dir / "overlay" / "photo.png"));

    std::ofstream(dir / "bad.jpg") << "garbage";
    r = run_command(cli + (dir / "photo.ppm").string() + " " + (dir / "bad.jpg").string() + " --json " + (dir / "bad.json").string());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("bad.jpg") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "bad.json"));
    r = run_command(cli + (dir / "photo.ppm").string() + " --max-poses 0");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("maxPoses 0") != std::string::npos);
    r = run_command(cli + (dir / "photo.ppm").string() + " --output-stride 16");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("outputStride") != std::string::npos);
    r = run_command(posenet_cli() + " detect --model " + (dir / "none.pnb").string() + " " + (dir / "photo.ppm").string());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("none.pnb") != std::string::npos);
    r = run_command(posenet_cli() + " detect --help");
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("--max-poses") != std::string::npos);
}
