#include "posenet/backend.h"

#include "engine/cpu_executor.h"
#include "posenet/detector.h"

namespace posenet {

std::unique_ptr<engine::Executor> make_executor(const engine::Network& network, const DetectorOptions& options) {
    if (options.backend == Backend::Vulkan) throw ConfigError("backend: the Vulkan backend is not built in yet");
    return std::make_unique<engine::CpuExecutor>(network);
}

}  // namespace posenet
