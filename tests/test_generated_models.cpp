// Every PoseNet variant (MobileNetV1 0.5/0.75/1.0 at strides 8/16/32, ResNet50 at 16/32; float32,
// uint16, uint8) from the test-model generator: convert, inspect, and the shapes they must have.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/blob.h"
#include "engine/tfjs_model.h"
#include "tests/generated_models.h"

using namespace posenet::engine;
using namespace posenet::test;

namespace {

// Float parameters listed in the manifest (int32 paddings excluded): what the blob must hold.
uint64_t manifest_float_count(const fs::path& json) {
    std::ifstream in(json);
    auto m = nlohmann::json::parse(in);
    uint64_t n = 0;
    for (const auto& g : m["weightsManifest"])
        for (const auto& w : g["weights"]) {
            if (w["dtype"] != "float32") continue;
            uint64_t c = 1;
            for (const auto& d : w["shape"]) c *= d.get<uint64_t>();
            n += c;
        }
    return n;
}

}  // namespace

TEST_CASE("generated models: every variant converts, round-trips and has the right shapes") {
    std::vector<Variant> variants;
    for (int q : {4, 2, 1}) {
        for (const char* m : {"0.5", "0.75", "1.0"})
            for (int s : {8, 16, 32})
                if (s != 32 || std::string(m) == "1.0") variants.push_back({"MobileNetV1", m, s, q});
        for (int s : {16, 32}) variants.push_back({"ResNet50", "1.0", s, q});
    }
    CHECK(variants.size() == 27);
    auto dir = scratch_dir("generated-blobs");
    for (const auto& v : variants) {
        CAPTURE(v.dir_name());
        CAPTURE(v.stride);
        fs::path json = generated_model(v);
        Network net = load_tfjs_model(json);
        const bool resnet = v.architecture == "ResNet50";
        CHECK(net.architecture == (resnet ? Architecture::ResNet50 : Architecture::MobileNetV1));
        CHECK(net.output_stride == v.stride);
        CHECK(net.quant_bytes == v.quant_bytes);
        CHECK(net.multiplier == doctest::Approx(std::stod(v.multiplier)));
        CHECK(net.parameter_count() == manifest_float_count(json));
        // MobileNetV1: stem + 13 depthwise/pointwise pairs + 4 heads. ResNet50: stem conv, max pool,
        // 16 bottlenecks of 3 convs, 4 projection shortcuts, 3 subsampling 1x1 pools, 4 heads; the
        // 16 residual Adds fold into conv3.
        CHECK(net.layers.size() == (resnet ? 61u : 31u));
        int residuals = 0;
        for (const auto& l : net.layers) residuals += l.kind == LayerKind::Conv2D && l.input2 >= 0;
        CHECK(residuals == (resnet ? 16 : 0));
        for (int size : {257, 513}) {
            auto shapes = net.tensor_shapes(size, size);
            const int grid = (size - 1) / v.stride + 1;
            CHECK(shapes[net.heatmap].h == grid);
            CHECK(shapes[net.heatmap].w == grid);
            CHECK(shapes[net.displacement_bwd].c == 32);
        }
        // The widest backbone layer: 2048 for ResNet50, 1024 x multiplier for MobileNetV1 1.0 and
        // 512 x multiplier for 0.5/0.75 (PoseNet's narrow variants stop at Conv2d_11's width).
        int widest = 0;
        for (const auto& l : net.layers) widest = std::max(widest, l.out_channels);
        int expect = resnet ? 2048 : v.multiplier == "1.0" ? 1024 : v.multiplier == "0.75" ? 384 : 256;
        CHECK(widest == expect);
        fs::path blob = dir / (v.dir_name().substr(0, v.dir_name().find('/')) + "-" + std::to_string(v.quant_bytes) + "-" +
                               v.multiplier + "-s" + std::to_string(v.stride) + ".pnb");
        save_blob(net, blob);
        Network back = load_blob(blob);
        CHECK(back.layers.size() == net.layers.size());
        CHECK(back.parameter_count() == net.parameter_count());
        auto a = back.geometry(257, 257);
        auto b = net.geometry(257, 257);
        uint64_t ma = 0, mb = 0;
        for (size_t i = 0; i < a.size(); ++i) ma += a[i].macs, mb += b[i].macs;
        CHECK(ma == mb);
    }
}

TEST_CASE("generated models: ResNet50 stride 32 FLOPs and stride 16 dilations") {
    Network s32 = load_tfjs_model(generated_model({"ResNet50", "1.0", 32, 4}));
    // ResNet50 (v1, 7x7 stem) at 224x224 is the textbook 4.1 GMACs; at 257 SAME/VALID arithmetic
    // gives 129x129 after the stem, 65 after the pool, then 65/33/17/9 per block.
    auto g = s32.geometry(257, 257);
    CHECK(g[0].out.h == 129);
    CHECK(g[1].out.h == 65);
    CHECK(g.back().out.h == 9);
    uint64_t macs = 0;
    for (const auto& x : g) macs += x.macs;
    CHECK(double(macs) / 1e9 == doctest::Approx(4.1 * (257.0 * 257) / (224.0 * 224)).epsilon(0.1));
    Network s16 = load_tfjs_model(generated_model({"ResNet50", "1.0", 16, 4}));
    int dilated = 0;
    for (const auto& l : s16.layers) dilated += l.dilation_h == 2 && l.dilation_w == 1;
    CHECK(dilated == 3);  // block4's three 3x3 convs, [2,2,1,1] read as TF.js does
}

TEST_CASE("generated models: inspect prints every variant's layers, FLOPs and memory") {
    auto dir = scratch_dir("generated-inspect");
    for (const Variant& v : {Variant{"MobileNetV1", "1.0", 32, 1}, Variant{"ResNet50", "1.0", 16, 2}}) {
        auto blob = dir / (std::to_string(v.stride) + ".pnb");
        auto r = run_command(posenet_cli() + " convert " + generated_model(v).string() + " -o " + blob.string());
        REQUIRE(r.exit_code == 0);
        r = run_command(posenet_cli() + " inspect " + blob.string() + " --input-resolution 513x257");
        CHECK(r.exit_code == 0);
        CHECK(r.output.find(v.architecture == "ResNet50" ? "layers: 61" : "layers: 31") != std::string::npos);
        CHECK(r.output.find("FLOPs:") != std::string::npos);
        CHECK(r.output.find("activations:") != std::string::npos);
    }
}
