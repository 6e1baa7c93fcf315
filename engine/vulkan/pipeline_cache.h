// A VkPipelineCache, kept on disk where a folder is given, so pipelines compile once per device and
// driver build. The file carries our own header (device UUID, driver UUID, driver version,
// pipeline-cache UUID); any mismatch or damage and the file is ignored. Failing to read or write it is
// never an error. Nothing is written without a folder.
#pragma once

#include <filesystem>

#include "engine/vulkan/device.h"

namespace posenet::engine::vk {

class PipelineCache {
public:
    // folder: where file_name(device) is kept; empty: an in-memory cache only.
    PipelineCache(Device& device, const std::filesystem::path& folder);
    ~PipelineCache();  // saves
    PipelineCache(const PipelineCache&) = delete;
    PipelineCache& operator=(const PipelineCache&) = delete;

    VkPipelineCache handle() const { return cache_; }
    const std::filesystem::path& path() const { return path_; }
    bool loaded_from_disk() const { return loaded_; }
    // Writes the cache (atomically: temp file + rename); returns false on any failure.
    bool save();

    // vulkan-pipelines-<device UUID>.bin
    static std::string file_name(const Device& device);

private:
    Device& device_;
    VkPipelineCache cache_ = VK_NULL_HANDLE;
    std::filesystem::path path_;
    bool enabled_ = false;
    bool loaded_ = false;
};

}  // namespace posenet::engine::vk
