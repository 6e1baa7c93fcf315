// Chooses and starts the executor for a detector (posenet::DetectorOptions): Vulkan where asked for
// or where a hardware device exists, else the CPU.
#pragma once

#include <memory>
#include <vector>

#include "engine/executor.h"
#include "engine/vulkan/instance.h"
#include "posenet/config.h"

namespace posenet::engine {

// Backend::Auto picks the CPU executor, not Vulkan, when the device Vulkan would pick by itself
// (vk::best_device_index; no device named in the options or $POSENET_VULKAN_DEVICE) is a CPU-type
// device, i.e. a software rasterizer such as Mesa's lavapipe: there our GPU-shaped kernels run ~25x
// slower than the CPU executor. False when the list is empty (Vulkan then fails to start and Auto
// falls back to the CPU anyway).
bool auto_prefers_cpu(const std::vector<vk::DeviceInfo>& devices);

// Throws ConfigError for bad options, DeviceError where the chosen backend cannot start (a device
// named explicitly that does not exist is never replaced by the CPU).
std::unique_ptr<Executor> make_executor(const Network& network, const DetectorOptions& options);

}  // namespace posenet::engine
