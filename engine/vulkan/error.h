// Exceptions of the Vulkan backend. Every VkResult is checked; a failure becomes one of these, with
// a message naming the call or object that failed, never an abort or a hang.
#pragma once

#include <stdexcept>
#include <string>

#include "engine/vulkan/loader.h"
#include "posenet/errors.h"

namespace posenet::engine::vk {

struct VulkanError : posenet::DeviceError {
    VulkanError(const std::string& what, VkResult r = VK_ERROR_UNKNOWN) : posenet::DeviceError(what), result(r) {}
    VkResult result;
};
// No loader, no device, or no device that can run compute: the caller may fall back to the CPU.
struct VulkanUnavailable : VulkanError { using VulkanError::VulkanError; };
struct OutOfDeviceMemory : VulkanError { using VulkanError::VulkanError; };
struct DeviceLost : VulkanError { using VulkanError::VulkanError; };

const char* result_name(VkResult r);

// Throws the matching exception when r is not VK_SUCCESS: "<what> failed: VK_ERROR_...".
void check(VkResult r, const char* what);
inline void check(VkResult r, const std::string& what) {
    if (r != VK_SUCCESS) check(r, what.c_str());
}

}  // namespace posenet::engine::vk
