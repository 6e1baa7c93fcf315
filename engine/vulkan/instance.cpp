#include "engine/vulkan/instance.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/environment.h"
#include "engine/vulkan/error.h"

namespace posenet::engine::vk {

namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

std::atomic<ValidationObserver> g_observer{nullptr};

bool has_extension(const std::vector<VkExtensionProperties>& exts, const char* name) {
    return std::any_of(exts.begin(), exts.end(), [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
}

bool has_layer(const Functions& fn, const char* name) {
    uint32_t n = 0;
    if (fn.EnumerateInstanceLayerProperties(&n, nullptr) != VK_SUCCESS) return false;
    std::vector<VkLayerProperties> layers(n);
    if (fn.EnumerateInstanceLayerProperties(&n, layers.data()) != VK_SUCCESS) return false;
    return std::any_of(layers.begin(), layers.begin() + n, [&](const VkLayerProperties& l) { return std::strcmp(l.layerName, name) == 0; });
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                VkDebugUtilsMessageTypeFlagsEXT, const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                void* user) {
    auto* log = static_cast<Instance::MessageLog*>(user);
    std::string msg = severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error: " : "warning: ";
    msg += data && data->pMessage ? data->pMessage : "(no message)";
    if (log->log)
        log->log(severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? LogLevel::Error : LogLevel::Warning,
                 "vulkan validation: " + msg);
    if (ValidationObserver observer = g_observer.load()) observer(msg);
    std::lock_guard<std::mutex> lock(log->mutex);
    log->messages.push_back(std::move(msg));
    return VK_FALSE;  // never abort the call
}

const char* type_name(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
        default: return "other";
    }
}

}  // namespace

void set_validation_observer(ValidationObserver observer) { g_observer.store(observer); }

bool validation_requested_by_env() { return environment::vulkan_validation(); }

bool validation_layer_available() {
    try {
        Library lib;
        return has_layer(lib.functions(), kValidationLayer);
    } catch (const VulkanError&) {
        return false;
    }
}

Instance::Instance(bool enable_validation, LogCallback log)
    : library_(std::make_unique<Library>()), log_(std::make_unique<MessageLog>()) {
    log_->log = std::move(log);
    fn_ = library_->functions();
    validation_ = enable_validation;
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (fn_.EnumerateInstanceVersion) fn_.EnumerateInstanceVersion(&loader_version);
    if (loader_version < VK_API_VERSION_1_1)
        throw VulkanUnavailable("Vulkan: the loader supports only Vulkan 1.0; 1.1 or newer is needed");
    // Ask for up to 1.3: device features/properties of 1.2 (driver name) are read when the device has them.
    api_version_ = std::min<uint32_t>(loader_version, VK_API_VERSION_1_3);

    uint32_t n = 0;
    check(fn_.EnumerateInstanceExtensionProperties(nullptr, &n, nullptr), "vkEnumerateInstanceExtensionProperties");
    std::vector<VkExtensionProperties> exts(n);
    check(fn_.EnumerateInstanceExtensionProperties(nullptr, &n, exts.data()), "vkEnumerateInstanceExtensionProperties");
    exts.resize(n);

    std::vector<const char*> extensions, layers;
    VkInstanceCreateFlags flags = 0;
    // Lists devices behind portability layers (MoltenVK) too.
    if (has_extension(exts, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    auto features = make<VkValidationFeaturesEXT>(VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT);
    // Synchronization validation catches missing barriers between layers that share arena memory.
    const VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    const void* next = nullptr;
    if (validation_) {
        if (!has_layer(fn_, kValidationLayer))
            throw VulkanError("Vulkan: validation was requested but VK_LAYER_KHRONOS_validation is not installed "
                              "(Debian: vulkan-validationlayers)");
        layers.push_back(kValidationLayer);
        uint32_t ln = 0;
        fn_.EnumerateInstanceExtensionProperties(kValidationLayer, &ln, nullptr);
        std::vector<VkExtensionProperties> layer_exts(ln);
        fn_.EnumerateInstanceExtensionProperties(kValidationLayer, &ln, layer_exts.data());
        layer_exts.resize(ln);
        if (!has_extension(exts, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) && !has_extension(layer_exts, VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
            throw VulkanError("Vulkan: validation was requested but VK_EXT_debug_utils is not available");
        extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
        if (has_extension(layer_exts, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)) {
            extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
            features.enabledValidationFeatureCount = 1;
            features.pEnabledValidationFeatures = enables;
            next = &features;
        }
    }

    auto app = make<VkApplicationInfo>(VK_STRUCTURE_TYPE_APPLICATION_INFO);
    app.pApplicationName = "posenet";
    app.pEngineName = "posenet";
    app.apiVersion = api_version_;
    auto messenger_info = make<VkDebugUtilsMessengerCreateInfoEXT>(VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT);
    messenger_info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    messenger_info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                                 VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    messenger_info.pfnUserCallback = on_debug_message;
    messenger_info.pUserData = log_.get();
    if (validation_) {
        // Chained into instance creation too, so messages from vkCreateInstance itself are caught.
        messenger_info.pNext = next;
        next = &messenger_info;
    }
    auto ci = make<VkInstanceCreateInfo>(VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO);
    ci.pNext = next;
    ci.flags = flags;
    ci.pApplicationInfo = &app;
    ci.enabledLayerCount = uint32_t(layers.size());
    ci.ppEnabledLayerNames = layers.data();
    ci.enabledExtensionCount = uint32_t(extensions.size());
    ci.ppEnabledExtensionNames = extensions.data();
    check(fn_.CreateInstance(&ci, nullptr, &instance_), "vkCreateInstance");
    try {
        load_instance_functions(fn_, instance_, validation_);
        if (validation_) {
            messenger_info.pNext = nullptr;
            check(fn_.CreateDebugUtilsMessengerEXT(instance_, &messenger_info, nullptr, &messenger_), "vkCreateDebugUtilsMessengerEXT");
        }
    } catch (...) {
        if (fn_.DestroyInstance) fn_.DestroyInstance(instance_, nullptr);
        throw;
    }
}

Instance::~Instance() {
    if (messenger_ && fn_.DestroyDebugUtilsMessengerEXT) fn_.DestroyDebugUtilsMessengerEXT(instance_, messenger_, nullptr);
    if (instance_) fn_.DestroyInstance(instance_, nullptr);
}

std::vector<VkPhysicalDevice> Instance::physical_devices() const {
    uint32_t n = 0;
    check(fn_.EnumeratePhysicalDevices(instance_, &n, nullptr), "vkEnumeratePhysicalDevices");
    std::vector<VkPhysicalDevice> pds(n);
    VkResult r = fn_.EnumeratePhysicalDevices(instance_, &n, pds.data());
    if (r != VK_INCOMPLETE) check(r, "vkEnumeratePhysicalDevices");
    pds.resize(n);
    return pds;
}

DeviceInfo Instance::describe(VkPhysicalDevice pd, int index) const {
    DeviceInfo info;
    info.index = index;
    VkPhysicalDeviceProperties props;
    fn_.GetPhysicalDeviceProperties(pd, &props);
    info.name = props.deviceName;
    info.type = type_name(props.deviceType);
    info.api_version = props.apiVersion;
    info.driver_version = props.driverVersion;
    info.vendor_id = props.vendorID;
    info.device_id = props.deviceID;
    if (props.apiVersion >= VK_API_VERSION_1_2 && api_version_ >= VK_API_VERSION_1_2) {
        auto driver = make<VkPhysicalDeviceDriverProperties>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES);
        auto p2 = make<VkPhysicalDeviceProperties2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2);
        p2.pNext = &driver;
        fn_.GetPhysicalDeviceProperties2(pd, &p2);
        info.driver = std::string(driver.driverName) + " " + driver.driverInfo;
    } else {
        info.driver = "driver version " + std::to_string(props.driverVersion);
    }
    VkPhysicalDeviceMemoryProperties mem;
    fn_.GetPhysicalDeviceMemoryProperties(pd, &mem);
    for (uint32_t i = 0; i < mem.memoryHeapCount; ++i)
        if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
            info.device_local_bytes = std::max<uint64_t>(info.device_local_bytes, mem.memoryHeaps[i].size);
    uint32_t qn = 0;
    fn_.GetPhysicalDeviceQueueFamilyProperties(pd, &qn, nullptr);
    std::vector<VkQueueFamilyProperties> qf(qn);
    fn_.GetPhysicalDeviceQueueFamilyProperties(pd, &qn, qf.data());
    for (const auto& q : qf)
        if (q.queueFlags & VK_QUEUE_COMPUTE_BIT) info.has_compute_queue = true;
    return info;
}

std::vector<DeviceInfo> Instance::devices() const {
    std::vector<DeviceInfo> out;
    auto pds = physical_devices();
    for (size_t i = 0; i < pds.size(); ++i) out.push_back(describe(pds[i], int(i)));
    return out;
}

std::vector<std::string> Instance::validation_messages() const {
    std::lock_guard<std::mutex> lock(log_->mutex);
    return log_->messages;
}

void Instance::clear_validation_messages() {
    std::lock_guard<std::mutex> lock(log_->mutex);
    log_->messages.clear();
}

std::vector<DeviceInfo> list_devices() {
    Instance instance(false);
    return instance.devices();
}

}  // namespace posenet::engine::vk
