#version 450
// Depthwise convolution: one invocation per output element, channels fastest so neighbouring
// invocations read neighbouring channels. Any window, stride, dilation, depth multiplier; fused bias,
// residual and activation. Memory-bound, so no tiling.
#extension GL_GOOGLE_include_directive : require
// Before common.glsl: its linear_invocation() reads gl_WorkGroupSize, which glslang folds to 1
// in functions defined before the local size is declared.
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 5) const int CI = 1;
layout(constant_id = 6) const int CO = 1;   // CI * multiplier
layout(constant_id = 7) const int KH = 3;
layout(constant_id = 8) const int KW = 3;
layout(constant_id = 9) const int SH = 1;
layout(constant_id = 10) const int SW = 1;
layout(constant_id = 11) const int DH = 1;
layout(constant_id = 12) const int DW = 1;
const int MULT = CO / CI;

void main() {
    const uint idx = linear_invocation();
    if (idx >= uint(p.count)) return;
    const int c = int(idx % uint(CO));
    int t = int(idx / uint(CO));
    const int ox = t % p.out_w; t /= p.out_w;
    const int oy = t % p.out_h;
    const int n = t / p.out_h;
    const int ci = c / MULT;
    const int iy0 = oy * SH - p.pad_top, ix0 = ox * SW - p.pad_left;
    float acc = 0.0;
    [[unroll]] for (int ky = 0; ky < KH; ++ky) {
        const int iy = iy0 + ky * DH;
        if (iy < 0 || iy >= p.in_h) continue;
        [[unroll]] for (int kx = 0; kx < KW; ++kx) {
            const int ix = ix0 + kx * DW;
            if (ix < 0 || ix >= p.in_w) continue;
            acc = fma(x[((n * p.in_h + iy) * p.in_w + ix) * CI + ci], w[(ky * KW + kx) * CO + c], acc);
        }
    }
    if (HAS_BIAS) acc += bias[c];
    if (HAS_RESIDUAL) acc += x2[idx];
    y[idx] = activate(acc);
}
