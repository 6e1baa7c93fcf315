#version 450
// Any Conv2D on tensor cores (fp16 products, fp32 sums and storage): coopmat_gemm.glsl with the
// input window gathered on the fly (implicit im2col); fused bias, residual add and activation.
#extension GL_GOOGLE_include_directive : require
#define IM2COL 1
#include "common.glsl"
#include "coopmat_gemm.glsl"
