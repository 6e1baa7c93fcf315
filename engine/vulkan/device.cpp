#include "engine/vulkan/device.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/environment.h"
#include "engine/vulkan/error.h"

namespace posenet::engine::vk {

namespace {

int type_rank(const std::string& type) {
    if (type == "discrete") return 0;
    if (type == "integrated") return 1;
    if (type == "virtual") return 2;
    if (type == "cpu") return 3;
    return 4;
}

// A queue family with compute; a universal (graphics) one first because it is the one drivers tune
// and it always supports timestamps where the device does.
int pick_queue_family(const Functions& fn, VkPhysicalDevice pd) {
    uint32_t n = 0;
    fn.GetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
    std::vector<VkQueueFamilyProperties> qf(n);
    fn.GetPhysicalDeviceQueueFamilyProperties(pd, &n, qf.data());
    int best = -1, best_score = -1;
    for (uint32_t i = 0; i < n; ++i) {
        if (!(qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || qf[i].queueCount == 0) continue;
        int score = (qf[i].timestampValidBits > 0 ? 2 : 0) + ((qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) ? 1 : 0);
        if (score > best_score) best = int(i), best_score = score;
    }
    return best;
}

}  // namespace

int best_device_index(const std::vector<DeviceInfo>& devices) {
    int best = -1;
    for (size_t i = 0; i < devices.size(); ++i) {
        const DeviceInfo& d = devices[i];
        if (d.api_version < VK_API_VERSION_1_1 || !d.has_compute_queue) continue;
        if (best < 0 || type_rank(d.type) < type_rank(devices[size_t(best)].type)) best = int(i);
    }
    return best < 0 ? -1 : devices[size_t(best)].index;
}

Device::Device(const DeviceOptions& options)
    : instance_(std::make_unique<Instance>(options.enable_validation || validation_requested_by_env(), options.log)) {
    fn_ = instance_->fn();
    auto pds = instance_->physical_devices();
    if (pds.empty()) throw VulkanUnavailable("Vulkan: no physical device found (no GPU driver / ICD installed?)");

    int index = options.device_index;
    if (index < 0) {
        if (auto env = environment::vulkan_device()) index = *env;
    }
    if (index >= int(pds.size())) {
        std::string present;
        for (const auto& d : instance_->devices()) present += (present.empty() ? "" : ", ") + std::to_string(d.index) + ": " + d.name;
        throw VulkanUnavailable("Vulkan: device " + std::to_string(index) + " does not exist; " + std::to_string(pds.size()) +
                                " device(s) present (" + present + ")");
    }
    if (index < 0) {
        index = best_device_index(instance_->devices());
        if (index < 0) throw VulkanUnavailable("Vulkan: no device with Vulkan 1.1 and a compute queue");
    }
    physical_ = pds[index];
    info_ = instance_->describe(physical_, index);
    fn_.GetPhysicalDeviceProperties(physical_, &properties_);
    if (properties_.apiVersion < VK_API_VERSION_1_1)
        throw VulkanUnavailable("Vulkan: device " + info_.name + " supports only Vulkan 1.0; 1.1 is needed");
    int family = pick_queue_family(fn_, physical_);
    if (family < 0) throw VulkanUnavailable("Vulkan: device " + info_.name + " has no compute queue");
    family_ = uint32_t(family);
    fn_.GetPhysicalDeviceMemoryProperties(physical_, &memory_);

    // Properties and features worth recording.
    auto subgroup = make<VkPhysicalDeviceSubgroupProperties>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES);
    auto maint3 = make<VkPhysicalDeviceMaintenance3Properties>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES);
    auto ids = make<VkPhysicalDeviceIDProperties>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES);
    subgroup.pNext = &maint3;
    maint3.pNext = &ids;
    auto props2 = make<VkPhysicalDeviceProperties2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2);
    props2.pNext = &subgroup;
    fn_.GetPhysicalDeviceProperties2(physical_, &props2);
    std::memcpy(device_uuid_.data(), ids.deviceUUID, 16);
    std::memcpy(driver_uuid_.data(), ids.driverUUID, 16);

    auto storage16 = make<VkPhysicalDevice16BitStorageFeatures>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES);
    auto f16 = make<VkPhysicalDeviceShaderFloat16Int8Features>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES);
    auto memory_model = make<VkPhysicalDeviceVulkanMemoryModelFeatures>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES);
    auto coopmat = make<VkPhysicalDeviceCooperativeMatrixFeaturesNV>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV);
    auto feats2 = make<VkPhysicalDeviceFeatures2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2);
    feats2.pNext = &storage16;
    storage16.pNext = &f16;
    f16.pNext = &memory_model;

    uint32_t en = 0;
    check(fn_.EnumerateDeviceExtensionProperties(physical_, nullptr, &en, nullptr), "vkEnumerateDeviceExtensionProperties");
    std::vector<VkExtensionProperties> exts(en);
    check(fn_.EnumerateDeviceExtensionProperties(physical_, nullptr, &en, exts.data()), "vkEnumerateDeviceExtensionProperties");
    auto has_ext = [&](const char* name) {
        return std::any_of(exts.begin(), exts.end(), [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
    };
    const bool nv_coopmat = has_ext("VK_NV_cooperative_matrix");
    if (nv_coopmat) memory_model.pNext = &coopmat;  // (the struct is only defined with the extension)
    fn_.GetPhysicalDeviceFeatures2(physical_, &feats2);

    uint32_t qn = 0;
    fn_.GetPhysicalDeviceQueueFamilyProperties(physical_, &qn, nullptr);
    std::vector<VkQueueFamilyProperties> qf(qn);
    fn_.GetPhysicalDeviceQueueFamilyProperties(physical_, &qn, qf.data());

    const VkPhysicalDeviceLimits& lim = properties_.limits;
    features_.shader_float16 = f16.shaderFloat16;
    features_.shader_float64 = feats2.features.shaderFloat64;
    features_.storage_buffer_16bit = storage16.storageBuffer16BitAccess &&
                                     (properties_.apiVersion >= VK_API_VERSION_1_1 || has_ext("VK_KHR_16bit_storage"));
    features_.subgroup_size = subgroup.subgroupSize;
    features_.subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                                    (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    features_.cooperative_matrix = has_ext("VK_KHR_cooperative_matrix") || has_ext("VK_NV_cooperative_matrix");
    // Tensor cores: the 16x16x16 fp16 x fp16 -> fp32 + fp32 subgroup shape coopmat_gemm.glsl uses.
    bool coopmat_shape = false;
    if (nv_coopmat && coopmat.cooperativeMatrix) {
        auto get = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
            fn_.GetInstanceProcAddr(instance_->handle(), "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
        uint32_t cn = 0;
        if (get && get(physical_, &cn, nullptr) == VK_SUCCESS && cn) {
            std::vector<VkCooperativeMatrixPropertiesNV> shapes(cn);
            for (auto& c : shapes) c = make<VkCooperativeMatrixPropertiesNV>(VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV);
            if (get(physical_, &cn, shapes.data()) == VK_SUCCESS)
                for (uint32_t i = 0; i < cn; ++i) {
                    const auto& c = shapes[i];
                    coopmat_shape = coopmat_shape || (c.MSize == 16 && c.NSize == 16 && c.KSize == 16 && c.AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                                                      c.BType == VK_COMPONENT_TYPE_FLOAT16_NV && c.CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
                                                      c.DType == VK_COMPONENT_TYPE_FLOAT32_NV && c.scope == VK_SCOPE_SUBGROUP_NV);
                }
        }
    }
    const bool memory_model_ok = memory_model.vulkanMemoryModel &&
                                 (properties_.apiVersion >= VK_API_VERSION_1_2 || has_ext("VK_KHR_vulkan_memory_model"));
    const bool f16_ok = f16.shaderFloat16 && (properties_.apiVersion >= VK_API_VERSION_1_2 || has_ext("VK_KHR_shader_float16_int8"));
    std::vector<std::string> missing;
    if (!nv_coopmat) missing.push_back("VK_NV_cooperative_matrix");
    else if (!coopmat.cooperativeMatrix) missing.push_back("the cooperativeMatrix feature");
    else if (!coopmat_shape) missing.push_back("a 16x16x16 fp16 x fp16 -> fp32 subgroup cooperative matrix shape");
    if (!f16_ok) missing.push_back("shaderFloat16");
    if (!memory_model_ok) missing.push_back("vulkanMemoryModel");
    if (subgroup.subgroupSize != 32) missing.push_back("subgroups of 32 (has " + std::to_string(subgroup.subgroupSize) + ")");
    features_.coopmat_f16 = missing.empty();
    for (size_t i = 0; i < missing.size(); ++i) features_.coopmat_missing += (i ? ", " : "") + missing[i];
    features_.timestamp_valid_bits = qf[family_].timestampValidBits;
    features_.timestamp_period_ns = lim.timestampPeriod;
    features_.timestamps = features_.timestamp_valid_bits > 0 && lim.timestampPeriod > 0;
    for (int i = 0; i < 3; ++i) features_.max_workgroup_count[i] = lim.maxComputeWorkGroupCount[i];
    features_.max_workgroup_invocations = lim.maxComputeWorkGroupInvocations;
    features_.max_shared_memory = lim.maxComputeSharedMemorySize;
    features_.max_storage_buffer_range = lim.maxStorageBufferRange;
    features_.min_storage_buffer_offset_alignment = lim.minStorageBufferOffsetAlignment;
    features_.non_coherent_atom_size = lim.nonCoherentAtomSize;
    features_.max_push_constants = lim.maxPushConstantsSize;
    features_.max_allocation_size = maint3.maxMemoryAllocationSize;

    float priority = 1.0f;
    auto qci = make<VkDeviceQueueCreateInfo>(VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO);
    qci.queueFamilyIndex = family_;
    qci.queueCount = 1;
    qci.pQueuePriorities = &priority;
    std::vector<const char*> dev_exts;
    // Required on portability implementations (MoltenVK) when advertised.
    if (has_ext("VK_KHR_portability_subset")) dev_exts.push_back("VK_KHR_portability_subset");
    // Doubles: the preprocess kernel reproduces TF.js's double-precision bilinear sampling.
    VkPhysicalDeviceFeatures enabled{};
    enabled.shaderFloat64 = features_.shader_float64;
    auto dci = make<VkDeviceCreateInfo>(VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO);
    dci.pEnabledFeatures = &enabled;
    // float16 activations (Plan's half storage), wherever the device can load and store them.
    auto en_storage16 = make<VkPhysicalDevice16BitStorageFeatures>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES);
    en_storage16.storageBuffer16BitAccess = features_.storage_buffer_16bit;
    // Tensor cores (Precision::Float16), only where everything they need is there.
    auto en_f16 = make<VkPhysicalDeviceShaderFloat16Int8Features>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES);
    auto en_memory_model = make<VkPhysicalDeviceVulkanMemoryModelFeatures>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES);
    auto en_coopmat = make<VkPhysicalDeviceCooperativeMatrixFeaturesNV>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV);
    if (features_.coopmat_f16) {
        en_f16.shaderFloat16 = VK_TRUE;
        en_memory_model.vulkanMemoryModel = VK_TRUE;
        en_coopmat.cooperativeMatrix = VK_TRUE;
        en_f16.pNext = &en_memory_model;
        en_memory_model.pNext = &en_coopmat;
        dci.pNext = &en_f16;
        dev_exts.push_back("VK_NV_cooperative_matrix");
        if (has_ext("VK_KHR_shader_float16_int8")) dev_exts.push_back("VK_KHR_shader_float16_int8");
        if (has_ext("VK_KHR_vulkan_memory_model")) dev_exts.push_back("VK_KHR_vulkan_memory_model");
    }
    if (features_.storage_buffer_16bit) {
        en_storage16.pNext = const_cast<void*>(dci.pNext);
        dci.pNext = &en_storage16;
        if (properties_.apiVersion < VK_API_VERSION_1_1) dev_exts.push_back("VK_KHR_16bit_storage");
    }
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    dci.enabledExtensionCount = uint32_t(dev_exts.size());
    dci.ppEnabledExtensionNames = dev_exts.data();
    check(fn_.CreateDevice(physical_, &dci, nullptr, &device_), "vkCreateDevice (" + info_.name + ")");
    try {
        load_device_functions(fn_, device_);
        fn_.GetDeviceQueue(device_, family_, 0, &queue_);
        auto pci = make<VkCommandPoolCreateInfo>(VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO);
        pci.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
        pci.queueFamilyIndex = family_;
        check(fn_.CreateCommandPool(device_, &pci, nullptr, &setup_pool_), "vkCreateCommandPool");
    } catch (...) {
        if (fn_.DestroyDevice) fn_.DestroyDevice(device_, nullptr);
        throw;
    }
}

Device::~Device() {
    if (device_) {
        fn_.DeviceWaitIdle(device_);
        if (setup_pool_) fn_.DestroyCommandPool(device_, setup_pool_, nullptr);
        fn_.DestroyDevice(device_, nullptr);
    }
}

void Device::wait(VkFence fence, uint64_t timeout_ns, const char* what) const {
    // A blocking wait costs ~40 us of wake-up latency on an H100 (measured: `posenet bench`'s empty
    // submit), as much as a whole small network; so poll the fence first for up to 2 ms, then block.
    // Not on CPU devices (lavapipe), whose shaders run on the cores a polling thread would take.
    if (properties_.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(std::min<uint64_t>(2000, timeout_ns / 1000));
        do {
            VkResult s = fn_.GetFenceStatus(device_, fence);
            if (s == VK_SUCCESS) return;
            if (s != VK_NOT_READY) check(s, std::string("waiting for ") + what);
        } while (std::chrono::steady_clock::now() < until);
    }
    VkResult r = fn_.WaitForFences(device_, 1, &fence, VK_TRUE, timeout_ns);
    if (r == VK_TIMEOUT)
        throw VulkanError(std::string("Vulkan: ") + what + " did not finish within " + std::to_string(timeout_ns / 1000000) +
                              " ms (GPU hung or far too slow)",
                          r);
    check(r, std::string("waiting for ") + what);
}

void Device::submit(std::span<const VkCommandBuffer> commands, VkFence fence, const char* what) {
    auto si = make<VkSubmitInfo>(VK_STRUCTURE_TYPE_SUBMIT_INFO);
    si.commandBufferCount = uint32_t(commands.size());
    si.pCommandBuffers = commands.data();
    std::lock_guard<std::mutex> lock(queue_mutex_);
    check(fn_.QueueSubmit(queue_, 1, &si, fence), std::string("vkQueueSubmit (") + what + ")");
}

void Device::wait_idle() {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    fn_.DeviceWaitIdle(device_);
}

void Device::run_once(const std::function<void(VkCommandBuffer)>& record, const char* what) {
    std::lock_guard<std::mutex> lock(queue_mutex_);  // its command pool is shared
    auto ai = make<VkCommandBufferAllocateInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
    ai.commandPool = setup_pool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    check(fn_.AllocateCommandBuffers(device_, &ai, &cb), "vkAllocateCommandBuffers");
    VkFence fence = VK_NULL_HANDLE;
    auto cleanup = [&] {
        if (fence) fn_.DestroyFence(device_, fence, nullptr);
        fn_.FreeCommandBuffers(device_, setup_pool_, 1, &cb);
    };
    try {
        auto bi = make<VkCommandBufferBeginInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO);
        bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        check(fn_.BeginCommandBuffer(cb, &bi), "vkBeginCommandBuffer");
        record(cb);
        check(fn_.EndCommandBuffer(cb), "vkEndCommandBuffer");
        auto fci = make<VkFenceCreateInfo>(VK_STRUCTURE_TYPE_FENCE_CREATE_INFO);
        check(fn_.CreateFence(device_, &fci, nullptr, &fence), "vkCreateFence");
        auto si = make<VkSubmitInfo>(VK_STRUCTURE_TYPE_SUBMIT_INFO);
        si.commandBufferCount = 1;
        si.pCommandBuffers = &cb;
        check(fn_.QueueSubmit(queue_, 1, &si, fence), std::string("vkQueueSubmit (") + what + ")");
        wait(fence, 600ull * 1000000000ull, what);
    } catch (...) {
        // Never free a command buffer the GPU may still read.
        fn_.DeviceWaitIdle(device_);
        cleanup();
        throw;
    }
    cleanup();
}

}  // namespace posenet::engine::vk
