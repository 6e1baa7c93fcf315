// The Vulkan runtime around the kernels: device listing, arena planning, plan replay, timestamps,
// the on-disk pipeline cache, and clear errors (no loader, bad device index, bad input).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "engine/vulkan/arena.h"
#include "test_vulkan_support.h"

using namespace posenet::test;
using namespace posenet::engine;

namespace {

// input(3) -> 3x3/2 conv relu6 -> depthwise -> pointwise -> the four heads.
Network small_network(uint32_t seed = 3) {
    NetBuilder b(3, seed);
    Layer stem;
    stem.kind = LayerKind::Conv2D, stem.in_channels = 3, stem.out_channels = 8, stem.kernel_h = stem.kernel_w = 3;
    stem.stride_h = stem.stride_w = 2, stem.padding = Padding::Same, stem.activation = Activation::Relu6, stem.bias_count = 1;
    int t = b.add(stem);
    Layer dw = stem;
    dw.kind = LayerKind::DepthwiseConv2D, dw.in_channels = dw.out_channels = 8, dw.stride_h = dw.stride_w = 1, dw.input = t;
    t = b.add(dw);
    Layer pw;
    pw.kind = LayerKind::Conv2D, pw.in_channels = 8, pw.out_channels = 16, pw.padding = Padding::Same, pw.bias_count = 1;
    pw.activation = Activation::Relu6, pw.input = t;
    t = b.add(pw);
    int heads[4];
    const int channels[4] = {17, 34, 32, 32};
    for (int i = 0; i < 4; ++i) {
        Layer h;
        h.kind = LayerKind::Conv2D, h.in_channels = 16, h.out_channels = channels[i], h.padding = Padding::Same;
        h.bias_count = 1, h.input = t;
        heads[i] = b.add(h);
    }
    b.net.heatmap = heads[0], b.net.offsets = heads[1], b.net.displacement_fwd = heads[2], b.net.displacement_bwd = heads[3];
    return b.finish();
}

struct EnvGuard {
    std::string name;
    std::string old;
    bool had;
    EnvGuard(const char* n, const char* value) : name(n) {
        const char* o = std::getenv(n);
        had = o != nullptr;
        if (o) old = o;
        setenv(n, value, 1);
    }
    ~EnvGuard() {
        if (had)
            setenv(name.c_str(), old.c_str(), 1);
        else
            unsetenv(name.c_str());
    }
};

}  // namespace

TEST_CASE("vulkan devices are listed") {
    if (!vulkan_runtime()) return;
    auto devices = list_vulkan_devices();
    REQUIRE(!devices.empty());
    for (const auto& d : devices) {
        std::printf("vulkan device %d: %s, %s, driver %s, api %u.%u, %llu MiB device-local%s\n", d.index, d.name.c_str(), d.type.c_str(),
                    d.driver.c_str(), VK_API_VERSION_MAJOR(d.api_version), VK_API_VERSION_MINOR(d.api_version),
                    (unsigned long long)(d.device_local_bytes >> 20), d.has_compute_queue ? "" : ", no compute queue");
        CHECK(!d.name.empty());
        CHECK(!d.type.empty());
    }
    const auto& f = vulkan_runtime()->device().features();
    std::printf("vulkan features: fp16 %d, 16-bit storage %d, subgroup %u, cooperative matrix %d, timestamps %d (%.3g ns/tick)\n",
                f.shader_float16, f.storage_buffer_16bit, f.subgroup_size, f.cooperative_matrix, f.timestamps, f.timestamp_period_ns);
}

TEST_CASE("vulkan arena planner: live tensors never share memory, dead ones do") {
    using vk::TensorLifetime;
    // A chain: each tensor lives for two steps; needs two buffers' worth.
    std::vector<TensorLifetime> chain;
    for (int i = 0; i < 10; ++i) chain.push_back({1000, i - 1, i});
    auto a = vk::plan_arena(chain, 256);
    CHECK(a.size == 2 * 1024);
    // Random lifetimes: every pair alive together must be disjoint.
    std::mt19937 rng(5);
    std::vector<TensorLifetime> t;
    for (int i = 0; i < 60; ++i) {
        int first = int(rng() % 40) - 1;
        t.push_back({1 + rng() % 5000, first, first + int(rng() % 8)});
    }
    t[7].bytes = 0;  // absent tensors take no space
    auto r = vk::plan_arena(t, 64);
    uint64_t total = 0;
    for (size_t i = 0; i < t.size(); ++i) {
        CHECK(r.offsets[i] % 64 == 0);
        CHECK(r.offsets[i] + t[i].bytes <= r.size);
        total += t[i].bytes;
        for (size_t j = i + 1; j < t.size(); ++j) {
            if (!t[i].bytes || !t[j].bytes || t[i].first > t[j].last || t[j].first > t[i].last) continue;
            bool disjoint = r.offsets[i] + t[i].bytes <= r.offsets[j] || r.offsets[j] + t[j].bytes <= r.offsets[i];
            CHECK(disjoint);
        }
    }
    CHECK(r.size < total);
}

TEST_CASE("vulkan executor: plan replay, several sizes, run_all, timings") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    Network net = small_network();
    VulkanOptions options;
    options.fuse_always = true;  // depthwise + pointwise fused on CPU devices too (lavapipe)
    VulkanExecutor gpu(net, rt, options);
    CpuExecutor cpu(net);
    auto in1 = random_input(21 * 17 * 3, 1), in2 = random_input(21 * 17 * 3, 2);
    auto a = gpu.run(in1, 21, 17);
    const size_t pipelines = gpu.pipeline_count();
    auto b = gpu.run(in2, 21, 17);
    auto c = gpu.run(in1, 21, 17);
    CHECK(a.heatmap == c.heatmap);  // replay is deterministic
    CHECK(a.displacement_bwd == c.displacement_bwd);
    CHECK(a.heatmap != b.heatmap);
    // Another size and batch: new plan, same pipelines (sizes are push constants).
    auto in3 = random_input(2 * 8 * 12 * 3, 3);
    auto d = gpu.run(in3, 8, 12, 2);
    CHECK(gpu.pipeline_count() == pipelines);
    auto ref = cpu.run(in3, 8, 12, 2);
    CHECK(d.heatmap_shape.n == 2);
    CHECK(d.heatmap_shape.h == ref.heatmap_shape.h);
    CHECK(d.heatmap_shape.w == ref.heatmap_shape.w);
    CHECK(d.offsets_shape.c == 34);
    CHECK(d.displacement_shape.c == 32);
    for (auto [got, want] : {std::pair{&d.heatmap, &ref.heatmap}, {&d.offsets, &ref.offsets}, {&d.displacement_fwd, &ref.displacement_fwd},
                             {&d.displacement_bwd, &ref.displacement_bwd}}) {
        REQUIRE(got->size() == want->size());
        for (size_t i = 0; i < got->size(); ++i) CHECK((*got)[i] == doctest::Approx((*want)[i]).epsilon(1e-5).scale(1.0));
    }
    // run_all: every tensor, agreeing with run().
    auto all = gpu.run_all(in1, 21, 17);
    REQUIRE(all.size() == net.tensor_channels.size());
    CHECK(all[0] == in1);
    CHECK(all[net.heatmap] == a.heatmap);
    CHECK(all[net.offsets] == a.offsets);
    // Timings: one per dispatch (stem; depthwise + pointwise fused; the four heads merged), named,
    // covering every layer once, when the device has timestamps.
    gpu.run(in1, 21, 17);
    auto timings = gpu.last_timings();
    CHECK(gpu.dispatch_count(21, 17) == 3);
    if (gpu.device_features().timestamps) {
        REQUIRE(timings.size() == 3);
        uint64_t total = 0, macs = 0;
        std::vector<int> covered;
        for (const auto& t : timings) {
            covered.insert(covered.end(), t.layers.begin(), t.layers.end());
            total += t.gpu_ns;
            macs += t.macs;
        }
        CHECK(covered == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
        CHECK(timings[0].name == net.layers[0].name);
        CHECK(timings[1].name == "dw+pw " + net.layers[2].name);
        CHECK(timings[1].layer == 2);
        CHECK(timings[2].name.rfind("merged " + net.layers[3].name + " + ", 0) == 0);
        uint64_t want_macs = 0;
        for (const auto& g : net.geometry(21, 17)) want_macs += g.macs;
        CHECK(macs == want_macs);
        CHECK(total > 0);
        std::printf("vulkan timings, small network 21x17: %zu layers in %zu dispatches, %.3f ms total\n", net.layers.size(),
                    timings.size(), total * 1e-6);
    } else {
        std::printf("NOTE vulkan: device has no timestamps; last_timings() is empty\n");
        CHECK(timings.empty());
    }
    CHECK(gpu.arena_bytes(21, 17) > 0);
    check_no_validation_messages(*rt);
}

TEST_CASE("vulkan pipeline cache on disk") {
    if (!vulkan_runtime()) return;
    fs::path dir = scratch_dir("vulkan-pipeline-cache");
    Network net = small_network();
    auto input = random_input(9 * 9 * 3, 4);
    VulkanOptions o;
    o.pipeline_cache_dir = dir;
    fs::path file;
    {
        VulkanExecutor gpu(net, o);
        CHECK_FALSE(gpu.runtime().pipeline_cache().loaded_from_disk());
        gpu.run(input, 9, 9);
        file = gpu.runtime().pipeline_cache().path();
        CHECK(file.parent_path() == dir);
        CHECK(file.filename().string().rfind("vulkan-pipelines-", 0) == 0);
    }
    REQUIRE(fs::exists(file));
    {
        VulkanExecutor gpu(net, o);
        CHECK(gpu.runtime().pipeline_cache().loaded_from_disk());
        gpu.run(input, 9, 9);
    }
    // A damaged file (or another device's) is ignored, then rewritten.
    {
        std::ofstream(file, std::ios::binary | std::ios::trunc) << "PNVKPC01 not a cache at all";
        VulkanExecutor gpu(net, o);
        CHECK_FALSE(gpu.runtime().pipeline_cache().loaded_from_disk());
        gpu.run(input, 9, 9);
    }
    {
        VulkanExecutor gpu(net, o);
        CHECK(gpu.runtime().pipeline_cache().loaded_from_disk());
    }
    // An unwritable location is not an error.
    {
        std::ofstream(dir / "a-file") << "x";
        VulkanOptions bad;
        bad.pipeline_cache_dir = dir / "a-file" / "sub";
        VulkanExecutor gpu(net, bad);
        gpu.run(input, 9, 9);
        CHECK_FALSE(gpu.runtime().pipeline_cache().save());
    }
    // No folder: nothing on disk, whatever the environment says.
    {
        EnvGuard xdg("XDG_CACHE_HOME", (dir / "xdg").c_str());
        EnvGuard home("HOME", (dir / "home").c_str());
        EnvGuard mesa("MESA_SHADER_CACHE_DISABLE", "true");  // the driver's own cache, not ours
        {
            vk::Runtime rt(vk::RuntimeOptions{});
            CHECK(rt.pipeline_cache().path().empty());
            CHECK_FALSE(rt.pipeline_cache().save());
        }
        CHECK_FALSE(fs::exists(dir / "xdg"));
        CHECK_FALSE(fs::exists(dir / "home"));
    }
}

TEST_CASE("vulkan validation layer is live: a deliberate misuse is recorded") {
    auto rt = vulkan_runtime();
    if (!rt || !rt->device().validation_enabled()) {
        std::printf("SKIP vulkan validation liveness: validation is off\n");
        return;
    }
    rt->device().clear_validation_messages();
    ExpectValidationMessages expected;  // not a failure here
    // size 0 violates VUID-VkBufferCreateInfo-size-00912; the layer reports it, lavapipe copes.
    auto& d = rt->device();
    auto bci = vk::make<VkBufferCreateInfo>(VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
    bci.size = 0;
    bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    VkBuffer buffer = VK_NULL_HANDLE;
    std::printf("(an expected validation error follows)\n");
    VkResult r = d.fn().CreateBuffer(d.handle(), &bci, nullptr, &buffer);
    if (r == VK_SUCCESS && buffer) d.fn().DestroyBuffer(d.handle(), buffer, nullptr);
    auto msgs = d.validation_messages();
    CHECK(!msgs.empty());
    d.clear_validation_messages();
}

// The other half of the liveness test: a message that no test looks at still fails the test case
// it happens in (tests/test_main.cpp's observer), so tests need not ask. should_fail: this test
// passes only if it failed. Without the layer there is nothing to show; it fails on purpose.
TEST_CASE("vulkan validation: a message nobody checks fails the test case" * doctest::should_fail()) {
    auto rt = vulkan_runtime();
    if (!rt || !rt->device().validation_enabled()) {
        std::printf("SKIP vulkan validation failure: validation is off\n");
        FAIL_CHECK("validation is off: failing on purpose (should_fail)");
        return;
    }
    auto& d = rt->device();
    d.clear_validation_messages();
    auto bci = vk::make<VkBufferCreateInfo>(VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
    bci.size = 0;  // VUID-VkBufferCreateInfo-size-00912, as above
    bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    VkBuffer buffer = VK_NULL_HANDLE;
    std::printf("(an expected validation error follows, and an expected failure)\n");
    VkResult r = d.fn().CreateBuffer(d.handle(), &bci, nullptr, &buffer);
    if (r == VK_SUCCESS && buffer) d.fn().DestroyBuffer(d.handle(), buffer, nullptr);
    d.clear_validation_messages();  // nothing checked here: the observer alone must fail this test
}

TEST_CASE("vulkan errors are exceptions that say what failed") {
    if (!vulkan_runtime()) return;
    Network net = small_network();
    {
        EnvGuard loader("POSENET_VULKAN_LOADER", "/nonexistent/libvulkan.so.1");
        try {
            VulkanExecutor gpu(net);
            FAIL("expected VulkanUnavailable");
        } catch (const vk::VulkanUnavailable& e) {
            CHECK(std::string(e.what()).find("loader") != std::string::npos);
        }
        CHECK_FALSE(vk::validation_layer_available());
        CHECK_THROWS_AS(list_vulkan_devices(), vk::VulkanUnavailable);
    }
    {
        VulkanOptions o;
        o.device_index = 99;
        try {
            VulkanExecutor gpu(net, o);
            FAIL("expected VulkanUnavailable");
        } catch (const vk::VulkanUnavailable& e) {
            CHECK(std::string(e.what()).find("device 99 does not exist") != std::string::npos);
        }
    }
    auto rt = vulkan_runtime();
    VulkanExecutor gpu(net, rt);
    std::vector<float> wrong(10);
    CHECK_THROWS_AS(gpu.run(wrong, 9, 9), std::invalid_argument);
    CHECK_THROWS_AS(gpu.run(random_input(27, 1), 0, 9), ModelError);  // geometry rejects it
    // All Vulkan errors are runtime_errors with the failing call named.
    try {
        vk::check(VK_ERROR_DEVICE_LOST, "vkQueueSubmit (network)");
    } catch (const vk::DeviceLost& e) {
        CHECK(std::string(e.what()).find("vkQueueSubmit (network)") != std::string::npos);
        CHECK(std::string(e.what()).find("VK_ERROR_DEVICE_LOST") != std::string::npos);
    }
    // A tensor larger than one storage-buffer binding: refused up front, naming the tensor.
    const uint64_t range = gpu.device_features().max_storage_buffer_range;
    if (range <= (1ull << 30)) {
        int side = int(std::sqrt(double(range) / 12.0)) + 16;  // input tensor side x side x 3 floats
        try {
            gpu.prepare(side, side);
            FAIL("expected VulkanError");
        } catch (const vk::VulkanError& e) {
            CHECK(std::string(e.what()).find("larger than one binding") != std::string::npos);
        }
    }
    CHECK_THROWS_AS(vk::check(VK_ERROR_OUT_OF_DEVICE_MEMORY, "x"), std::runtime_error);
    CHECK_THROWS_AS(vk::check(VK_ERROR_OUT_OF_DEVICE_MEMORY, "x"), vk::OutOfDeviceMemory);
    check_no_validation_messages(*rt);
}
