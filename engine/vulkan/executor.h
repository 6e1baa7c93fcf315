// Runs a Network on a GPU through Vulkan compute with our own kernels (shaders/*.comp). Same inputs
// and outputs as CpuExecutor, so the two backends are interchangeable.
//
//   VulkanOptions options;                               // device_index -1: the best device
//   VulkanExecutor gpu(net, options);
//   NetworkOutputs out = gpu.run(input, 257, 257);       // heatmap as logits, like CpuExecutor
//   for (auto& t : gpu.last_timings()) ...               // per-layer GPU time
//
// Plans: one per network input size, batch and keep_all (vk::Plan), built on first use and kept, at
// most VulkanOptions::max_plans of them: beyond that the least recently used plan that no run has in
// flight is freed (and built again if needed). Source images never make plans: their size, layout
// and letterbox travel with each run.
//
// Threads: the synchronous calls (run, run_all, run_image(s), prepare, the plan queries) go one at a
// time (they share one internal lane). Lanes from make_lane() may be used from other threads at the
// same time as each other and as the synchronous calls. Lanes must be destroyed before the executor.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
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
    // Float16: the convolutions multiply on tensor cores (fp16 products, fp32 sums; see
    // engine/precision.h). Needs
    // DeviceFeatures::coopmat_f16: construction throws VulkanError naming the device and what it
    // lacks otherwise.
    Precision precision = Precision::Float32;
    // Activations between layers (never the input or the four outputs; vk::half_tensors). Float16:
    // every tensor between layers, with either precision (an extra rounding where a float32 kernel
    // reads one). Float16GemmInputs: the tensors that only tensor-core GEMMs read, which round them
    // to fp16 anyway (fewer bytes, not one result changed). Both need storageBuffer16BitAccess
    // (construction throws VulkanError otherwise). Auto is Float32: neither was faster on an H200
    // (docs/PERFORMANCE.md). $POSENET_VULKAN_STORAGE=fp32|fp16|fp16-gemm overrides Auto.
    enum class Storage { Auto, Float32, Float16, Float16GemmInputs };
    Storage activation_storage = Storage::Auto;
    // 8-bit images preprocessed by the GPU kernel where the device has shaderFloat64; false: on the
    // host into the float input, as on devices without it (tests compare the two).
    bool device_preprocessing = true;
    // Plans kept at once (>= 1; ConfigError otherwise). A detector needs one per network input size
    // and batch size it runs; 4 covers a stream plus a few batch sizes.
    int max_plans = 4;
};

using vk::LayerTiming;

class VulkanExecutor {
public:
    // Uploads the weights. Throws vk::VulkanUnavailable (no loader/device), vk::OutOfDeviceMemory,
    // vk::VulkanError. The network's structure is copied; its weights are not kept.
    explicit VulkanExecutor(const Network& network, VulkanOptions options = {});
    // Shares a device (and its compiled kernels) with other executors; options' runtime part is unused.
    // (Executors sharing a runtime build plans one thread at a time: the kernel library is not locked.)
    VulkanExecutor(const Network& network, std::shared_ptr<vk::Runtime> runtime, VulkanOptions options = {});
    ~VulkanExecutor();
    VulkanExecutor(const VulkanExecutor&) = delete;
    VulkanExecutor& operator=(const VulkanExecutor&) = delete;

    // input: batch x height x width x 3, already preprocessed.
    NetworkOutputs run(std::span<const float> input, int height, int width, int batch = 1);
    // Every tensor by id (index 0 is the input), like CpuExecutor::run_all: no memory reuse.
    std::vector<std::vector<float>> run_all(std::span<const float> input, int height, int width, int batch = 1);
    // 8-bit images, one per batch item, each of any size and layout, uploaded as bytes and
    // preprocessed on the GPU (letterbox, bilinear, the network's input transform) into a
    // height x width input. Without shaderFloat64 (supports_image_input() false) they are
    // preprocessed on the host instead (the same values). Timings then start with "preprocess".
    NetworkOutputs run_images(std::span<const ImageInput> images, int height, int width);
    NetworkOutputs run_image(const ImageInput& image, int height, int width) { return run_images(std::span(&image, 1), height, width); }
    std::vector<std::vector<float>> run_all_images(std::span<const ImageInput> images, int height, int width);
    std::vector<std::vector<float>> run_all_image(const ImageInput& image, int height, int width) {
        return run_all_images(std::span(&image, 1), height, width);
    }
    bool supports_image_input() const { return options_.device_preprocessing && runtime_->device().features().shader_float64; }
    // Builds the plan for a size ahead of the first run (compiles pipelines, allocates memory).
    void prepare(int height, int width, int batch = 1);

    // Lanes for runs in flight (engine/executor.h): each has its own upload, readback and command
    // buffers; runs of all lanes share the plans and execute one after another on the queue.
    std::unique_ptr<Executor::Lane> make_lane(LaneMode mode = LaneMode::Background);
    MemoryStats memory() const;
    size_t plan_count() const { return memory().plans; }
    // Command buffer recordings by this executor's lanes so far (recordings are replayed while the
    // plan, the outputs asked for and the lane's buffers stay the same, whatever the images' sizes).
    uint64_t command_recordings() const { return recordings_.load(); }

    // GPU times of the last synchronous run, one per dispatch (fused layers share one;
    // LayerTiming::layers lists them); empty when the device has no timestamps.
    std::vector<LayerTiming> last_timings() const;
    // GPU time of the last synchronous run's network (first step to last, preprocessing included), ns;
    // 0 without timestamps.
    uint64_t last_gpu_ns() const;
    // Host-side phases of the last synchronous run: writing the input into the upload buffer
    // (bytes, or floats), submit to fence, and copying the outputs out.
    struct RunPhases {
        double upload_us = 0, submit_wait_us = 0, readback_us = 0;
    };
    RunPhases last_phases() const { return last_phases_; }
    // VulkanOptions::activation_storage resolved; whether some tensor can be float16.
    vk::HalfTensors half_mode() const { return half_mode_; }
    bool half_storage() const { return half_mode_ != vk::HalfTensors::None; }
    // Which tensors that plan stores as float16 (by tensor id).
    std::vector<bool> half_tensors(int height, int width, int batch = 1);
    // Compute dispatches per run of that plan (split-K reduces included) and its layer groups.
    int dispatch_count(int height, int width, int batch = 1);
    std::vector<vk::Step> steps(int height, int width, int batch = 1);
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
    class VulkanLane;
    friend class VulkanLane;

    // Under mutex_: the plan for `shape` (built where missing, evicting the least recently used
    // idle plans beyond max_plans), marked used now.
    vk::Plan& plan_locked(const vk::PlanShape& shape);
    void evict_locked(const vk::Plan* keep);
    void unpin(vk::Plan& plan);
    template <typename F>
    auto with_plan(const vk::PlanShape& shape, F&& f) {
        std::lock_guard<std::mutex> lock(mutex_);
        return f(plan_locked(shape));
    }
    OutputViews run_sync(const RunInput& input, bool keep_all, OutputSet outputs);
    NetworkOutputs copy_outputs(const OutputViews& v);
    std::vector<std::vector<float>> copy_all(const OutputViews& v);
    vk::Timestamps timestamp_mode() const;
    uint64_t timeout_ns() const;

    Network net_;  // structure only
    VulkanOptions options_;
    vk::HalfTensors half_mode_ = vk::HalfTensors::None;  // activation_storage resolved
    // Declaration order is destruction order reversed: lanes, then plans, go before the device.
    std::shared_ptr<vk::Runtime> runtime_;
    std::unique_ptr<vk::WeightStore> weights_;
    vk::Buffer dummy_;  // bound to the bindings a kernel does not use
    mutable std::mutex mutex_;  // plans_, use_clock_, plan building (pipelines, the pipeline cache)
    std::map<vk::PlanShape, std::unique_ptr<vk::Plan>> plans_;
    uint64_t use_clock_ = 0;
    std::atomic<uint64_t> lane_bytes_{0}, recordings_{0};
    std::unique_ptr<VulkanLane> sync_lane_;  // the synchronous calls'
    // The last synchronous run: its steps and raw timestamps, kept apart from its plan.
    struct LastRun {
        std::shared_ptr<const vk::StepTable> steps;
        std::vector<uint64_t> timestamps;
        bool images = false;
        vk::Timestamps mode = vk::Timestamps::Off;
    } last_;
    RunPhases last_phases_;
};

// Every Vulkan device on this machine (for `posenet devices` / --device). Throws vk::VulkanUnavailable
// without a loader.
std::vector<vk::DeviceInfo> list_vulkan_devices();

}  // namespace posenet::engine
