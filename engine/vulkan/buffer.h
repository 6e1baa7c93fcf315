// A VkBuffer with its own memory allocation. The backend allocates only a few large buffers (weights,
// the activation arena, staging), so one allocation per buffer is fine.
#pragma once

#include <cstdint>
#include <string>

#include "engine/vulkan/device.h"

namespace posenet::engine::vk {

enum class MemoryUse {
    DeviceLocal,  // weights and activations: fastest for the GPU
    Upload,       // host writes, GPU copies: host-visible, coherent preferred
    // Host writes, GPU shaders read in place (frames in a lane's upload buffer): host-visible,
    // device-local preferred (a GPU's host-visible VRAM), plain host memory where that has no room.
    UploadDeviceLocal,
    Readback      // GPU writes, host reads: host-visible, cached preferred
};

class Buffer {
public:
    Buffer() = default;
    // Throws OutOfDeviceMemory naming `what` and the size when memory runs out.
    Buffer(Device& device, uint64_t size, VkBufferUsageFlags usage, MemoryUse use, const std::string& what);
    ~Buffer();
    Buffer(Buffer&& o) noexcept { *this = std::move(o); }
    Buffer& operator=(Buffer&& o) noexcept;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    VkBuffer handle() const { return buffer_; }
    uint64_t size() const { return size_; }
    // Host pointer for Upload/Readback buffers (nullptr for device-local ones that are not mappable).
    void* mapped() const { return mapped_; }
    // Make host writes visible to the device / device writes visible to the host (no-ops when coherent).
    void flush();
    void invalidate();

private:
    void release();
    Device* device_ = nullptr;
    VkBuffer buffer_ = VK_NULL_HANDLE;
    VkDeviceMemory memory_ = VK_NULL_HANDLE;
    uint64_t size_ = 0;
    void* mapped_ = nullptr;
    bool coherent_ = true;
};

}  // namespace posenet::engine::vk
