// The CPU executor's hot kernels (convolution through im2col + GEMM, depthwise convolution), built
// once for the target's baseline ISA and, on x86-64, once more with AVX2 + FMA and once with AVX-512
// (F, BW, DQ, VL); the executor picks the best set the CPU running it supports (runtime dispatch), so
// the binary stays baseline x86-64.
#pragma once

#include <cstdint>

#include "engine/cpu_thread_pool.h"  // cpu_threads, parallel_for (the kernels' callers use both)
#include "engine/network.h"

namespace posenet::engine::cpu {

enum class Isa { Baseline, Avx2, Avx512 };
const char* to_string(Isa);

// Bias (count out_channels, or null), residual (same shape as the output, or null) and activation,
// applied in that order to every output (TF's BiasAdd -> Add -> Relu).
struct Epilogue {
    const float* bias = nullptr;
    const float* residual = nullptr;
    Activation activation = Activation::None;
};

// One ISA's kernels. Inputs and outputs are NHWC float32; filters are the Network layouts (HWIO for
// Conv2D, [kh][kw][in][multiplier] for depthwise). Every output is written (no need to clear it).
struct KernelSet {
    Isa isa;
    // scratch: conv2d_scratch_floats(l, g) floats (im2col columns, packed weights, per-thread panels).
    // packed: the filter as pack_filter wrote it (weights_packed_floats(l) > 0), or null: conv2d then
    // packs it into scratch itself.
    void (*conv2d)(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const float* packed,
                   const Epilogue& e, float* out, float* scratch);
    void (*depthwise)(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const Epilogue& e,
                      float* out);
    // Floats of a Conv2D filter in this set's GEMM layout, 0 where conv2d reads the filter as it is
    // (the baseline set, direct convolutions); the executor packs the weights once with pack_filter.
    uint64_t (*packed_filter_floats)(const Layer& l);
    void (*pack_filter)(const Layer& l, const float* filter, float* packed);
    // A depthwise layer and the 1x1 Conv2D that reads its output, fused: the depthwise output stays in
    // per-thread blocks (L1/L2) and never goes to memory; the same bits as the two layers one after
    // the other. Null where the set has none; dw_pw_supported says which pairs qualify (the pointwise
    // layer must also be a plain 1x1 at the geometry: im2col_rows_per_chunk == 0). pw_packed: the
    // pointwise filter as pack_filter wrote it; scratch: conv2d_scratch_floats(pw, pw geometry).
    bool (*dw_pw_supported)(const Layer& dw, const Layer& pw);
    void (*dw_pw)(const Layer& dw, const LayerGeometry& dw_g, const Layer& pw, const LayerGeometry& pw_g, const float* in,
                  const float* dw_filter, const Epilogue& dw_e, const float* pw_packed, const Epilogue& pw_e, float* out,
                  float* scratch);
};

// conv2d convolves inputs of at most this many channels (the RGB input layer) directly; others go
// through im2col (unless a plain 1x1) and a GEMM.
inline constexpr int kDirectConvMaxInChannels = 4;

// conv2d's im2col works in chunks of this many output rows (0: a plain 1x1 conv, no im2col) and
// needs chunk rows x out width x kh x kw x in channels floats of scratch (none for direct convs).
int im2col_rows_per_chunk(const Layer& l, const LayerGeometry& g);
// The GEMM's packed weights: kh x kw x in channels rows of the out channels rounded up to 32 (an
// upper bound for every set's layout).
uint64_t gemm_packed_floats(const Layer& l);
// Per-thread scratch of the AVX-512 GEMM (a block of packed rows of the left-hand matrix).
inline constexpr uint64_t kGemmThreadScratchFloats = 144 * 384;
// All of the above for cpu_threads() threads (the scratch conv2d takes; conv2d uses at most that many
// per-thread blocks).
uint64_t conv2d_scratch_floats(const Layer& l, const LayerGeometry& g);


// The kernels for `isa`, or null where they are not built into this binary or this CPU lacks the
// instructions.
const KernelSet* kernel_set(Isa isa);
// The best set this CPU runs: AVX-512, else AVX2 + FMA, where built and supported, else the baseline.
// $POSENET_CPU_KERNELS=baseline|avx2|avx512 picks one (for measurements and comparisons); a set this
// binary or CPU lacks falls back to the best one below it.
Isa default_isa();

}  // namespace posenet::engine::cpu
