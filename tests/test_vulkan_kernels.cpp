// Every Vulkan kernel against CpuExecutor::run_layer on random inputs and weights over many shapes:
// odd/even sizes, 1x1 spatial, channel counts off the tile sizes, stride 2, dilation (2,2) and (2,1),
// explicit and Same pads, batch > 1, residual + relu, relu6. Runs with the validation layer on and
// asserts it reported nothing. Error bound: see check_layers in test_vulkan_support.h.
#include <doctest/doctest.h>

#include "engine/vulkan/lowering.h"
#include "test_vulkan_support.h"

using namespace posenet::test;
using namespace posenet::engine;

namespace {

struct Size {
    int h, w, n;
};

Layer conv(LayerKind kind, int ci, int co, int kh, int kw, int sh, int sw, Padding pad, Activation act = Activation::None) {
    Layer l;
    l.kind = kind;
    l.in_channels = ci, l.out_channels = co;
    l.kernel_h = kh, l.kernel_w = kw, l.stride_h = sh, l.stride_w = sw;
    l.padding = pad;
    l.activation = act;
    l.bias_count = 1;  // NetBuilder: give it a bias
    return l;
}

// Runs `layer` alone on input 0 (with `channels` channels); with `residual`, a first copy of the
// layer makes a tensor of the output's shape that the tested one adds before its activation.
// split: whether the GEMM layer must (1) or must not (0) be lowered to split-K at every size; -1 any.
void check_layer(const std::string& label, Layer layer, const std::vector<Size>& sizes, bool residual = false, int split = -1) {
    auto rt = vulkan_runtime();
    if (!rt) return;
    NetBuilder b(layer.in_channels, uint32_t(std::hash<std::string>()(label)));
    layer.input = 0;
    if (residual) {
        Layer first = layer;
        first.activation = Activation::None;
        first.name = "residual_source";
        layer.input2 = b.add(first);
    }
    b.add(layer);
    Network net = b.finish();
    VulkanExecutor gpu(net, rt);
    for (const Size& s : sizes) {
        if (split >= 0) {
            const Layer& tested = net.layers.back();
            auto d = vk::lower_layer(tested, net.geometry(s.h, s.w, s.n).back(), rt->device().features());
            INFO(label << ": " << d.slices << " K slices");
            CHECK((d.slices > 1) == bool(split));
        }
        auto input = random_input(size_t(s.n) * s.h * s.w * layer.in_channels, uint32_t(s.h * 131 + s.w * 7 + s.n), 2.0f);
        auto tensors = gpu.run_all(input, s.h, s.w, s.n);
        std::string name = label + " " + std::to_string(s.n) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
        LayerCheck c = check_layers(net, tensors, s.h, s.w, s.n, name);
        std::printf("VULKAN-KERNEL %-44s norm=%.2e max_abs=%.2e bound_use=%.3f\n", name.c_str(), c.normalized, c.max_abs, c.bound_use);
    }
    check_no_validation_messages(*rt);
}

Layer pointwise(int ci, int co, Activation act = Activation::None) {
    return conv(LayerKind::Conv2D, ci, co, 1, 1, 1, 1, Padding::Same, act);
}

}  // namespace

TEST_CASE("vulkan kernel pointwise_conv") {
    check_layer("pw 3->1 no bias", [] { auto l = pointwise(3, 1); l.bias_count = 0; return l; }(), {{1, 1, 1}, {5, 3, 2}});
    check_layer("pw 17->34 relu6", pointwise(17, 34, Activation::Relu6), {{7, 5, 1}});
    check_layer("pw 64->128 relu", pointwise(64, 128, Activation::Relu), {{16, 16, 2}});
    check_layer("pw 130->65 residual relu", pointwise(130, 65, Activation::Relu), {{33, 17, 1}}, true);
    check_layer("pw 256->32", pointwise(256, 32), {{13, 11, 3}});
    check_layer("pw 96->200", pointwise(96, 200), {{1, 1, 5}});
    check_layer("pw 24->48 relu6", pointwise(24, 48, Activation::Relu6), {{65, 65, 1}});
    // Large enough for the 64x64 tiles (smaller grids use 32-row / 32-channel tiles).
    check_layer("pw 40->72 large grid", pointwise(40, 72), {{64, 65, 2}});
}

TEST_CASE("vulkan kernel conv2d_generic") {
    // MobileNet stem: 3x3/2 Same on RGB, odd and even sizes.
    check_layer("conv 3x3/2 same 3->24 relu6", conv(LayerKind::Conv2D, 3, 24, 3, 3, 2, 2, Padding::Same, Activation::Relu6),
                {{33, 33, 1}, {32, 30, 1}});
    // ResNet stem: Pad 3 folded, 7x7/2 Valid.
    {
        Layer l = conv(LayerKind::Conv2D, 3, 64, 7, 7, 2, 2, Padding::Valid, Activation::Relu);
        l.pad_top = l.pad_bottom = l.pad_left = l.pad_right = 3;
        check_layer("conv 7x7/2 pad3 valid 3->64 relu", l, {{37, 29, 1}});
    }
    check_layer("conv 3x3 same 16->16 residual relu", conv(LayerKind::Conv2D, 16, 16, 3, 3, 1, 1, Padding::Same, Activation::Relu),
                {{9, 10, 2}}, true);
    {
        Layer l = conv(LayerKind::Conv2D, 20, 24, 3, 3, 1, 1, Padding::Same);
        l.dilation_h = l.dilation_w = 2;
        check_layer("conv 3x3 dil(2,2) same 20->24", l, {{11, 9, 1}});
    }
    {
        Layer l = conv(LayerKind::Conv2D, 8, 40, 3, 3, 1, 1, Padding::Same, Activation::Relu6);
        l.dilation_h = 2;
        check_layer("conv 3x3 dil(2,1) same 8->40 relu6", l, {{9, 7, 1}});
    }
    check_layer("conv 1x1/2 same 32->64", conv(LayerKind::Conv2D, 32, 64, 1, 1, 2, 2, Padding::Same), {{15, 15, 1}, {16, 14, 2}});
    {
        Layer l = conv(LayerKind::Conv2D, 5, 7, 3, 3, 2, 2, Padding::Valid);
        l.pad_bottom = l.pad_right = 1;
        check_layer("conv 3x3/2 pad(0,1,0,1) valid 5->7", l, {{12, 9, 1}});
    }
    check_layer("conv 3x3 same 64->64 on 1x1", conv(LayerKind::Conv2D, 64, 64, 3, 3, 1, 1, Padding::Same), {{1, 1, 2}});
    check_layer("conv 2x3 stride(2,1) same 6->9", conv(LayerKind::Conv2D, 6, 9, 2, 3, 2, 1, Padding::Same), {{8, 7, 1}});
    check_layer("conv 3x3 valid 300->70", conv(LayerKind::Conv2D, 300, 70, 3, 3, 1, 1, Padding::Valid), {{5, 5, 1}});
    check_layer("conv 3x3/2 same 16->96 large grid", conv(LayerKind::Conv2D, 16, 96, 3, 3, 2, 2, Padding::Same, Activation::Relu),
                {{127, 130, 1}});
}

// Split-K (few output tiles, long K): K sliced over workgroups, partials summed by splitk_reduce.
// Shapes of ResNet50's and MobileNet's late layers and heads at 257x257 (ResNet's 2048/4608-long
// K halved where the CPU reference would be slow); slices that do not divide K (and K not a
// multiple of BK), bias + residual + relu, relu6, no bias, batch 2.
TEST_CASE("vulkan kernel split-K") {
    check_layer("splitk pw 2048->17 relu", pointwise(2048, 17, Activation::Relu), {{9, 9, 1}}, false, 1);
    check_layer("splitk pw 2048->32 batch 2", pointwise(2048, 32), {{9, 9, 2}}, false, 1);
    check_layer("splitk pw 1024->256 residual relu", pointwise(1024, 256, Activation::Relu), {{9, 9, 1}}, true, 1);
    check_layer("splitk pw 1000->17 relu6", pointwise(1000, 17, Activation::Relu6), {{9, 9, 2}, {3, 5, 1}}, false, 1);
    check_layer("splitk pw 384->34 no bias", [] { auto l = pointwise(384, 34); l.bias_count = 0; return l; }(), {{17, 17, 1}}, false, 1);
    check_layer("splitk conv 3x3 same 256->256 residual relu",
                conv(LayerKind::Conv2D, 256, 256, 3, 3, 1, 1, Padding::Same, Activation::Relu), {{9, 9, 1}}, true, 1);
    check_layer("splitk conv 3x3/2 same 300->40 relu6", conv(LayerKind::Conv2D, 300, 40, 3, 3, 2, 2, Padding::Same, Activation::Relu6),
                {{9, 8, 2}}, false, 1);
    // Short K or many tiles: the single pass.
    check_layer("no splitk pw 128->17", pointwise(128, 17), {{9, 9, 1}}, false, 0);
    // Lowering only (running it would be slow here): 18 x 16 tiles of 64x64 are enough, no split.
    if (auto rt = vulkan_runtime()) {
        NetBuilder b(256);
        Layer l = pointwise(256, 1024);
        l.input = 0;
        b.add(l);
        Network net = b.finish();
        CHECK(vk::lower_layer(net.layers[0], net.geometry(33, 33, 1)[0], rt->device().features()).slices == 1);
    }
}

TEST_CASE("vulkan kernel depthwise_conv") {
    auto dw = [](int c, int stride, Activation act = Activation::None) {
        return conv(LayerKind::DepthwiseConv2D, c, c, 3, 3, stride, stride, Padding::Same, act);
    };
    check_layer("dw 3x3 same 32 relu6", dw(32, 1, Activation::Relu6), {{17, 17, 1}});
    check_layer("dw 3x3/2 same 24", dw(24, 2), {{16, 16, 1}, {15, 15, 2}});
    {
        Layer l = dw(48, 1);
        l.dilation_h = l.dilation_w = 2;
        check_layer("dw 3x3 dil(2,2) 48", l, {{9, 9, 1}});
    }
    {
        Layer l = dw(40, 1, Activation::Relu6);
        l.dilation_h = 2;
        check_layer("dw 3x3 dil(2,1) 40 relu6", l, {{9, 7, 1}});
    }
    check_layer("dw 3x3 mult2 8->16", conv(LayerKind::DepthwiseConv2D, 8, 16, 3, 3, 1, 1, Padding::Same), {{6, 5, 1}});
    check_layer("dw 3x3 same 64 on 1x1", dw(64, 1), {{1, 1, 3}});
    check_layer("dw 3x3 same 20 residual relu", dw(20, 1, Activation::Relu), {{7, 8, 1}}, true);
    {
        Layer l = conv(LayerKind::DepthwiseConv2D, 12, 12, 5, 5, 2, 2, Padding::Valid);
        l.pad_top = l.pad_left = 2, l.pad_bottom = 1, l.pad_right = 3;
        l.bias_count = 0;
        check_layer("dw 5x5/2 pads valid 12 no bias", l, {{11, 10, 1}});
    }
}

// depthwise_conv.comp computes 1, 2 or 4 output pixels an invocation and 4 channels at a time where
// it can; the lowering picks per layer. Every shape above with each count forced (edge columns, stride
// 2, dilated and 5x5 windows, multiplier 2, scalar channel counts), and the default choice.
TEST_CASE("vulkan kernel depthwise_conv: 1, 2 and 4 outputs an invocation, vec4 and scalar channels") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    auto dw = [](int c, int k, int stride) { return conv(LayerKind::DepthwiseConv2D, c, c, k, k, stride, stride, Padding::Same, Activation::Relu6); };
    for (const char* out_x : {"1", "2", "4"}) {
        ScopedEnv env("POSENET_VULKAN_DEPTHWISE_OUT_X", out_x);
        const std::string tag = std::string(" out_x ") + out_x;
        check_layer("dw 3x3 32" + tag, dw(32, 3, 1), {{9, 11, 2}, {5, 1, 1}});
        check_layer("dw 3x3/2 24" + tag, dw(24, 3, 2), {{16, 15, 1}, {15, 13, 1}});
        check_layer("dw 3x3 18 (scalar)" + tag, dw(18, 3, 1), {{7, 10, 1}});
        check_layer("dw 5x5/2 16" + tag, dw(16, 5, 2), {{11, 14, 1}});
        Layer dil = dw(48, 3, 1);
        dil.dilation_w = 2;
        check_layer("dw 3x3 dil(1,2) 48" + tag, dil, {{9, 13, 1}});
        check_layer("dw 3x3 mult2 8->16" + tag, conv(LayerKind::DepthwiseConv2D, 8, 16, 3, 3, 1, 1, Padding::Same), {{6, 9, 1}});
        check_layer("dw 3x3 20 residual" + tag, dw(20, 3, 1), {{7, 9, 1}}, true);
    }
    // Default: vec4 where the channels allow it, several pixels an invocation on large layers only.
    auto lowered = [&](Layer l, int h, int w, int n) {
        NetBuilder b(l.in_channels);
        l.input = 0;
        b.add(l);
        Network net = b.finish();
        return vk::lower_layer(net.layers[0], net.geometry(h, w, n)[0], rt->device().features());
    };
    const auto large = lowered(dw(384, 3, 1), 33, 33, 16);
    CHECK(large.spec[vk::kDepthwiseVec4] == 1);
    CHECK(large.spec[vk::kDepthwiseOutX] == 4);
    CHECK(large.push.count == 16 * 33 * 9 * 96);
    const auto small = lowered(dw(384, 3, 1), 17, 17, 1);
    CHECK(small.spec[vk::kDepthwiseOutX] == 1);
    CHECK(small.push.count == 17 * 17 * 96);
    CHECK(lowered(dw(18, 3, 1), 65, 65, 16).spec[vk::kDepthwiseVec4] == 0);
    check_no_validation_messages(*rt);
}

TEST_CASE("vulkan kernel maxpool") {
    auto pool = [](int c, int k, int s, Padding pad) {
        Layer l = conv(LayerKind::MaxPool, c, c, k, k, s, s, pad);
        l.bias_count = 0;
        return l;
    };
    {
        // ResNet: Pad 1 (zeros take part) + 3x3/2 Valid. Inputs are signed, so zeros matter.
        Layer l = pool(64, 3, 2, Padding::Valid);
        l.pad_top = l.pad_bottom = l.pad_left = l.pad_right = 1;
        check_layer("maxpool pad1 3x3/2 valid 64", l, {{16, 16, 1}, {15, 15, 2}});
    }
    check_layer("maxpool 1x1/2 same 256", pool(256, 1, 2, Padding::Same), {{17, 17, 1}, {16, 16, 1}});
    check_layer("maxpool 3x3/2 same 3 (pads ignored)", pool(3, 3, 2, Padding::Same), {{9, 9, 1}, {8, 10, 2}});
}

TEST_CASE("vulkan kernel add") {
    for (Activation act : {Activation::None, Activation::Relu, Activation::Relu6}) {
        auto rt = vulkan_runtime();
        if (!rt) return;
        // t1 = 1x1 conv of t0 (same channels); t2 = add(t0, t1).
        NetBuilder b(64, 7 + uint32_t(act));
        Layer p = pointwise(64, 64);
        int t1 = b.add(p);
        Layer a;
        a.kind = LayerKind::Add;
        a.input = 0, a.input2 = t1;
        a.in_channels = a.out_channels = 64;
        a.activation = act;
        b.add(a);
        Network net = b.finish();
        VulkanExecutor gpu(net, rt);
        for (Size s : {Size{8, 8, 2}, Size{1, 1, 1}, Size{9, 5, 1}}) {
            auto input = random_input(size_t(s.n) * s.h * s.w * 64, 5, 8.0f);
            auto tensors = gpu.run_all(input, s.h, s.w, s.n);
            LayerCheck c = check_layers(net, tensors, s.h, s.w, s.n, std::string("add ") + to_string(act));
            std::printf("VULKAN-KERNEL add %-40s norm=%.2e max_abs=%.2e\n", to_string(act), c.normalized, c.max_abs);
        }
        check_no_validation_messages(*rt);
    }
}
