#version 450
// Split-K epilogue: a GEMM conv layer with few output tiles and a long reduction ran as SLICES
// workgroups per tile, each writing the partial sums of its K slice (conv_gemm.glsl); this sums the
// partials of each output value, in slice order, then applies bias, residual and activation in the
// order of the unsplit kernel's epilogue. One invocation per output value.
// Bindings: x = the partials [SLICES][count], x2 = residual, bias, y = the layer's output (or the
// merged 1x1 convs' outputs: output_segments.glsl).
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 6) const int CO = 1;       // output channels (bias index)
layout(constant_id = 18) const int SLICES = 2;
#include "output_segments.glsl"

void main() {
    const int i = int(linear_invocation());
    const int count = p.count;   // output values: pixels x CO
    if (i >= count) return;
    float v = float(x[i]);
    for (int s = 1; s < SLICES; ++s) v += float(x[s * count + i]);
    if (HAS_BIAS) v += bias[i % CO];
    if (HAS_RESIDUAL) v += float(x2[i]);
    store_output(i / CO, i % CO, v);
}
