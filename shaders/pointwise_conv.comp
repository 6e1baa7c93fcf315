#version 450
// 1x1 convolution, stride 1, no pads: a plain tiled matrix multiply over the NHWC input
// (rows = pixels, columns = channels), with fused bias, residual add and activation.
#extension GL_GOOGLE_include_directive : require
#define IM2COL 0
#include "common.glsl"
#include "conv_gemm.glsl"
