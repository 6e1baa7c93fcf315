// Fewer dispatches (vk::schedule): 1x1 convs of one input merged into one GEMM whose epilogue writes
// each conv's channels to its own tensor, and a depthwise conv fused into the 1x1 conv that alone
// reads it (depthwise_pointwise_conv.comp computes the depthwise values in the GEMM's A load).
// Each against CpuExecutor::run_layer on random layers: odd sizes, stride 1 and 2, dilation,
// depth multiplier, channel counts off the tiles, relu/relu6/none, with and without bias, batch 2,
// with and without split-K. Validation layer on, and silent.
//
// Bounds (u = 2^-24, gamma(K) = 2 (K+2) u * 1.01 as in check_layers, which bounds both sides'
// rounding of a K-term dot product): merged convs are single layers and get check_layers' per-element
// bound. A fused pair is bounded per element by
//   |gpu - cpu| <= gamma(Kpw) (|Wpw| (|a| + e) + |b_pw|) + |Wpw| e,   e = gamma(Kdw) (|Wdw| |x| + |b_dw|),
// where a is the CPU's depthwise output and e bounds how far the GPU's (never stored) one is from it;
// activations are 1-Lipschitz.
#include <doctest/doctest.h>

#include "engine/vulkan/lowering.h"
#include "test_vulkan_support.h"

using namespace posenet::test;
using namespace posenet::engine;

namespace {

struct Size {
    int h, w, n;
};

Layer make(LayerKind kind, int ci, int co, int k, int s, Padding pad, Activation act, bool bias = true) {
    Layer l;
    l.kind = kind;
    l.in_channels = ci, l.out_channels = co;
    l.kernel_h = l.kernel_w = k, l.stride_h = l.stride_w = s;
    l.padding = pad;
    l.activation = act;
    l.bias_count = bias ? 1 : 0;  // NetBuilder fills it
    return l;
}
Layer depthwise(int c, int stride, Activation act, int mult = 1) {
    return make(LayerKind::DepthwiseConv2D, c, c * mult, 3, stride, Padding::Same, act);
}
Layer pointwise(int ci, int co, Activation act, bool bias = true) { return make(LayerKind::Conv2D, ci, co, 1, 1, Padding::Same, act, bias); }

std::vector<float> abs_of(std::span<const float> v) {
    std::vector<float> a(v.size());
    for (size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
    return a;
}

// Runs input -> dw -> pw (the network's only output) fused (fuse_always: also where the cost model
// would run them apart), checks the plan fused them (and split K or not: split 1 / 0, -1 either;
// vec4 loads or not: vec4 1 / 0, -1 either), and compares with the CPU's two layers under the bound
// above.
void check_fused(const std::string& label, Layer dw, Layer pw, const std::vector<Size>& sizes, int split = -1, int vec4 = -1) {
    auto rt = vulkan_runtime();
    if (!rt) return;
    NetBuilder b(dw.in_channels, uint32_t(std::hash<std::string>()(label)));
    dw.input = 0;
    const int t = b.add(dw);
    pw.input = t;
    pw.in_channels = dw.out_channels;
    const int o = b.add(pw);
    b.net.heatmap = b.net.offsets = b.net.displacement_fwd = b.net.displacement_bwd = o;
    Network net = b.finish();
    const Network abs_net = with_abs_weights(net);
    VulkanOptions options;
    options.fuse_always = true;
    VulkanExecutor gpu(net, rt, options);
    for (const Size& s : sizes) {
        const std::string name = label + " " + std::to_string(s.n) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
        INFO(name);
        const auto& steps = gpu.steps(s.h, s.w, s.n);
        REQUIRE(steps.size() == 1);
        CHECK(steps[0].form == vk::Step::Form::DepthwisePointwise);
        auto geo = net.geometry(s.h, s.w, s.n);
        const int dispatches = gpu.dispatch_count(s.h, s.w, s.n);
        if (split >= 0) CHECK(dispatches == (split ? 2 : 1));
        // (binding 1 starts at the depthwise filter, 256-byte aligned: a bias offset of 64 floats is typical)
        auto d = vk::lower_depthwise_pointwise(net.layers[0], geo[0], net.layers[1], geo[1], 64, rt->device().features());
        if (vec4 >= 0) CHECK(d.spec[vk::kDwVec4] == vec4);
        auto input = random_input(size_t(s.n) * s.h * s.w * dw.in_channels, uint32_t(s.h * 131 + s.w * 7 + s.n), 2.0f);
        auto got = gpu.run(input, s.h, s.w, s.n).heatmap;
        if (gpu.device_features().timestamps) {
            auto t = gpu.last_timings();
            REQUIRE(t.size() == 1);
            CHECK(t[0].name == "dw+pw " + net.layers[1].name);
            CHECK(t[0].layers == std::vector<int>{0, 1});
            CHECK(t[0].macs == geo[0].macs + geo[1].macs);
        }
        const Layer &ldw = net.layers[0], &lpw = net.layers[1];
        auto a = CpuExecutor::run_layer(net, ldw, geo[0], input, {});
        auto want = CpuExecutor::run_layer(net, lpw, geo[1], a, {});
        REQUIRE(got.size() == want.size());
        // e = gamma(Kdw) (|Wdw| |x| + |b_dw|); then |Wpw| (|a| + e) + |b_pw| and |Wpw| e.
        constexpr double u = 1.0 / (1 << 24);
        auto gamma = [&](double K) { return 2.0 * (K + 2) * u * 1.01; };
        Layer dw_lin = ldw, pw_lin = lpw, pw_nobias = lpw;
        dw_lin.activation = pw_lin.activation = pw_nobias.activation = Activation::None;
        pw_nobias.bias_count = 0;
        auto e = CpuExecutor::run_layer(abs_net, dw_lin, geo[0], abs_of(input), {});
        for (auto& v : e) v = float(gamma(double(ldw.kernel_h) * ldw.kernel_w) * v);
        auto a_plus = abs_of(a);
        for (size_t i = 0; i < a_plus.size(); ++i) a_plus[i] += e[i];
        auto mag = CpuExecutor::run_layer(abs_net, pw_lin, geo[1], a_plus, {});
        auto carried = CpuExecutor::run_layer(abs_net, pw_nobias, geo[1], e, {});
        const double g2 = gamma(lpw.in_channels);
        double num = 0, den = 0, max_abs = 0, use = 0;
        size_t bad = 0, first_bad = 0;
        for (size_t i = 0; i < want.size(); ++i) {
            const double err = std::fabs(double(got[i]) - double(want[i]));
            const double bound = (g2 * mag[i] + carried[i]) * 1.001;  // (the bound's own float rounding)
            if (!(err <= bound)) {
                if (!bad) first_bad = i;
                ++bad;
            }
            max_abs = std::max(max_abs, err);
            if (bound > 0) use = std::max(use, err / bound);
            num += err * err;
            den += double(want[i]) * want[i];
        }
        const double norm = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
        INFO(bad << " of " << want.size() << " outside the bound; first at " << first_bad << ": gpu " << got[first_bad] << " cpu "
                 << want[first_bad]);
        CHECK(bad == 0);
        CHECK(norm <= 1e-5);
        std::printf("VULKAN-FUSED %-50s dispatches=%d vec4=%d pays=%d norm=%.2e max_abs=%.2e bound_use=%.3f\n", name.c_str(), dispatches,
                    d.spec[vk::kDwVec4], int(vk::depthwise_pointwise_pays(d, false)), norm, max_abs, use);
    }
    check_no_validation_messages(*rt);
}

}  // namespace

TEST_CASE("vulkan fused depthwise + pointwise") {
    using A = Activation;
    // MobileNet's pairs (3x3 Same, relu6 both), small sizes; stride 2 on even and odd sizes.
    check_fused("dw 24 relu6 + pw 24->48 relu6", depthwise(24, 1, A::Relu6), pointwise(24, 48, A::Relu6), {{17, 17, 1}}, 0);
    check_fused("dw/2 48 relu6 + pw 48->96 relu6", depthwise(48, 2, A::Relu6), pointwise(48, 96, A::Relu6), {{16, 16, 1}, {15, 15, 2}},
                0);
    // Channel counts off the 16/32/64 tiles, relu and none, batch 2, non-square.
    check_fused("dw 37 relu + pw 37->50", depthwise(37, 1, A::Relu), pointwise(37, 50, A::None), {{9, 7, 2}}, 0);
    check_fused("dw/2 5 + pw 5->17 relu", depthwise(5, 2, A::None), pointwise(5, 17, A::Relu), {{13, 10, 1}, {1, 1, 2}}, 0);
    // Depth multiplier 2, no biases.
    {
        Layer dw = depthwise(8, 1, A::Relu6, 2);
        dw.bias_count = 0;
        check_fused("dw mult2 8->16 no bias + pw 16->33 no bias", dw, pointwise(16, 33, A::Relu6, false), {{6, 5, 1}}, 0);
    }
    // Dilation (2,1) as in the stride-8 MobileNet under TF.js; 5x5/2 Valid with explicit pads.
    {
        Layer dw = depthwise(40, 1, A::Relu6);
        dw.dilation_h = 2;
        check_fused("dw dil(2,1) 40 relu6 + pw 40->70", dw, pointwise(40, 70, A::None), {{9, 7, 1}});
    }
    {
        Layer dw = make(LayerKind::DepthwiseConv2D, 12, 12, 5, 2, Padding::Valid, A::Relu);
        dw.pad_top = dw.pad_left = 2, dw.pad_bottom = 1, dw.pad_right = 3;
        check_fused("dw 5x5/2 pads valid 12 relu + pw 12->20 relu6", dw, pointwise(12, 20, A::Relu6), {{11, 10, 1}});
    }
    // 64x64 tiles (a large grid): vec4 loads (channels in fours), several N tiles (the depthwise
    // recomputed per N tile); stride 2 with an odd output; scalar loads where channels are not in fours.
    check_fused("dw 40 relu6 + pw 40->72 large grid", depthwise(40, 1, A::Relu6), pointwise(40, 72, A::Relu6), {{64, 65, 2}}, 0, 1);
    check_fused("dw/2 48 relu6 + pw 48->96 large grid", depthwise(48, 2, A::Relu6), pointwise(48, 96, A::Relu6), {{130, 129, 2}}, 0,
                1);
    check_fused("dw 30 + pw 30->36 relu large grid", depthwise(30, 1, A::None), pointwise(30, 36, A::Relu), {{97, 90, 1}}, 0, 0);
    // Split-K: few tiles and a long K (MobileNet's 17x17 pairs are 384 -> 384), K not a multiple of BK.
    check_fused("dw 384 relu6 + pw 384->256 relu6 split-K", depthwise(384, 1, A::Relu6), pointwise(384, 256, A::Relu6), {{9, 9, 1}}, 1);
    check_fused("dw/2 300 relu6 + pw 300->40 split-K", depthwise(300, 2, A::Relu6), pointwise(300, 40, A::None), {{17, 16, 2}}, 1);
    // MobileNet's 17x17/2 pair (192 -> 384 from 33x33), where the cost model keeps the two dispatches.
    check_fused("dw/2 192 relu6 + pw 192->384 relu6", depthwise(192, 2, A::Relu6), pointwise(192, 384, A::Relu6), {{33, 33, 1}}, 0);
}

TEST_CASE("vulkan fusion: the cost model keeps a pair apart where fusing would not pay") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    NetBuilder b(192);
    Layer dw = depthwise(192, 2, Activation::Relu6);
    dw.input = 0;
    Layer pw = pointwise(192, 384, Activation::Relu6);
    pw.input = b.add(dw);
    const int o = b.add(pw);
    b.net.heatmap = b.net.offsets = b.net.displacement_fwd = b.net.displacement_bwd = o;
    Network net = b.finish();
    VulkanExecutor gpu(net, rt);
    // 17x17 outputs: 12 N tiles of 32 channels, each walking all 12 K steps (K 192 is too short for
    // split-K): apart.
    CHECK(gpu.steps(33, 33, 1).size() == 2);
    auto geo = net.geometry(33, 33, 1);
    auto d = vk::lower_depthwise_pointwise(net.layers[0], geo[0], net.layers[1], geo[1], 64, rt->device().features());
    CHECK(d.groups[1] == 12);
    CHECK_FALSE(vk::depthwise_pointwise_pays(d, false));
    const bool cpu = rt->device().info().type == "cpu";
    // The first MobileNet pair (129x129, 24 -> 48): one N tile, 2 K steps: fused.
    NetBuilder b2(24);
    Layer dw2 = depthwise(24, 1, Activation::Relu6);
    dw2.input = 0;
    Layer pw2 = pointwise(24, 48, Activation::Relu6);
    pw2.input = b2.add(dw2);
    const int o2 = b2.add(pw2);
    b2.net.heatmap = b2.net.offsets = b2.net.displacement_fwd = b2.net.displacement_bwd = o2;
    Network net2 = b2.finish();
    auto geo2 = net2.geometry(129, 129, 1);
    auto d2 = vk::lower_depthwise_pointwise(net2.layers[0], geo2[0], net2.layers[1], geo2[1], 64, rt->device().features());
    CHECK(vk::depthwise_pointwise_pays(d2, false));
    // Never on a CPU device (lavapipe): there the two dispatches are faster.
    CHECK_FALSE(vk::depthwise_pointwise_pays(d2, true));
    VulkanExecutor gpu2(net2, rt);
    CHECK(gpu2.steps(129, 129, 1).size() == (cpu ? 2 : 1));
}

TEST_CASE("vulkan fusion: schedule") {
    // dw -> pw fuses; a depthwise output read twice, read by a non-1x1 conv, or that is a network
    // output does not; 1x1 convs of one input merge in chunks of at most 4, others stay alone.
    NetBuilder b(3);
    auto add = [&](Layer l, int in) {
        l.input = in;
        return b.add(l);
    };
    const int d1 = add(depthwise(3, 1, Activation::Relu6), 0);             // layer 0: fused with layer 1
    const int p1 = add(pointwise(3, 16, Activation::Relu6), d1);           // 1
    const int d2 = add(depthwise(16, 2, Activation::Relu6), p1);           // 2: read twice, no fusion
    const int p2 = add(pointwise(16, 16, Activation::None), d2);           // 3
    Layer res = pointwise(16, 16, Activation::Relu);                       // 4: residual, so not plain
    res.input2 = p2;
    const int r = add(res, d2);
    const int d3 = add(depthwise(16, 1, Activation::None), r);             // 5: read by a 3x3 conv
    const int c3 = add(make(LayerKind::Conv2D, 16, 16, 3, 1, Padding::Same, Activation::Relu), d3);  // 6
    int heads[6];
    for (int i = 0; i < 6; ++i) heads[i] = add(pointwise(16, 3 + i, Activation::None), c3);         // 7..12: 4 + 2 merged
    const int d4 = add(depthwise(16, 1, Activation::None), c3);            // 13: a network output
    add(pointwise(16, 4, Activation::None), d4);                           // 14: alone (its input has one 1x1 reader)
    b.net.heatmap = heads[0], b.net.offsets = heads[1], b.net.displacement_fwd = heads[5], b.net.displacement_bwd = d4;
    Network net = b.finish();  // (outputs of any width: not a PoseNet, so no validate())
    using F = vk::Step::Form;
    auto forms = [](const std::vector<vk::Step>& steps) {
        std::vector<std::pair<F, std::vector<int>>> v;
        for (const auto& s : steps) v.push_back({s.form, s.layers});
        return v;
    };
    std::vector<std::pair<F, std::vector<int>>> want = {
        {F::DepthwisePointwise, {0, 1}}, {F::Layer, {2}}, {F::Layer, {3}}, {F::Layer, {4}}, {F::Layer, {5}}, {F::Layer, {6}},
        {F::MergedPointwise, {7, 8, 9, 10}}, {F::MergedPointwise, {11, 12}}, {F::Layer, {13}}, {F::Layer, {14}}};
    CHECK(forms(vk::schedule(net, true, true)) == want);
    // No fusion (keep_all plans): every layer's output exists; merging still happens.
    want.erase(want.begin());
    want.insert(want.begin(), {{F::Layer, {0}}, {F::Layer, {1}}});
    CHECK(forms(vk::schedule(net, true, false)) == want);
    CHECK(vk::schedule(net, false, false).size() == net.layers.size());
    CHECK(vk::pointwise_groups(net) == std::vector<std::vector<int>>{{7, 8, 9, 10}, {11, 12}});

    // The same network run on the GPU, fused and not, against the CPU executor (outputs) and per
    // layer (run_all: merged layers are still checked one by one).
    auto rt = vulkan_runtime();
    if (!rt) return;
    VulkanOptions fused_options;
    fused_options.fuse_always = true;  // (tiny layers: the cost model fuses them too, except on CPU devices)
    VulkanExecutor fused(net, rt, fused_options);
    VulkanOptions plain_options;
    plain_options.fuse = false;
    VulkanExecutor plain(net, rt, plain_options);
    CpuExecutor cpu(net);
    for (Size s : {Size{11, 9, 2}, Size{8, 8, 1}}) {
        auto input = random_input(size_t(s.n) * s.h * s.w * 3, uint32_t(s.h + s.n), 2.0f);
        auto tensors = fused.run_all(input, s.h, s.w, s.n);
        LayerCheck c = check_layers(net, tensors, s.h, s.w, s.n, "schedule network run_all");
        auto a = fused.run(input, s.h, s.w, s.n);
        auto p = plain.run(input, s.h, s.w, s.n);
        CHECK(fused.dispatch_count(s.h, s.w, s.n) == 10);
        CHECK(plain.dispatch_count(s.h, s.w, s.n) == 15);
        // run() and run_all() merge the same way: identical outputs; the unfused plan's heads equal too.
        CHECK(a.heatmap == tensors[net.heatmap]);
        CHECK(a.offsets == tensors[net.offsets]);
        CHECK(a.displacement_fwd == tensors[net.displacement_fwd]);
        CHECK(a.displacement_bwd == tensors[net.displacement_bwd]);
        auto want_out = cpu.run(input, s.h, s.w, s.n);
        for (auto [g, w] : {std::pair{&a.heatmap, &want_out.heatmap}, {&a.displacement_fwd, &want_out.displacement_fwd},
                            {&p.heatmap, &want_out.heatmap}, {&a.displacement_bwd, &want_out.displacement_bwd}}) {
            REQUIRE(g->size() == w->size());
            double num = 0, den = 0;
            for (size_t i = 0; i < g->size(); ++i) num += std::pow(double((*g)[i]) - (*w)[i], 2), den += std::pow(double((*w)[i]), 2);
            CHECK(std::sqrt(num / den) <= 1e-5);
        }
        std::printf("VULKAN-FUSED schedule network %dx%dx%d: per-layer norm=%.2e bound_use=%.3f; 15 -> 10 dispatches\n", s.n, s.h, s.w,
                    c.normalized, c.bound_use);
    }
    check_no_validation_messages(*rt);
}

TEST_CASE("vulkan merged 1x1 convs") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    // Heads as PoseNet has them (17, 34, 32, 32 channels, no activation) plus mixed activations and
    // a member without bias; on the input itself or on a conv's output; K short and long (split-K).
    struct Case {
        std::string label;
        int ci;
        std::vector<int> co;
        std::vector<Activation> act;
        int no_bias;  // member without a bias, -1 none
        std::vector<Size> sizes;
        int split;  // the merged step split-K (1) or not (0)
    };
    using A = Activation;
    const std::vector<Case> cases = {
        {"heads 24 -> 17/34/32/32", 24, {17, 34, 32, 32}, {A::None, A::None, A::None, A::None}, -1, {{9, 9, 2}, {1, 1, 1}}, 0},
        {"mixed 20 -> 8/33/5 relu/relu6/none", 20, {8, 33, 5}, {A::Relu, A::Relu6, A::None}, 1, {{13, 7, 1}}, 0},
        {"pair 64 -> 32/128 relu (ResNet projection + branch)", 64, {128, 32}, {A::None, A::Relu}, -1, {{33, 17, 1}}, 0},
        {"heads 384 -> 17/34/32/32 split-K", 384, {17, 34, 32, 32}, {A::None, A::None, A::None, A::None}, 2, {{17, 17, 1}}, 1},
        {"heads 1024 -> 17/34/32/32 split-K batch 2", 1024, {17, 34, 32, 32}, {A::None, A::Relu6, A::None, A::Relu}, 0, {{9, 9, 2}}, 1},
    };
    for (const Case& c : cases) {
        NetBuilder b(c.ci, uint32_t(std::hash<std::string>()(c.label)));
        std::vector<int> outs;
        for (size_t s = 0; s < c.co.size(); ++s) {
            Layer l = pointwise(c.ci, c.co[s], c.act[s], int(s) != c.no_bias);
            l.input = 0;
            outs.push_back(b.add(l));
        }
        b.net.heatmap = outs[0], b.net.offsets = outs[1 % outs.size()];
        b.net.displacement_fwd = outs[2 % outs.size()], b.net.displacement_bwd = outs[3 % outs.size()];
        Network net = b.finish();
        VulkanExecutor gpu(net, rt);
        for (const Size& s : c.sizes) {
            const std::string name = c.label + " " + std::to_string(s.n) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
            INFO(name);
            const auto& steps = gpu.steps(s.h, s.w, s.n);
            REQUIRE(steps.size() == 1);
            CHECK(steps[0].form == vk::Step::Form::MergedPointwise);
            const int dispatches = gpu.dispatch_count(s.h, s.w, s.n);
            CHECK(dispatches == (c.split ? 2 : 1));
            auto input = random_input(size_t(s.n) * s.h * s.w * c.ci, uint32_t(s.h * 31 + s.n), 2.0f);
            auto tensors = gpu.run_all(input, s.h, s.w, s.n);  // every member's output, merged too
            LayerCheck lc = check_layers(net, tensors, s.h, s.w, s.n, name);
            auto out = gpu.run(input, s.h, s.w, s.n);
            CHECK(out.heatmap == tensors[net.heatmap]);
            CHECK(out.offsets == tensors[net.offsets]);
            CHECK(out.displacement_fwd == tensors[net.displacement_fwd]);
            CHECK(out.displacement_bwd == tensors[net.displacement_bwd]);
            if (gpu.device_features().timestamps) {
                auto t = gpu.last_timings();
                REQUIRE(t.size() == 1);
                CHECK(t[0].layers.size() == c.co.size());
                uint64_t macs = 0;
                for (const auto& g : net.geometry(s.h, s.w, s.n)) macs += g.macs;
                CHECK(t[0].macs == macs);
            }
            std::printf("VULKAN-MERGED %-55s dispatches=%d norm=%.2e max_abs=%.2e bound_use=%.3f\n", name.c_str(), dispatches,
                        lc.normalized, lc.max_abs, lc.bound_use);
        }
    }
    check_no_validation_messages(*rt);
}
