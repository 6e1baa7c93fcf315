// The chosen physical device, its logical device and compute queue, and what it can do.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "engine/vulkan/instance.h"

namespace posenet::engine::vk {

// Recorded at start-up; kernels may pick variants from it (fp16, subgroups, cooperative matrix later).
struct DeviceFeatures {
    bool shader_float16 = false;        // shaderFloat16
    bool shader_float64 = false;        // shaderFloat64 (exact TF.js-cpu preprocessing needs doubles)
    bool storage_buffer_16bit = false;  // storageBuffer16BitAccess
    uint32_t subgroup_size = 0;
    bool subgroup_arithmetic = false;   // compute stage, arithmetic ops
    bool cooperative_matrix = false;    // VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix advertised
    // Tensor cores for Precision::Float16 (coopmat_gemm.glsl), enabled at device creation:
    // VK_NV_cooperative_matrix with its cooperativeMatrix feature and the 16x16x16 fp16 x fp16 -> fp32
    // subgroup shape, shaderFloat16, vulkanMemoryModel, subgroups of 32. Else coopmat_missing says what lacks.
    bool coopmat_f16 = false;
    std::string coopmat_missing;
    bool timestamps = false;            // compute queue has timestampValidBits and a period
    double timestamp_period_ns = 0;
    uint32_t timestamp_valid_bits = 0;
    // Limits that shape dispatches and buffers.
    std::array<uint32_t, 3> max_workgroup_count{};
    uint32_t max_workgroup_invocations = 0;
    uint32_t max_shared_memory = 0;
    uint64_t max_storage_buffer_range = 0;
    uint64_t min_storage_buffer_offset_alignment = 0;
    uint64_t non_coherent_atom_size = 0;
    uint32_t max_push_constants = 0;
    uint64_t max_allocation_size = 0;
};

struct DeviceOptions {
    int device_index = -1;  // -1: $POSENET_VULKAN_DEVICE, else the best (discrete > integrated > virtual > cpu)
    bool enable_validation = false;  // also enabled by $POSENET_VULKAN_VALIDATION=1
    LogCallback log;                 // validation-layer messages go here too (besides validation_messages())
};

// The device picked where none is named: the first of the best type (discrete > integrated > virtual >
// cpu > other) among those with Vulkan 1.1 and a compute queue; its DeviceInfo::index, or -1.
int best_device_index(const std::vector<DeviceInfo>& devices);

class Device {
public:
    // Throws VulkanUnavailable when there is no loader, no device, no compute queue, or the index is
    // out of range.
    explicit Device(const DeviceOptions& options);
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    const Functions& fn() const { return fn_; }
    VkDevice handle() const { return device_; }
    VkPhysicalDevice physical() const { return physical_; }
    VkQueue queue() const { return queue_; }
    uint32_t queue_family() const { return family_; }
    const DeviceInfo& info() const { return info_; }
    const DeviceFeatures& features() const { return features_; }
    const VkPhysicalDeviceMemoryProperties& memory_properties() const { return memory_; }
    const VkPhysicalDeviceProperties& properties() const { return properties_; }
    // Identify the device and driver build (keys for the pipeline cache).
    std::array<uint8_t, 16> device_uuid() const { return device_uuid_; }
    std::array<uint8_t, 16> driver_uuid() const { return driver_uuid_; }

    Instance& instance() { return *instance_; }
    bool validation_enabled() const { return instance_->validation_enabled(); }
    std::vector<std::string> validation_messages() const { return instance_->validation_messages(); }
    void clear_validation_messages() { instance_->clear_validation_messages(); }

    // Records with `record` into a fresh command buffer, submits it and waits (uploads, setup).
    void run_once(const std::function<void(VkCommandBuffer)>& record, const char* what);

    // vkQueueSubmit of one batch of command buffers signalling `fence`, under the queue's mutex (the
    // one queue serves every lane and thread). Throws VulkanError naming `what`.
    void submit(std::span<const VkCommandBuffer> commands, VkFence fence, const char* what);

    // vkDeviceWaitIdle under the queue's mutex; errors ignored (for clean-up after failures).
    void wait_idle();

    // Waits for a fence; turns timeout and device loss into exceptions naming `what`.
    void wait(VkFence fence, uint64_t timeout_ns, const char* what) const;

private:
    std::unique_ptr<Instance> instance_;
    Functions fn_;
    VkPhysicalDevice physical_ = VK_NULL_HANDLE;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    uint32_t family_ = 0;
    VkCommandPool setup_pool_ = VK_NULL_HANDLE;  // run_once's; used under queue_mutex_
    std::mutex queue_mutex_;
    DeviceInfo info_;
    DeviceFeatures features_;
    VkPhysicalDeviceMemoryProperties memory_{};
    VkPhysicalDeviceProperties properties_{};
    std::array<uint8_t, 16> device_uuid_{}, driver_uuid_{};
};

}  // namespace posenet::engine::vk
