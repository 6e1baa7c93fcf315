// Precision::Float16: the GEMM convolutions (1x1, merged 1x1, KxK) on tensor cores
// (coopmat_gemm.glsl: fp16 products, fp32 sums) and float16 activations between layers. Needs a device with cooperative
// matrices (DeviceFeatures::coopmat_f16); elsewhere (lavapipe) the tests print SKIP and check only
// that asking for fp16 is a clear error.
//
// (1) Layers against CpuExecutor::run_layer fed the same GPU inputs. Bound per output value, with
// S = sum_k |x_k| |w_k| + |bias| + |residual| (run_layer on |x|, |w|):
//   |gpu - cpu| <= ((2^-10 + 2^-22) + 2 (K+2) 2^-24) S * 1.01 + K 2^-25 (max|x| + max|w|)
// plus, for an output stored as float16 (VulkanExecutor::half_tensors: the tensors only tensor-core
// GEMMs read), its rounding (half_rounding of |cpu| + that bound).
// Rounding x and w to fp16 (11-bit significand, unit roundoff 2^-11) changes each product by a
// relative (1 + d1)(1 + d2) - 1 <= 2^-10 + 2^-22; the fp16 x fp16 product is exact in fp32, and the
// fp32 sums (in any order, the GPU's and the CPU's) add check_layers' 2 (K+2) 2^-24 S. The last
// term covers values under fp16's smallest normal (2^-14), whose rounding error is absolute, at
// most 2^-25. relu/relu6 are 1-Lipschitz.
// (2) MobileNetV1 0.75 stride 16 (../shared) on the people photos, single-pose, fp16 against fp32:
// every keypoint of every image counted, plus those with an fp32 score > 0.1 on their own; >= 99%
// within 1 px (source-image pixels) is required; the worst distance is printed.
#include <doctest/doctest.h>

#include <filesystem>
#include <optional>

#include "engine/vulkan/lowering.h"
#include "posenet/detector.h"
#include "posenet/image.h"
#include "test_vulkan_support.h"

using namespace posenet::test;
using namespace posenet::engine;
namespace fs = std::filesystem;

namespace {

bool have_tensor_cores(vk::Runtime& rt) {
    const auto& f = rt.device().features();
    if (!f.coopmat_f16) {
        std::printf("SKIP vulkan tensor cores: device %s lacks %s\n", rt.device().info().name.c_str(), f.coopmat_missing.c_str());
        return false;
    }
    return true;
}

Layer conv(int ci, int co, int k, int s, Padding pad, Activation act, bool bias = true, int dil = 1) {
    Layer l;
    l.kind = LayerKind::Conv2D;
    l.in_channels = ci, l.out_channels = co;
    l.kernel_h = l.kernel_w = k, l.stride_h = l.stride_w = s;
    l.dilation_h = l.dilation_w = dil;
    l.padding = pad;
    l.activation = act;
    l.bias_count = bias ? 1 : 0;
    return l;
}

struct Fp16Check {
    double max_abs = 0, normalized = 0, bound_use = 0;
};

// Every Conv2D layer of the plan's tensors against run_layer, under the bound above.
Fp16Check check_fp16_layers(const Network& net, const std::vector<std::vector<float>>& gpu, int h, int w, int n, const std::string& label,
                            const std::vector<bool>& half) {
    auto geo = net.geometry(h, w, n);
    const Network abs_net = with_abs_weights(net);
    Fp16Check worst;
    constexpr double u = 1.0 / (1 << 24);
    for (size_t i = 0; i < net.layers.size(); ++i) {
        const Layer& l = net.layers[i];
        REQUIRE(l.kind == LayerKind::Conv2D);
        std::span<const float> in2;
        if (l.input2 >= 0) in2 = gpu[l.input2];
        auto ref = CpuExecutor::run_layer(net, l, geo[i], gpu[l.input], in2);
        const auto& got = gpu[l.output];
        REQUIRE(got.size() == ref.size());
        const double K = double(l.kernel_h) * l.kernel_w * l.in_channels;
        Layer la = l;
        la.activation = Activation::None;
        std::vector<float> ax(gpu[l.input].size()), ar;
        double max_x = 0, max_w = 0;
        for (size_t k = 0; k < ax.size(); ++k) ax[k] = std::fabs(gpu[l.input][k]), max_x = std::max(max_x, double(ax[k]));
        for (uint64_t k = 0; k < l.weight_count; ++k) max_w = std::max(max_w, double(abs_net.weights[l.weight_offset + k]));
        std::span<const float> ar_span;
        if (l.input2 >= 0) {
            ar.resize(gpu[l.input2].size());
            std::transform(gpu[l.input2].begin(), gpu[l.input2].end(), ar.begin(), [](float v) { return std::fabs(v); });
            ar_span = ar;
        }
        auto S = CpuExecutor::run_layer(abs_net, la, geo[i], ax, ar_span);
        const double rel = ((1.0 / 1024) + 1.0 / (1 << 22) + 2.0 * (K + 2) * u) * 1.01;
        const double abs_floor = K * u / 2 * (max_x + max_w);
        const bool out_half = half[size_t(l.output)];
        auto bound_at = [&](size_t k) {
            const double b = rel * double(S[k]) + abs_floor;
            return out_half ? b + half_rounding(std::fabs(double(ref[k])) + b) : b;
        };
        double num = 0, den = 0, max_abs = 0, use = 0;
        size_t bad = 0, first_bad = 0;
        for (size_t k = 0; k < ref.size(); ++k) {
            const double e = std::fabs(double(got[k]) - double(ref[k]));
            const double b = bound_at(k);
            if (!(e <= b)) {
                if (!bad) first_bad = k;
                ++bad;
            }
            max_abs = std::max(max_abs, e);
            use = std::max(use, e / b);
            num += e * e;
            den += double(ref[k]) * ref[k];
        }
        const double norm = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
        INFO(label << " layer " << l.name << ": " << bad << " of " << ref.size() << " values outside the bound; first at " << first_bad
                   << ": gpu " << got[first_bad] << " cpu " << ref[first_bad] << " bound " << bound_at(first_bad));
        CHECK(bad == 0);
        std::printf("VULKAN-FP16 %-34s %-12s K=%-5d norm=%.2e max_abs=%.2e bound_use=%.3f\n", label.c_str(), l.name.c_str(), int(K), norm,
                    max_abs, use);
        worst.max_abs = std::max(worst.max_abs, max_abs);
        worst.normalized = std::max(worst.normalized, norm);
        worst.bound_use = std::max(worst.bound_use, use);
    }
    return worst;
}

struct Size {
    int h, w, n;
};

// Runs the network (convs only) in fp16 with run_all and checks every layer; checks that every
// conv with K >= 64 ran on a tensor-core kernel (shorter ones stay fp32) and, with split >= 0,
// whether a one-layer network split K.
void check_network(const std::string& label, NetBuilder& b, const std::vector<Size>& sizes, int split = -1) {
    auto rt = vulkan_runtime();
    Network net = b.finish();
    const int last = net.layers.back().output;
    if (net.heatmap < 0) net.heatmap = net.offsets = net.displacement_fwd = net.displacement_bwd = last;
    // float32 activations (the default), and every activation float16 where the device can.
    std::vector<VulkanOptions::Storage> storages = {VulkanOptions::Storage::Auto};
    if (rt->device().features().storage_buffer_16bit) storages.push_back(VulkanOptions::Storage::Float16);
    for (auto storage : storages)
    for (const Size& s : sizes) {
        VulkanOptions o;
        o.precision = Precision::Float16;
        o.activation_storage = storage;
        VulkanExecutor gpu(net, rt, o);
        const std::vector<bool> half = gpu.half_tensors(s.h, s.w, s.n);
        const std::string name = label + (gpu.half_storage() ? " fp16 activations " : " ") + std::to_string(s.n) + "x" + std::to_string(s.h) +
                                 "x" + std::to_string(s.w);
        INFO(name);
        auto input = random_input(size_t(s.n) * s.h * s.w * net.tensor_channels[0], uint32_t(s.h * 31 + s.w * 7 + s.n), 2.0f);
        auto all = gpu.run_all(input, s.h, s.w, s.n);
        bool any_split = false;
        auto geo = net.geometry(s.h, s.w, s.n);
        for (size_t i = 0; i < net.layers.size(); ++i) {
            const Layer& l = net.layers[i];
            auto d = vk::lower_layer(l, geo[i], rt->device().features(), Precision::Float16);
            const bool tc = d.kernel == vk::Kernel::PointwiseConvCoopmat || d.kernel == vk::Kernel::Conv2dGenericCoopmat;
            CHECK(tc == (l.kernel_h * l.kernel_w * l.in_channels >= 64));
            any_split = any_split || d.slices > 1;
        }
        if (gpu.device_features().timestamps) {
            int coopmat = 0;
            for (const auto& t : gpu.last_timings()) coopmat += std::string(t.kernel).find("coopmat") != std::string::npos;
            CHECK(coopmat > 0);
        }
        if (split >= 0 && net.layers.size() == 1) CHECK(any_split == bool(split));
        check_fp16_layers(net, all, s.h, s.w, s.n, name, half);
    }
    check_no_validation_messages(*rt);
}

}  // namespace

TEST_CASE("vulkan tensor cores: fp16 precision is an error without cooperative matrices") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    if (rt->device().features().coopmat_f16) return;
    NetBuilder b(8);
    Layer l = conv(8, 8, 1, 1, Padding::Same, Activation::None);
    l.input = 0;
    b.add(l);
    Network net = b.finish();
    net.heatmap = net.offsets = net.displacement_fwd = net.displacement_bwd = 1;
    VulkanOptions o;
    o.precision = Precision::Float16;
    try {
        VulkanExecutor gpu(net, rt, o);
        FAIL("fp16 on a device without cooperative matrices did not throw");
    } catch (const vk::VulkanError& e) {
        const std::string what = e.what();
        CHECK(what.find(rt->device().info().name) != std::string::npos);
        CHECK(what.find(rt->device().features().coopmat_missing) != std::string::npos);
        std::printf("fp16 on %s: %s\n", rt->device().info().name.c_str(), e.what());
    }
    std::printf("SKIP vulkan tensor cores: device %s lacks %s\n", rt->device().info().name.c_str(),
                rt->device().features().coopmat_missing.c_str());
}

TEST_CASE("vulkan tensor cores: random layers against the CPU (fp16 bound)") {
    auto rt = vulkan_runtime();
    if (!rt || !have_tensor_cores(*rt)) return;
    using A = Activation;
    {  // odd M, N, K: scalar loads, remainders everywhere; relu6, bias; then a chain of 1x1s
        NetBuilder b(75, 11);
        Layer l = conv(75, 67, 1, 1, Padding::Same, A::Relu6);
        l.input = 0;
        int t = b.add(l);
        Layer l2 = conv(67, 20, 1, 1, Padding::Valid, A::None, false);
        l2.input = t;
        b.add(l2);
        check_network("pw 75->67 relu6, 67->20", b, {{9, 13, 1}, {17, 15, 2}, {65, 33, 1}});
    }
    {  // vec4 loads, residual (1x1 with input2 runs alone), relu
        NetBuilder b(64, 12);
        Layer l = conv(64, 96, 1, 1, Padding::Same, A::Relu);
        l.input = 0;
        int t = b.add(l);
        Layer r = conv(96, 96, 1, 1, Padding::Same, A::Relu);
        r.input = t, r.input2 = t;
        b.add(r);
        check_network("pw 64->96 relu + residual", b, {{33, 31, 2}, {129, 97, 1}});
    }
    {  // long K, few tiles: split-K
        NetBuilder b(1024, 13);
        Layer l = conv(1024, 200, 1, 1, Padding::Same, A::Relu6);
        l.input = 0;
        b.add(l);
        check_network("pw 1024->200 relu6 split-K", b, {{9, 9, 1}, {17, 17, 2}}, 1);
    }
    {  // merged heads: four 1x1 convs of one input (17 + 34 + 32 + 32 channels), different activations
        NetBuilder b(384, 14);
        int outs[4];
        const int co[4] = {17, 34, 32, 32};
        const A act[4] = {A::None, A::Relu, A::None, A::Relu6};
        for (int s = 0; s < 4; ++s) {
            Layer l = conv(384, co[s], 1, 1, Padding::Same, act[s]);
            l.input = 0;
            outs[s] = b.add(l);
        }
        b.net.heatmap = outs[0], b.net.offsets = outs[1], b.net.displacement_fwd = outs[2], b.net.displacement_bwd = outs[3];
        check_network("merged heads 384->17+34+32+32", b, {{17, 17, 1}, {33, 33, 2}});
        auto rt2 = vulkan_runtime();
        VulkanOptions o;
        o.precision = Precision::Float16;
        Network net = b.finish();
        VulkanExecutor gpu(net, rt2, o);
        CHECK(gpu.steps(17, 17, 1).size() == 1);  // one merged step
    }
    {  // wide 1x1 convs on a large grid (64 x 128 tiles), one with a residual
        NetBuilder b(96, 18);
        Layer l = conv(96, 256, 1, 1, Padding::Same, A::Relu);
        l.input = 0;
        const int t = b.add(l);
        Layer r = conv(256, 256, 1, 1, Padding::Same, A::Relu6);
        r.input = t, r.input2 = t;
        b.add(r);
        check_network("pw 96->256, 256->256 + residual, wide tiles", b, {{131, 129, 1}});
    }
    {  // merged 1x1 convs whose channels are multiples of 4 (ResNet's shortcut + conv1): vector stores
        NetBuilder b(256, 17);
        const int co[3] = {64, 128, 36};
        const A act[3] = {A::Relu, A::None, A::Relu6};
        int outs[3];
        for (int s = 0; s < 3; ++s) {
            Layer l = conv(256, co[s], 1, 1, Padding::Same, act[s]);
            l.input = 0;
            outs[s] = b.add(l);
        }
        Layer tail = conv(36, 40, 1, 1, Padding::Same, A::Relu);
        tail.input = outs[2];
        const int t = b.add(tail);
        b.net.heatmap = outs[0], b.net.offsets = outs[1], b.net.displacement_fwd = b.net.displacement_bwd = t;
        check_network("merged 256->64+128+36, 36->40", b, {{17, 17, 1}, {33, 31, 2}});
    }
    {  // KxK: 3x3/2 stem on 3 channels (K = 27: stays fp32), 3x3 dilated, 7x7/2 Valid, 3x3 with residual
        NetBuilder b(3, 15);
        Layer s = conv(3, 24, 3, 2, Padding::Same, A::Relu6);
        s.input = 0;
        int t = b.add(s);
        Layer d = conv(24, 40, 3, 1, Padding::Same, A::Relu, true, 2);
        d.input = t;
        t = b.add(d);
        Layer v = conv(40, 36, 7, 2, Padding::Valid, A::None);
        v.input = t;
        t = b.add(v);
        Layer r = conv(36, 36, 3, 1, Padding::Same, A::Relu);
        r.input = t, r.input2 = t;
        b.add(r);
        check_network("conv 3x3/2, 3x3 d2, 7x7/2, 3x3+res", b, {{33, 29, 1}, {40, 41, 2}});
    }
    {  // ResNet's stem: 7x7/2 on 3 channels (K = 147, scalar im2col loads), explicit pads
        NetBuilder b(3, 16);
        Layer s = conv(3, 64, 7, 2, Padding::Same, A::Relu);
        s.input = 0;
        b.add(s);
        check_network("conv 7x7/2 3->64 relu", b, {{45, 37, 1}, {31, 30, 2}});
    }
}

TEST_CASE("vulkan tensor cores: float16 activations that only tensor cores read change no result") {
    auto rt = vulkan_runtime();
    if (!rt || !have_tensor_cores(*rt)) return;
    if (!rt->device().features().storage_buffer_16bit) {
        std::printf("SKIP vulkan tensor cores float16 activations: no storageBuffer16BitAccess\n");
        return;
    }
    using A = Activation;
    // A MobileNet-like chain (stem K = 27 and a 1x1 with K = 32 in float32, depthwise convs, fused
    // pairs, 1x1s on tensor cores, a residual, a long-K split 1x1) and four merged heads.
    NetBuilder b(3, 77);
    auto add = [&](Layer l, int input, int input2 = -1) {
        l.input = input, l.input2 = input2;
        return b.add(l);
    };
    Layer dw = conv(64, 64, 3, 1, Padding::Same, A::Relu6);
    dw.kind = LayerKind::DepthwiseConv2D;
    int t = add(conv(3, 32, 3, 2, Padding::Same, A::Relu6), 0);
    t = add(conv(32, 64, 1, 1, Padding::Same, A::Relu6), t);
    t = add(dw, t);
    t = add(conv(64, 96, 1, 1, Padding::Same, A::Relu6), t);
    const int r = add(conv(96, 96, 1, 1, Padding::Same, A::Relu), t);
    t = add(conv(96, 96, 3, 1, Padding::Same, A::Relu), r, r);
    t = add(conv(96, 320, 1, 1, Padding::Same, A::Relu6), t);
    t = add(conv(320, 128, 3, 2, Padding::Same, A::Relu6), t);
    int heads[4];
    const int co[4] = {17, 34, 32, 32};
    for (int s = 0; s < 4; ++s) heads[s] = add(conv(128, co[s], 1, 1, Padding::Same, s == 1 ? A::None : A::Relu), t);
    b.net.heatmap = heads[0], b.net.offsets = heads[1], b.net.displacement_fwd = heads[2], b.net.displacement_bwd = heads[3];
    const Network net = b.finish();
    VulkanOptions o16, o32;
    o16.precision = o32.precision = Precision::Float16;
    o16.activation_storage = VulkanOptions::Storage::Float16GemmInputs;
    VulkanExecutor gpu16(net, rt, o16), gpu32(net, rt, o32);
    CHECK(gpu16.half_mode() == vk::HalfTensors::GemmInputs);
    CHECK_FALSE(gpu32.half_storage());
    for (auto [h, w, n] : {std::array{65, 57, 2}, std::array{129, 129, 1}}) {
        INFO(n << "x" << h << "x" << w);
        const auto half = gpu16.half_tensors(h, w, n);
        const int halves = int(std::count(half.begin(), half.end(), true));
        CHECK(halves >= 3);
        CHECK(gpu16.arena_bytes(h, w, n) < gpu32.arena_bytes(h, w, n));
        auto input = random_input(size_t(n) * h * w * 3, uint32_t(h + w + n), 1.0f);
        const NetworkOutputs a = gpu16.run(input, h, w, n), c = gpu32.run(input, h, w, n);
        CHECK(a.heatmap == c.heatmap);
        CHECK(a.offsets == c.offsets);
        CHECK(a.displacement_fwd == c.displacement_fwd);
        CHECK(a.displacement_bwd == c.displacement_bwd);
        std::printf("VULKAN-FP16-STORAGE exact %dx%dx%d: %d of %zu tensors float16, arena %.1f -> %.1f KiB, outputs identical: %d\n", n, h, w,
                    halves, half.size(), gpu32.arena_bytes(h, w, n) / 1024.0, gpu16.arena_bytes(h, w, n) / 1024.0,
                    int(a.heatmap == c.heatmap && a.offsets == c.offsets));
    }
    check_no_validation_messages(*rt);
}

TEST_CASE("vulkan tensor cores: MobileNetV1 0.75 s16 on people photos, fp16 against fp32 keypoints") {
    auto rt = vulkan_runtime();
    if (!rt || !have_tensor_cores(*rt)) return;
    auto shared = require_shared("vulkan tensor cores MobileNetV1 photos");
    if (!shared) return;
    const fs::path images = *shared / "images/people";
    REQUIRE(fs::is_directory(images));
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(images)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (int res : {257, 513}) {
        posenet::ModelConfig c;
        c.model = *shared / "models/posenet/mobilenet/float/075/model-stride16.json";
        c.input_resolution = {res, res};
        posenet::DetectorOptions o32, o16;
        o32.backend = o16.backend = posenet::Backend::Vulkan;
        o16.precision = Precision::Float16;
        posenet::PoseDetector d32(c, o32), d16(c, o16);
        // For the record (docs/PERFORMANCE.md), not asserted: every activation in float16.
        std::optional<posenet::PoseDetector> d16all;
        {
            ScopedEnv all("POSENET_VULKAN_STORAGE", "fp16");
            d16all.emplace(c, o16);
        }
        size_t total = 0, within = 0, scored = 0, scored_within = 0, all_within = 0;
        double worst = 0, worst_scored = 0, max_score_diff = 0;
        std::string worst_at;
        for (const auto& f : files) {
            posenet::Image img;
            try {
                img = posenet::load_image(f);
            } catch (const posenet::ImageError&) {
                continue;
            }
            auto p32 = d32.estimate_poses(img.view()), p16 = d16.estimate_poses(img.view()), p16all = d16all->estimate_poses(img.view());
            REQUIRE(p32.size() == 1);
            REQUIRE(p16.size() == 1);
            REQUIRE(p16all.size() == 1);
            for (size_t k = 0; k < p32[0].keypoints.size(); ++k) {
                const auto &a = p32[0].keypoints[k], &b = p16[0].keypoints[k];
                const double dist = std::hypot(double(a.x) - b.x, double(a.y) - b.y);
                ++total;
                within += dist <= 1.0;
                const auto& e = p16all[0].keypoints[k];
                all_within += std::hypot(double(a.x) - e.x, double(a.y) - e.y) <= 1.0;
                if (dist > worst) worst = dist, worst_at = f.filename().string() + " " + std::string(a.name);
                max_score_diff = std::max(max_score_diff, std::fabs(double(a.score) - b.score));
                if (a.score > 0.1f) {
                    ++scored;
                    scored_within += dist <= 1.0;
                    worst_scored = std::max(worst_scored, dist);
                }
            }
        }
        REQUIRE(total > 0);
        const double frac = double(within) / double(total), frac_scored = scored ? double(scored_within) / double(scored) : 1.0;
        std::printf("VULKAN-FP16-KEYPOINTS mobilenet 075 s16 %d: %zu images, %zu/%zu keypoints within 1 px (%.2f%%), worst %.2f px (%s); "
                    "score > 0.1: %zu/%zu (%.2f%%), worst %.2f px; max score diff %.4f\n",
                    res, total / 17, within, total, 100 * frac, worst, worst_at.c_str(), scored_within, scored, 100 * frac_scored,
                    worst_scored, max_score_diff);
        std::printf("VULKAN-FP16-KEYPOINTS mobilenet 075 s16 %d, every activation float16 ($POSENET_VULKAN_STORAGE=fp16): %zu/%zu (%.2f%%) "
                    "within 1 px\n", res, all_within, total, 100.0 * double(all_within) / double(total));
        CHECK(frac >= 0.99);
        CHECK(frac_scored >= 0.99);
    }
    check_no_validation_messages(*rt);
}
