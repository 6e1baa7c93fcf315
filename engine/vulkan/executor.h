// Runs a Network on a GPU through Vulkan compute with our own kernels (shaders/*.comp). Same inputs
// and outputs as CpuExecutor, so the two backends are interchangeable.
//
//   VulkanOptions options;                               // device_index -1: the best device
//   VulkanExecutor gpu(net, options);
//   NetworkOutputs out = gpu.run(input, 257, 257);       // heatmap as logits, like CpuExecutor
//   for (auto& t : gpu.last_timings()) ...               // per-layer GPU time
//
// Not thread-safe: one run at a time per executor.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/cpu_executor.h"
#include "engine/network.h"
#include "engine/precision.h"
#include "engine/vulkan/buffer.h"
#include "engine/vulkan/device.h"
#include "engine/vulkan/error.h"
#include "engine/vulkan/plan.h"
#include "engine/vulkan/runtime.h"
#include "engine/vulkan/weights.h"

namespace posenet::engine {

// Device choice, validation and pipeline cache (vk::RuntimeOptions), plus per-executor settings.
struct VulkanOptions : vk::RuntimeOptions {
    bool timestamps = true;           // per-step GPU times (last_timings), where the device has timestamps
    bool total_timestamps = true;     // without per-step ones, two around the network (last_gpu_ns)
    uint32_t timeout_ms = 120000;     // a run that takes longer throws instead of hanging
    // Fewer dispatches: 1x1 convs of one input as one GEMM, and depthwise convs fused into the 1x1
    // conv that alone reads them (not in run_all plans, which read every tensor back) where
    // vk::depthwise_pointwise_pays, or wherever possible with fuse_always (tests); see vk::schedule.
    // $POSENET_VULKAN_FUSE=0 turns both off, =always fuses always (for A/B measurements).
    bool fuse = true;
    bool fuse_always = false;
    // Float16: the convolutions multiply on tensor cores (fp16 products, fp32 sums; storage stays
    // fp32; see engine/precision.h). Needs DeviceFeatures::coopmat_f16: construction throws
    // VulkanError naming the device and what it lacks otherwise.
    Precision precision = Precision::Float32;
};

using vk::LayerTiming;

class VulkanExecutor {
public:
    // Uploads the weights. Throws vk::VulkanUnavailable (no loader/device), vk::OutOfDeviceMemory,
    // vk::VulkanError. The network's structure is copied; its weights are not kept.
    explicit VulkanExecutor(const Network& network, VulkanOptions options = {});
    // Shares a device (and its compiled kernels) with other executors; options' runtime part is unused.
    VulkanExecutor(const Network& network, std::shared_ptr<vk::Runtime> runtime, VulkanOptions options = {});
    ~VulkanExecutor();
    VulkanExecutor(const VulkanExecutor&) = delete;
    VulkanExecutor& operator=(const VulkanExecutor&) = delete;

    // input: batch x height x width x 3, already preprocessed. The first run at a size builds its plan
    // (pipelines, arena, command buffer); later runs replay it.
    NetworkOutputs run(std::span<const float> input, int height, int width, int batch = 1);
    // Every tensor by id (index 0 is the input), like CpuExecutor::run_all: no memory reuse.
    std::vector<std::vector<float>> run_all(std::span<const float> input, int height, int width, int batch = 1);
    // The image preprocessed on the GPU (letterbox, bilinear, the network's input transform) into a
    // height x width input, batch 1. Needs shaderFloat64 (supports_image_input()); throws VulkanError
    // otherwise. Timings then start with a "preprocess" entry.
    NetworkOutputs run_image(const ImageInput& image, int height, int width);
    std::vector<std::vector<float>> run_all_image(const ImageInput& image, int height, int width);
    bool supports_image_input() const { return runtime_->device().features().shader_float64; }
    // Builds the plan for a size ahead of the first run (compiles pipelines, allocates memory).
    void prepare(int height, int width, int batch = 1);

    // GPU times of the last run, one per dispatch (fused layers share one; LayerTiming::layers
    // lists them); empty when the device has no timestamps.
    std::vector<LayerTiming> last_timings() const;
    // GPU time of the last run's network (first step to last), ns; 0 without timestamps.
    uint64_t last_gpu_ns() const { return last_ ? last_->gpu_span_ns() : 0; }
    // Host-side phases of the last run: upload, submit to fence, and copying the outputs out.
    struct RunPhases {
        double upload_us = 0, submit_wait_us = 0, readback_us = 0;
    };
    RunPhases last_phases() const { return last_phases_; }
    // Compute dispatches per run of that plan (split-K reduces included) and its layer groups.
    int dispatch_count(int height, int width, int batch = 1) { return plan({height, width, batch, false, {}}).dispatch_count(); }
    const std::vector<vk::Step>& steps(int height, int width, int batch = 1) { return plan({height, width, batch, false, {}}).steps(); }
    uint64_t arena_bytes(int height, int width, int batch = 1);  // activation memory of that plan
    uint64_t weight_bytes() const { return weights_->bytes(); }
    size_t pipeline_count() const { return runtime_->kernels().pipeline_count(); }

    vk::Runtime& runtime() { return *runtime_; }
    const vk::DeviceInfo& device_info() const { return runtime_->device().info(); }
    const vk::DeviceFeatures& device_features() const { return runtime_->device().features(); }
    bool validation_enabled() const { return runtime_->device().validation_enabled(); }
    // Warnings and errors from the validation layer since construction (or the last clear).
    std::vector<std::string> validation_messages() const { return runtime_->device().validation_messages(); }
    void clear_validation_messages() { runtime_->device().clear_validation_messages(); }

private:
    vk::Plan& plan(vk::PlanShape shape);
    vk::Plan& image_plan(const ImageInput& image, int height, int width, bool keep_all);
    NetworkOutputs outputs(const vk::Plan& p) const;
    NetworkOutputs timed_outputs(const vk::Plan& p);  // outputs(), recording last_phases_

    Network net_;  // structure only
    VulkanOptions options_;
    // Declaration order is destruction order reversed: plans go before the device.
    std::shared_ptr<vk::Runtime> runtime_;
    std::unique_ptr<vk::WeightStore> weights_;
    vk::Buffer dummy_;  // bound to the bindings a kernel does not use
    std::map<vk::PlanShape, std::unique_ptr<vk::Plan>> plans_;
    vk::Plan* last_ = nullptr;
    RunPhases last_phases_;
};

// Every Vulkan device on this machine (for `posenet devices` / --device). Throws vk::VulkanUnavailable
// without a loader.
std::vector<vk::DeviceInfo> list_vulkan_devices();

}  // namespace posenet::engine
