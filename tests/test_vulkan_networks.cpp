// Whole networks on Vulkan against the CPU executor: a hand-built ResNet-like network (explicit
// pads, 7x7/2 stem, Pad + 3x3/2 max pool, 1x1/2 max-pool shortcut, fused residual, standalone Add),
// the real MobileNetV1 files from ../shared (stride 16 float, stride 8 uint16 with dilation (2,1)),
// and a generated ResNet50 (random weights, tools/posenet-make-test-model). The plans run() uses
// merge 1x1 convs of one input and fuse depthwise + pointwise (vk::schedule); the tests check
// that they did, and the dispatch counts at 257x257 before and after.
//
// Bound: every output within normalized error ||gpu - cpu|| / ||cpu|| <= 1e-5 and max abs error
// <= 1e-4 * max(1, max |cpu|). Each layer is within a few ulps per accumulated term of the CPU
// (test_vulkan_kernels.cpp checks the per-element bound); across 20-50 layers these relative errors
// add up to ~1e-6 normalized, so 1e-5 leaves a margin while still catching any indexing mistake
// (which gives errors of order 1).
#include <doctest/doctest.h>

#include "engine/tfjs_model.h"
#include "test_vulkan_support.h"

using namespace posenet::test;
using namespace posenet::engine;

namespace {

struct OutputDiff {
    double normalized = 0, max_abs = 0, scale = 0;
};

OutputDiff diff(const std::vector<float>& got, const std::vector<float>& want) {
    OutputDiff d;
    REQUIRE(got.size() == want.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        double e = std::fabs(double(got[i]) - want[i]);
        if (!(e <= d.max_abs)) d.max_abs = e;
        num += e * e;
        den += double(want[i]) * want[i];
        d.scale = std::max(d.scale, std::fabs(double(want[i])));
    }
    d.normalized = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    return d;
}

void compare_network(const std::string& label, const Network& net, VulkanExecutor& gpu, int h, int w, int n, float input_scale = 1.0f) {
    CpuExecutor cpu(net);
    auto input = random_input(size_t(n) * h * w * 3, uint32_t(h * 1000 + w * 10 + n), input_scale);
    auto want = cpu.run(input, h, w, n);
    auto got = gpu.run(input, h, w, n);
    CHECK(got.heatmap_shape.h == want.heatmap_shape.h);
    CHECK(got.heatmap_shape.w == want.heatmap_shape.w);
    CHECK(got.heatmap_shape.n == n);
    const char* names[4] = {"heatmap", "offsets", "disp_fwd", "disp_bwd"};
    const std::vector<float>* g[4] = {&got.heatmap, &got.offsets, &got.displacement_fwd, &got.displacement_bwd};
    const std::vector<float>* c[4] = {&want.heatmap, &want.offsets, &want.displacement_fwd, &want.displacement_bwd};
    std::string line = "VULKAN-NET " + label + " " + std::to_string(n) + "x" + std::to_string(h) + "x" + std::to_string(w) + ":";
    for (int i = 0; i < 4; ++i) {
        OutputDiff d = diff(*g[i], *c[i]);
        char buf[128];
        std::snprintf(buf, sizeof buf, " %s norm=%.2e max=%.2e", names[i], d.normalized, d.max_abs);
        line += buf;
        INFO(label << " " << names[i]);
        CHECK(d.normalized <= 1e-5);
        CHECK(d.max_abs <= 1e-4 * std::max(1.0, d.scale));
    }
    auto t = gpu.last_timings();
    uint64_t ns = 0;
    for (auto& x : t) ns += x.gpu_ns;
    char buf[96];
    std::snprintf(buf, sizeof buf, " (gpu %.1f ms, %d dispatches for %zu layers)", ns * 1e-6, gpu.dispatch_count(h, w, n),
                  net.layers.size());
    std::printf("%s%s\n", line.c_str(), buf);
}

// How many steps of each form the plan for that size has (fused and merged layers are exercised).
int count_steps(VulkanExecutor& gpu, int h, int w, int n, vk::Step::Form form) {
    int c = 0;
    for (const auto& s : gpu.steps(h, w, n)) c += s.form == form;
    return c;
}

// A ResNet-shaped network with every layer form the ResNet50 graphs use, at small widths.
Network resnet_like() {
    NetBuilder b(3, 11);
    auto conv = [&](int in, int ci, int co, int k, int s, Padding pad, Activation act, int residual = -1) {
        Layer l;
        l.kind = LayerKind::Conv2D, l.input = in, l.input2 = residual, l.in_channels = ci, l.out_channels = co;
        l.kernel_h = l.kernel_w = k, l.stride_h = l.stride_w = s, l.padding = pad, l.activation = act, l.bias_count = 1;
        return l;
    };
    Layer stem = conv(0, 3, 16, 7, 2, Padding::Valid, Activation::Relu);
    stem.pad_top = stem.pad_bottom = stem.pad_left = stem.pad_right = 3;
    int t = b.add(stem);
    Layer pool;
    pool.kind = LayerKind::MaxPool, pool.input = t, pool.in_channels = pool.out_channels = 16;
    pool.kernel_h = pool.kernel_w = 3, pool.stride_h = pool.stride_w = 2, pool.padding = Padding::Valid;
    pool.pad_top = pool.pad_bottom = pool.pad_left = pool.pad_right = 1;
    t = b.add(pool);
    // Bottleneck with a projection shortcut, the residual fused into the last conv.
    int sc = b.add(conv(t, 16, 32, 1, 1, Padding::Same, Activation::None));
    int u = b.add(conv(t, 16, 8, 1, 1, Padding::Same, Activation::Relu));
    u = b.add(conv(u, 8, 8, 3, 1, Padding::Same, Activation::Relu));
    t = b.add(conv(u, 8, 32, 1, 1, Padding::Same, Activation::Relu, sc));
    // Strided bottleneck: 1x1/2 max-pool shortcut, standalone Add + relu.
    Layer sub;
    sub.kind = LayerKind::MaxPool, sub.input = t, sub.in_channels = sub.out_channels = 32;
    sub.kernel_h = sub.kernel_w = 1, sub.stride_h = sub.stride_w = 2, sub.padding = Padding::Same;
    int p = b.add(sub);
    u = b.add(conv(t, 32, 8, 1, 1, Padding::Same, Activation::Relu));
    u = b.add(conv(u, 8, 8, 3, 2, Padding::Same, Activation::Relu));
    u = b.add(conv(u, 8, 32, 1, 1, Padding::Same, Activation::None));
    Layer add;
    add.kind = LayerKind::Add, add.input = u, add.input2 = p, add.in_channels = add.out_channels = 32, add.activation = Activation::Relu;
    t = b.add(add);
    // Dilated (2,1) 3x3, as in the stride-16 ResNet's block 4 under TF.js.
    Layer dil = conv(t, 32, 32, 3, 1, Padding::Same, Activation::Relu);
    dil.dilation_h = 2;
    t = b.add(dil);
    int heads[4];
    const int ch[4] = {17, 34, 32, 32};
    for (int i = 0; i < 4; ++i) heads[i] = b.add(conv(t, 32, ch[i], 1, 1, Padding::Same, Activation::None));
    b.net.architecture = Architecture::ResNet50;
    b.net.heatmap = heads[0], b.net.offsets = heads[1], b.net.displacement_fwd = heads[2], b.net.displacement_bwd = heads[3];
    return b.finish();
}

}  // namespace

TEST_CASE("vulkan network: hand-built ResNet-like") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    Network net = resnet_like();
    net.validate();
    VulkanExecutor gpu(net, rt);
    compare_network("resnet-like", net, gpu, 33, 33, 1, 100.0f);
    compare_network("resnet-like", net, gpu, 29, 42, 2, 100.0f);
    compare_network("resnet-like", net, gpu, 1, 1, 1, 100.0f);
    // The projection shortcut and the first 1x1 conv of the bottleneck, and the four heads, merged.
    CHECK(count_steps(gpu, 33, 33, 1, vk::Step::Form::MergedPointwise) == 2);
    CHECK(gpu.steps(33, 33, 1).size() == net.layers.size() - 4);
    // Unmerged, as before: the same outputs within the same bounds.
    VulkanOptions plain;
    plain.fuse = false;
    VulkanExecutor unfused(net, rt, plain);
    compare_network("resnet-like unfused", net, unfused, 29, 42, 2, 100.0f);
    CHECK(unfused.steps(29, 42, 2).size() == net.layers.size());
    check_no_validation_messages(*rt);
}

TEST_CASE("vulkan network: MobileNetV1 0.75 files from ../shared") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    auto shared = require_shared("vulkan MobileNetV1 networks");
    if (!shared) return;
    fs::path root = *shared / "models/posenet/mobilenet";
    {
        Network net = load_tfjs_model(root / "float/075/model-stride16.json");
        VulkanExecutor gpu(net, rt);
        compare_network("mobilenet float 075 s16", net, gpu, 129, 97, 1);
        compare_network("mobilenet float 075 s16", net, gpu, 33, 49, 2);
        // Depthwise convs fused into their pointwise where the cost model says it pays (most, on a
        // GPU; none on a CPU device); the four heads one step.
        const bool cpu_device = rt->device().info().type == "cpu";
        const int fused = count_steps(gpu, 129, 97, 1, vk::Step::Form::DepthwisePointwise);
        CHECK(cpu_device ? fused == 0 : fused >= 9);
        CHECK(count_steps(gpu, 129, 97, 1, vk::Step::Form::MergedPointwise) == 1);
        CHECK(gpu.steps(129, 97, 1).size() == net.layers.size() - fused - 3);
        // Every pair fused.
        VulkanOptions always;
        always.fuse_always = true;
        VulkanExecutor all_fused(net, rt, always);
        compare_network("mobilenet float 075 s16 fuse_always", net, all_fused, 129, 97, 1);
        CHECK(count_steps(all_fused, 129, 97, 1, vk::Step::Form::DepthwisePointwise) == 13);
    }
    {
        Network net = load_tfjs_model(root / "quant2/075/model-stride8.json");  // dilation (2,1), TF.js parity
        VulkanExecutor gpu(net, rt);
        compare_network("mobilenet quant2 075 s8", net, gpu, 65, 81, 1);
        CHECK(count_steps(gpu, 65, 81, 1, vk::Step::Form::DepthwisePointwise) >= (rt->device().info().type == "cpu" ? 0 : 9));
    }
    check_no_validation_messages(*rt);
}

TEST_CASE("vulkan network: generated ResNet50 (random weights)") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    fs::path tool = build_root() / "tools" / "posenet-make-test-model";
    if (!fs::exists(tool)) {
        std::printf("SKIP vulkan ResNet50: %s is not built\n", tool.c_str());
        return;
    }
    // Stride 16 only: it has every layer form of stride 32 plus the dilated block 4, and each
    // generated model costs seconds of lavapipe shader compilation.
    for (int stride : {16}) {
        fs::path dir = scratch_dir("vulkan-resnet50-s" + std::to_string(stride));
        auto r = run_command(tool.string() + " --architecture ResNet50 --output-stride " + std::to_string(stride) + " --seed 7 -o " +
                             dir.string());
        REQUIRE_MESSAGE(r.exit_code == 0, r.output);
        Network net = load_tfjs_model(dir);
        VulkanExecutor gpu(net, rt);
        // ResNet input is mean-shifted pixels: values of order +-128.
        compare_network("resnet50 s" + std::to_string(stride), net, gpu, 65, 49, 1, 128.0f);
        // Each block's projection shortcut with its first 1x1 conv, and the heads.
        CHECK(count_steps(gpu, 65, 49, 1, vk::Step::Form::MergedPointwise) == 5);
        fs::remove_all(dir);
    }
    check_no_validation_messages(*rt);
}

// Dispatches per run at 257x257 (plans built, not run: lavapipe would take seconds), merged and
// fused against one dispatch a layer (plus split-K reduces).
TEST_CASE("vulkan network: dispatch counts at 257x257") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    auto report = [&](const std::string& label, const Network& net) {
        VulkanOptions plain;
        plain.fuse = false;
        VulkanExecutor before(net, rt, plain), after(net, rt);
        const int b = before.dispatch_count(257, 257), a = after.dispatch_count(257, 257);
        std::printf("VULKAN-DISPATCHES %s 257x257: %zu layers; %d dispatches (%zu steps) unfused -> %d (%zu steps) fused\n",
                    label.c_str(), net.layers.size(), b, before.steps(257, 257).size(), a, after.steps(257, 257).size());
        CHECK(a < b);
        return std::pair{b, a};
    };
    if (auto shared = require_shared("vulkan dispatch counts (MobileNetV1)")) {
        Network net = load_tfjs_model(*shared / "models/posenet/mobilenet/float/075/model-stride16.json");
        auto [b, a] = report("mobilenet float 075 s16", net);
        // 31 layers; split-K reduces: the four heads and the 17x17 pointwise convs. Fused: one
        // merged head step (split-K) and, on a GPU, the pairs the cost model takes (11 of 13: 42 -> 25).
        CHECK(b - a >= (rt->device().info().type == "cpu" ? 6 : 14));
    }
    fs::path tool = build_root() / "tools" / "posenet-make-test-model";
    if (!fs::exists(tool)) return;
    fs::path dir = scratch_dir("vulkan-resnet50-s32-dispatches");
    auto r = run_command(tool.string() + " --architecture ResNet50 --output-stride 32 --seed 7 -o " + dir.string());
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    Network net = load_tfjs_model(dir);
    auto [b, a] = report("resnet50 s32", net);
    CHECK(b - a >= 7);  // 4 projection + first-conv pairs, 4 heads as 1 (their split-K reduces too)
    fs::remove_all(dir);
    check_no_validation_messages(*rt);
}
