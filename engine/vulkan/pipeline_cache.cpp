#include "engine/vulkan/pipeline_cache.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

#include "engine/vulkan/error.h"

#include <unistd.h>

namespace posenet::engine::vk {

namespace {

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

std::filesystem::path PipelineCache::default_path(const Device& device) {
    std::filesystem::path dir;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        dir = std::filesystem::path(xdg) / "posenet";
    else if (const char* home = std::getenv("HOME"); home && *home)
        dir = std::filesystem::path(home) / ".cache" / "posenet";
    else
        return {};
    char hex[33];
    auto uuid = device.device_uuid();
    for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", uuid[i]);
    return dir / ("vulkan-pipelines-" + std::string(hex) + ".bin");
}

PipelineCache::PipelineCache(Device& device, std::filesystem::path path, bool enabled) : device_(device), enabled_(enabled) {
    path_ = enabled ? (path.empty() ? default_path(device) : std::move(path)) : std::filesystem::path();
    if (path_.empty()) enabled_ = false;
    std::vector<char> data;
    if (enabled_) {
        std::ifstream in(path_, std::ios::binary);
        if (in) {
            std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            FileHeader want = expected_header(device), got{};
            if (file.size() >= sizeof got) {
                std::memcpy(&got, file.data(), sizeof got);
                // Any difference in device, driver or cache format: start empty (rebuilt and rewritten on save).
                if (std::memcmp(&got, &want, offsetof(FileHeader, data_size)) == 0 && got.data_size == file.size() - sizeof got)
                    data.assign(file.begin() + sizeof got, file.end());
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
    std::vector<char> data(size);
    if (device_.fn().GetPipelineCacheData(device_.handle(), cache_, &size, data.data()) != VK_SUCCESS) return false;
    data.resize(size);
    FileHeader h = expected_header(device_);
    h.data_size = size;
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec) return false;
    std::filesystem::path tmp = path_;
    tmp += ".tmp" + std::to_string(::getpid());  // per process: concurrent writers never share a temp file
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return false;
        out.write(reinterpret_cast<const char*>(&h), sizeof h);
        out.write(data.data(), std::streamsize(data.size()));
        if (!out) {
            out.close();
            std::filesystem::remove(tmp, ec);
            return false;
        }
    }
    std::filesystem::rename(tmp, path_, ec);  // atomic: readers see the old or the new file
    if (ec) {
        std::filesystem::remove(tmp, ec);
        return false;
    }
    return true;
}

}  // namespace posenet::engine::vk
