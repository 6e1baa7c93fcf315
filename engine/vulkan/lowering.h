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
};

// Throws VulkanError when the layer cannot run on this device (e.g. a tensor too large to bind).
Dispatch lower_layer(const Layer& layer, const LayerGeometry& g, const DeviceFeatures& features);

}  // namespace posenet::engine::vk
