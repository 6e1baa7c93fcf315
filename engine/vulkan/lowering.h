// Maps one network layer (at one input size) to one kernel dispatch: which kernel, its
// specialization constants (including tile sizes), push constants and workgroup counts.
#pragma once

#include <array>
#include <cstdint>

#include "engine/network.h"
#include "engine/vulkan/device.h"
#include "engine/vulkan/kernels.h"

namespace posenet::engine::vk {

struct Dispatch {
    Kernel kernel = Kernel::Add;
    SpecValues spec;
    PushConstants push;
    std::array<uint32_t, 3> groups{1, 1, 1};
    bool uses_input2 = false, uses_filter = false, uses_bias = false;
    // Split-K (GEMM convs with few output tiles and a long K; see conv_gemm.glsl): slices > 1 means
    // this dispatch writes `slices` partial sums per output value to the plan's scratch (scratch_bytes
    // of it) instead of the output, and `reduce` (splitk_reduce.comp) sums them into the output with
    // bias, residual and activation. uses_input2 and uses_bias then describe the reduce dispatch.
    struct Reduce {
        SpecValues spec;
        PushConstants push;
        std::array<uint32_t, 3> groups{1, 1, 1};
    };
    uint32_t slices = 1;
    uint64_t scratch_bytes = 0;
    Reduce reduce;
};

// Throws VulkanError when the layer cannot run on this device (e.g. a tensor too large to bind).
Dispatch lower_layer(const Layer& layer, const LayerGeometry& g, const DeviceFeatures& features);

}  // namespace posenet::engine::vk
