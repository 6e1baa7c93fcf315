// Measures what a dispatch costs on this device before any arithmetic, so benchmarks can show the
// floor under a network of many small layers (uVkCompute's dispatch-overhead benchmark, in spirit).
// The probe dispatches the smallest kernel we have (`add` over 64 values: one workgroup) many times
// in one command buffer and reads timestamps around the runs.
#pragma once

#include <cstdint>

#include "engine/vulkan/runtime.h"

namespace posenet::engine::vk {

struct DispatchOverhead {
    int dispatches = 0;            // per measured sequence
    double with_barrier_ns = 0;    // GPU time per dispatch when each is followed by a compute->compute barrier
    double without_barrier_ns = 0; // GPU time per dispatch with no barrier in between (back-to-back)
    double empty_submit_us = 0;    // host: vkQueueSubmit of an empty command buffer + fence wait, median
    double one_dispatch_submit_us = 0;  // host: the same with one tiny dispatch in it, median
};

// Throws VulkanError when the device has no timestamps. `repeats` command-buffer runs; medians.
DispatchOverhead measure_dispatch_overhead(Runtime& runtime, int dispatches = 200, int repeats = 20);

}  // namespace posenet::engine::vk
