#version 450
// 1x1 convolution, stride 1, no pads, on tensor cores (fp16 products, fp32 sums and storage):
// coopmat_gemm.glsl over the NHWC input; fused bias, residual add, activation, merged outputs.
#extension GL_GOOGLE_include_directive : require
#define IM2COL 0
#include "common.glsl"
#include "coopmat_gemm.glsl"
