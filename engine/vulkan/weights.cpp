#include "engine/vulkan/weights.h"

#include <algorithm>
#include <cstring>

#include "engine/vulkan/error.h"
#include "engine/vulkan/lowering.h"

namespace posenet::engine::vk {

namespace {

// The filter as the layer's kernel reads it (see the header).
std::span<const float> pack_filter(const Network& net, const Layer& l) { return net.filter(l); }

}  // namespace

WeightStore::WeightStore(Device& device, const Network& net) {
    const uint64_t align = std::max<uint64_t>(device.features().min_storage_buffer_offset_alignment, 256);
    auto place = [&](uint64_t& cursor, uint64_t count) {
        BufferRange r{cursor, count * sizeof(float)};
        cursor = (cursor + r.bytes + align - 1) / align * align;
        return r;
    };
    uint64_t total = 0;
    for (const Layer& l : net.layers) {
        filters_.push_back(place(total, l.weight_count));
        biases_.push_back(place(total, l.bias_count));
        for (const BufferRange& r : {filters_.back(), biases_.back()})
            if (r.bytes > device.features().max_storage_buffer_range)
                throw VulkanError("Vulkan: layer '" + l.name + "' has more weights than one binding may hold on this device");
    }
    const auto groups = pointwise_groups(net);
    for (const auto& g : groups) {
        uint64_t co = 0;
        bool bias = false;
        for (int i : g) co += net.layers[i].out_channels, bias = bias || net.layers[i].bias_count > 0;
        Merged m{g, place(total, uint64_t(net.layers[g[0]].in_channels) * co), place(total, bias ? co : 0)};
        if (m.filter.bytes > device.features().max_storage_buffer_range) continue;  // too large to bind: the plan runs them apart
        merged_[g[0]] = m;
    }
    total = std::max<uint64_t>(total, 4);
    buffer_ = Buffer(device, total, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, MemoryUse::DeviceLocal,
                     "network weights");
    Buffer staging(device, total, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, MemoryUse::Upload, "weight upload staging");
    auto* dst = static_cast<char*>(staging.mapped());
    std::memset(dst, 0, total);
    for (size_t i = 0; i < net.layers.size(); ++i) {
        const Layer& l = net.layers[i];
        auto f = pack_filter(net, l);
        auto b = net.bias(l);
        if (!f.empty()) std::memcpy(dst + filters_[i].offset, f.data(), f.size_bytes());
        if (!b.empty()) std::memcpy(dst + biases_[i].offset, b.data(), b.size_bytes());
    }
    for (const auto& [first, m] : merged_) {
        // [ci][co_0 | co_1 | ...]: row k of each member's 1x1 filter (HWIO [1][1][ci][co]) in turn.
        const uint64_t ci = uint64_t(net.layers[first].in_channels);
        auto* filter = reinterpret_cast<float*>(dst + m.filter.offset);
        auto* bias = reinterpret_cast<float*>(dst + m.bias.offset);
        uint64_t col = 0, co = m.filter.bytes / sizeof(float) / ci;
        for (int i : m.layers) {
            const Layer& l = net.layers[i];
            auto f = net.filter(l);
            auto b = net.bias(l);
            for (uint64_t k = 0; k < ci; ++k)
                std::memcpy(filter + k * co + col, f.data() + k * uint64_t(l.out_channels), size_t(l.out_channels) * sizeof(float));
            if (m.bias.bytes && !b.empty()) std::memcpy(bias + col, b.data(), b.size_bytes());
            col += uint64_t(l.out_channels);
        }
    }
    staging.flush();
    device.run_once(
        [&](VkCommandBuffer cb) {
            VkBufferCopy copy{0, 0, total};
            device.fn().CmdCopyBuffer(cb, staging.handle(), buffer_.handle(), 1, &copy);
            // Later submissions read the weights in compute shaders.
            auto mb = make<VkMemoryBarrier>(VK_STRUCTURE_TYPE_MEMORY_BARRIER);
            mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
            mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
            device.fn().CmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0,
                                           nullptr, 0, nullptr);
        },
        "weight upload");
}

}  // namespace posenet::engine::vk
