// Converter and blob: real TF.js files, a hand-made tiny model, and every bad-input case.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <span>
#include <vector>

#include "engine/blob.h"
#include "engine/model_limits.h"
#include "engine/tfjs_model.h"
#include "tests/test_support.h"
#include "tests/tiny_model.h"

using namespace posenet::engine;
using namespace posenet::test;

namespace {

std::string convert_error(const fs::path& model) {
    try {
        load_tfjs_model(model);
    } catch (const ModelError& e) {
        return e.what();
    }
    return "(no error)";
}

uint64_t total_macs(const Network& net, int h, int w) {
    uint64_t m = 0;
    for (const auto& g : net.geometry(h, w)) m += g.macs;
    return m;
}

void check_same_network(const Network& a, const Network& b) {
    REQUIRE(a.layers.size() == b.layers.size());
    CHECK(a.tensor_channels == b.tensor_channels);
    for (size_t i = 0; i < a.layers.size(); ++i) {
        const Layer& x = a.layers[i];
        const Layer& y = b.layers[i];
        CAPTURE(x.name);
        CHECK(x.kind == y.kind);
        CHECK(x.input == y.input);
        CHECK(x.input2 == y.input2);
        CHECK(x.output == y.output);
        CHECK(x.kernel_h == y.kernel_h);
        CHECK(x.stride_h == y.stride_h);
        CHECK(x.dilation_h == y.dilation_h);
        CHECK(x.dilation_w == y.dilation_w);
        CHECK(x.activation == y.activation);
        CHECK(x.pad_top == y.pad_top);
        auto fa = a.filter(x), fb = b.filter(y);
        REQUIRE(fa.size() == fb.size());
        CHECK(std::equal(fa.begin(), fa.end(), fb.begin()));
        auto ba = a.bias(x), bb = b.bias(y);
        REQUIRE(ba.size() == bb.size());
        CHECK(std::equal(ba.begin(), ba.end(), bb.begin()));
    }
}

}  // namespace

TEST_CASE("convert: official MobileNetV1 0.75 float stride 16") {
    auto shared = require_shared("convert: official float model");
    if (!shared) return;
    Network net = load_tfjs_model(*shared / "models/posenet/mobilenet/float/075/model-stride16.json");
    CHECK(net.architecture == Architecture::MobileNetV1);
    CHECK(net.multiplier == doctest::Approx(0.75));
    CHECK(net.output_stride == 16);
    CHECK(net.quant_bytes == 4);
    CHECK(net.input_transform == InputTransform::MobileNetScale);
    // 1 stem + 13 depthwise/pointwise pairs + 4 heads; every BiasAdd/Relu6 fused.
    CHECK(net.layers.size() == 31);
    CHECK(net.parameter_count() == 1258195);  // the manifest's 5,032,780 bytes / 4
    auto shapes = net.tensor_shapes(257, 257);
    CHECK(shapes[net.heatmap].h == 17);
    CHECK(shapes[net.heatmap].c == 17);
    CHECK(shapes[net.offsets].c == 34);
    CHECK(shapes[net.displacement_fwd].c == 32);
    auto s = net.tensor_shapes(353, 257);  // height 353, width 257
    CHECK(s[net.heatmap].h == 23);
    CHECK(s[net.heatmap].w == 17);
    // MACs at 257x257, worked out by hand from PoseNet's MobileNetV1 0.75 (widths 24..384):
    // stem, then 13 depthwise (9*C) + pointwise (Cin*Cout) pairs per output pixel, then 115 head channels.
    const uint64_t expect = 129ull * 129 * 27 * 24 + 129ull * 129 * (9 * 24 + 24 * 48) + 65ull * 65 * (9 * 48 + 48 * 96) +
                            65ull * 65 * (9 * 96 + 96 * 96) + 33ull * 33 * (9 * 96 + 96 * 192) +
                            33ull * 33 * (9 * 192 + 192 * 192) + 17ull * 17 * (9 * 192 + 192 * 384) +
                            7ull * 17 * 17 * (9 * 384 + 384 * 384) + 17ull * 17 * 384 * 115;
    auto geo = net.geometry(257, 257);
    CHECK(total_macs(net, 257, 257) == expect);
    CHECK(geo[26].out.h == 17);
    CHECK(geo[26].out.c == 384);
    CHECK(net.layers[26].activation == Activation::Relu6);
    CHECK(net.layers[30].activation == Activation::None);
}

TEST_CASE("convert: the fused-op re-conversion is the same network as the official file") {
    auto shared = require_shared("convert: fused re-conversion");
    if (!shared) return;
    Network official = load_tfjs_model(*shared / "models/posenet/mobilenet/float/075/model-stride16.json");
    Network fused = load_tfjs_model(*shared / "models/posenet/human-models/mobilenet075-float/posenet.json");
    CHECK(fused.multiplier == doctest::Approx(0.75));
    CHECK(fused.output_stride == 16);
    // Heads may come in another order: compare the backbone layer by layer, the heads by role.
    REQUIRE(fused.layers.size() == official.layers.size());
    for (size_t i = 0; i < 27; ++i) {
        CAPTURE(i);
        auto fa = official.filter(official.layers[i]), fb = fused.filter(fused.layers[i]);
        REQUIRE(fa.size() == fb.size());
        CHECK(std::equal(fa.begin(), fa.end(), fb.begin()));
        CHECK(official.layers[i].activation == fused.layers[i].activation);
    }
    for (auto role : {&Network::heatmap, &Network::offsets, &Network::displacement_fwd, &Network::displacement_bwd}) {
        auto find = [&](const Network& n) -> const Layer& {
            for (const auto& l : n.layers)
                if (l.output == n.*role) return l;
            throw std::runtime_error("no head");
        };
        auto fa = official.filter(find(official)), fb = fused.filter(find(fused));
        REQUIRE(fa.size() == fb.size());
        CHECK(std::equal(fa.begin(), fa.end(), fb.begin()));
    }
}

TEST_CASE("convert: uint16-quantized files dequantize to the float network") {
    auto shared = require_shared("convert: quantized models");
    if (!shared) return;
    Network f = load_tfjs_model(*shared / "models/posenet/mobilenet/float/075/model-stride16.json");
    Network q16 = load_tfjs_model(*shared / "models/posenet/mobilenet/quant2/075/model-stride16.json");
    Network q8 = load_tfjs_model(*shared / "models/posenet/mobilenet/quant2/075/model-stride8.json");
    CHECK(q16.quant_bytes == 2);
    CHECK(q16.output_stride == 16);
    CHECK(q8.output_stride == 8);
    REQUIRE(q16.layers.size() == f.layers.size());
    float worst = 0;
    for (size_t i = 0; i < f.layers.size(); ++i) {
        auto a = f.filter(f.layers[i]), b = q16.filter(q16.layers[i]);
        REQUIRE(a.size() == b.size());
        for (size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::fabs(a[k] - b[k]));
    }
    // SOURCES.md: within 0.51 x scale; the largest uint16 scale in this file is 0.00428.
    CHECK(worst < 0.51f * 0.00428f);
    CHECK(worst > 0.0f);
    // Stride 8 keeps every layer at stride 1 after Conv2d_6 and dilates Conv2d_7..13 as TF.js reads them: (2, 1).
    auto g = q8.geometry(257, 257);
    CHECK(g.back().out.h == 33);
    int dilated = 0;
    for (const auto& l : q8.layers)
        if (l.dilation_h == 2) {
            ++dilated;
            CHECK(l.dilation_w == 1);
        }
    CHECK(dilated == 7);
    Network trained = load_tfjs_model(*shared / "models/posenet/mobilenet/quant2/075/model-stride8.json",
                                      {DilationReading::Trained});
    for (const auto& l : trained.layers) CHECK(l.dilation_h == l.dilation_w);
}

TEST_CASE("convert: ResNet50 topology without shards names the missing shard") {
    auto shared = require_shared("convert: ResNet50 topology");
    if (!shared) return;
    std::string e = convert_error(*shared / "models/posenet/resnet50-topology-only/float-model-stride16.json");
    CHECK(e.find("group1-shard1of23.bin") != std::string::npos);
    CHECK(e.find("missing") != std::string::npos);
}

TEST_CASE("convert: tiny model round-trips through the blob") {
    auto dir = scratch_dir("tiny-roundtrip");
    TinyModel tiny;
    Network net = load_tfjs_model(tiny.write(dir));
    CHECK(net.layers.size() == 7);
    CHECK(net.layers[0].activation == Activation::Relu6);
    CHECK(net.layers[0].bias_count == 16);
    CHECK(net.multiplier == doctest::Approx(0.5));
    CHECK(net.output_stride == 8);
    save_blob(net, dir / "tiny.pnb");
    Network back = load_blob(dir / "tiny.pnb");
    check_same_network(net, back);
    CHECK(back.output_stride == 8);
    CHECK(back.source_name == net.source_name);
    CHECK(reinterpret_cast<uintptr_t>(back.filter(back.layers[1]).data()) % kBlobAlignment == 0);
    // The folder form finds the one model.json in it.
    Network from_dir = load_tfjs_model(dir.string());
    CHECK(from_dir.layers.size() == 7);
}

TEST_CASE("convert: from memory, the same network and blob as from the files; shards found by their normalized path") {
    auto dir = scratch_dir("tiny-memory");
    TinyModel tiny;
    make_conv2_depthwise(tiny);
    insert_maxpool(tiny);
    insert_pad(tiny, 1, 0, 1, 0);
    fuse_stem(tiny);
    const fs::path json = tiny.write(dir / "files");
    auto slurp = [](const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
    };
    const std::vector<uint8_t> text = slurp(json), shard = slurp(dir / "files" / "group1-shard1of1.bin");
    const Network from_files = load_tfjs_model(json);
    const Network from_memory = load_tfjs_model(text, {{"group1-shard1of1.bin", shard}}, json.string());
    check_same_network(from_files, from_memory);
    CHECK(from_memory.source_name == from_files.source_name);
    save_blob(from_files, dir / "files.pnb");
    save_blob(from_memory, dir / "memory.pnb");
    CHECK(slurp(dir / "files.pnb") == slurp(dir / "memory.pnb"));

    // A manifest path is looked up normalized; one leading out, absolute or absent is refused, naming it.
    auto with_path = [&](const std::string& path, std::map<std::string, std::vector<uint8_t>> shards) {
        TinyModel v = tiny;
        v.model["weightsManifest"][0]["paths"][0] = path;
        const std::string t = v.model.dump();
        try {
            load_tfjs_model(std::span(reinterpret_cast<const uint8_t*>(t.data()), t.size()), shards, "mem/model.json");
        } catch (const ModelError& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    CHECK(with_path("sub/../w.bin", {{"w.bin", shard}}) == "(no error)");
    CHECK(with_path("./w.bin", {{"sub/../w.bin", shard}}) == "(no error)");
    const std::string out = with_path("../w.bin", {{"../w.bin", shard}});
    CHECK_MESSAGE(out.find("mem/model.json") != std::string::npos, out);
    CHECK_MESSAGE(out.find("outside the model's folder") != std::string::npos, out);
    const std::string absolute = with_path("/w.bin", {{"/w.bin", shard}});
    CHECK_MESSAGE(absolute.find("absolute") != std::string::npos, absolute);
    const std::string missing = with_path("x.bin", {{"w.bin", shard}});
    CHECK_MESSAGE(missing.find("mem/x.bin: weight shard is missing (listed in mem/model.json)") != std::string::npos, missing);
    const std::string longer = with_path("w.bin", {{"w.bin", [&] { auto s = shard; s.push_back(0); return s; }()}});
    CHECK_MESSAGE(longer.find(std::to_string(shard.size() + 1) + " bytes where " + std::to_string(shard.size())) != std::string::npos,
                  longer);

    // model.json over the limit is refused unparsed, as from a file.
    std::vector<uint8_t> huge(limits::kMaxModelJsonBytes + 1, ' ');
    try {
        load_tfjs_model(huge, {}, "mem/model.json");
        FAIL("expected a ModelError");
    } catch (const ModelError& e) {
        CHECK_MESSAGE(std::string(e.what()).find("more than the limit of " + std::to_string(limits::kMaxModelJsonBytes)) !=
                          std::string::npos,
                      e.what());
    }
}

TEST_CASE("convert: bad inputs give one clear error naming the file and the node or weight") {
    auto dir = scratch_dir("bad-inputs");
    auto variant = [&](const std::string& name, auto mutate) {
        TinyModel t;
        mutate(t);
        return t.write(dir / name);
    };
    SUBCASE("missing shard") {
        auto m = variant("missing", [](TinyModel&) {});
        fs::remove(m.parent_path() / "group1-shard1of1.bin");
        auto e = convert_error(m);
        CHECK(e.find("group1-shard1of1.bin") != std::string::npos);
        CHECK(e.find("missing") != std::string::npos);
    }
    SUBCASE("truncated shard") {
        auto m = variant("truncated", [](TinyModel& t) { t.weights.resize(t.weights.size() - 3); });
        auto e = convert_error(m);
        CHECK(e.find("model.json") != std::string::npos);
        CHECK(e.find("truncated") != std::string::npos);
    }
    SUBCASE("shard larger than the manifest") {
        auto m = variant("larger", [](TinyModel& t) { t.weights.push_back(1.0f); });
        CHECK(convert_error(m).find("needs") != std::string::npos);
    }
    SUBCASE("unknown op") {
        auto m = variant("unknown-op", [](TinyModel& t) { t.node("Tiny/stem/Relu6")["op"] = "Softplus"; });
        auto e = convert_error(m);
        CHECK(e.find("Tiny/stem/Relu6") != std::string::npos);
        CHECK(e.find("unknown op 'Softplus'") != std::string::npos);
    }
    SUBCASE("unsupported dtype") {
        auto m = variant("dtype", [](TinyModel& t) { t.model["weightsManifest"][0]["weights"][1]["dtype"] = "complex64"; });
        auto e = convert_error(m);
        CHECK(e.find("Tiny/stem/bias") != std::string::npos);
        CHECK(e.find("complex64") != std::string::npos);
    }
    SUBCASE("attribute of the wrong type") {
        auto m = variant("strides-object", [](TinyModel& t) { t.node("Tiny/conv2/conv")["attr"]["strides"] = nlohmann::json::object(); });
        CHECK(convert_error(m).ends_with(
            "model.json: node \"Tiny/conv2/conv\" (Conv2D): attribute strides: expected a list of 4 integers, got an object"));
    }
    SUBCASE("unsupported attribute") {
        auto m = variant("nchw", [](TinyModel& t) { t.node("Tiny/stem/conv")["attr"]["data_format"]["s"] = "TkNIVw=="; });
        auto e = convert_error(m);
        CHECK(e.find("Tiny/stem/conv") != std::string::npos);
        CHECK(e.find("NCHW") != std::string::npos);
        auto m2 = variant("explicit", [](TinyModel& t) { t.node("Tiny/stem/conv")["attr"]["padding"]["s"] = "RVhQTElDSVQ="; });
        CHECK(convert_error(m2).find("padding 'EXPLICIT'") != std::string::npos);
    }
    SUBCASE("input that does not exist") {
        auto m = variant("dangling", [](TinyModel& t) { t.node("Tiny/stem/BiasAdd")["input"][0] = "Tiny/nowhere"; });
        auto e = convert_error(m);
        CHECK(e.find("Tiny/stem/BiasAdd") != std::string::npos);
        CHECK(e.find("'Tiny/nowhere' does not exist") != std::string::npos);
    }
    SUBCASE("cycle") {
        auto m = variant("cycle", [](TinyModel& t) { t.node("Tiny/stem/conv")["input"][0] = "Tiny/stem/Relu6"; });
        CHECK(convert_error(m).find("cycle") != std::string::npos);
    }
    SUBCASE("shape that does not chain") {
        auto m = variant("chain", [](TinyModel& t) {
            // heatmap head filter [1,1,17,17] on a 16-channel tensor
            t.model["weightsManifest"][0]["weights"][6]["shape"] = {1, 1, 17, 17};
            t.weights.insert(t.weights.end(), 17, 0.5f);
        });
        auto e = convert_error(m);
        CHECK(e.find("Tiny/heatmap_2/conv") != std::string::npos);
        CHECK(e.find("input channels") != std::string::npos);
    }
    SUBCASE("NaN and Inf weights") {
        auto m = variant("nan", [](TinyModel& t) { t.weights[5] = std::nanf(""); });
        auto e = convert_error(m);
        CHECK(e.find("Tiny/stem/weights") != std::string::npos);
        CHECK(e.find("NaN or Inf") != std::string::npos);
        auto m2 = variant("inf", [](TinyModel& t) { t.weights.back() = INFINITY; });
        CHECK(convert_error(m2).find("NaN or Inf") != std::string::npos);
    }
    SUBCASE("missing output") {
        auto m = variant("no-heatmap", [](TinyModel& t) {
            t.node("Tiny/heatmap_2/BiasAdd")["name"] = "Tiny/scores/BiasAdd";
        });
        CHECK(convert_error(m).find("no heatmap output") != std::string::npos);
    }
    SUBCASE("not JSON") {
        fs::create_directories(dir / "garbage");
        std::ofstream(dir / "garbage/model.json") << "{\"format\": \"graph-model\", ";
        CHECK(convert_error(dir / "garbage/model.json").find("not valid JSON") != std::string::npos);
    }
}

TEST_CASE("blob: bad magic, version, truncation and checksum are refused") {
    auto dir = scratch_dir("bad-blobs");
    TinyModel tiny;
    Network net = load_tfjs_model(tiny.write(dir));
    save_blob(net, dir / "good.pnb");
    std::string bytes;
    {
        std::ifstream in(dir / "good.pnb", std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto load_error = [&](const std::string& name, const std::string& content) {
        std::ofstream(dir / name, std::ios::binary) << content;
        try {
            load_blob(dir / name);
        } catch (const ModelError& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    std::string b = bytes;
    b[0] = 'X';
    CHECK(load_error("magic.pnb", b).find("bad magic") != std::string::npos);
    b = bytes;
    b[8] = 9;
    CHECK(load_error("version.pnb", b).find("format version 9") != std::string::npos);
    b[8] = 1;  // version 1: its checksum left the header out
    CHECK(load_error("version1.pnb", b).find("re-convert the model with `posenet convert`") != std::string::npos);
    CHECK(load_error("short.pnb", bytes.substr(0, bytes.size() - 100)).find("truncated") != std::string::npos);
    CHECK(load_error("tiny.pnb", bytes.substr(0, 10)).find("too short") != std::string::npos);
    b = bytes;
    b[b.size() - 7] ^= 0x40;
    auto e = load_error("flip.pnb", b);
    CHECK(e.find("checksum") != std::string::npos);
    CHECK(e.find("flip.pnb") != std::string::npos);
    CHECK(load_error("empty.pnb", "").find("too short") != std::string::npos);
}

TEST_CASE("convert CLI: exit codes, messages, and no file left behind") {
    auto dir = scratch_dir("cli-convert");
    TinyModel good;
    auto m = good.write(dir / "good");
    auto r = run_command(posenet_cli() + " convert " + m.string() + " -o " + (dir / "out.pnb").string());
    CHECK(r.exit_code == 0);
    CHECK(fs::exists(dir / "out.pnb"));
    auto ins = run_command(posenet_cli() + " inspect " + (dir / "out.pnb").string() + " --input-resolution 33");
    CHECK(ins.exit_code == 0);
    CHECK(ins.output.find("layers: 7") != std::string::npos);
    CHECK(ins.output.find("5x5x17") != std::string::npos);

    TinyModel bad;
    bad.node("Tiny/stem/Relu6")["op"] = "Softplus";
    auto mb = bad.write(dir / "bad");
    r = run_command(posenet_cli() + " convert " + mb.string() + " -o " + (dir / "bad.pnb").string());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("unknown op 'Softplus'") != std::string::npos);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(dir / "bad.pnb"));
    for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().string().find(".tmp") == std::string::npos);

    r = run_command(posenet_cli() + " convert " + m.string());
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("-o OUT.pnb is required") != std::string::npos);
    r = run_command(posenet_cli() + " inspect " + (dir / "nothing.pnb").string());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("nothing.pnb") != std::string::npos);
    r = run_command(posenet_cli() + " frobnicate");
    CHECK(r.exit_code == 2);
}
