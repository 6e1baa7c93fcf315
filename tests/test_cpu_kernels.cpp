// The CPU executor's kernel builds (engine/cpu_kernels.h): the baseline, the AVX2 + FMA and the
// AVX-512 build each against a double-precision reference, and the fast ones against the baseline, on
// random layers (channel counts on and off the vector widths and GEMM tiles, row and column tails, K
// over one or two GEMM blocks, stride 2, dilation, explicit and Same pads, batch 2, residual, relu6,
// depthwise multiplier 2); run()'s reused buffers against run_all; and Backend::Auto's choice. A build
// this binary or CPU lacks is skipped with a message.
//
// Bound per output, for a dot product of K terms in any order with fp32 rounding u = 2^-24 (Higham's
// gamma; FMA rounds less, not more), bias and residual added after: |float - exact| <=
// (K+2) u (sum |x||w| + |bias| + |residual|). Two float results are within twice that of each other.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdlib>

#include "engine/cpu_executor.h"
#include "engine/cpu_kernels.h"
#include "engine/vulkan/executor.h"
#include "engine/backend_selection.h"
#include "posenet/detector.h"
#include "tests/test_vulkan_support.h"

using namespace posenet::engine;
using posenet::Backend;
using posenet::DetectorOptions;
using posenet::test::NetBuilder;

namespace {

Layer make_layer(LayerKind kind, int ci, int co, int k, int stride, Padding pad, Activation act = Activation::None) {
    Layer l;
    l.kind = kind;
    l.in_channels = ci, l.out_channels = co;
    l.kernel_h = l.kernel_w = k;
    l.stride_h = l.stride_w = stride;
    l.padding = pad;
    l.activation = act;
    l.bias_count = 1;  // NetBuilder: give it a bias
    return l;
}

// The layer in double precision, and the sum of |terms| (|x||w| + |bias| + |residual|) per output.
void reference(const Network& net, const Layer& l, const LayerGeometry& g, const std::vector<float>& in,
               const std::vector<float>* residual, std::vector<double>& exact, std::vector<double>& magnitude) {
    const auto f = net.filter(l);
    const auto b = net.bias(l);
    const int mult = l.out_channels / l.in_channels;
    exact.assign(g.out.elements(), 0.0);
    magnitude.assign(g.out.elements(), 0.0);
    for (int n = 0; n < g.out.n; ++n)
        for (int oy = 0; oy < g.out.h; ++oy)
            for (int ox = 0; ox < g.out.w; ++ox)
                for (int co = 0; co < l.out_channels; ++co) {
                    double s = 0, m = 0;
                    for (int ky = 0; ky < l.kernel_h; ++ky)
                        for (int kx = 0; kx < l.kernel_w; ++kx) {
                            const int iy = oy * l.stride_h - g.pad_top + ky * l.dilation_h;
                            const int ix = ox * l.stride_w - g.pad_left + kx * l.dilation_w;
                            if (iy < 0 || iy >= g.in.h || ix < 0 || ix >= g.in.w) continue;
                            const float* x = in.data() + ((size_t(n) * g.in.h + iy) * g.in.w + ix) * l.in_channels;
                            if (l.kind == LayerKind::DepthwiseConv2D) {
                                double t = double(x[co / mult]) * f[(size_t(ky) * l.kernel_w + kx) * l.out_channels + co];
                                s += t, m += std::fabs(t);
                            } else {
                                for (int ci = 0; ci < l.in_channels; ++ci) {
                                    double t = double(x[ci]) *
                                               f[((size_t(ky) * l.kernel_w + kx) * l.in_channels + ci) * l.out_channels + co];
                                    s += t, m += std::fabs(t);
                                }
                            }
                        }
                    const size_t o = ((size_t(n) * g.out.h + oy) * g.out.w + ox) * l.out_channels + co;
                    if (!b.empty()) s += b[co], m += std::fabs(b[co]);
                    if (residual) s += (*residual)[o], m += std::fabs((*residual)[o]);
                    if (l.activation != Activation::None) s = std::max(s, 0.0);
                    if (l.activation == Activation::Relu6) s = std::min(s, 6.0);
                    exact[o] = s;
                    magnitude[o] = m;
                }
}

struct Shape {
    int h, w, n;
};

// The kernel sets besides the baseline, in the order of engine/cpu_kernels.h.
constexpr cpu::Isa kFastIsas[] = {cpu::Isa::Avx2, cpu::Isa::Avx512};

// Runs `layer` (with a residual operand when asked) on random inputs with every kernel build there is
// (and this CPU runs): each against the double reference, and each against the baseline.
void check_builds(const std::string& label, Layer layer, const std::vector<Shape>& shapes, bool residual = false) {
    NetBuilder b(layer.in_channels, uint32_t(std::hash<std::string>()(label)));
    layer.input = 0;
    if (residual) {
        // A zero-padded 1x1 copy would change the shape: feed the residual from the input tensor instead.
        REQUIRE(layer.in_channels == layer.out_channels);
        REQUIRE(layer.stride_h == 1);
        layer.input2 = 0;
    }
    b.add(layer);
    Network net = b.finish();
    const Layer& l = net.layers.back();
    constexpr double u = 1.0 / (1 << 24);
    for (const Shape& s : shapes) {
        const LayerGeometry g = net.geometry(s.h, s.w, s.n).back();
        if (residual && (g.out.h != g.in.h || g.out.w != g.in.w)) FAIL("residual layers must keep the size");
        auto input = posenet::test::random_input(g.in.elements(), uint32_t(s.h * 131 + s.w * 7 + s.n), 2.0f);
        std::span<const float> second;
        if (residual) second = input;
        std::vector<double> exact, magnitude;
        reference(net, l, g, input, residual ? &input : nullptr, exact, magnitude);
        const double K = double(l.kernel_h) * l.kernel_w * (l.kind == LayerKind::Conv2D ? l.in_channels : 1);
        const double gamma = (K + 2) * u * 1.01;
        const std::string name = label + " " + std::to_string(s.n) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
        auto base = CpuExecutor::run_layer(net, l, g, input, second, cpu::Isa::Baseline);
        size_t bad_base = 0;
        for (size_t k = 0; k < exact.size(); ++k)
            if (!(std::fabs(base[k] - exact[k]) <= gamma * magnitude[k])) ++bad_base;
        INFO(name << ": baseline outside the bound at " << bad_base << " of " << exact.size());
        CHECK(bad_base == 0);
        std::string uses;
        for (cpu::Isa isa : kFastIsas) {
            if (!cpu::kernel_set(isa)) {
                uses += std::string(" ") + cpu::to_string(isa) + "=absent";
                continue;
            }
            auto fast = CpuExecutor::run_layer(net, l, g, input, second, isa);
            size_t bad_fast = 0, bad_pair = 0;
            double use = 0;
            for (size_t k = 0; k < exact.size(); ++k) {
                const double bound = gamma * magnitude[k];
                if (!(std::fabs(fast[k] - exact[k]) <= bound)) ++bad_fast;
                if (!(std::fabs(double(fast[k]) - base[k]) <= 2 * bound)) ++bad_pair;
                if (bound > 0) use = std::max(use, std::fabs(double(fast[k]) - base[k]) / (2 * bound));
            }
            INFO(name << ": outside the bound: " << cpu::to_string(isa) << " " << bad_fast << ", " << cpu::to_string(isa)
                      << " vs baseline " << bad_pair << " of " << exact.size());
            CHECK(bad_fast == 0);
            CHECK(bad_pair == 0);
            char buf[64];
            std::snprintf(buf, sizeof buf, " %s=%.3f", cpu::to_string(isa), use);
            uses += buf;
        }
        std::printf("CPU-KERNEL %-40s vs-baseline bound_use%s\n", name.c_str(), uses.c_str());
    }
}

// run() (reused buffers, fused layers) gives exactly run_all()'s head tensors at each h x w x n.
void check_run_equals_run_all(CpuExecutor& cpu, const int (&heads)[4], const std::vector<std::array<int, 3>>& sizes, uint32_t seed) {
    for (auto [h, w, n] : sizes) {
        INFO(n << "x" << h << "x" << w);
        auto input = posenet::test::random_input(size_t(n) * h * w * 3, uint32_t(h * w + n) + seed);
        auto all = cpu.run_all(input, h, w, n);
        auto out = cpu.run(input, h, w, n);
        CHECK(out.heatmap == all[heads[0]]);
        CHECK(out.offsets == all[heads[1]]);
        CHECK(out.displacement_fwd == all[heads[2]]);
        CHECK(out.displacement_bwd == all[heads[3]]);
    }
}

}  // namespace

TEST_CASE("cpu kernels: baseline, AVX2 and AVX-512 builds against a double reference and the baseline") {
    for (cpu::Isa isa : kFastIsas)
        if (!cpu::kernel_set(isa))
            MESSAGE("SKIP the " << cpu::to_string(isa) << " part: not built into this binary or this CPU lacks the instructions");
    CHECK(cpu::kernel_set(cpu::Isa::Baseline) != nullptr);
    using enum LayerKind;
    // Pointwise (the plain GEMM path): channel counts on and off 8, heads-like 17/34, relu6, residual.
    check_builds("pw 24->48 relu6", make_layer(Conv2D, 24, 48, 1, 1, Padding::Same, Activation::Relu6), {{33, 31, 1}});
    check_builds("pw 384->17", make_layer(Conv2D, 384, 17, 1, 1, Padding::Same), {{9, 9, 1}});
    check_builds("pw 37->37 residual relu", make_layer(Conv2D, 37, 37, 1, 1, Padding::Same, Activation::Relu), {{7, 5, 2}}, true);
    // K beyond one packed block of the AVX2 GEMM (384): partial sums go through the output.
    check_builds("pw 520->520 residual relu6", make_layer(Conv2D, 520, 520, 1, 1, Padding::Same, Activation::Relu6), {{5, 4, 1}}, true);
    check_builds("conv 3x3 64->40", make_layer(Conv2D, 64, 40, 3, 1, Padding::Same), {{7, 8, 1}});
    // The AVX-512 GEMM's tails: rows beyond one block of 144 and off 12, a last panel of 16 (200 = 6 x 32
    // + 8), one of 32 with 1 real column (33), 17 columns in one panel; K in three blocks (800).
    check_builds("pw 96->200 relu6", make_layer(Conv2D, 96, 200, 1, 1, Padding::Same, Activation::Relu6), {{17, 17, 1}, {1, 3, 1}});
    check_builds("pw 48->33 relu", make_layer(Conv2D, 48, 33, 1, 1, Padding::Same, Activation::Relu), {{13, 14, 1}});
    check_builds("pw 768->17", make_layer(Conv2D, 768, 17, 1, 1, Padding::Same), {{9, 9, 1}});
    check_builds("pw 800->40 residual-free", make_layer(Conv2D, 800, 40, 1, 1, Padding::Same), {{5, 7, 1}});
    check_builds("pw 16->16 residual relu6", make_layer(Conv2D, 16, 16, 1, 1, Padding::Same, Activation::Relu6), {{25, 23, 1}}, true);
    check_builds("pw 3->1 no bias", [] { auto l = make_layer(Conv2D, 3, 1, 1, 1, Padding::Valid); l.bias_count = 0; return l; }(),
                 {{1, 1, 1}, {4, 3, 1}});
    // im2col + GEMM: the first MobileNet layer, Valid, stride-2 1x1 (ResNet's projection), dilation, explicit pads.
    check_builds("conv 3x3/2 3->24 relu6", make_layer(Conv2D, 3, 24, 3, 2, Padding::Same, Activation::Relu6), {{33, 33, 1}, {20, 17, 2}});
    check_builds("conv 3x3 3->40 relu (direct, 40 = 32 + 8)", make_layer(Conv2D, 3, 40, 3, 1, Padding::Same, Activation::Relu), {{4, 37, 1}});
    check_builds("conv 3x3 19->21 valid", make_layer(Conv2D, 19, 21, 3, 1, Padding::Valid), {{9, 12, 1}});
    check_builds("conv 1x1/2 16->40", make_layer(Conv2D, 16, 40, 1, 2, Padding::Same), {{13, 11, 1}});
    check_builds("conv 3x3 dil 2x1 8->16", [] { auto l = make_layer(Conv2D, 8, 16, 3, 1, Padding::Same); l.dilation_h = 2; return l; }(),
                 {{11, 10, 1}});
    check_builds("conv 7x7/2 pads 3->64", [] {
        auto l = make_layer(Conv2D, 3, 64, 7, 2, Padding::Valid, Activation::Relu);
        l.pad_top = l.pad_left = 3, l.pad_bottom = l.pad_right = 2;
        return l;
    }(), {{29, 27, 1}});
    // Depthwise: 32-, 8- and 1-channel steps, stride 2, dilation, explicit pads, residual, multiplier 2.
    for (int c : {5, 8, 24, 37, 96})
        check_builds("dw 3x3 c" + std::to_string(c) + " relu6", make_layer(DepthwiseConv2D, c, c, 3, 1, Padding::Same, Activation::Relu6),
                     {{9, 7, 1}, {1, 1, 2}});
    check_builds("dw 3x3/2 c48", make_layer(DepthwiseConv2D, 48, 48, 3, 2, Padding::Same), {{17, 16, 2}, {2, 3, 1}});
    check_builds("dw 3x3 valid c40", make_layer(DepthwiseConv2D, 40, 40, 3, 1, Padding::Valid), {{6, 5, 1}});
    check_builds("dw 3x3 dil 2x2 c64", [] {
        auto l = make_layer(DepthwiseConv2D, 64, 64, 3, 1, Padding::Same);
        l.dilation_h = l.dilation_w = 2;
        return l;
    }(), {{9, 10, 1}});
    check_builds("dw 3x3 pads c16 relu", [] {
        auto l = make_layer(DepthwiseConv2D, 16, 16, 3, 1, Padding::Valid, Activation::Relu);
        l.pad_top = 2, l.pad_bottom = 0, l.pad_left = 1, l.pad_right = 1;
        return l;
    }(), {{5, 6, 1}});
    check_builds("dw 3x3 c40 residual relu", make_layer(DepthwiseConv2D, 40, 40, 3, 1, Padding::Same, Activation::Relu), {{7, 9, 1}},
                 true);
    check_builds("dw 3x3 mult 2 c6->12", make_layer(DepthwiseConv2D, 6, 12, 3, 1, Padding::Same), {{5, 5, 2}});
    // Rows wide enough for the AVX-512 kernel's blocks of 8, 4, 2 and 1 columns (29 = 1 + 8 + 8 + 8 +
    // 2 + 1 + 1 edge), stride 2, a channel tail (40 = 2 x 16 + 8).
    check_builds("dw 3x3 c40 wide relu6", make_layer(DepthwiseConv2D, 40, 40, 3, 1, Padding::Same, Activation::Relu6), {{6, 29, 1}, {3, 16, 2}});
    check_builds("dw 3x3/2 c17 wide", make_layer(DepthwiseConv2D, 17, 17, 3, 2, Padding::Same), {{7, 61, 1}});
    check_builds("dw 3x3 dil 1x2 c32 wide residual relu", [] {
        auto l = make_layer(DepthwiseConv2D, 32, 32, 3, 1, Padding::Same, Activation::Relu);
        l.dilation_w = 2;
        return l;
    }(), {{5, 27, 1}}, true);
    check_builds("dw 5x5/2 c33", make_layer(DepthwiseConv2D, 33, 33, 5, 2, Padding::Same), {{11, 13, 1}});
}

TEST_CASE("cpu executor: run() with reused buffers (and fused layers) gives run_all's outputs, for each kernel build") {
    // conv -> depthwise -> pointwise with a residual from the first conv -> four "heads".
    NetBuilder b(3, 7);
    Layer c0 = make_layer(LayerKind::Conv2D, 3, 16, 3, 2, Padding::Same, Activation::Relu6);
    c0.input = 0;
    int t1 = b.add(c0);
    Layer dw = make_layer(LayerKind::DepthwiseConv2D, 16, 16, 3, 1, Padding::Same, Activation::Relu6);
    dw.input = t1;
    int t2 = b.add(dw);
    Layer pw = make_layer(LayerKind::Conv2D, 16, 16, 1, 1, Padding::Same, Activation::Relu);
    pw.input = t2, pw.input2 = t1;
    int t3 = b.add(pw);
    int heads[4];
    for (int i = 0; i < 4; ++i) {
        Layer h = make_layer(LayerKind::Conv2D, 16, 8 + i, 1, 1, Padding::Same);
        h.input = t3;
        heads[i] = b.add(h);
    }
    Network net = b.finish();
    net.heatmap = heads[0], net.offsets = heads[1], net.displacement_fwd = heads[2], net.displacement_bwd = heads[3];
    for (cpu::Isa isa : {cpu::Isa::Baseline, cpu::Isa::Avx2, cpu::Isa::Avx512}) {
        if (!cpu::kernel_set(isa)) continue;
        CAPTURE(cpu::to_string(isa));
        CpuExecutor cpu(net, isa);
        CHECK(cpu.isa() == isa);
        // Sizes up and down, so buffers are reused at other sizes.
        check_run_equals_run_all(cpu, heads, {{33, 29, 1}, {9, 9, 2}, {41, 41, 1}, {33, 29, 1}}, 0);
    }
    // The AVX-512 set fuses depthwise + pointwise pairs in run() (run_all runs layer by layer): the same
    // bits. Stride 2, dilation, channel tails (24, 40: 16-wide chunks; 200 = 6 x 32 + 8 columns), a
    // residual on the pointwise layer, pixel blocks across row ends, and a depthwise output read by two
    // layers (that pair must not fuse).
    {
        NetBuilder b2(3, 11);
        auto add = [&](Layer l, int in, int in2 = -1) {
            l.input = in, l.input2 = in2;
            return b2.add(l);
        };
        using enum LayerKind;
        const int c1 = add(make_layer(Conv2D, 3, 24, 3, 2, Padding::Same, Activation::Relu6), 0);
        const int d1 = add(make_layer(DepthwiseConv2D, 24, 24, 3, 2, Padding::Same, Activation::Relu6), c1);
        const int p1 = add(make_layer(Conv2D, 24, 40, 1, 1, Padding::Same, Activation::Relu6), d1);
        Layer dil = make_layer(DepthwiseConv2D, 40, 40, 3, 1, Padding::Same, Activation::Relu6);
        dil.dilation_h = dil.dilation_w = 2;
        const int d2 = add(dil, p1);
        const int p2 = add(make_layer(Conv2D, 40, 40, 1, 1, Padding::Same, Activation::Relu), d2, p1);
        const int d3 = add(make_layer(DepthwiseConv2D, 40, 40, 3, 1, Padding::Same, Activation::Relu6), p2);
        const int p3 = add(make_layer(Conv2D, 40, 200, 1, 1, Padding::Same, Activation::Relu6), d3);
        int h2[4];
        h2[0] = add(make_layer(Conv2D, 200, 17, 1, 1, Padding::Same), p3);
        h2[1] = add(make_layer(Conv2D, 200, 34, 1, 1, Padding::Same), p3);
        h2[2] = add(make_layer(Conv2D, 40, 32, 1, 1, Padding::Same), d3);  // a second reader of d3
        h2[3] = add(make_layer(Conv2D, 200, 32, 1, 1, Padding::Same), p3);
        Network net2 = b2.finish();
        net2.heatmap = h2[0], net2.offsets = h2[1], net2.displacement_fwd = h2[2], net2.displacement_bwd = h2[3];
        for (cpu::Isa isa : {cpu::Isa::Avx2, cpu::Isa::Avx512}) {
            if (!cpu::kernel_set(isa)) continue;
            CAPTURE(cpu::to_string(isa));
            CpuExecutor cpu(net2, isa);
            check_run_equals_run_all(cpu, h2, {{57, 61, 1}, {23, 19, 2}, {129, 129, 1}}, 5);
        }
    }
    // The build this CPU runs by default, and an unavailable one refused by name.
    CHECK(cpu::kernel_set(cpu::default_isa()) != nullptr);
    for (cpu::Isa isa : kFastIsas)
        if (!cpu::kernel_set(isa)) CHECK_THROWS_WITH(CpuExecutor(net, isa), doctest::Contains(cpu::to_string(isa)));
}

TEST_CASE("backend: auto uses the CPU executor where the device Vulkan would pick is a CPU-type one") {
    auto dev = [](int index, const char* type, uint32_t api = VK_API_VERSION_1_3, bool compute = true) {
        vk::DeviceInfo d;
        d.index = index;
        d.type = type;
        d.name = std::string(type) + " device";
        d.api_version = api;
        d.has_compute_queue = compute;
        return d;
    };
    CHECK(auto_prefers_cpu({dev(0, "cpu")}));                                     // lavapipe alone
    CHECK_FALSE(auto_prefers_cpu({}));                                             // no device: Vulkan fails, CPU fallback
    CHECK_FALSE(auto_prefers_cpu({dev(0, "cpu"), dev(1, "discrete")}));            // a GPU beside lavapipe
    CHECK_FALSE(auto_prefers_cpu({dev(0, "integrated"), dev(1, "cpu")}));
    CHECK_FALSE(auto_prefers_cpu({dev(0, "virtual")}));
    CHECK_FALSE(auto_prefers_cpu({dev(0, "other")}));
    CHECK(auto_prefers_cpu({dev(0, "discrete", VK_API_VERSION_1_0), dev(1, "cpu")}));  // the GPU is unusable (1.0)
    CHECK(auto_prefers_cpu({dev(0, "discrete", VK_API_VERSION_1_3, false), dev(1, "cpu")}));  // no compute queue

    // This machine: where every Vulkan device is a CPU-type one, the default detector runs on the CPU
    // and --backend vulkan still forces Vulkan.
    std::vector<vk::DeviceInfo> devices;
    try {
        devices = list_vulkan_devices();
    } catch (const vk::VulkanError& e) {
        MESSAGE("SKIP the detector half: no Vulkan (" << e.what() << ")");
        return;
    }
    const char* env = std::getenv("POSENET_VULKAN_DEVICE");
    if (env && *env) {
        MESSAGE("SKIP the detector half: $POSENET_VULKAN_DEVICE names a device");
        return;
    }
    NetBuilder b(3, 3);
    int heads[4];
    const int head_channels[4] = {17, 34, 32, 32};
    for (int i = 0; i < 4; ++i) {
        Layer h = make_layer(LayerKind::Conv2D, 3, head_channels[i], 1, 1, Padding::Same);
        h.input = 0;
        heads[i] = b.add(h);
    }
    Network net = b.finish();
    net.heatmap = heads[0], net.offsets = heads[1], net.displacement_fwd = heads[2], net.displacement_bwd = heads[3];
    auto cpu_or_vulkan = [&](Backend backend) { return std::string(make_executor(net, DetectorOptions{backend})->backend_name()); };
    const bool software_only = auto_prefers_cpu(devices);
    INFO(devices.size() << " Vulkan device(s); the first: " << (devices.empty() ? "-" : devices[0].name + " (" + devices[0].type + ")"));
    if (software_only) {
        CHECK(cpu_or_vulkan(Backend::Auto) == "cpu");
        CHECK(cpu_or_vulkan(Backend::Vulkan) == "vulkan");
    } else if (!devices.empty()) {
        CHECK(cpu_or_vulkan(Backend::Auto) == "vulkan");
    }
    CHECK(cpu_or_vulkan(Backend::Cpu) == "cpu");
}
