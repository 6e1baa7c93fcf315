// A Plan: everything needed to run one network at one input size and batch, shared by every run at
// that size: the activation arena, one descriptor set per step, the pipelines. It holds nothing of a
// particular frame: the source images' sizes, layouts and letterboxes come with each run.
//
// A Lane: what one run in flight needs of its own: the upload buffer (8-bit images after their
// per-image parameters, read in place by the preprocessing kernel; or floats, copied into the
// plan's input tensor), the readback buffer, a command buffer, a fence and a timestamp query pool.
// Several lanes run the same plan one after another on the one queue: each command buffer starts
// with a barrier that orders it after everything submitted before it, so the plan's arena is never
// used by two runs at once, while the host fills one lane's upload buffer and decodes another's
// readback.
//
// A lane's command buffer (the barrier, [the float copy,] [preprocessing,] the network, the
// readback of the outputs asked for) is recorded once and replayed while what it depends on stays
// the same: the plan, the outputs asked for, the lane's buffers (which grow to the largest input
// seen and then stay). The images' sizes, layouts and letterboxes are data in the upload buffer.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/executor.h"
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

struct PlanShape {
    int height = 0, width = 0, batch = 1;
    bool keep_all = false;  // every tensor gets its own memory and is read back (layer-by-layer tests)
    auto operator<=>(const PlanShape&) const = default;
};

// Timestamps a run writes: none, two around the whole network (its GPU time, at almost no cost),
// or one after every step (per-step times; each costs ~2 us of GPU time on an H100).
enum class Timestamps { Off, Total, PerStep };

// Mirrors `Item` in shaders/preprocess.comp: one image of a batch, read by the preprocessing kernel
// from the lane's parameter region (so the recorded commands serve any image size and layout).
struct PreprocessItem {
    int32_t image_h = 0, image_w = 0, row_stride = 0, bpp = 0;  // row stride and pixel size in bytes
    int32_t c0 = 0, c1 = 1, c2 = 2;                               // byte of R, G, B within a pixel
    uint32_t offset = 0;                                          // where the image starts in the pixel binding, bytes
    float t[8] = {};                                              // tf.image.transform's matrix (posenet::Letterbox)
};
static_assert(sizeof(PreprocessItem) == 64);

// The names, kernels and work of a plan's steps, for timings; apart from the plan so that a run's
// timings outlive the plan's eviction.
struct StepTable {
    std::vector<LayerTiming> steps;  // gpu_ns 0
};

class Plan {
public:
    // fuse: merge 1x1 convs of one input into one dispatch, and (except in keep_all plans, which
    // read every tensor back) fuse depthwise convs into the 1x1 conv that alone reads them where
    // depthwise_pointwise_pays, or wherever possible with fuse_always; see schedule() in lowering.h.
    // precision: Float16 runs the GEMM convolutions on tensor cores (lower_layer), and then fuses a
    // depthwise conv into a 1x1 conv (an fp32 kernel) only where that has one N tile.
    // half: which tensors hold float16 values (half_tensors; the kernels' storage variants,
    // StorageBits; the device must have storageBuffer16BitAccess); keep_all plans read them back as
    // float16 (tensor_half).
    // Plans of a 3-channel network on a device with shaderFloat64 also take 8-bit images.
    Plan(Device& device, KernelLibrary& kernels, const WeightStore& weights, VkBuffer dummy, const Network& net, PlanShape shape,
         bool fuse = true, bool fuse_always = false, Precision precision = Precision::Float32, HalfTensors half = HalfTensors::None);
    ~Plan();  // frees the arena and descriptor sets: no run may be in flight
    Plan(const Plan&) = delete;
    Plan& operator=(const Plan&) = delete;

    const PlanShape& shape() const { return shape_; }
    uint64_t id() const { return id_; }  // unique in the process, never reused (lanes key their recordings on it)
    const std::vector<TensorShape>& shapes() const { return shapes_; }
    uint64_t arena_bytes() const { return arena_.size(); }
    // The layers as run: one step a dispatch (or a split-K GEMM and its reduce).
    const std::vector<Step>& steps() const { return steps_; }
    // Compute dispatches per run: steps and split-K reduces, plus the preprocessing of image runs.
    int dispatch_count(bool images = false) const;
    const std::shared_ptr<const StepTable>& step_table() const { return step_table_; }
    bool takes_images() const { return preprocess_ != VK_NULL_HANDLE; }

    // The network input tensor in the arena: where float input is copied and images are preprocessed to.
    VkDescriptorBufferInfo input_range() const;
    // Where each tensor read back lands in a lane's readback buffer (-1: never read back), and the
    // buffer's size for them all. Plain plans read back the four outputs, keep_all plans every tensor.
    int64_t readback_offset(int tensor) const { return readback_offsets_.at(size_t(tensor)); }
    uint64_t readback_bytes() const { return readback_bytes_; }
    // Whether a tensor is stored (and read back) as float16 values.
    bool tensor_half(int tensor) const { return half_.at(size_t(tensor)); }
    const std::array<int, 4>& outputs() const { return outputs_; }  // heatmap, offsets, displacement fwd, bwd

    // Timestamp queries a run writes (0 with Timestamps::Off).
    uint32_t query_count(Timestamps timestamps, bool images) const;
    // Into a command buffer the caller began: [query reset and timestamps,] preprocessing with
    // `preprocess_set` (VK_NULL_HANDLE: float input already in the input tensor), every step.
    void record_network(VkCommandBuffer cb, VkDescriptorSet preprocess_set, VkQueryPool queries, Timestamps timestamps) const;
    // The copies of `outputs` (keep_all plans: every tensor) into `readback`, between barriers that
    // order them after the network and before the host reads.
    void record_readback(VkCommandBuffer cb, VkBuffer readback, OutputSet outputs) const;
    // Push constants of the preprocessing dispatch.
    void preprocess_push(int32_t (&push)[4]) const;

    // Managed by the executor, under its mutex: runs in flight (a pinned plan is never evicted) and
    // the last use (least recently used plans are evicted first).
    int pins = 0;
    uint64_t last_used = 0;

private:
    void build(KernelLibrary& kernels, const WeightStore& weights, VkBuffer dummy, const Network& net, bool fuse, bool fuse_always,
               Precision precision, HalfTensors half);
    void release();

    Device& device_;
    PlanShape shape_;
    uint64_t id_;
    VkPipelineLayout layout_;
    std::vector<LayerGeometry> geometry_;
    std::vector<TensorShape> shapes_;
    std::vector<Step> steps_;
    std::vector<Dispatch> dispatches_;  // by step, as are the vectors below
    std::shared_ptr<const StepTable> step_table_;
    std::vector<uint64_t> tensor_offsets_;   // in the arena
    std::vector<bool> half_;                 // by tensor: float16 values
    std::vector<int64_t> readback_offsets_;  // in a lane's readback buffer, -1: not read back
    uint64_t readback_bytes_ = 0;
    std::array<int, 4> outputs_{-1, -1, -1, -1};
    Buffer arena_;
    VkPipeline preprocess_ = VK_NULL_HANDLE;
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
};

// Host-side time of a lane's last run, in microseconds: from vkQueueSubmit until the fence signals
// (GPU work plus submission and wake-up).
struct HostPhases {
    double upload_us = 0, submit_wait_us = 0;
};

class Lane {
public:
    Lane(Device& device, KernelLibrary& kernels, VkBuffer dummy);
    ~Lane();  // waits for a run in flight
    Lane(const Lane&) = delete;
    Lane& operator=(const Lane&) = delete;

    // Image uploads: per-image parameters first (PreprocessItem x batch), the pixels from
    // pixel_offset(batch) on, each image at a 16-byte aligned offset.
    uint64_t pixel_offset(int batch) const;
    // The mapped upload buffer, at least `bytes` long (grown as needed; its contents are then lost).
    // Only while no run is in flight.
    uint8_t* upload(uint64_t bytes);
    // Submits the run of `plan` on what upload() holds: images (parameters and pixels) or floats
    // (the input tensor's bytes), re-recording the command buffer where something it depends on
    // changed. The plan must stay alive until wait() returns. Throws VulkanError; nothing is in
    // flight then.
    void submit(const Plan& plan, bool images, OutputSet outputs, Timestamps timestamps);
    // Waits for the run (VulkanError on timeout or a lost device; the run then counts as in flight
    // still, and the destructor waits for the device).
    void wait(uint64_t timeout_ns);
    bool in_flight() const { return in_flight_; }
    bool failed() const { return failed_; }  // the last wait() threw
    // The readback buffer of the last completed run; offsets from Plan::readback_offset.
    const float* readback(int64_t offset) const;
    // The raw timestamps of the last completed run (Plan::query_count of them).
    std::vector<uint64_t> timestamps() const;
    double submit_wait_us() const { return submit_wait_us_; }
    uint64_t records() const { return records_; }  // command buffer recordings so far
    // Upload and readback buffers.
    uint64_t bytes() const { return upload_.size() + readback_.size(); }

private:
    void ensure(Buffer& buffer, uint64_t bytes, VkBufferUsageFlags usage, MemoryUse use, const char* what);
    void record(const Plan& plan, bool images, OutputSet outputs, VkQueryPool queries, Timestamps timestamps);
    void update_preprocess_set(const Plan& plan);
    void release();

    Device& device_;
    VkDescriptorSetLayout set_layout_;
    VkBuffer dummy_;
    uint64_t align_;
    Buffer upload_, readback_;
    VkCommandPool command_pool_ = VK_NULL_HANDLE;
    VkCommandBuffer commands_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    VkDescriptorPool descriptor_pool_ = VK_NULL_HANDLE;
    VkDescriptorSet preprocess_set_ = VK_NULL_HANDLE;
    VkQueryPool queries_ = VK_NULL_HANDLE;
    uint32_t query_capacity_ = 0, query_count_ = 0;
    // What the command buffer and the preprocessing set were made for (plan 0: nothing).
    struct RecordKey {
        uint64_t plan = 0;
        bool images = false;
        OutputSet outputs = OutputSet::All;
        uint64_t buffers = 0;  // buffers_ when recorded
        bool queries = false;
        Timestamps timestamps = Timestamps::Off;
        bool operator==(const RecordKey&) const = default;
    } record_key_;
    struct SetKey {
        uint64_t plan = 0, buffers = 0;
        bool operator==(const SetKey&) const = default;
    } set_key_;
    // Counts (re)allocations of the upload and readback buffers and the query pool: a handle value
    // cannot tell a new object from a destroyed one (drivers reuse them).
    uint64_t buffers_ = 0;
    uint64_t records_ = 0;
    bool in_flight_ = false, failed_ = false;
    double submit_wait_us_ = 0;
    std::chrono::steady_clock::time_point submitted_at_;
};

}  // namespace posenet::engine::vk
