// The Vulkan instance: loader, optional validation layer with a debug messenger that records every
// warning and error, and the list of physical devices.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/vulkan/loader.h"
#include "posenet/config.h"  // LogCallback

namespace posenet::engine::vk {

// One physical device as listed to users (posenet devices, --device N).
struct DeviceInfo {
    int index = 0;                  // position in vkEnumeratePhysicalDevices order
    std::string name;               // e.g. "NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)"
    std::string type;               // discrete, integrated, virtual, cpu, other
    std::string driver;             // driver name and info, e.g. "llvmpipe Mesa 22.3.6 (LLVM 15.0.6)"
    uint32_t api_version = 0, driver_version = 0, vendor_id = 0, device_id = 0;
    uint64_t device_local_bytes = 0;  // largest device-local heap
    bool has_compute_queue = false;
};

// True when VK_LAYER_KHRONOS_validation is installed (false, not an exception, without a loader).
bool validation_layer_available();
// True when $POSENET_VULKAN_VALIDATION is set to something other than "" or "0".
bool validation_requested_by_env();

// Called with every validation message of every instance in the process, on the thread the layer
// reports from, besides each instance's own record and log; nullptr (the default) for none. The
// test suite fails the running test case with it (tests/test_main.cpp).
using ValidationObserver = void (*)(const std::string& message);
void set_validation_observer(ValidationObserver observer);

class Instance {
public:
    // Throws VulkanUnavailable without a loader, VulkanError when validation is asked for but the
    // layer is missing. Validation messages are kept (validation_messages()) and passed to `log`.
    explicit Instance(bool enable_validation, LogCallback log = {});
    ~Instance();
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    Functions& fn() { return fn_; }
    VkInstance handle() const { return instance_; }
    uint32_t api_version() const { return api_version_; }
    bool validation_enabled() const { return validation_; }

    std::vector<VkPhysicalDevice> physical_devices() const;
    DeviceInfo describe(VkPhysicalDevice pd, int index) const;
    std::vector<DeviceInfo> devices() const;

    // Warnings and errors reported by the validation layer (and the loader) since the last clear.
    std::vector<std::string> validation_messages() const;
    void clear_validation_messages();

    struct MessageLog {
        mutable std::mutex mutex;
        std::vector<std::string> messages;
        LogCallback log;
    };

private:
    std::unique_ptr<Library> library_;
    Functions fn_;
    VkInstance instance_ = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
    uint32_t api_version_ = VK_API_VERSION_1_1;
    bool validation_ = false;
    std::unique_ptr<MessageLog> log_;  // stable address for the messenger callback
};

// Lists every physical device (creates a short-lived instance). Throws VulkanUnavailable without a loader.
std::vector<DeviceInfo> list_devices();

}  // namespace posenet::engine::vk
