// The compute kernels (shaders/*.comp) as pipelines. All kernels share one descriptor-set layout and
// one push-constant block (mirrored from shaders/common.glsl), so a single pipeline layout serves all.
// Shapes that are fixed per layer (channels, window, stride, dilation, activation, tile sizes) are
// specialization constants; sizes that follow the input size are push constants, so one pipeline
// serves every input size.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "engine/vulkan/device.h"
#include "engine/vulkan/pipeline_cache.h"

namespace posenet::engine::vk {

enum class Kernel {
    Conv2dGeneric, PointwiseConv, DepthwiseConv, MaxPool, Add, Preprocess, SplitKReduce, DepthwisePointwiseConv,
    // Tensor cores (coopmat_gemm.glsl: fp16 products, fp32 sums; Precision::Float16)
    PointwiseConvCoopmat, Conv2dGenericCoopmat
};
const char* kernel_name(Kernel k);  // the .comp file name

// Descriptor bindings of every kernel (shaders/common.glsl).
enum Binding : uint32_t { kInput = 0, kInput2 = 1, kFilter = 2, kBias = 3, kOutput = 4, kBindingCount = 5 };

// Which activation bindings of a dispatch hold float16 values (the others float32): a kernel's
// storage variant (shaders/common.glsl; shaders/meson.build builds the combinations each kernel has).
enum StorageBits : uint32_t { kInputHalf = 1, kInput2Half = 2, kOutputHalf = 4 };
// "" for float32 everywhere, else "_f16_x_x2_y" naming the float16 bindings.
std::string storage_suffix(uint32_t storage);

// Specialization constant ids (shaders/common.glsl, conv_gemm.glsl, output_segments.glsl,
// depthwise_conv.comp, maxpool.comp, splitk_reduce.comp, depthwise_pointwise_conv.comp).
enum SpecId : uint32_t {
    kLocalX = 0, kLocalY = 1, kAct = 2, kHasBias = 3, kHasResidual = 4,
    kCI = 5, kCO = 6, kKH = 7, kKW = 8, kSH = 9, kSW = 10, kDH = 11, kDW = 12,
    kBM = 13, kBN = 14, kBK = 15, kTM = 16, kTN = 17,
    kSlices = 18, kKChunk = 19,  // split-K (conv_gemm.glsl): K slices, K values per slice
    // Output segments (output_segments.glsl: merged 1x1 convs): how many, where segments 0..2 end
    // (channel; the last ends at CO), the activation of segments 1..3 (segment 0 has kAct).
    kSegments = 20, kSegEnd0 = 21, kSegEnd1 = 22, kSegEnd2 = 23, kSegAct1 = 24, kSegAct2 = 25, kSegAct3 = 26,
    // Depthwise computed in the GEMM's A load (depthwise_pointwise_conv.comp; kKH..kDW are its
    // window): its input channels, activation, bias, where its bias starts in binding 1, and whether
    // it loads 4 channels at a time.
    kDwCI = 27, kDwAct = 28, kDwHasBias = 29, kDwBiasAt = 30, kDwVec4 = 31,
    // coopmat_gemm.glsl: vec4 loads of A and of B (kTM, kTN are its subgroups along M and N there).
    kCmVecA = 32, kCmVecB = 33,
    // depthwise_conv.comp: 4 channels an invocation (vec4), output pixels of a row an invocation.
    kDepthwiseVec4 = 34, kDepthwiseOutX = 35,
    kSpecCount = 36
};
// The most 1x1 convs one merged dispatch writes (output_segments.glsl).
inline constexpr int kMaxSegments = 4;

// Mirrors `Params` in shaders/common.glsl.
struct PushConstants {
    int32_t batch = 0, in_h = 0, in_w = 0, out_h = 0;
    int32_t out_w = 0, pad_top = 0, pad_left = 0, count = 0;
    int32_t zero_top = 0, zero_left = 0, zero_bottom = 0, zero_right = 0;
    int32_t segment_offset[kMaxSegments] = {};  // merged 1x1 convs: where each output starts in binding 4 (floats)
};
static_assert(sizeof(PushConstants) == 64);

// shaders/preprocess.comp takes four push constants (output height, width, batch, pixel count) and
// its per-image parameters from a buffer (vk::PreprocessItem, engine/vulkan/plan.h).
// The pipeline layout's push-constant range covers the largest block (128 bytes: the guaranteed minimum).
inline constexpr uint32_t kPushConstantBytes = 128;

// Values of the specialization constants, indexed by SpecId (all 32-bit; bools are 0/1).
using SpecValues = std::vector<int32_t>;

class KernelLibrary {
public:
    KernelLibrary(Device& device, PipelineCache& cache);
    ~KernelLibrary();
    KernelLibrary(const KernelLibrary&) = delete;
    KernelLibrary& operator=(const KernelLibrary&) = delete;

    VkDescriptorSetLayout set_layout() const { return set_layout_; }
    VkPipelineLayout layout() const { return layout_; }
    // Created on first use and kept; throws VulkanError naming the kernel when creation fails.
    // storage: StorageBits of the variant.
    VkPipeline pipeline(Kernel kernel, const SpecValues& spec, uint32_t storage = 0);
    size_t pipeline_count() const { return pipelines_.size(); }

private:
    VkShaderModule module(Kernel kernel, uint32_t storage);
    Device& device_;
    PipelineCache& cache_;
    VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
    VkPipelineLayout layout_ = VK_NULL_HANDLE;
    std::map<std::pair<Kernel, uint32_t>, VkShaderModule> modules_;
    std::map<std::tuple<Kernel, uint32_t, SpecValues>, VkPipeline> pipelines_;
};

}  // namespace posenet::engine::vk
