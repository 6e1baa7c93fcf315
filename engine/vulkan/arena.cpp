#include "engine/vulkan/arena.h"

#include <algorithm>
#include <numeric>

namespace posenet::engine::vk {

ArenaLayout plan_arena(const std::vector<TensorLifetime>& t, uint64_t alignment) {
    auto align = [&](uint64_t v) { return (v + alignment - 1) / alignment * alignment; };
    ArenaLayout out;
    out.offsets.assign(t.size(), 0);
    std::vector<size_t> order(t.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return t[a].bytes > t[b].bytes; });
    std::vector<size_t> placed;
    for (size_t i : order) {
        if (t[i].bytes == 0) continue;
        // Ranges of placed tensors alive at the same time, by offset.
        std::vector<std::pair<uint64_t, uint64_t>> busy;
        for (size_t j : placed)
            if (t[j].first <= t[i].last && t[i].first <= t[j].last) busy.push_back({out.offsets[j], out.offsets[j] + align(t[j].bytes)});
        std::sort(busy.begin(), busy.end());
        uint64_t offset = 0, need = align(t[i].bytes);
        for (auto [lo, hi] : busy) {
            if (lo >= offset + need) break;
            offset = std::max(offset, hi);
        }
        out.offsets[i] = offset;
        out.size = std::max(out.size, offset + need);
        placed.push_back(i);
    }
    return out;
}

}  // namespace posenet::engine::vk
