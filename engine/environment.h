// The environment variables the library reads, all in this one place: overrides for tools, tests and
// A/B measurements, never needed by a host application (which sets DetectorOptions instead). Each is
// read when it is used. docs/ENVIRONMENT.md lists them with those of the CLI and the tests.
#pragma once

#include <optional>
#include <string>

namespace posenet::engine::environment {

// POSENET_VULKAN_DEVICE: the Vulkan device index where none is given. nullopt when unset or empty;
// throws posenet::ConfigError when it is not a non-negative integer.
std::optional<int> vulkan_device();
// POSENET_VULKAN_VALIDATION: anything but "" or "0" turns the Khronos validation layer on.
bool vulkan_validation();
// POSENET_VULKAN_LOADER: the Vulkan loader library to dlopen instead of libvulkan.so.1.
std::string vulkan_loader();
// POSENET_VULKAN_FUSE: "0" turns fused and merged dispatches off, "always" fuses wherever possible.
std::string vulkan_fuse();
// POSENET_VULKAN_COOPMAT_TILE: BMxBNxWMxWN[xBK] tensor-core tiles for every layer.
std::string vulkan_coopmat_tile();
// POSENET_VULKAN_STORAGE: "fp32", "fp16" or "fp16-gemm": the activations' storage where
// VulkanOptions leave it to Auto ("" when unset; anything else is a ConfigError where it is read).
std::string vulkan_storage();
// POSENET_VULKAN_DEPTHWISE_OUT_X: 1, 2 or 4 output pixels per depthwise invocation for every layer.
std::string vulkan_depthwise_out_x();
// POSENET_CPU_KERNELS: "baseline", "avx2" or "avx512": the best CPU kernel set built and supported
// up to that one (default: the best).
std::string cpu_kernels();
// POSENET_CPU_FUSE: "0" runs depthwise + pointwise pairs one after the other on the CPU (else fused
// where the kernel set can).
bool cpu_fuse();

}  // namespace posenet::engine::environment
