// Maps a network (at one input size) to kernel dispatches. First the schedule groups layers into
// steps, one dispatch each (plus a split-K reduce): a layer alone, several 1x1 convs of one input
// merged into one GEMM, or a depthwise conv fused with the 1x1 conv that alone reads it. Then each
// step is lowered: which kernel, its specialization constants (including tile sizes), push
// constants and workgroup counts.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/network.h"
#include "engine/precision.h"
#include "engine/vulkan/device.h"
#include "engine/vulkan/kernels.h"

namespace posenet::engine::vk {

struct Dispatch {
    Kernel kernel = Kernel::Add;
    SpecValues spec;
    PushConstants push;
    std::array<uint32_t, 3> groups{1, 1, 1};
    bool uses_input2 = false, uses_filter = false, uses_bias = false;
    // Split-K (GEMM convs with few output tiles and a long K; see conv_gemm.glsl): slices > 1 means
    // this dispatch writes `slices` partial sums per output value to the plan's scratch (scratch_bytes
    // of it) instead of the output, and `reduce` (splitk_reduce.comp) sums them into the output with
    // bias, residual and activation. uses_input2 and uses_bias then describe the reduce dispatch.
    struct Reduce {
        SpecValues spec;
        PushConstants push;
        std::array<uint32_t, 3> groups{1, 1, 1};
    };
    uint32_t slices = 1;
    uint64_t scratch_bytes = 0;
    Reduce reduce;
    int dispatch_count() const { return slices > 1 ? 2 : 1; }
};

// One dispatch of a plan and the layers it computes (indexes into Network::layers).
struct Step {
    enum class Form {
        Layer,               // layers = {i}
        MergedPointwise,     // 2..kMaxSegments 1x1 convs of one input tensor, in output-channel order
        DepthwisePointwise,  // {depthwise, the 1x1 conv that alone reads its output}
    };
    Form form = Form::Layer;
    std::vector<int> layers;
    int last() const { return layers.back(); }
};

// Whether a layer is a 1x1 conv that is a plain matrix multiply at every input size (stride 1, no
// explicit pads; Same/Valid then pad nothing) with no residual: merge and fusion candidates.
bool is_plain_pointwise(const Layer& l);

// Groups of 1x1 convs that read the same tensor (is_plain_pointwise, at most kMaxSegments a group,
// in layer order): each can run as one GEMM over their filters side by side. Depends on the
// network's structure only (the weight store packs their filters once).
std::vector<std::vector<int>> pointwise_groups(const Network& net);

// The steps of a plan, in an order that respects every dependency. merge: run pointwise_groups as
// one step each (every tensor is still written). fuse_depthwise: fuse each depthwise conv (no
// residual) into the plain 1x1 conv that is the only reader of its output, when that output is not
// a network output; the depthwise output then never exists, so plans that read every tensor back
// must not fuse. Everything else is one step a layer. (Structure only: the plan then runs a fused
// pair as two steps where depthwise_pointwise_pays says no at its size.)
std::vector<Step> schedule(const Network& net, bool merge, bool fuse_depthwise);

// Whether the step that runs layer l (a Layer step; merged: a MergedPointwise one) rounds its input
// tensor to fp16 before any arithmetic: the A operand of a tensor-core GEMM (Precision::Float16,
// Conv2D with K = KH * KW * CI >= 64; merged 1x1 convs always). Its residual is read as float32.
bool rounds_input_to_fp16(const Layer& l, Precision precision, bool merged = false);

// Which tensors a plan stores as float16 (the activations' storage: VulkanOptions::activation_storage).
// Never the input (float input is copied in, images are preprocessed in float32) nor the four
// outputs (the decoder's); the members of a merged step all or none (one output block).
// GemmInputs: the tensors whose every reader rounds them to fp16 anyway (rounds_input_to_fp16):
// half the bytes and not one result changed. All: every other tensor too (an extra rounding where
// a float32 kernel reads one: depthwise, fused depthwise + pointwise, pools, adds, residuals).
enum class HalfTensors { None, GemmInputs, All };
std::vector<bool> half_tensors(const Network& net, std::span<const Step> steps, Precision precision, HalfTensors half);

// Throws VulkanError when the layer cannot run on this device (e.g. a tensor too large to bind).
// Precision::Float16: convolutions with K = KH * KW * CI >= 64 run on tensor cores (coopmat_gemm.glsl;
// needs DeviceFeatures::coopmat_f16); other layers are the same either way.
Dispatch lower_layer(const Layer& layer, const LayerGeometry& g, const DeviceFeatures& features,
                     Precision precision = Precision::Float32);

// Merged 1x1 convs (one pointwise_groups entry, geometry by member): one GEMM over the filters side
// by side (the weight store's packed filter and bias), whose epilogue writes member s's channels,
// with its activation, to its own tensor at output_offsets[s] floats into the bound output range.
Dispatch lower_merged_pointwise(std::span<const Layer* const> members, std::span<const LayerGeometry* const> geometry,
                                std::span<const uint64_t> output_offsets, const DeviceFeatures& features,
                                Precision precision = Precision::Float32);

// A depthwise conv and the 1x1 conv that alone reads it, as one GEMM computing the depthwise values
// in its A load. dw_bias_at: where the depthwise bias starts (floats) in the range bound to binding
// 1, which begins with the depthwise filter.
Dispatch lower_depthwise_pointwise(const Layer& dw, const LayerGeometry& g_dw, const Layer& pw, const LayerGeometry& g_pw,
                                   uint64_t dw_bias_at, const DeviceFeatures& features);

// Whether that fused dispatch is expected to beat the depthwise and 1x1 dispatches it replaces: it
// recomputes the depthwise values once per N tile, which costs more than the saved dispatch and
// barrier when the tiles are many and each walks a long K, or the layer is large (see the
// measurements in lowering.cpp). Never on a CPU device (cpu_device: DeviceInfo::type "cpu", e.g.
// lavapipe), where a dispatch costs little next to the arithmetic.
bool depthwise_pointwise_pays(const Dispatch& fused, bool cpu_device);

}  // namespace posenet::engine::vk
