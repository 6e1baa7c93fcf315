#include "engine/vulkan/error.h"

namespace posenet::engine::vk {

const char* result_name(VkResult r) {
    switch (r) {
#define POSENET_VK_RESULT(x) case x: return #x;
        POSENET_VK_RESULT(VK_SUCCESS)
        POSENET_VK_RESULT(VK_NOT_READY)
        POSENET_VK_RESULT(VK_TIMEOUT)
        POSENET_VK_RESULT(VK_INCOMPLETE)
        POSENET_VK_RESULT(VK_ERROR_OUT_OF_HOST_MEMORY)
        POSENET_VK_RESULT(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        POSENET_VK_RESULT(VK_ERROR_INITIALIZATION_FAILED)
        POSENET_VK_RESULT(VK_ERROR_DEVICE_LOST)
        POSENET_VK_RESULT(VK_ERROR_MEMORY_MAP_FAILED)
        POSENET_VK_RESULT(VK_ERROR_LAYER_NOT_PRESENT)
        POSENET_VK_RESULT(VK_ERROR_EXTENSION_NOT_PRESENT)
        POSENET_VK_RESULT(VK_ERROR_FEATURE_NOT_PRESENT)
        POSENET_VK_RESULT(VK_ERROR_INCOMPATIBLE_DRIVER)
        POSENET_VK_RESULT(VK_ERROR_TOO_MANY_OBJECTS)
        POSENET_VK_RESULT(VK_ERROR_FORMAT_NOT_SUPPORTED)
        POSENET_VK_RESULT(VK_ERROR_FRAGMENTED_POOL)
        POSENET_VK_RESULT(VK_ERROR_OUT_OF_POOL_MEMORY)
        POSENET_VK_RESULT(VK_ERROR_INVALID_EXTERNAL_HANDLE)
        POSENET_VK_RESULT(VK_ERROR_FRAGMENTATION)
        POSENET_VK_RESULT(VK_ERROR_INVALID_SHADER_NV)
        POSENET_VK_RESULT(VK_PIPELINE_COMPILE_REQUIRED)
        POSENET_VK_RESULT(VK_ERROR_UNKNOWN)
#undef POSENET_VK_RESULT
        default: return "VK_ERROR_(unrecognised)";
    }
}

void check(VkResult r, const char* what) {
    if (r == VK_SUCCESS) return;
    std::string msg = std::string("Vulkan: ") + what + " failed: " + result_name(r) + " (" + std::to_string(int(r)) + ")";
    switch (r) {
        case VK_ERROR_OUT_OF_DEVICE_MEMORY:
            throw OutOfDeviceMemory(msg + " - the device has too little memory for this network/input size", r);
        case VK_ERROR_DEVICE_LOST: throw DeviceLost(msg + " - the GPU reset or the driver gave up on the device", r);
        case VK_ERROR_INCOMPATIBLE_DRIVER:
        case VK_ERROR_INITIALIZATION_FAILED: throw VulkanUnavailable(msg, r);
        default: throw VulkanError(msg, r);
    }
}

}  // namespace posenet::engine::vk
