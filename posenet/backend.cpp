#include "posenet/backend.h"

#include <cstdio>

#include "engine/cpu_executor.h"
#include "engine/vulkan/executor.h"
#include "posenet/detector.h"

namespace posenet {

namespace {

class VulkanBackend final : public engine::Executor {
public:
    VulkanBackend(const engine::Network& network, int device) : gpu_(network, options(device)) {}
    engine::NetworkOutputs run(std::span<const float> input, int height, int width, int batch) override {
        return gpu_.run(input, height, width, batch);
    }
    const char* backend_name() const override { return "vulkan"; }
    bool run_image(const engine::ImageInput& image, int height, int width, engine::NetworkOutputs& out) override {
        if (!gpu_.supports_image_input()) return false;  // needs shaderFloat64 for TF.js's double bilinear
        out = gpu_.run_image(image, height, width);
        return true;
    }
    engine::VulkanExecutor& executor() { return gpu_; }

private:
    static engine::VulkanOptions options(int device) {
        engine::VulkanOptions o;
        o.device_index = device;
        return o;
    }
    engine::VulkanExecutor gpu_;
};

}  // namespace

std::unique_ptr<engine::Executor> make_executor(const engine::Network& network, const DetectorOptions& options) {
    if (options.backend == Backend::Cpu) return std::make_unique<engine::CpuExecutor>(network);
    try {
        return std::make_unique<VulkanBackend>(network, options.vulkan_device);
    } catch (const engine::vk::VulkanUnavailable& e) {
        if (options.backend == Backend::Vulkan || !options.cpu_fallback) throw;
        std::fprintf(stderr, "posenet: no Vulkan device (%s); using the CPU executor\n", e.what());
        return std::make_unique<engine::CpuExecutor>(network);
    }
}

}  // namespace posenet
