#version 450
// Max pooling. Positions in the explicit (folded TF Pad) zero pads count as 0 in the max, like TF's
// Pad + MaxPool; positions in Same padding are ignored, like TF's MaxPool. The host passes both.
#extension GL_GOOGLE_include_directive : require
// Before common.glsl: its linear_invocation() reads gl_WorkGroupSize, which glslang folds to 1
// in functions defined before the local size is declared.
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 6) const int C = 1;
layout(constant_id = 7) const int KH = 3;
layout(constant_id = 8) const int KW = 3;
layout(constant_id = 9) const int SH = 2;
layout(constant_id = 10) const int SW = 2;

void main() {
    const uint idx = linear_invocation();
    if (idx >= uint(p.count)) return;
    const int c = int(idx % uint(C));
    int t = int(idx / uint(C));
    const int ox = t % p.out_w; t /= p.out_w;
    const int oy = t % p.out_h;
    const int n = t / p.out_h;
    const int iy0 = oy * SH - p.pad_top, ix0 = ox * SW - p.pad_left;
    float m = -3.402823466e38;   // -FLT_MAX: a window always holds a real or zero-pad position
    [[unroll]] for (int ky = 0; ky < KH; ++ky) {
        const int iy = iy0 + ky;
        if (iy < -p.zero_top || iy >= p.in_h + p.zero_bottom) continue;
        [[unroll]] for (int kx = 0; kx < KW; ++kx) {
            const int ix = ix0 + kx;
            if (ix < -p.zero_left || ix >= p.in_w + p.zero_right) continue;
            const bool real = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
            m = max(m, real ? float(x[((n * p.in_h + iy) * p.in_w + ix) * C + c]) : 0.0);
        }
    }
    y[idx] = Y_T(m);
}
