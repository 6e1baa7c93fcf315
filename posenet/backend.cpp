#include "posenet/backend.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "engine/cpu_executor.h"
#include "engine/vulkan/executor.h"
#include "posenet/detector.h"

namespace posenet {

namespace {

class VulkanBackend final : public engine::Executor {
public:
    VulkanBackend(const engine::Network& network, int device, engine::Precision precision) : gpu_(network, options(device, precision)) {}
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
    static engine::VulkanOptions options(int device, engine::Precision precision) {
        engine::VulkanOptions o;
        o.device_index = device;
        o.precision = precision;
        o.timestamps = false;  // per-step timestamps cost ~2 us of GPU time each; keep only the total
        return o;
    }
    engine::VulkanExecutor gpu_;
};

// The order engine/vulkan/device.cpp picks a device in when none is named.
int type_rank(const std::string& type) {
    if (type == "discrete") return 0;
    if (type == "integrated") return 1;
    if (type == "virtual") return 2;
    if (type == "cpu") return 3;
    return 4;
}

bool device_named_explicitly(const DetectorOptions& options) {
    const char* env = std::getenv("POSENET_VULKAN_DEVICE");
    return options.vulkan_device >= 0 || (env && *env);
}

}  // namespace

bool auto_prefers_cpu(const std::vector<engine::vk::DeviceInfo>& devices) {
    const engine::vk::DeviceInfo* best = nullptr;
    for (const auto& d : devices) {
        if (d.api_version < VK_API_VERSION_1_1 || !d.has_compute_queue) continue;
        if (!best || type_rank(d.type) < type_rank(best->type)) best = &d;
    }
    return best && best->type == "cpu";
}

std::unique_ptr<engine::Executor> make_executor(const engine::Network& network, const DetectorOptions& options) {
    const bool fp16 = options.precision == engine::Precision::Float16;
    auto cpu = [&](const char* why) -> std::unique_ptr<engine::Executor> {
        if (fp16) throw std::invalid_argument(std::string("fp16 precision runs on Vulkan tensor cores only, and ") + why);
        return std::make_unique<engine::CpuExecutor>(network);
    };
    if (options.backend == Backend::Cpu) return cpu("the backend is the CPU executor");
    if (options.backend == Backend::Auto && !device_named_explicitly(options)) {
        try {
            if (auto_prefers_cpu(engine::list_vulkan_devices()))
                return cpu("the only Vulkan device is a software one (auto picks the CPU executor; --backend vulkan forces it)");
        } catch (const engine::vk::VulkanError&) {
            // No loader or no instance: starting Vulkan below fails the same way and falls back.
        }
    }
    try {
        return std::make_unique<VulkanBackend>(network, options.vulkan_device, options.precision);
    } catch (const engine::vk::VulkanUnavailable& e) {
        if (options.backend == Backend::Vulkan || !options.cpu_fallback || fp16) throw;
        std::fprintf(stderr, "posenet: no Vulkan device (%s); using the CPU executor\n", e.what());
        return std::make_unique<engine::CpuExecutor>(network);
    }
}

}  // namespace posenet
