// All filters and biases of a network in one device-local buffer, uploaded once. Each layer's
// filter and bias start at an offset the device can bind. Layouts are the kernels' (today the
// network's own: HWIO is the [K][N] matrix the conv kernels read, [kh][kw][c*mult] suits depthwise);
// pack_filter() is where a kernel-preferred layout would be produced. Each group of 1x1 convs that
// plans merge into one GEMM (pointwise_groups in lowering.h) also has its filters side by side,
// [ci][sum of co], and its biases concatenated (zeros for a member without one).
#pragma once

#include <cstdint>
#include <map>
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
    // The packed filter and bias of the merged group whose first member is `first_layer`; nullptr
    // when there is none.
    struct Merged {
        std::vector<int> layers;
        BufferRange filter, bias;  // bias bytes 0: no member has a bias
    };
    const Merged* merged(int first_layer) const {
        auto it = merged_.find(first_layer);
        return it == merged_.end() ? nullptr : &it->second;
    }

private:
    Buffer buffer_;
    std::vector<BufferRange> filters_, biases_;
    std::map<int, Merged> merged_;
};

}  // namespace posenet::engine::vk
