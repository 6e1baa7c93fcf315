#version 450
// Elementwise Add of two same-shaped tensors with an optional relu/relu6, for Adds that could not
// be fused into the producing convolution.
#extension GL_GOOGLE_include_directive : require
// Before common.glsl: its linear_invocation() reads gl_WorkGroupSize, which glslang folds to 1
// in functions defined before the local size is declared.
layout(local_size_x_id = 0) in;
#include "common.glsl"


void main() {
    const uint idx = linear_invocation();
    if (idx >= uint(p.count)) return;
    y[idx] = Y_T(activate(float(x[idx]) + float(x2[idx])));
}
