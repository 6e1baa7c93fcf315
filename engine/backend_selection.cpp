#include "engine/backend_selection.h"

#include <string>

#include "engine/cpu_executor.h"
#include "engine/environment.h"
#include "engine/vulkan/device.h"
#include "engine/vulkan/executor.h"

namespace posenet::engine {

namespace {

class VulkanBackend final : public Executor {
public:
    VulkanBackend(const Network& network, int device, const DetectorOptions& options) : gpu_(network, vulkan_options(device, options)) {}
    NetworkOutputs run(std::span<const float> input, int height, int width, int batch) override {
        return gpu_.run(input, height, width, batch);
    }
    const char* backend_name() const override { return "vulkan"; }
    std::string device_name() const override { return gpu_.device_info().name; }
    int device_index() const override { return gpu_.device_info().index; }
    std::unique_ptr<Lane> make_lane(LaneMode mode) override { return gpu_.make_lane(mode); }
    MemoryStats memory() const override { return gpu_.memory(); }

private:
    static VulkanOptions vulkan_options(int device, const DetectorOptions& options) {
        VulkanOptions o;
        o.device_index = device;
        o.precision = options.precision;
        o.pipeline_cache_dir = options.pipeline_cache_dir;
        o.log = options.log;
        o.timestamps = false;  // per-step timestamps cost GPU time; keep only the total
        return o;
    }
    VulkanExecutor gpu_;
};

void log(const DetectorOptions& options, LogLevel level, const std::string& message) {
    if (options.log) options.log(level, message);
}

}  // namespace

bool auto_prefers_cpu(const std::vector<vk::DeviceInfo>& devices) {
    const int best = vk::best_device_index(devices);
    for (const auto& d : devices)
        if (d.index == best) return d.type == "cpu";
    return false;
}

std::unique_ptr<Executor> make_executor(const Network& network, const DetectorOptions& options) {
    validate(options);
    const bool fp16 = options.precision == Precision::Float16;
    // A device named in the options, else in the environment; -1: none.
    int device = options.device;
    if (device < 0) device = environment::vulkan_device().value_or(-1);
    const bool named = device >= 0;
    auto cpu = [&](const std::string& why) -> std::unique_ptr<Executor> {
        if (fp16) throw DeviceError("precision float16 runs on Vulkan tensor cores only, and " + why);
        return std::make_unique<CpuExecutor>(network);
    };
    if (options.backend == Backend::Cpu) {
        if (options.device >= 0)
            throw ConfigError("device " + std::to_string(options.device) + ": a device index needs the vulkan or auto backend, not cpu");
        return cpu("the backend is the CPU executor");
    }
    if (options.backend == Backend::Auto && !named) {
        try {
            if (auto_prefers_cpu(vk::list_devices()))
                return cpu("the only Vulkan device is a software one (auto picks the CPU executor; the vulkan backend forces it)");
        } catch (const vk::VulkanError&) {
            // No loader or no instance: starting Vulkan below fails the same way and falls back.
        }
    }
    try {
        return std::make_unique<VulkanBackend>(network, device, options);
    } catch (const vk::VulkanUnavailable& e) {
        if (options.backend == Backend::Vulkan || named || !options.cpu_fallback || fp16) throw;
        log(options, LogLevel::Warning, std::string("no Vulkan device (") + e.what() + "); using the CPU executor");
        return std::make_unique<CpuExecutor>(network);
    }
}

}  // namespace posenet::engine
