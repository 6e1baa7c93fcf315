// The CPU executor against TF.js (cpu backend) on the real models, fed TF.js's own model input.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/cpu_executor.h"
#include "engine/tfjs_model.h"
#include "tests/parity.h"
#include "tests/test_support.h"
#include "tests/tfjs_reference.h"

using namespace posenet;
using namespace posenet::test;

namespace {

struct Case {
    const char* model;  // under shared/models/posenet
    int stride, width, height, quant_bytes;
    std::vector<const char*> images;  // under shared/images
};

void check_network_parity(const Case& c) {
    auto shared = require_shared("CPU executor parity with TF.js");
    if (!shared) return;
    ReferenceConfig rc;
    rc.model_json = *shared / "models/posenet" / c.model;
    rc.output_stride = c.stride;
    rc.input_width = c.width, rc.input_height = c.height;
    rc.quant_bytes = c.quant_bytes;
    std::vector<fs::path> images;
    for (auto i : c.images) images.push_back(*shared / "images" / i);
    auto refs = tfjs_reference(rc, images);
    if (!refs) return;
    engine::Network net = engine::load_tfjs_model(rc.model_json);
    engine::CpuExecutor cpu(net);
    for (const auto& ref : *refs) {
        CAPTURE(ref.image.string());
        std::string model_name = c.model;
        CAPTURE(model_name);
        auto out = cpu.run(ref.input, c.height, c.width);
        REQUIRE(out.heatmap_shape.h == ref.grid_h);
        REQUIRE(out.heatmap_shape.w == ref.grid_w);
        std::vector<float> scores(out.heatmap.size());
        for (size_t i = 0; i < scores.size(); ++i) scores[i] = 1.0f / (1.0f + std::exp(-out.heatmap[i]));
        // Bounds: float32 sums in another order over up to 3456 terms per output; TF.js's cpu
        // backend itself differs from its wasm backend by 1.1e-4 (logits) and 6.3e-4 (offsets).
        auto hm = compare("heatmap scores", scores, ref.heatmap);
        auto off = compare("offsets", out.offsets, ref.offsets);
        auto fwd = compare("displacement_fwd", out.displacement_fwd, ref.displacement_fwd);
        auto bwd = compare("displacement_bwd", out.displacement_bwd, ref.displacement_bwd);
        report("cpu vs tfjs", std::string(c.model) + " " + std::to_string(c.width) + "x" + std::to_string(c.height) + " " +
                                  ref.image.filename().string(), {hm, off, fwd, bwd});
        CHECK(hm.max_abs <= 1e-4);
        CHECK(off.max_scaled <= 1e-3);
        CHECK(fwd.max_scaled <= 1e-3);
        CHECK(bwd.max_scaled <= 1e-3);
    }
}

}  // namespace

TEST_CASE("cpu parity: float 0.75 stride 16 at 257, 513 and 353x257") {
    check_network_parity({"mobilenet/float/075/model-stride16.json", 16, 257, 257, 4,
                          {"people/tfjs_posenet_soccer.png", "coco/000000000785.jpg", "people/skimage_camera.png"}});
    check_network_parity({"mobilenet/float/075/model-stride16.json", 16, 513, 513, 4, {"people/skimage_astronaut.png"}});
    check_network_parity({"mobilenet/float/075/model-stride16.json", 16, 353, 257, 4, {"people/opencv_basketball1.png"}});
}

TEST_CASE("cpu parity: uint16 0.75 strides 16 and 8 (dilations as TF.js reads them)") {
    check_network_parity({"mobilenet/quant2/075/model-stride16.json", 16, 257, 257, 2, {"people/tfjs_posenet_soccer.png"}});
    check_network_parity({"mobilenet/quant2/075/model-stride8.json", 8, 257, 257, 2,
                          {"people/tfjs_posenet_soccer.png", "coco/000000000785.jpg"}});
}
