#include "engine/vulkan/pipeline_cache.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

#include "engine/file_io.h"
#include "engine/vulkan/error.h"

namespace posenet::engine::vk {

namespace {

constexpr uint64_t kMaxPipelineCacheBytes = uint64_t(1) << 30;
constexpr char kMagic[8] = {'P', 'N', 'V', 'K', 'P', 'C', '0', '1'};

struct FileHeader {
    char magic[8];
    uint8_t device_uuid[16];
    uint8_t driver_uuid[16];
    uint8_t pipeline_cache_uuid[16];
    uint32_t driver_version;
    uint32_t vendor_id;
    uint32_t device_id;
    uint32_t reserved;
    uint64_t data_size;
};

FileHeader expected_header(const Device& d) {
    FileHeader h{};
    std::memcpy(h.magic, kMagic, 8);
    auto du = d.device_uuid(), dr = d.driver_uuid();
    std::memcpy(h.device_uuid, du.data(), 16);
    std::memcpy(h.driver_uuid, dr.data(), 16);
    std::memcpy(h.pipeline_cache_uuid, d.properties().pipelineCacheUUID, 16);
    h.driver_version = d.properties().driverVersion;
    h.vendor_id = d.properties().vendorID;
    h.device_id = d.properties().deviceID;
    return h;
}

}  // namespace

std::string PipelineCache::file_name(const Device& device) {
    char hex[33];
    auto uuid = device.device_uuid();
    for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", uuid[i]);
    return "vulkan-pipelines-" + std::string(hex) + ".bin";
}

PipelineCache::PipelineCache(Device& device, const std::filesystem::path& folder) : device_(device) {
    enabled_ = !folder.empty();
    if (enabled_) path_ = folder / file_name(device);
    std::vector<char> data;
    if (enabled_) {
        std::string why;
        if (auto file = read_regular_file(path_, kMaxPipelineCacheBytes, why)) {
            FileHeader want = expected_header(device), got{};
            if (file->size() >= sizeof got) {
                std::memcpy(&got, file->data(), sizeof got);
                // Any difference in device, driver or cache format: start empty (rebuilt and rewritten on save).
                if (std::memcmp(&got, &want, offsetof(FileHeader, data_size)) == 0 && got.data_size == file->size() - sizeof got)
                    data.assign(file->begin() + sizeof got, file->end());
            }
        }
    }
    auto ci = make<VkPipelineCacheCreateInfo>(VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO);
    ci.initialDataSize = data.size();
    ci.pInitialData = data.empty() ? nullptr : data.data();
    VkResult r = device.fn().CreatePipelineCache(device.handle(), &ci, nullptr, &cache_);
    if (r != VK_SUCCESS && !data.empty()) {
        // The driver refused the blob: drop it rather than fail.
        ci.initialDataSize = 0, ci.pInitialData = nullptr;
        r = device.fn().CreatePipelineCache(device.handle(), &ci, nullptr, &cache_);
        data.clear();
    }
    check(r, "vkCreatePipelineCache");
    loaded_ = !data.empty();
}

PipelineCache::~PipelineCache() {
    save();
    if (cache_) device_.fn().DestroyPipelineCache(device_.handle(), cache_, nullptr);
}

bool PipelineCache::save() {
    if (!enabled_ || !cache_) return false;
    size_t size = 0;
    if (device_.fn().GetPipelineCacheData(device_.handle(), cache_, &size, nullptr) != VK_SUCCESS) return false;
    std::vector<uint8_t> file(sizeof(FileHeader) + size);
    if (device_.fn().GetPipelineCacheData(device_.handle(), cache_, &size, file.data() + sizeof(FileHeader)) != VK_SUCCESS)
        return false;
    file.resize(sizeof(FileHeader) + size);
    FileHeader h = expected_header(device_);
    h.data_size = size;
    std::memcpy(file.data(), &h, sizeof h);
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec) return false;
    return !write_file_atomically(path_, file);  // readers see the old or the new file
}

}  // namespace posenet::engine::vk
