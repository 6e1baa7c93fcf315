#include "engine/vulkan/buffer.h"

#include <utility>

#include "engine/vulkan/error.h"

namespace posenet::engine::vk {

namespace {

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

// The first memory type allowed by `bits` that has all `required` flags, preferring those with
// `preferred` too.
int find_memory_type(const VkPhysicalDeviceMemoryProperties& mp, uint32_t bits, VkMemoryPropertyFlags required,
                     VkMemoryPropertyFlags preferred) {
    for (int pass = 0; pass < 2; ++pass) {
        VkMemoryPropertyFlags want = pass == 0 ? (required | preferred) : required;
        for (uint32_t i = 0; i < mp.memoryTypeCount; ++i)
            if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want) return int(i);
    }
    return -1;
}

}  // namespace

Buffer::Buffer(Device& device, uint64_t size, VkBufferUsageFlags usage, MemoryUse use, const std::string& what)
    : device_(&device), size_(size) {
    const Functions& fn = device.fn();
    VkDevice dev = device.handle();
    if (size == 0) size = 4;  // Vulkan forbids empty buffers
    if (device.features().max_allocation_size && size > device.features().max_allocation_size)
        throw OutOfDeviceMemory("Vulkan: " + what + " needs " + mib(size) + ", more than the device's largest allocation (" +
                                mib(device.features().max_allocation_size) + ")", VK_ERROR_OUT_OF_DEVICE_MEMORY);
    auto bci = make<VkBufferCreateInfo>(VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
    bci.size = size;
    bci.usage = usage;
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    check(fn.CreateBuffer(dev, &bci, nullptr, &buffer_), "vkCreateBuffer (" + what + ", " + mib(size) + ")");
    try {
        VkMemoryRequirements req;
        fn.GetBufferMemoryRequirements(dev, buffer_, &req);
        VkMemoryPropertyFlags required = 0, preferred = 0;
        switch (use) {
            case MemoryUse::DeviceLocal: preferred = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT; break;
            case MemoryUse::Upload:
                required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
                preferred = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
                break;
            case MemoryUse::UploadDeviceLocal:
                required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
                preferred = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
                break;
            case MemoryUse::Readback:
                required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
                preferred = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
                break;
        }
        const auto& mp = device.memory_properties();
        int type = find_memory_type(mp, req.memoryTypeBits, required, preferred);
        if (type < 0) throw VulkanError("Vulkan: no suitable memory type for " + what);
        auto mai = make<VkMemoryAllocateInfo>(VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO);
        mai.allocationSize = req.size;
        mai.memoryTypeIndex = uint32_t(type);
        VkResult r = fn.AllocateMemory(dev, &mai, nullptr, &memory_);
        if ((r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) && use == MemoryUse::UploadDeviceLocal &&
            (mp.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) {
            // The host-visible part of VRAM is small on some GPUs (256 MiB without resizable BAR).
            uint32_t host_types = req.memoryTypeBits;
            for (uint32_t i = 0; i < mp.memoryTypeCount; ++i)
                if (mp.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) host_types &= ~(1u << i);
            const int host = find_memory_type(mp, host_types, required, VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
            if (host >= 0) {
                type = host;
                mai.memoryTypeIndex = uint32_t(type);
                r = fn.AllocateMemory(dev, &mai, nullptr, &memory_);
            }
        }
        if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
            throw OutOfDeviceMemory("Vulkan: out of memory allocating " + mib(req.size) + " for " + what + " (" + result_name(r) + ")", r);
        check(r, "vkAllocateMemory (" + what + ")");
        check(fn.BindBufferMemory(dev, buffer_, memory_, 0), "vkBindBufferMemory (" + what + ")");
        VkMemoryPropertyFlags flags = mp.memoryTypes[type].propertyFlags;
        coherent_ = flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
        if (use != MemoryUse::DeviceLocal)
            check(fn.MapMemory(dev, memory_, 0, VK_WHOLE_SIZE, 0, &mapped_), "vkMapMemory (" + what + ")");
    } catch (...) {
        release();
        throw;
    }
}

Buffer::~Buffer() { release(); }

Buffer& Buffer::operator=(Buffer&& o) noexcept {
    if (this != &o) {
        release();
        device_ = std::exchange(o.device_, nullptr);
        buffer_ = std::exchange(o.buffer_, VK_NULL_HANDLE);
        memory_ = std::exchange(o.memory_, VK_NULL_HANDLE);
        size_ = std::exchange(o.size_, 0);
        mapped_ = std::exchange(o.mapped_, nullptr);
        coherent_ = o.coherent_;
    }
    return *this;
}

void Buffer::release() {
    if (!device_) return;
    const Functions& fn = device_->fn();
    if (mapped_) fn.UnmapMemory(device_->handle(), memory_);
    if (buffer_) fn.DestroyBuffer(device_->handle(), buffer_, nullptr);
    if (memory_) fn.FreeMemory(device_->handle(), memory_, nullptr);
    mapped_ = nullptr, buffer_ = VK_NULL_HANDLE, memory_ = VK_NULL_HANDLE, device_ = nullptr;
}

void Buffer::flush() {
    if (coherent_ || !mapped_) return;
    auto r = make<VkMappedMemoryRange>(VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE);
    r.memory = memory_;
    r.size = VK_WHOLE_SIZE;
    check(device_->fn().FlushMappedMemoryRanges(device_->handle(), 1, &r), "vkFlushMappedMemoryRanges");
}

void Buffer::invalidate() {
    if (coherent_ || !mapped_) return;
    auto r = make<VkMappedMemoryRange>(VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE);
    r.memory = memory_;
    r.size = VK_WHOLE_SIZE;
    check(device_->fn().InvalidateMappedMemoryRanges(device_->handle(), 1, &r), "vkInvalidateMappedMemoryRanges");
}

}  // namespace posenet::engine::vk
