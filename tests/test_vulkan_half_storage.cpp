// float16 activations (VulkanOptions::activation_storage): every tensor between layers stored as
// float16 (loaded into float32, rounded once on store), the input and the four outputs float32.
// Runs on any device with storageBuffer16BitAccess (lavapipe too), with float32 arithmetic here so
// that every kernel's storage variants are judged without the tensor cores (their test,
// test_vulkan_tensor_cores.cpp, runs the same storage with Precision::Float16 where it can).
//
// (1) Layer by layer (run_all): each layer against CpuExecutor::run_layer fed the GPU's own
//     (float16) inputs, under check_layers' bound plus the rounding of a float16 output
//     (half_rounding: 2^-11 relative).
// (2) Whole plans as a detector runs them (fused depthwise + pointwise, split-K, merged heads
//     writing float32 outputs from float16 inputs): the outputs against a CPU forward pass that
//     rounds the same tensors to float16 (Eigen::half, round to nearest even; not the output of a
//     depthwise fused into its 1x1 conv: never stored) must agree far better
//     than against the plain float32 one: relative L2 <= 2e-4, and <= 1/4 of the float32
//     difference, which must itself be > 1e-6 (the float16 rounding visibly happened). Sums in a
//     different order can flip a rounding to the neighbouring float16 value, and later layers carry
//     the flip on (lavapipe: 5e-5..8e-5 against 3.4e-4..4.8e-4).
#include <doctest/doctest.h>

#include <Eigen/Core>

#include "test_vulkan_support.h"

using namespace posenet::test;
using namespace posenet::engine;

namespace {

Layer make(LayerKind kind, int ci, int co, int k, int s, Activation act, bool bias = true) {
    Layer l;
    l.kind = kind;
    l.in_channels = ci, l.out_channels = co;
    l.kernel_h = l.kernel_w = k, l.stride_h = l.stride_w = s;
    l.padding = Padding::Same;
    l.activation = act;
    l.bias_count = bias ? 1 : 0;
    return l;
}

// Every kernel and storage combination a plan can pick: the stem (float32 in, float16 out),
// depthwise with vec4 and scalar channels and a residual, 1x1 convs (fused with their depthwise in
// plans that fuse), maxpool, add, a long-K 1x1 (split-K: float32 partials, float16 output), a 3x3
// conv with a float16 residual, and four merged heads (float16 in, float32 out).
Network kernel_zoo() {
    using A = Activation;
    NetBuilder b(3, 2024);
    auto add = [&](Layer l, int input, int input2 = -1) {
        l.input = input, l.input2 = input2;
        return b.add(l);
    };
    int t = add(make(LayerKind::Conv2D, 3, 24, 3, 2, A::Relu6), 0);
    t = add(make(LayerKind::DepthwiseConv2D, 24, 24, 3, 1, A::Relu6), t);
    t = add(make(LayerKind::Conv2D, 24, 32, 1, 1, A::Relu6), t);
    t = add(make(LayerKind::DepthwiseConv2D, 32, 32, 3, 2, A::Relu6), t);
    const int p30 = add(make(LayerKind::Conv2D, 32, 30, 1, 1, A::None), t);
    t = add(make(LayerKind::DepthwiseConv2D, 30, 30, 3, 1, A::Relu), p30, p30);
    t = add(make(LayerKind::MaxPool, 30, 30, 3, 1, A::None, false), t);
    Layer sum = make(LayerKind::Add, 30, 30, 1, 1, A::Relu, false);
    t = add(sum, t, p30);
    t = add(make(LayerKind::Conv2D, 30, 256, 1, 1, A::Relu6), t);
    const int k256 = add(make(LayerKind::Conv2D, 256, 40, 1, 1, A::Relu), t);
    t = add(make(LayerKind::Conv2D, 40, 40, 3, 1, A::Relu), k256, k256);
    int heads[4];
    const int co[4] = {17, 34, 32, 32};
    for (int s = 0; s < 4; ++s) heads[s] = add(make(LayerKind::Conv2D, 40, co[s], 1, 1, s == 1 ? A::None : A::Relu), t);
    b.net.heatmap = heads[0], b.net.offsets = heads[1], b.net.displacement_fwd = heads[2], b.net.displacement_bwd = heads[3];
    return b.finish();
}

VulkanOptions half_options(bool fuse_always = false) {
    VulkanOptions o;
    o.activation_storage = VulkanOptions::Storage::Float16;
    o.fuse_always = fuse_always;
    return o;
}

bool have_16bit_storage(vk::Runtime& rt) {
    if (rt.device().features().storage_buffer_16bit) return true;
    std::printf("SKIP vulkan fp16 activations: device %s lacks storageBuffer16BitAccess\n", rt.device().info().name.c_str());
    return false;
}

double relative_l2(std::span<const float> a, std::span<const float> ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) num += (double(a[i]) - ref[i]) * (double(a[i]) - ref[i]), den += double(ref[i]) * ref[i];
    return std::sqrt(num / std::max(den, 1e-30));
}

}  // namespace

TEST_CASE("vulkan fp16 activations: every kernel's storage variants, layer by layer") {
    auto rt = vulkan_runtime();
    if (!rt || !have_16bit_storage(*rt)) return;
    const Network net = kernel_zoo();
    const std::vector<bool> half = all_half_tensors(net);
    VulkanExecutor gpu(net, rt, half_options()), gpu32(net, rt);
    CHECK(gpu.half_storage());
    CHECK_FALSE(gpu32.half_storage());
    for (auto [h, w, n] : {std::array{23, 19, 2}, std::array{9, 12, 1}}) {
        const std::string name = std::to_string(n) + "x" + std::to_string(h) + "x" + std::to_string(w);
        INFO(name);
        CHECK(gpu.half_tensors(h, w, n) == half);
        auto input = random_input(size_t(n) * h * w * 3, uint32_t(h * 7 + w), 1.0f);
        auto all = gpu.run_all(input, h, w, n);
        // The float16 tensors hold float16 values, the others did not get rounded.
        for (size_t t = 1; t < all.size(); ++t) {
            bool representable = true;
            for (float v : all[t]) representable = representable && float(Eigen::half(v)) == v;
            if (half[t]) CHECK_MESSAGE(representable, "tensor " << t << " is stored as float16");
        }
        LayerCheck c = check_layers(net, all, h, w, n, "fp16 activations " + name, half);
        std::printf("VULKAN-FP16-STORAGE layers %-8s norm=%.2e max_abs=%.2e bound_use=%.3f\n", name.c_str(), c.normalized, c.max_abs,
                    c.bound_use);
        CHECK(c.bound_use <= 1.0);
        // Half the bytes: the arena of a plain plan shrinks (the input and outputs stay float32).
        CHECK(gpu.arena_bytes(h, w, n) < gpu32.arena_bytes(h, w, n));
    }
    check_no_validation_messages(*rt);
}

TEST_CASE("vulkan fp16 activations: fused, split-K and merged plans against a float16-rounding CPU pass") {
    auto rt = vulkan_runtime();
    if (!rt || !have_16bit_storage(*rt)) return;
    const Network net = kernel_zoo();
    VulkanExecutor gpu(net, rt, half_options(true));
    const int h = 37, w = 29, n = 2;
    const std::vector<bool> half = gpu.half_tensors(h, w, n);
    CHECK(half == all_half_tensors(net));
    const auto& steps = gpu.steps(h, w, n);
    int fused = 0, merged = 0;
    for (const auto& s : steps) fused += s.form == vk::Step::Form::DepthwisePointwise, merged += s.form == vk::Step::Form::MergedPointwise;
    CHECK(fused == 2);
    CHECK(merged == 1);
    CHECK(gpu.dispatch_count(h, w, n) > int(steps.size()));  // the 256-long 1x1 split K
    auto input = random_input(size_t(n) * h * w * 3, 99, 1.0f);
    NetworkOutputs out = gpu.run(input, h, w, n);

    // CPU forward passes: plain float32, and rounding the float16 tensors as the GPU stores them.
    auto geo = net.geometry(h, w, n);
    std::vector<bool> rounds = half;  // a fused depthwise's output is never stored
    for (const auto& s : steps)
        if (s.form == vk::Step::Form::DepthwisePointwise) rounds[size_t(net.layers[s.layers[0]].output)] = false;
    auto forward = [&](bool round) {
        std::vector<std::vector<float>> t(net.tensor_channels.size());
        t[0] = input;
        for (size_t i = 0; i < net.layers.size(); ++i) {
            const Layer& l = net.layers[i];
            std::span<const float> in2;
            if (l.input2 >= 0) in2 = t[l.input2];
            t[l.output] = CpuExecutor::run_layer(net, l, geo[i], t[l.input], in2);
            if (round && rounds[size_t(l.output)])
                for (float& v : t[l.output]) v = float(Eigen::half(v));
        }
        return t;
    };
    const auto exact = forward(false), rounded = forward(true);
    const std::pair<const std::vector<float>*, int> outputs[] = {
        {&out.heatmap, net.heatmap}, {&out.offsets, net.offsets}, {&out.displacement_fwd, net.displacement_fwd}, {&out.displacement_bwd, net.displacement_bwd}};
    for (const auto& [got, id] : outputs) {
        REQUIRE(got->size() == exact[id].size());
        const double to_rounded = relative_l2(*got, rounded[id]), to_exact = relative_l2(*got, exact[id]);
        std::printf("VULKAN-FP16-STORAGE plan output %d: rel L2 to the float16-rounding pass %.2e, to float32 %.2e\n", id, to_rounded,
                    to_exact);
        CHECK(to_rounded <= 2e-4);
        CHECK(to_exact > 1e-6);
        CHECK(to_rounded <= to_exact / 4);
    }
    check_no_validation_messages(*rt);
}

TEST_CASE("vulkan fp16 activations: POSENET_VULKAN_STORAGE") {
    auto rt = vulkan_runtime();
    if (!rt || !have_16bit_storage(*rt)) return;
    const Network net = kernel_zoo();
    {
        ScopedEnv env("POSENET_VULKAN_STORAGE", "fp16");
        CHECK(VulkanExecutor(net, rt).half_storage());
        VulkanOptions o;
        o.activation_storage = VulkanOptions::Storage::Float32;  // an explicit choice wins
        CHECK_FALSE(VulkanExecutor(net, rt, o).half_storage());
    }
    {
        ScopedEnv env("POSENET_VULKAN_STORAGE", "fp16-gemm");
        CHECK(VulkanExecutor(net, rt).half_mode() == vk::HalfTensors::GemmInputs);
    }
    {
        ScopedEnv env("POSENET_VULKAN_STORAGE", "fp32");
        CHECK(VulkanExecutor(net, rt, half_options()).half_storage());  // an explicit choice wins
        CHECK_FALSE(VulkanExecutor(net, rt).half_storage());
    }
    {
        ScopedEnv env("POSENET_VULKAN_STORAGE", "half");
        CHECK_THROWS_WITH_AS(VulkanExecutor(net, rt), doctest::Contains("POSENET_VULKAN_STORAGE must be fp32, fp16 or fp16-gemm, not 'half'"),
                             posenet::ConfigError);
    }
    CHECK_FALSE(VulkanExecutor(net, rt).half_storage());  // float32 activations by default
}
