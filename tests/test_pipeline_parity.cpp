// The whole pipeline (preprocess -> network -> decode) against TF.js's poses, on the photos in
// ../shared/images, fed the exact RGB that TF.js decoded. POSENET_PARITY=full runs every photo in
// every configuration; the default runs every photo once and a spread of photos for the rest.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "posenet/detector.h"
#include "tests/generated_models.h"
#include "tests/parity.h"
#include "tests/test_support.h"
#include "tests/tfjs_reference.h"

using namespace posenet;
using namespace posenet::test;

std::vector<float> detector_input(PoseDetector& d, const ImageView& view);

namespace {

bool full_parity() {
    const char* e = std::getenv("POSENET_PARITY");
    return e && std::string(e) == "full";
}

std::vector<fs::path> photos(const fs::path& shared, size_t limit) {
    std::vector<fs::path> all;
    for (const char* sub : {"people", "coco"})
        for (const auto& e : fs::directory_iterator(shared / "images" / sub)) {
            auto ext = e.path().extension().string();
            if (ext == ".jpg" || ext == ".png" || ext == ".jpeg") all.push_back(e.path());
        }
    std::sort(all.begin(), all.end());
    if (limit >= all.size() || full_parity()) return all;
    // An even spread, always including the PNGs (RGBA, grey) and the photos with no person.
    std::vector<fs::path> pick;
    for (const auto& p : all)
        if (p.extension() == ".png" || p.filename().string().rfind("negative", 0) == 0) pick.push_back(p);
    for (size_t i = 0; pick.size() < limit && i < all.size(); i += std::max<size_t>(1, all.size() / limit))
        if (std::find(pick.begin(), pick.end(), all[i]) == pick.end()) pick.push_back(all[i]);
    pick.resize(std::min(pick.size(), limit));
    return pick;
}

struct Worst {
    double input = 0, scores = 0, offsets = 0, displacements = 0, keypoint_px = 0, keypoint_score = 0, pose_score = 0;
    int images = 0, poses = 0;
};

// model: under shared/models/posenet, or an absolute path (a generated model).
void check_pipeline(const std::string& model, ReferenceConfig rc, size_t photo_limit, Worst& worst, Backend backend) {
    auto shared = require_shared("pipeline parity with TF.js");
    if (!shared) return;
    rc.model_json = fs::path(model).is_absolute() ? fs::path(model) : *shared / "models/posenet" / model;
    auto images = photos(*shared, photo_limit);
    auto refs = tfjs_reference(rc, images);
    if (!refs) return;

    ModelConfig mc;
    mc.model = rc.model_json;
    mc.architecture = rc.architecture == "ResNet50" ? Architecture::ResNet50 : Architecture::MobileNetV1;
    mc.output_stride = rc.output_stride;
    mc.input_resolution = {rc.input_height, rc.input_width};
    mc.multiplier = rc.multiplier;
    mc.quant_bytes = rc.quant_bytes;
    PoseDetector detector(mc, {backend});
    EstimationConfig ec{rc.max_poses, rc.flip, rc.score_threshold, rc.nms_radius};

    for (const auto& ref : *refs) {
        CAPTURE(ref.image.string());
        std::string model_name = model;
        CAPTURE(model_name);
        CAPTURE(rc.input_width);
        CAPTURE(rc.input_height);
        CAPTURE(rc.max_poses);
        CAPTURE(rc.flip);
        CAPTURE(detector.backend_name());
        ImageView view{ref.rgb.data(), ref.height, ref.width, ref.width * 3, PixelFormat::RGB8};
        Estimate e = detector.estimate(view, ec);
        // Model input: bit for bit.
        auto in = compare("input", detector_input(detector, view), ref.input);
        CHECK(in.max_abs == 0.0);
        auto sc = compare("scores", e.outputs.heatmap_scores.values, ref.heatmap);
        auto off = compare("offsets", e.outputs.offsets.values, ref.offsets);
        auto fwd = compare("fwd", e.outputs.displacement_fwd.values, ref.displacement_fwd);
        auto bwd = compare("bwd", e.outputs.displacement_bwd.values, ref.displacement_bwd);
        CHECK(sc.max_abs <= 1e-4);
        CHECK(off.max_scaled <= 1e-3);
        CHECK(fwd.max_scaled <= 1e-3);
        CHECK(bwd.max_scaled <= 1e-3);
        const auto& want = ref.result["poses"];
        REQUIRE(e.poses.size() == want.size());
        for (size_t p = 0; p < e.poses.size(); ++p) {
            CAPTURE(p);
            double ds = std::fabs(e.poses[p].score - want[p]["score"].get<double>());
            CHECK(ds <= 1e-4);
            worst.pose_score = std::max(worst.pose_score, ds);
            for (size_t k = 0; k < 17; ++k) {
                const auto& w = want[p]["keypoints"][k];
                const auto& g = e.poses[p].keypoints[k];
                CAPTURE(w["name"].get<std::string>());
                double dx = std::fabs(g.x - w["x"].get<double>()), dy = std::fabs(g.y - w["y"].get<double>());
                double dscore = std::fabs(g.score - w["score"].get<double>());
                CHECK(dx <= 0.01);
                CHECK(dy <= 0.01);
                CHECK(dscore <= 1e-4);
                CHECK(g.name == w["name"].get<std::string>());
                worst.keypoint_px = std::max({worst.keypoint_px, dx, dy});
                worst.keypoint_score = std::max(worst.keypoint_score, dscore);
            }
        }
        worst.input = std::max(worst.input, in.max_abs);
        worst.scores = std::max(worst.scores, sc.max_abs);
        worst.offsets = std::max(worst.offsets, off.max_abs);
        worst.displacements = std::max({worst.displacements, fwd.max_abs, bwd.max_abs});
        worst.images++;
        worst.poses += int(e.poses.size());
    }
}

// Both backends: the CPU executor, and Vulkan (lavapipe where there is no GPU).
void check_pipeline(const std::string& model, ReferenceConfig rc, size_t photo_limit, Worst (&worst)[2]) {
    check_pipeline(model, rc, photo_limit, worst[0], Backend::Cpu);
    check_pipeline(model, rc, photo_limit, worst[1], Backend::Vulkan);
}

void print(const char* name, const Worst& w, const char* backend) {
    std::printf("PARITY pipeline %s %s: %d images, %d poses; worst: input %.3g, scores %.3g, offsets %.3g, "
                "displacements %.3g, keypoint %.3g px, keypoint score %.3g, pose score %.3g\n",
                backend, name, w.images, w.poses, w.input, w.scores, w.offsets, w.displacements, w.keypoint_px, w.keypoint_score,
                w.pose_score);
}

void print(const char* name, const Worst (&w)[2]) {
    print(name, w[0], "cpu");
    print(name, w[1], "vulkan");
}

ReferenceConfig config(int stride, int w, int h, int quant, int max_poses, bool flip) {
    ReferenceConfig rc;
    rc.output_stride = stride;
    rc.input_width = w, rc.input_height = h;
    rc.quant_bytes = quant;
    rc.max_poses = max_poses;
    rc.flip = flip;
    return rc;
}

}  // namespace

std::vector<float> detector_input(PoseDetector& d, const ImageView& view) { return d.model_input(view); }

TEST_CASE("pipeline parity: float 0.75 stride 16, every photo, 257 single pose") {
    Worst w[2];
    check_pipeline("mobilenet/float/075/model-stride16.json", config(16, 257, 257, 4, 1, false), 1000, w);
    print("float075-s16 257 single", w);
}

TEST_CASE("pipeline parity: float 0.75 stride 16, multi-pose, flip, 513 and 353x257") {
    Worst w[2];
    check_pipeline("mobilenet/float/075/model-stride16.json", config(16, 257, 257, 4, 5, true), 8, w);
    check_pipeline("mobilenet/float/075/model-stride16.json", config(16, 513, 513, 4, 5, false), 4, w);
    check_pipeline("mobilenet/float/075/model-stride16.json", config(16, 353, 257, 4, 1, true), 4, w);
    check_pipeline("mobilenet/float/075/model-stride16.json", config(16, 257, 353, 4, 3, false), 3, w);
    print("float075-s16 multi/flip/513/353x257", w);
}

TEST_CASE("pipeline parity: uint16 0.75 strides 8 and 16") {
    Worst w[2];
    check_pipeline("mobilenet/quant2/075/model-stride16.json", config(16, 257, 257, 2, 5, false), 4, w);
    check_pipeline("mobilenet/quant2/075/model-stride8.json", config(8, 257, 257, 2, 5, true), 4, w);
    check_pipeline("mobilenet/quant2/075/model-stride8.json", config(8, 257, 257, 2, 1, false), 3, w);
    print("quant2-075 s8/s16", w);
}

TEST_CASE("pipeline parity: generated MobileNetV1 1.0 (strides 8, 16, 32) and 0.5") {
    Worst w[2];
    auto run = [&](Variant v, int max_poses, bool flip, int w_, int h_, size_t photos) {
        ReferenceConfig rc = config(v.stride, w_, h_, v.quant_bytes, max_poses, flip);
        rc.multiplier = float(std::stod(v.multiplier));
        check_pipeline(generated_model(v).string(), rc, photos, w);
    };
    run({"MobileNetV1", "1.0", 32, 4}, 5, false, 257, 257, 2);
    run({"MobileNetV1", "1.0", 16, 1}, 1, true, 353, 257, 2);
    run({"MobileNetV1", "1.0", 8, 2}, 5, true, 257, 257, 2);
    run({"MobileNetV1", "0.5", 16, 4}, 1, false, 257, 257, 2);
    run({"MobileNetV1", "0.5", 8, 1}, 5, false, 257, 353, 1);
    print("generated mobilenet 1.0/0.5", w);
}

TEST_CASE("pipeline parity: generated ResNet50 strides 16 and 32") {
    Worst w[2];
    for (auto [stride, quant, max_poses] : {std::tuple{32, 4, 5}, std::tuple{16, 2, 1}}) {
        ReferenceConfig rc = config(stride, 257, 257, quant, max_poses, stride == 16);
        rc.architecture = "ResNet50";
        rc.multiplier = 1.0f;
        check_pipeline(generated_model({"ResNet50", "1.0", stride, quant}).string(), rc, 1, w);
    }
    print("generated resnet50", w);
}
