#include "engine/vulkan/loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include "engine/environment.h"
#include "engine/vulkan/error.h"

namespace posenet::engine::vk {

Library::Library() {
    std::string tried;
    const std::string loader = environment::vulkan_loader();
    const char* env = loader.c_str();
#if defined(__APPLE__)
    const char* names[] = {"libvulkan.1.dylib", "libvulkan.dylib", "libMoltenVK.dylib"};
#else
    const char* names[] = {"libvulkan.so.1", "libvulkan.so"};
#endif
    std::string last_error;
    if (env && *env) {
        handle_ = dlopen(env, RTLD_NOW | RTLD_LOCAL);
        tried = env;
        if (!handle_) last_error = dlerror();
    } else {
        for (const char* n : names) {
            handle_ = dlopen(n, RTLD_NOW | RTLD_LOCAL);
            if (handle_) break;
            tried += (tried.empty() ? "" : ", ") + std::string(n);
            last_error = dlerror();
        }
    }
    if (!handle_)
        throw VulkanUnavailable("Vulkan: the Vulkan loader could not be loaded (tried " + tried + "): " + last_error);
    fns_.GetInstanceProcAddr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(handle_, "vkGetInstanceProcAddr"));
    if (!fns_.GetInstanceProcAddr) {
        dlclose(handle_);
        throw VulkanUnavailable("Vulkan: " + tried + " has no vkGetInstanceProcAddr");
    }
#define POSENET_VK_LOAD(name) \
    fns_.name = reinterpret_cast<PFN_vk##name>(fns_.GetInstanceProcAddr(VK_NULL_HANDLE, "vk" #name));
    POSENET_VK_GLOBAL_FUNCTIONS(POSENET_VK_LOAD)
#undef POSENET_VK_LOAD
    if (!fns_.CreateInstance || !fns_.EnumerateInstanceExtensionProperties || !fns_.EnumerateInstanceLayerProperties) {
        dlclose(handle_);
        throw VulkanUnavailable("Vulkan: the loader " + tried + " lacks the global entry points");
    }
}

// The loader stays mapped: drivers keep threads and exit handlers that outlive a dlclose.
Library::~Library() = default;

void load_instance_functions(Functions& f, VkInstance instance, bool debug_utils) {
#define POSENET_VK_LOAD(name)                                                                        \
    f.name = reinterpret_cast<PFN_vk##name>(f.GetInstanceProcAddr(instance, "vk" #name));            \
    if (!f.name) throw VulkanUnavailable("Vulkan: the instance has no vk" #name " (Vulkan 1.1 needed)");
    POSENET_VK_INSTANCE_FUNCTIONS(POSENET_VK_LOAD)
    if (debug_utils) {
        POSENET_VK_DEBUG_FUNCTIONS(POSENET_VK_LOAD)
    }
#undef POSENET_VK_LOAD
}

void load_device_functions(Functions& f, VkDevice device) {
#define POSENET_VK_LOAD(name)                                                             \
    f.name = reinterpret_cast<PFN_vk##name>(f.GetDeviceProcAddr(device, "vk" #name));     \
    if (!f.name) throw VulkanUnavailable("Vulkan: the device has no vk" #name);
    POSENET_VK_DEVICE_FUNCTIONS(POSENET_VK_LOAD)
#undef POSENET_VK_LOAD
}

}  // namespace posenet::engine::vk
