// What executors can share: the device, the pipeline cache and the compiled kernels. One runtime per
// process serves any number of networks (tests share one; each executor makes its own by default).
#pragma once

#include <filesystem>
#include <memory>

#include "engine/vulkan/device.h"
#include "engine/vulkan/kernels.h"
#include "engine/vulkan/pipeline_cache.h"

namespace posenet::engine::vk {

struct RuntimeOptions {
    int device_index = -1;            // -1: $POSENET_VULKAN_DEVICE, else the best device (discrete first)
    bool enable_validation = false;   // also on with $POSENET_VULKAN_VALIDATION=1
    // Folder of the on-disk pipeline cache (one file per device and driver); empty: in memory only.
    std::filesystem::path pipeline_cache_dir;
    LogCallback log;                  // empty: messages are dropped
};

class Runtime {
public:
    explicit Runtime(const RuntimeOptions& options)
        : device_(std::make_unique<Device>(DeviceOptions{options.device_index, options.enable_validation, options.log})),
          cache_(std::make_unique<PipelineCache>(*device_, options.pipeline_cache_dir)),
          kernels_(std::make_unique<KernelLibrary>(*device_, *cache_)) {}
    ~Runtime() {
        kernels_.reset();  // pipelines first, then the cache saves, then the device goes
        cache_.reset();
    }
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    Device& device() { return *device_; }
    PipelineCache& pipeline_cache() { return *cache_; }
    KernelLibrary& kernels() { return *kernels_; }

private:
    std::unique_ptr<Device> device_;
    std::unique_ptr<PipelineCache> cache_;
    std::unique_ptr<KernelLibrary> kernels_;
};

}  // namespace posenet::engine::vk
