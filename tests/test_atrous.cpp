// Atrous convolutions as trained: the official stride-8 graph read with dilations (2, 2) computes the
// stride-16 network on a denser grid, so its outputs at even cells equal stride 16's.
#include <doctest/doctest.h>

#include <random>

#include "engine/cpu_executor.h"
#include "engine/tfjs_model.h"
#include "tests/parity.h"
#include "tests/test_support.h"

using namespace posenet::engine;
using namespace posenet::test;

TEST_CASE("atrous: trained-dilation stride 8 equals stride 16 at even cells; TF.js's reading does not") {
    auto shared = require_shared("atrous: even-cell identity");
    if (!shared) return;
    const fs::path dir = *shared / "models/posenet/mobilenet/quant2/075";
    Network s16 = load_tfjs_model(dir / "model-stride16.json");
    Network trained = load_tfjs_model(dir / "model-stride8.json", {DilationReading::Trained});
    Network parity = load_tfjs_model(dir / "model-stride8.json");
    const int size = 257;
    std::vector<float> input(size_t(size) * size * 3);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto& v : input) v = u(rng);
    auto a = CpuExecutor(s16).run(input, size, size);
    auto b = CpuExecutor(trained).run(input, size, size);
    auto c = CpuExecutor(parity).run(input, size, size);
    REQUIRE(a.heatmap_shape.h == 17);
    REQUIRE(b.heatmap_shape.h == 33);
    auto even_cells = [](const std::vector<float>& t, int grid, int channels) {
        std::vector<float> out;
        for (int y = 0; y < grid; y += 2)
            for (int x = 0; x < grid; x += 2)
                for (int k = 0; k < channels; ++k) out.push_back(t[(size_t(y) * grid + x) * channels + k]);
        return out;
    };
    auto hb = compare("heatmap", even_cells(b.heatmap, 33, 17), a.heatmap);
    auto ob = compare("offsets", even_cells(b.offsets, 33, 34), a.offsets);
    auto fb = compare("fwd", even_cells(b.displacement_fwd, 33, 32), a.displacement_fwd);
    auto hc = compare("heatmap", even_cells(c.heatmap, 33, 17), a.heatmap);
    report("atrous", "trained s8 vs s16 at even cells", {hb, ob, fb});
    report("atrous", "tfjs-read s8 vs s16 at even cells", {hc});
    // Same products in the same order: measured bit-identical here; the bound allows for a GEMM whose
    // blocking depends on the pixel count on other CPUs.
    CHECK(hb.max_abs <= 1e-4);
    CHECK(ob.max_abs <= 1e-3);
    CHECK(fb.max_abs <= 1e-3);
    CHECK(hc.max_abs > 0.1);  // (2, 1) is another network
}
