// Chooses and starts the executor for a detector: Vulkan where asked for or available, else the CPU.
#pragma once

#include <memory>

#include "engine/executor.h"

namespace posenet {

struct DetectorOptions;

std::unique_ptr<engine::Executor> make_executor(const engine::Network& network, const DetectorOptions& options);

}  // namespace posenet
