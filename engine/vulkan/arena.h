// Places every activation tensor in one buffer: tensors whose lifetimes overlap get disjoint ranges,
// others may share memory. Greedy by size (largest first, lowest offset that fits), as in TFLite's
// arena planner; good enough for chains like MobileNet, where it needs about two tensors' worth.
#pragma once

#include <cstdint>
#include <vector>

namespace posenet::engine::vk {

struct TensorLifetime {
    uint64_t bytes = 0;  // 0: not placed
    int first = 0;       // step that writes it (-1: before the first layer, e.g. the input copy)
    int last = 0;        // last step that reads it (inclusive)
};

struct ArenaLayout {
    std::vector<uint64_t> offsets;  // by tensor, aligned to `alignment`
    uint64_t size = 0;
};

ArenaLayout plan_arena(const std::vector<TensorLifetime>& tensors, uint64_t alignment);

}  // namespace posenet::engine::vk
