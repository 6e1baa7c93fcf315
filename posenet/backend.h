// Chooses and starts the executor for a detector: Vulkan where asked for or where a hardware device
// exists, else the CPU.
#pragma once

#include <memory>
#include <vector>

#include "engine/executor.h"
#include "engine/vulkan/instance.h"

namespace posenet {

struct DetectorOptions;

// Backend::Auto picks the CPU executor, not Vulkan, when the device Vulkan would pick by itself
// (discrete > integrated > virtual > cpu, Vulkan 1.1 with a compute queue; no --device and no
// $POSENET_VULKAN_DEVICE) is a CPU-type device, i.e. a software rasterizer such as Mesa's lavapipe:
// there our GPU-shaped kernels run ~25x slower than the CPU executor. False when the list is empty
// (Vulkan then fails to start and Auto falls back to the CPU anyway).
bool auto_prefers_cpu(const std::vector<engine::vk::DeviceInfo>& devices);

std::unique_ptr<engine::Executor> make_executor(const engine::Network& network, const DetectorOptions& options);

}  // namespace posenet
