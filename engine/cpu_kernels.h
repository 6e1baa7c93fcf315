// The CPU executor's hot kernels (convolution through im2col + GEMM, depthwise convolution), built
// once for the target's baseline ISA and, on x86-64, once more with AVX2 + FMA; the executor picks
// the best set the CPU running it supports (runtime dispatch), so the binary stays baseline x86-64.
#pragma once

#include <cstdint>

#include "engine/network.h"

namespace posenet::engine::cpu {

enum class Isa { Baseline, Avx2 };
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
    // scratch: conv2d_scratch_floats(l, g) floats (im2col columns).
    void (*conv2d)(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const Epilogue& e,
                   float* out, float* scratch);
    void (*depthwise)(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const Epilogue& e,
                      float* out);
};

// conv2d convolves inputs of at most this many channels (the RGB input layer) directly; others go
// through im2col (unless a plain 1x1) and a GEMM.
inline constexpr int kDirectConvMaxInChannels = 4;

// conv2d's im2col works in chunks of this many output rows (0: a plain 1x1 conv, no im2col) and
// needs chunk rows x out width x kh x kw x in channels floats of scratch (none for direct convs).
int im2col_rows_per_chunk(const Layer& l, const LayerGeometry& g);
// The GEMM's packed weights: kh x kw x in channels rows of the out channels rounded up to 16.
uint64_t gemm_packed_floats(const Layer& l);
// Both of the above (the scratch conv2d takes).
uint64_t conv2d_scratch_floats(const Layer& l, const LayerGeometry& g);

// The kernels for `isa`, or null where they are not built into this binary or this CPU lacks the
// instructions.
const KernelSet* kernel_set(Isa isa);
// The best set this CPU runs: AVX2 + FMA where built and supported, else the baseline.
// $POSENET_CPU_KERNELS=baseline forces the baseline (for measurements and comparisons).
Isa default_isa();

}  // namespace posenet::engine::cpu
