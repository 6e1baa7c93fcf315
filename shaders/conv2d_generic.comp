#version 450
// Any Conv2D (KxK, stride, dilation including (2,1), pads per side): the tiled matrix multiply of
// conv_gemm.glsl with the input window gathered on the fly (implicit im2col); fused bias, residual
// add and activation.
#extension GL_GOOGLE_include_directive : require
#define IM2COL 1
#include "common.glsl"
#include "conv_gemm.glsl"
