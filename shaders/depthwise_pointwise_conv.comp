#version 450
// A depthwise conv (any window, stride, dilation, pads, multiplier; bias; activation) followed by a
// 1x1 conv that alone reads its output, in one dispatch: the tiled matrix multiply of conv_gemm.glsl
// computes the depthwise output for its A tile (pixels x channels) on the fly in its load stage, so
// the intermediate tensor never goes through memory and the pair costs one dispatch and one barrier.
// Each workgroup recomputes the depthwise values of its rows once per N tile (the host keeps N tiles
// few). Fused bias and activation of the 1x1 conv; split-K like the plain GEMM.
// Bindings: x = the depthwise input, x2 = the depthwise filter then bias, w = the 1x1 filter [K][CO],
// bias = the 1x1 bias, y = the 1x1 output.
#extension GL_GOOGLE_include_directive : require
#define DEPTHWISE_A 1
#include "common.glsl"
#include "conv_gemm.glsl"
