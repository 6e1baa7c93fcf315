// Everything needed to run one network at one input size (height, width, batch): the activation
// arena, staging buffers, one descriptor set per layer, and a command buffer holding the whole
// network, recorded once and replayed per frame. Timestamps bracket every layer when the device has them.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/network.h"
#include "engine/vulkan/buffer.h"
#include "engine/vulkan/kernels.h"
#include "engine/vulkan/lowering.h"
#include "engine/vulkan/weights.h"

namespace posenet::engine::vk {

// One per dispatch of a plan (a split-K reduce counts with its GEMM): a layer, or several layers
// that ran as one dispatch (merged 1x1 convs, depthwise + pointwise).
struct LayerTiming {
    std::string name;    // the layer's name (TF node), "dw+pw NAME" (the 1x1 conv's name) for a fused
                         // depthwise + pointwise, "merged NAME + NAME..." for merged 1x1 convs, or "preprocess"
    const char* kernel;  // the kernel that ran it
    int layer;           // index in Network::layers (of several: the fused 1x1 conv, the first merged one); -1 for preprocessing
    LayerKind kind;
    uint64_t gpu_ns = 0;  // from the timestamp before the dispatch to the one after it
    uint64_t macs = 0;    // multiply-accumulates (pool: compares) of all its layers, for throughput figures
    std::vector<int> layers = {};  // every layer it ran, in Network::layers order
};

// An 8-bit image the plan preprocesses on the GPU (shaders/preprocess.comp) instead of taking a
// float input. height 0: no image, the plan takes preprocessed floats.
struct ImageLayout {
    int height = 0, width = 0, row_stride = 0, bytes_per_pixel = 3;
    std::array<int, 3> channel_offsets{0, 1, 2};  // byte of R, G, B within a pixel
    std::array<float, 8> transform{};             // tf.image.transform's matrix (posenet::Letterbox)
    auto operator<=>(const ImageLayout&) const = default;
    uint64_t bytes() const { return height > 0 ? uint64_t(height - 1) * row_stride + uint64_t(width) * bytes_per_pixel : 0; }
};

struct PlanShape {
    int height = 0, width = 0, batch = 1;
    bool keep_all = false;  // every tensor gets its own memory and is read back (layer-by-layer tests)
    ImageLayout image;      // batch 1 only
    auto operator<=>(const PlanShape&) const = default;
};

// Timestamps a plan writes: none, two around the whole network (its GPU time, at almost no cost),
// or one after every step (per-step times; each costs ~2 us of GPU time on an H100).
enum class Timestamps { Off, Total, PerStep };

// Host-side time of the last execute(), in microseconds: copying the input into the mapped staging
// buffer, and from vkQueueSubmit until the fence signals (GPU work plus submission and wake-up).
struct HostPhases {
    double upload_us = 0, submit_wait_us = 0;
};

class Plan {
public:
    // fuse: merge 1x1 convs of one input into one dispatch, and (except in keep_all plans, which
    // read every tensor back) fuse depthwise convs into the 1x1 conv that alone reads them where
    // depthwise_pointwise_pays, or wherever possible with fuse_always; see schedule() in lowering.h.
    // precision: Float16 runs the GEMM convolutions on tensor cores (lower_layer), and then fuses a
    // depthwise conv into a 1x1 conv (an fp32 kernel) only where that has one N tile.
    Plan(Device& device, KernelLibrary& kernels, const WeightStore& weights, VkBuffer dummy, const Network& net, PlanShape shape,
         Timestamps timestamps, bool fuse = true, bool fuse_always = false, Precision precision = Precision::Float32);
    ~Plan();
    Plan(const Plan&) = delete;
    Plan& operator=(const Plan&) = delete;

    // Copies the input (batch x height x width x input channels) in, runs the network, waits.
    void execute(std::span<const float> input, uint64_t timeout_ns);
    // The same from an image laid out as shape.image (ImageLayout::bytes() bytes from `pixels`).
    void execute_image(const uint8_t* pixels, uint64_t timeout_ns);
    // A tensor read back by the last execute(): the four outputs, or any tensor with keep_all.
    std::vector<float> tensor(int id) const;
    // One per step (see steps()), after a first "preprocess" entry for image plans.
    std::vector<LayerTiming> timings() const;
    // GPU time of the last execute() from the first step to the last (preprocessing included), in ns;
    // 0 without timestamps.
    uint64_t gpu_span_ns() const;
    const HostPhases& host_phases() const { return host_phases_; }

    const std::vector<TensorShape>& shapes() const { return shapes_; }
    uint64_t arena_bytes() const { return arena_.size(); }
    // The layers as run: one step a dispatch (or a split-K GEMM and its reduce).
    const std::vector<Step>& steps() const { return steps_; }
    // Compute dispatches per run: steps, split-K reduces, and the preprocess of image plans.
    int dispatch_count() const;

private:
    void build(KernelLibrary& kernels, const WeightStore& weights, VkBuffer dummy, const Network& net, Timestamps timestamps, bool fuse,
               bool fuse_always, Precision precision);
    void record();
    void release();
    void submit(uint64_t timeout_ns);

    Device& device_;
    PlanShape shape_;
    VkPipelineLayout layout_;
    std::vector<LayerGeometry> geometry_;
    std::vector<TensorShape> shapes_;
    std::vector<Step> steps_;
    std::vector<Dispatch> dispatches_;           // by step, as are the vectors below
    std::vector<std::string> step_names_;
    std::vector<LayerKind> step_kinds_;
    std::vector<uint64_t> tensor_offsets_;    // in the arena
    std::vector<int64_t> readback_offsets_;   // in the readback buffer, -1: not read back
    Buffer arena_, input_, readback_;
    Buffer image_staging_, image_;  // image plans: the 8-bit pixels, host side and device side
    VkPipeline preprocess_ = VK_NULL_HANDLE;
    PreprocessPush preprocess_push_;
    std::array<uint32_t, 3> preprocess_groups_{};
    VkDescriptorPool pool_ = VK_NULL_HANDLE;
    std::vector<VkDescriptorSet> sets_;
    std::vector<VkPipeline> pipelines_;
    // Split-K steps (Dispatch::slices > 1): their reduce pipeline and descriptor set (index into
    // sets_), VK_NULL_HANDLE / -1 for the others. Their partial sums share one scratch region at
    // the end of the arena: layers run in order with barriers in between, so one at a time uses it.
    std::vector<VkPipeline> reduce_pipelines_;
    std::vector<int> reduce_sets_;
    uint64_t scratch_offset_ = 0, scratch_bytes_ = 0;
    VkCommandPool command_pool_ = VK_NULL_HANDLE;
    VkCommandBuffer commands_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    VkQueryPool queries_ = VK_NULL_HANDLE;
    Timestamps timestamp_mode_ = Timestamps::Off;
    HostPhases host_phases_;
    bool executed_ = false;
};

}  // namespace posenet::engine::vk
