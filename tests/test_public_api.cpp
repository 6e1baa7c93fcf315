// The public C++ API as an embedding application sees it: models from paths of any name and from
// memory, batches, options the host controls (no files, no printing, a log callback, device choice),
// threads; and the C API driven from a C99 program (tests/c_api/test_c_api.c).
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "engine/blob.h"
#include "engine/tfjs_model.h"
#include "posenet/detector.h"
#include "tests/test_support.h"
#include "tests/tiny_model.h"

using namespace posenet;
using namespace posenet::test;

namespace {

struct TinyFiles {
    fs::path dir, json, blob;
};

TinyFiles tiny_files(const std::string& name) {
    TinyFiles t;
    t.dir = scratch_dir(name);
    TinyModel m;
    t.json = m.write(t.dir / "tfjs");
    t.blob = t.dir / "tiny.pnb";
    engine::save_blob(engine::load_tfjs_model(t.json), t.blob);
    return t;
}

DetectorOptions on(Backend backend) {
    DetectorOptions o;
    o.backend = backend;
    return o;
}

ModelConfig tiny_config(const fs::path& model) {
    ModelConfig c;
    c.model = model;
    c.input_resolution = {33, 33};
    return c;
}

// A 30 x 40 RGB gradient with a bright blob that moves with `seed`.
Image gradient(int seed, int height = 30, int width = 40) {
    Image img;
    img.height = height, img.width = width;
    img.pixels.resize(size_t(height) * width * 3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            uint8_t* p = &img.pixels[(size_t(y) * width + x) * 3];
            const bool blob = std::abs(x - (seed * 7) % width) < 4 && std::abs(y - (seed * 5) % height) < 4;
            p[0] = uint8_t(x * 6), p[1] = uint8_t(y * 8), p[2] = blob ? 255 : uint8_t(seed * 40);
        }
    return img;
}

void check_same(const std::vector<Pose>& a, const std::vector<Pose>& b) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].score == b[i].score);
        for (int k = 0; k < kNumKeypoints; ++k) {
            CHECK(a[i].keypoints[k].x == b[i].keypoints[k].x);
            CHECK(a[i].keypoints[k].y == b[i].keypoints[k].y);
            CHECK(a[i].keypoints[k].score == b[i].keypoints[k].score);
        }
    }
}

}  // namespace

TEST_CASE("public api: a model is recognised by its content, from any file name and from memory") {
    auto t = tiny_files("api-model-kinds");
    fs::copy_file(t.blob, t.dir / "model.bin");
    fs::copy_file(t.json, t.dir / "tfjs" / "weird-name.txt");
    const Image img = gradient(1);
    const EstimationConfig multi{3, false, 0.1f, 20};
    PoseDetector reference(tiny_config(t.blob), on(Backend::Cpu));
    const auto want = reference.estimate_poses(img.view(), multi);
    CHECK(reference.model_info().output_stride == 8);
    CHECK(reference.model_info().multiplier == 0.5f);
    CHECK(reference.config().output_stride.value() == 8);  // resolved from the model

    check_same(PoseDetector(tiny_config(t.dir / "model.bin"), on(Backend::Cpu)).estimate_poses(img.view(), multi), want);
    check_same(PoseDetector(tiny_config(t.dir / "tfjs" / "weird-name.txt"), on(Backend::Cpu)).estimate_poses(img.view(), multi), want);
    std::ifstream in(t.blob, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    ModelConfig from_memory = tiny_config({});
    from_memory.model_data = bytes;
    PoseDetector memory(from_memory, on(Backend::Cpu));
    bytes.assign(bytes.size(), 0);  // the detector holds its own copy
    check_same(memory.estimate_poses(img.view(), multi), want);

    std::ofstream(t.dir / "photo.png") << "\x89PNG\r\n\x1a\n not a model";
    CHECK_THROWS_WITH_AS(PoseDetector(tiny_config(t.dir / "photo.png"), on(Backend::Cpu)),
                         doctest::Contains("photo.png: not a model: neither a posenet blob"), ModelError);
    ModelConfig json_in_memory = tiny_config("model.json");
    std::string text = "{\"format\": \"graph-model\"}";
    json_in_memory.model_data = std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    CHECK_THROWS_WITH_AS(PoseDetector(json_in_memory, on(Backend::Cpu)), doctest::Contains("cannot load from memory"), ModelError);
    CHECK_THROWS_WITH_AS(PoseDetector(tiny_config({}), on(Backend::Cpu)), doctest::Contains("no model file given"), ConfigError);
}

TEST_CASE("public api: a batch of images of different sizes gives each image's own poses") {
    auto t = tiny_files("api-batch");
    const std::vector<Image> images = {gradient(1), gradient(2, 50, 20), gradient(3, 33, 33), gradient(4, 7, 90)};
    std::vector<ImageView> views;
    for (const auto& i : images) views.push_back(i.view());
    for (Backend backend : {Backend::Cpu, Backend::Vulkan}) {
        CAPTURE(to_string(backend));
        std::optional<PoseDetector> d;
        try {
            d.emplace(tiny_config(t.blob), on(backend));
        } catch (const DeviceError& e) {
            MESSAGE("SKIP the vulkan half: " << e.what());
            continue;
        }
        for (EstimationConfig c : {EstimationConfig{}, EstimationConfig{4, true, 0.1f, 10}}) {
            auto batch = d->estimate_poses(std::span<const ImageView>(views), c);
            REQUIRE(batch.size() == images.size());
            for (size_t i = 0; i < images.size(); ++i) check_same(batch[i], d->estimate_poses(views[i], c));
        }
        CHECK(d->estimate_poses(std::span<const ImageView>()).empty());
        std::vector<ImageView> bad = views;
        bad[2].data = nullptr;
        CHECK_THROWS_AS(d->estimate_poses(std::span<const ImageView>(bad)), ConfigError);
    }
}

TEST_CASE("public api: the library writes no file and prints nothing unless its options say so") {
    auto t = tiny_files("api-quiet");
    auto home = scratch_dir("api-quiet-home");
    // A HOME and XDG folders the library would have used by default before: they must stay empty.
    // (Drivers keep caches of their own there; Mesa's is turned off so the check sees only ours.)
    ScopedEnv env_home("HOME", home.string()), env_cache("XDG_CACHE_HOME", (home / "cache").string()),
        env_mesa("MESA_SHADER_CACHE_DISABLE", "true");
    std::vector<std::string> logged;
    DetectorOptions o = on(Backend::Vulkan);
    o.log = [&](LogLevel, std::string_view m) { logged.emplace_back(m); };
    try {
        PoseDetector d(tiny_config(t.blob), o);
        d.estimate_poses(gradient(1).view());
        CHECK(d.device_index() >= 0);
    } catch (const DeviceError& e) {
        MESSAGE("SKIP the vulkan part: " << e.what());
    }
    CHECK(fs::is_empty(home));
    // With a folder named, the pipeline cache goes there and nowhere else.
    o.pipeline_cache_dir = home / "pipelines";
    try {
        PoseDetector d(tiny_config(t.blob), o);
        d.estimate_poses(gradient(1).view());
    } catch (const DeviceError&) {
    }
    if (fs::exists(home / "pipelines")) {
        int files = 0;
        for (auto& e : fs::directory_iterator(home / "pipelines")) files += e.path().filename().string().rfind("vulkan-pipelines-", 0) == 0;
        CHECK(files == 1);
    }
    for (auto& e : fs::directory_iterator(home)) CHECK(e.path().filename() == "pipelines");
    for (const auto& m : logged) MESSAGE("logged: " << m);  // validation messages, if any, arrive here
}

TEST_CASE("public api: a device index that does not exist is an error, never a silent CPU fallback") {
    auto t = tiny_files("api-device");
    DetectorOptions o;  // Backend::Auto
    o.device = 99;
    CHECK_THROWS_WITH_AS(PoseDetector(tiny_config(t.blob), o), doctest::Contains("99"), DeviceError);
    o.device = -5;
    CHECK_THROWS_WITH_AS(PoseDetector(tiny_config(t.blob), o), doctest::Contains("device -5"), ConfigError);
    o = on(Backend::Cpu);
    o.device = 0;
    CHECK_THROWS_WITH_AS(PoseDetector(tiny_config(t.blob), o), doctest::Contains("needs the vulkan or auto backend"), ConfigError);
    o = on(Backend::Cpu);
    o.precision = Precision::Float16;
    CHECK_THROWS_WITH_AS(PoseDetector(tiny_config(t.blob), o), doctest::Contains("float16"), DeviceError);
    auto r = run_command(posenet_cli() + " detect --model " + t.blob.string() + " --input-resolution 33 --device 99 x.png");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("device 99 does not exist") != std::string::npos);
    r = run_command(posenet_cli() + " detect --model " + t.blob.string() + " --device -5 x.png");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("--device must be a device index >= 0") != std::string::npos);
}

// One detector shared by several threads (calls serialize), and several detectors at once: every
// thread gets exactly the poses a lone caller gets. Run under TSan by the sanitizer build.
TEST_CASE("public api: detectors from several threads") {
    auto t = tiny_files("api-threads");
    std::vector<Image> images;
    for (int i = 0; i < 6; ++i) images.push_back(gradient(i));
    const EstimationConfig multi{3, false, 0.1f, 20};
    for (Backend backend : {Backend::Cpu, Backend::Vulkan}) {
        CAPTURE(to_string(backend));
        std::optional<PoseDetector> shared;
        try {
            shared.emplace(tiny_config(t.blob), on(backend));
        } catch (const DeviceError& e) {
            MESSAGE("SKIP the vulkan half: " << e.what());
            continue;
        }
        std::vector<std::vector<Pose>> want;
        for (const auto& img : images) want.push_back(shared->estimate_poses(img.view(), multi));

        constexpr int kThreads = 4, kRounds = 3;
        std::vector<std::vector<std::vector<Pose>>> got(kThreads);
        std::vector<std::thread> threads;
        std::atomic<int> errors{0};
        for (int th = 0; th < kThreads; ++th)
            threads.emplace_back([&, th] {
                try {
                    for (int r = 0; r < kRounds; ++r)
                        for (size_t i = 0; i < images.size(); ++i)
                            got[th].push_back(shared->estimate_poses(images[(i + size_t(th)) % images.size()].view(), multi));
                } catch (...) {
                    ++errors;
                }
            });
        for (auto& th : threads) th.join();
        CHECK(errors == 0);
        for (int th = 0; th < kThreads; ++th)
            for (size_t n = 0; n < got[th].size(); ++n) check_same(got[th][n], want[(n + size_t(th)) % images.size()]);

        // Separate detectors, each in its own thread.
        threads.clear();
        std::vector<std::vector<Pose>> own(kThreads);
        for (int th = 0; th < kThreads; ++th)
            threads.emplace_back([&, th] {
                try {
                    PoseDetector mine(tiny_config(t.blob), on(backend));
                    own[th] = mine.estimate_poses(images[size_t(th)].view(), multi);
                } catch (...) {
                    ++errors;
                }
            });
        for (auto& th : threads) th.join();
        CHECK(errors == 0);
        for (int th = 0; th < kThreads; ++th) check_same(own[th], want[size_t(th)]);
    }
}

TEST_CASE("c api: every status path, from a C99 program") {
    auto t = tiny_files("c-api");
    {
        std::ofstream ppm(t.dir / "photo.ppm", std::ios::binary);
        ppm << "P6\n40 30\n255\n";
        const Image g = gradient(2);
        ppm.write(reinterpret_cast<const char*>(g.pixels.data()), std::streamsize(g.pixels.size()));
    }
    std::ofstream(t.dir / "corrupt.png", std::ios::binary) << "\x89PNG\r\n\x1a\nthis is not a png";
    const fs::path program = build_root() / "tests" / "c_api" / "posenet_c_api_test";
    REQUIRE(fs::exists(program));
    auto r = run_command(program.string() + " " + t.blob.string() + " " + t.json.string() + " " + (t.dir / "photo.ppm").string() +
                         " " + (t.dir / "corrupt.png").string() + " " + t.dir.string());
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find(", 0 failed") != std::string::npos);
    MESSAGE(r.output);
}
