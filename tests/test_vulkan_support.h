// Shared by the Vulkan tests: one device for the whole suite (validation on when the layer exists),
// hand-built networks, and the comparison against CpuExecutor::run_layer with a rigorous error bound.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu_executor.h"
#include "engine/network.h"
#include "engine/vulkan/executor.h"
#include "engine/vulkan/lowering.h"
#include "test_support.h"

namespace posenet::test {

using namespace posenet::engine;

// The suite's Vulkan runtime, or nullptr (after printing SKIP once) when this machine has no Vulkan.
// Validation is on whenever VK_LAYER_KHRONOS_validation is installed; tests assert it stayed silent.
inline std::shared_ptr<vk::Runtime>& vulkan_runtime_slot() {
    static std::shared_ptr<vk::Runtime> runtime;
    return runtime;
}

// Called by the test main before it returns: a device torn down by static destructors, after the
// driver's own exit handlers ran, crashes NVIDIA's driver.
inline void release_vulkan_runtime() { vulkan_runtime_slot().reset(); }

inline std::shared_ptr<vk::Runtime> vulkan_runtime() {
    std::shared_ptr<vk::Runtime>& runtime = vulkan_runtime_slot();
    static bool tried = false;
    if (tried) return runtime;
    tried = true;
    vk::RuntimeOptions o;
    o.enable_validation = vk::validation_layer_available();
#if defined(__SANITIZE_THREAD__)
    o.enable_validation = false;  // the layer is not instrumented: TSan reports its own locking as races
    std::printf("NOTE vulkan tests: running without validation under TSan (the layer is not instrumented)\n");
#else
    if (!o.enable_validation) std::printf("NOTE vulkan tests: VK_LAYER_KHRONOS_validation not installed, running without validation\n");
#endif
    o.pipeline_cache_dir = build_root() / "test-scratch";  // not the user's cache
    try {
        runtime = std::make_shared<vk::Runtime>(o);
        const auto& info = runtime->device().info();
        std::printf("vulkan tests on device %d: %s (%s, %s), validation %s\n", info.index, info.name.c_str(), info.type.c_str(),
                    info.driver.c_str(), o.enable_validation ? "on" : "off");
    } catch (const vk::VulkanUnavailable& e) {
        std::printf("SKIP vulkan tests: no usable Vulkan device: %s\n", e.what());
    }
    return runtime;
}

// Every validation message fails the running test case (tests/test_main.cpp), wherever it came from;
// a test that provokes messages on purpose holds one of these meanwhile.
extern std::atomic<int> g_expected_validation;
struct ExpectValidationMessages {
    ExpectValidationMessages() { ++g_expected_validation; }
    ~ExpectValidationMessages() { --g_expected_validation; }
    ExpectValidationMessages(const ExpectValidationMessages&) = delete;
    ExpectValidationMessages& operator=(const ExpectValidationMessages&) = delete;
};

// Checks that the validation layer reported nothing since the last call.
inline void check_no_validation_messages(vk::Runtime& rt) {
    auto msgs = rt.device().validation_messages();
    for (const auto& m : msgs) MESSAGE("validation: " << m);
    CHECK(msgs.empty());
    rt.device().clear_validation_messages();
}

// A network under construction, owning its weights.
struct NetBuilder {
    Network net;
    std::shared_ptr<std::vector<float>> store = std::make_shared<std::vector<float>>();
    std::mt19937 rng;

    explicit NetBuilder(int input_channels, uint32_t seed = 1) : rng(seed) { net.tensor_channels = {input_channels}; }

    uint64_t add_values(size_t n, float scale) {
        std::uniform_real_distribution<float> u(-scale, scale);
        uint64_t at = store->size();
        for (size_t i = 0; i < n; ++i) store->push_back(u(rng));
        return at;
    }
    // Appends the layer with an output tensor of out_channels; fills random weights for convs.
    int add(Layer l) {
        l.output = int(net.tensor_channels.size());
        if (l.name.empty()) l.name = std::string(to_string(l.kind)) + "_" + std::to_string(net.layers.size());
        if (l.kind == LayerKind::Conv2D || l.kind == LayerKind::DepthwiseConv2D) {
            uint64_t fan_in = uint64_t(l.kernel_h) * l.kernel_w * (l.kind == LayerKind::Conv2D ? l.in_channels : 1);
            l.weight_count = l.kind == LayerKind::Conv2D ? fan_in * l.out_channels : uint64_t(l.kernel_h) * l.kernel_w * l.out_channels;
            // Scaled so outputs stay O(1) and activations (relu6) are exercised on both sides.
            l.weight_offset = add_values(l.weight_count, 1.7f / std::sqrt(float(fan_in)));
            if (l.bias_count) {
                l.bias_count = l.out_channels;
                l.bias_offset = add_values(l.bias_count, 0.5f);
            }
        }
        net.tensor_channels.push_back(l.out_channels);
        net.layers.push_back(l);
        return l.output;
    }
    Network finish() {
        net.weights = std::span<const float>(*store);
        net.weight_storage = store;
        return net;
    }
};

inline std::vector<float> random_input(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-scale, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
}

// The same network with |w| for every weight: run_layer on it and |x| gives sum |x||w|, which error
// bounds scale with.
inline Network with_abs_weights(const Network& net) {
    auto store = std::make_shared<std::vector<float>>(net.weights.begin(), net.weights.end());
    for (auto& v : *store) v = std::fabs(v);
    Network out = net;
    out.weights = std::span<const float>(*store);
    out.weight_storage = store;
    return out;
}

struct LayerCheck {
    double max_abs = 0, normalized = 0, bound_use = 0;  // bound_use: max |err| / bound (must be <= 1)
};

// The tensors a Vulkan plan with VulkanOptions::activation_storage Float16 stores as float16: all
// but the input and the four outputs, and a group of 1x1 convs that may run merged (one output
// block) all or none.
inline std::vector<bool> all_half_tensors(const Network& net) {
    std::vector<bool> half(net.tensor_channels.size(), true);
    half[0] = false;
    for (int id : {net.heatmap, net.offsets, net.displacement_fwd, net.displacement_bwd})
        if (id >= 0) half[size_t(id)] = false;
    for (const auto& group : vk::pointwise_groups(net)) {
        bool all = true;
        for (int i : group) all = all && half[size_t(net.layers[i].output)];
        for (int i : group) half[size_t(net.layers[i].output)] = all;
    }
    return half;
}

// A value the GPU stored as float16: within this of the float32 value v it rounded (round to
// nearest: relative 2^-11, and 2^-25 absolute under float16's smallest normal).
inline double half_rounding(double v) { return std::fabs(v) / 2048.0 + 1.0 / (1 << 25); }

// Compares every layer the GPU ran (tensors from run_all) with CpuExecutor::run_layer fed the same
// GPU inputs, so each kernel is judged alone. Bound per element, for a dot product of K terms in
// any order with fp32 rounding u = 2^-24 (Higham's gamma): |gpu - cpu| <= 2 * (K+2) * u *
// (sum |x||w| + |bias| + |residual|), where the sum is computed by run_layer on |x| and |w|;
// relu/relu6 are 1-Lipschitz so it holds after them. MaxPool and Add round identically: exact.
// half: the tensors stored as float16 (VulkanExecutor::half_tensors; empty: none); an output stored so adds its
// rounding, half_rounding(cpu + bound), to the bound.
inline LayerCheck check_layers(const Network& net, const std::vector<std::vector<float>>& gpu, int h, int w, int n,
                               const std::string& label, const std::vector<bool>& half = {}) {
    auto geo = net.geometry(h, w, n);
    const Network abs_net = with_abs_weights(net);  // for the bound
    LayerCheck worst;
    constexpr double u = 1.0 / (1 << 24);
    for (size_t i = 0; i < net.layers.size(); ++i) {
        const Layer& l = net.layers[i];
        std::span<const float> in2;
        if (l.input2 >= 0) in2 = gpu[l.input2];
        auto ref = CpuExecutor::run_layer(net, l, geo[i], gpu[l.input], in2);
        const auto& got = gpu[l.output];
        REQUIRE(got.size() == ref.size());
        std::vector<float> bound(ref.size(), 0.0f);
        double K = 0;
        if (l.kind == LayerKind::Conv2D || l.kind == LayerKind::DepthwiseConv2D) {
            K = double(l.kernel_h) * l.kernel_w * (l.kind == LayerKind::Conv2D ? l.in_channels : 1);
            Layer la = l;
            la.activation = Activation::None;
            std::vector<float> ax(gpu[l.input].size()), ar;
            std::transform(gpu[l.input].begin(), gpu[l.input].end(), ax.begin(), [](float v) { return std::fabs(v); });
            std::span<const float> ar_span;
            if (l.input2 >= 0) {
                ar.resize(gpu[l.input2].size());
                std::transform(gpu[l.input2].begin(), gpu[l.input2].end(), ar.begin(), [](float v) { return std::fabs(v); });
                ar_span = ar;
            }
            bound = CpuExecutor::run_layer(abs_net, la, geo[i], ax, ar_span);
        }
        const double gamma = 2.0 * (K + 2) * u * 1.01;
        const bool out_half = !half.empty() && half[size_t(l.output)];
        auto bound_at = [&](size_t k) {
            const double b = gamma * double(bound[k]);
            return out_half ? b + half_rounding(std::fabs(double(ref[k])) + b) : b;
        };
        double num = 0, den = 0, max_abs = 0, use = 0;
        size_t bad = 0, first_bad = 0;
        for (size_t k = 0; k < ref.size(); ++k) {
            double e = std::fabs(double(got[k]) - double(ref[k]));
            double b = bound_at(k);
            if (!(e <= b)) {
                if (!bad) first_bad = k;
                ++bad;
            }
            max_abs = std::max(max_abs, e);
            if (b > 0) use = std::max(use, e / b);
            num += e * e;
            den += double(ref[k]) * ref[k];
        }
        double norm = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
        INFO(label << " layer " << l.name << " (" << to_string(l.kind) << "): " << bad << " of " << ref.size()
                   << " values outside the bound; first at " << first_bad << ": gpu " << got[first_bad] << " cpu " << ref[first_bad]
                   << " bound " << bound_at(first_bad));
        CHECK(bad == 0);
        worst.max_abs = std::max(worst.max_abs, max_abs);
        worst.normalized = std::max(worst.normalized, norm);
        worst.bound_use = std::max(worst.bound_use, use);
    }
    return worst;
}

}  // namespace posenet::test
