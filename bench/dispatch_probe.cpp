#include "bench/dispatch_probe.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "engine/vulkan/buffer.h"
#include "engine/vulkan/error.h"

namespace posenet::engine::vk {

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// Owns the probe's Vulkan objects so that every exit path releases them.
struct ProbeObjects {
    Device& device;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    VkCommandPool commands = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkQueryPool queries = VK_NULL_HANDLE;
    explicit ProbeObjects(Device& d) : device(d) {}
    ~ProbeObjects() {
        const Functions& fn = device.fn();
        VkDevice dev = device.handle();
        fn.DeviceWaitIdle(dev);
        if (queries) fn.DestroyQueryPool(dev, queries, nullptr);
        if (fence) fn.DestroyFence(dev, fence, nullptr);
        if (commands) fn.DestroyCommandPool(dev, commands, nullptr);
        if (pool) fn.DestroyDescriptorPool(dev, pool, nullptr);
    }
};

}  // namespace

DispatchOverhead measure_dispatch_overhead(Runtime& runtime, int dispatches, int repeats) {
    Device& device = runtime.device();
    const Functions& fn = device.fn();
    VkDevice dev = device.handle();
    const DeviceFeatures& f = device.features();
    if (!f.timestamps) throw VulkanError("Vulkan: device " + device.info().name + " has no timestamps; cannot measure dispatch overhead");
    dispatches = std::max(dispatches, 1);
    repeats = std::max(repeats, 1);

    // One workgroup of 64 invocations adding two 64-value vectors: as little work as a dispatch can do.
    constexpr uint32_t kValues = 64;
    SpecValues spec(kHasResidual + 1, 0);
    spec[kLocalX] = int32_t(kValues), spec[kLocalY] = 1;
    VkPipeline pipeline = runtime.kernels().pipeline(Kernel::Add, spec);
    Buffer data(device, 3 * kValues * sizeof(float), VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                MemoryUse::DeviceLocal, "dispatch probe");
    device.run_once([&](VkCommandBuffer cb) { fn.CmdFillBuffer(cb, data.handle(), 0, VK_WHOLE_SIZE, 0); }, "dispatch probe fill");

    ProbeObjects o(device);
    VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kBindingCount};
    auto pci = make<VkDescriptorPoolCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO);
    pci.maxSets = 1, pci.poolSizeCount = 1, pci.pPoolSizes = &ps;
    check(fn.CreateDescriptorPool(dev, &pci, nullptr, &o.pool), "vkCreateDescriptorPool");
    VkDescriptorSetLayout layout = runtime.kernels().set_layout();
    auto dai = make<VkDescriptorSetAllocateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO);
    dai.descriptorPool = o.pool, dai.descriptorSetCount = 1, dai.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    check(fn.AllocateDescriptorSets(dev, &dai, &set), "vkAllocateDescriptorSets");
    const uint64_t bytes = kValues * sizeof(float);
    VkDescriptorBufferInfo b[kBindingCount];
    b[kInput] = {data.handle(), 0, bytes};
    b[kInput2] = {data.handle(), bytes, bytes};
    b[kFilter] = b[kBias] = b[kInput];
    b[kOutput] = {data.handle(), 2 * bytes, bytes};
    auto w = make<VkWriteDescriptorSet>(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
    w.dstSet = set, w.descriptorCount = kBindingCount, w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, w.pBufferInfo = b;
    fn.UpdateDescriptorSets(dev, 1, &w, 0, nullptr);

    auto cpi = make<VkCommandPoolCreateInfo>(VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO);
    cpi.queueFamilyIndex = device.queue_family();
    check(fn.CreateCommandPool(dev, &cpi, nullptr, &o.commands), "vkCreateCommandPool");
    VkCommandBuffer cbs[3];
    auto cai = make<VkCommandBufferAllocateInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
    cai.commandPool = o.commands, cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, cai.commandBufferCount = 3;
    check(fn.AllocateCommandBuffers(dev, &cai, cbs), "vkAllocateCommandBuffers");
    auto fci = make<VkFenceCreateInfo>(VK_STRUCTURE_TYPE_FENCE_CREATE_INFO);
    check(fn.CreateFence(dev, &fci, nullptr, &o.fence), "vkCreateFence");
    auto qci = make<VkQueryPoolCreateInfo>(VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO);
    qci.queryType = VK_QUERY_TYPE_TIMESTAMP, qci.queryCount = 3;
    check(fn.CreateQueryPool(dev, &qci, nullptr, &o.queries), "vkCreateQueryPool");

    PushConstants push;
    push.count = int32_t(kValues);
    auto mb = make<VkMemoryBarrier>(VK_STRUCTURE_TYPE_MEMORY_BARRIER);
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    auto compute_barrier = [&](VkCommandBuffer cb) {
        fn.CmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, nullptr, 0,
                              nullptr);
    };
    auto dispatch = [&](VkCommandBuffer cb) {
        fn.CmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
        fn.CmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, runtime.kernels().layout(), 0, 1, &set, 0, nullptr);
        fn.CmdPushConstants(cb, runtime.kernels().layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(PushConstants), &push);
        fn.CmdDispatch(cb, 1, 1, 1);
    };
    auto bi = make<VkCommandBufferBeginInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO);
    // cbs[0]: N dispatches each followed by a barrier, then N back to back; timestamps around both.
    check(fn.BeginCommandBuffer(cbs[0], &bi), "vkBeginCommandBuffer");
    fn.CmdResetQueryPool(cbs[0], o.queries, 0, 3);
    compute_barrier(cbs[0]);
    fn.CmdWriteTimestamp(cbs[0], VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, o.queries, 0);
    for (int i = 0; i < dispatches; ++i) dispatch(cbs[0]), compute_barrier(cbs[0]);
    fn.CmdWriteTimestamp(cbs[0], VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, o.queries, 1);
    for (int i = 0; i < dispatches; ++i) dispatch(cbs[0]);  // same output, no ordering needed: every write is equal
    fn.CmdWriteTimestamp(cbs[0], VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, o.queries, 2);
    check(fn.EndCommandBuffer(cbs[0]), "vkEndCommandBuffer");
    // cbs[1]: empty; cbs[2]: one dispatch.
    check(fn.BeginCommandBuffer(cbs[1], &bi), "vkBeginCommandBuffer");
    check(fn.EndCommandBuffer(cbs[1]), "vkEndCommandBuffer");
    check(fn.BeginCommandBuffer(cbs[2], &bi), "vkBeginCommandBuffer");
    dispatch(cbs[2]);
    check(fn.EndCommandBuffer(cbs[2]), "vkEndCommandBuffer");

    auto submit_wait = [&](VkCommandBuffer cb) {
        check(fn.ResetFences(dev, 1, &o.fence), "vkResetFences");
        auto si = make<VkSubmitInfo>(VK_STRUCTURE_TYPE_SUBMIT_INFO);
        si.commandBufferCount = 1, si.pCommandBuffers = &cb;
        auto t0 = std::chrono::steady_clock::now();
        check(fn.QueueSubmit(device.queue(), 1, &si, o.fence), "vkQueueSubmit (dispatch probe)");
        device.wait(o.fence, 60'000'000'000ull, "the dispatch probe");
        return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    };
    const uint64_t mask = f.timestamp_valid_bits >= 64 ? ~0ull : (1ull << f.timestamp_valid_bits) - 1;
    std::vector<double> with, without, empty, one;
    submit_wait(cbs[0]);  // warm-up
    for (int r = 0; r < repeats; ++r) {
        submit_wait(cbs[0]);
        uint64_t ts[3];
        check(fn.GetQueryPoolResults(dev, o.queries, 0, 3, sizeof ts, ts, sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
              "vkGetQueryPoolResults");
        auto ns = [&](int a) { return double(((ts[a + 1] & mask) - (ts[a] & mask)) & mask) * f.timestamp_period_ns; };
        with.push_back(ns(0) / dispatches);
        without.push_back(ns(1) / dispatches);
    }
    for (int r = 0; r < std::max(repeats, 50); ++r) empty.push_back(submit_wait(cbs[1]));
    for (int r = 0; r < std::max(repeats, 50); ++r) one.push_back(submit_wait(cbs[2]));
    DispatchOverhead out;
    out.dispatches = dispatches;
    out.with_barrier_ns = median(with);
    out.without_barrier_ns = median(without);
    out.empty_submit_us = median(empty);
    out.one_dispatch_submit_us = median(one);
    return out;
}

}  // namespace posenet::engine::vk
