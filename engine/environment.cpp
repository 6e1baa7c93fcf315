#include "engine/environment.h"

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "posenet/errors.h"

namespace posenet::engine::environment {

namespace {
std::string read(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}
}  // namespace

std::optional<int> vulkan_device() {
    const std::string v = read("POSENET_VULKAN_DEVICE");
    if (v.empty()) return std::nullopt;
    int index = -1;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), index);
    if (ec != std::errc() || end != v.data() + v.size() || index < 0)
        throw ConfigError("$POSENET_VULKAN_DEVICE '" + v + "': should be a device index >= 0");
    return index;
}

bool vulkan_validation() {
    const std::string v = read("POSENET_VULKAN_VALIDATION");
    return !v.empty() && v != "0";
}

std::string vulkan_loader() { return read("POSENET_VULKAN_LOADER"); }
std::string vulkan_fuse() { return read("POSENET_VULKAN_FUSE"); }
std::string vulkan_coopmat_tile() { return read("POSENET_VULKAN_COOPMAT_TILE"); }
std::string vulkan_storage() { return read("POSENET_VULKAN_STORAGE"); }
std::string vulkan_depthwise_out_x() { return read("POSENET_VULKAN_DEPTHWISE_OUT_X"); }
std::string cpu_kernels() { return read("POSENET_CPU_KERNELS"); }
bool cpu_fuse() { return read("POSENET_CPU_FUSE") != "0"; }

}  // namespace posenet::engine::environment
