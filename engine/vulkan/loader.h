// Loads the Vulkan loader (libvulkan) at run time instead of linking it, so that a machine without
// Vulkan still runs the CPU backend and gets a clear VulkanUnavailable instead of a failure to start.
#pragma once

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES  // every call goes through the tables below
#endif
#include <vulkan/vulkan.h>

namespace posenet::engine::vk {

#define POSENET_VK_GLOBAL_FUNCTIONS(X) \
    X(CreateInstance)                  \
    X(EnumerateInstanceExtensionProperties) \
    X(EnumerateInstanceLayerProperties) \
    X(EnumerateInstanceVersion)

#define POSENET_VK_INSTANCE_FUNCTIONS(X)      \
    X(DestroyInstance)                        \
    X(EnumeratePhysicalDevices)               \
    X(GetPhysicalDeviceProperties)            \
    X(GetPhysicalDeviceProperties2)           \
    X(GetPhysicalDeviceFeatures2)             \
    X(GetPhysicalDeviceQueueFamilyProperties) \
    X(GetPhysicalDeviceMemoryProperties)      \
    X(EnumerateDeviceExtensionProperties)     \
    X(CreateDevice)                           \
    X(GetDeviceProcAddr)

#define POSENET_VK_DEBUG_FUNCTIONS(X) \
    X(CreateDebugUtilsMessengerEXT)   \
    X(DestroyDebugUtilsMessengerEXT)

#define POSENET_VK_DEVICE_FUNCTIONS(X) \
    X(DestroyDevice)                   \
    X(GetDeviceQueue)                  \
    X(DeviceWaitIdle)                  \
    X(CreateBuffer)                    \
    X(DestroyBuffer)                   \
    X(GetBufferMemoryRequirements)     \
    X(AllocateMemory)                  \
    X(FreeMemory)                      \
    X(BindBufferMemory)                \
    X(MapMemory)                       \
    X(UnmapMemory)                     \
    X(FlushMappedMemoryRanges)         \
    X(InvalidateMappedMemoryRanges)    \
    X(CreateShaderModule)              \
    X(DestroyShaderModule)             \
    X(CreatePipelineCache)             \
    X(DestroyPipelineCache)            \
    X(GetPipelineCacheData)            \
    X(CreateComputePipelines)          \
    X(DestroyPipeline)                 \
    X(CreatePipelineLayout)            \
    X(DestroyPipelineLayout)           \
    X(CreateDescriptorSetLayout)       \
    X(DestroyDescriptorSetLayout)      \
    X(CreateDescriptorPool)            \
    X(DestroyDescriptorPool)           \
    X(AllocateDescriptorSets)          \
    X(UpdateDescriptorSets)            \
    X(CreateCommandPool)               \
    X(DestroyCommandPool)              \
    X(AllocateCommandBuffers)          \
    X(FreeCommandBuffers)              \
    X(BeginCommandBuffer)              \
    X(EndCommandBuffer)                \
    X(CmdBindPipeline)                 \
    X(CmdBindDescriptorSets)           \
    X(CmdPushConstants)                \
    X(CmdDispatch)                     \
    X(CmdPipelineBarrier)              \
    X(CmdCopyBuffer)                   \
    X(CmdFillBuffer)                   \
    X(CmdResetQueryPool)               \
    X(CmdWriteTimestamp)               \
    X(CreateQueryPool)                 \
    X(DestroyQueryPool)                \
    X(GetQueryPoolResults)             \
    X(CreateFence)                     \
    X(DestroyFence)                    \
    X(ResetFences)                     \
    X(WaitForFences)                   \
    X(GetFenceStatus)                  \
    X(QueueSubmit)

// Function pointers, filled in three stages: global (after loading the library), instance, device.
// Members are named without the vk prefix: vk.CreateBuffer(...).
struct Functions {
    PFN_vkGetInstanceProcAddr GetInstanceProcAddr = nullptr;
#define POSENET_VK_MEMBER(name) PFN_vk##name name = nullptr;
    POSENET_VK_GLOBAL_FUNCTIONS(POSENET_VK_MEMBER)
    POSENET_VK_INSTANCE_FUNCTIONS(POSENET_VK_MEMBER)
    POSENET_VK_DEBUG_FUNCTIONS(POSENET_VK_MEMBER)
    POSENET_VK_DEVICE_FUNCTIONS(POSENET_VK_MEMBER)
#undef POSENET_VK_MEMBER
};

// The loaded library; unloads on destruction. $POSENET_VULKAN_LOADER names another file to load
// (tests use a missing one to check the no-Vulkan path).
class Library {
public:
    Library();  // throws VulkanUnavailable naming the library and the dlopen error
    ~Library();
    Library(const Library&) = delete;
    Library& operator=(const Library&) = delete;

    // Global functions resolved; the instance and device stages are filled by load_* below.
    Functions functions() const { return fns_; }

private:
    void* handle_ = nullptr;
    Functions fns_;
};

// A zeroed Vulkan struct with its sType set (brace-init with only sType trips -Wmissing-field-initializers).
template <class T>
inline T make(VkStructureType type) {
    T v{};
    v.sType = type;
    return v;
}

void load_instance_functions(Functions& f, VkInstance instance, bool debug_utils);
void load_device_functions(Functions& f, VkDevice device);

}  // namespace posenet::engine::vk
