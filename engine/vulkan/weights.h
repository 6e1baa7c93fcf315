// All filters and biases of a network in one device-local buffer, uploaded once. Each layer's
// filter and bias start at an offset the device can bind. Layouts are the kernels' (today the
// network's own: HWIO is the [K][N] matrix the conv kernels read, [kh][kw][c*mult] suits depthwise);
// pack_filter() is where a kernel-preferred layout would be produced.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/network.h"
#include "engine/vulkan/buffer.h"

namespace posenet::engine::vk {

struct BufferRange {
    uint64_t offset = 0, bytes = 0;  // bytes 0: the layer has none
};

class WeightStore {
public:
    WeightStore(Device& device, const Network& net);
    VkBuffer buffer() const { return buffer_.handle(); }
    uint64_t bytes() const { return buffer_.size(); }
    BufferRange filter(size_t layer) const { return filters_.at(layer); }
    BufferRange bias(size_t layer) const { return biases_.at(layer); }

private:
    Buffer buffer_;
    std::vector<BufferRange> filters_, biases_;
};

}  // namespace posenet::engine::vk
