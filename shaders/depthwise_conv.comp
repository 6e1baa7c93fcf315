#version 450
// Depthwise convolution: one invocation per OUT_X neighbouring output pixels of a row times VEC
// channels (4 where the channels allow vec4 loads, else 1), channels fastest so neighbouring
// invocations read neighbouring channels. Any window, stride, dilation, depth multiplier; fused bias,
// residual and activation. Memory-bound, so no tiling: an invocation loads each input column its
// OUT_X windows share once per window row, and its taps' weights once. Every output sums its taps in
// window order, skipping those outside the input, whatever OUT_X and VEC are (the same float
// operations as the CPU executor's kernel).
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
// The host sets VEC4 only where CI % 4 == 0 and the multiplier is 1 (every binding starts at a
// multiple of 256 bytes, so vec4 indices stay exact).
layout(constant_id = 34) const bool VEC4 = false;
layout(constant_id = 35) const int OUT_X = 1;
const int MULT = CO / CI;
const int VEC = VEC4 ? 4 : 1;
const int CV = CO / VEC;                        // channel groups a pixel
const int COLS = (OUT_X - 1) * SW + (KW - 1) * DW + 1;   // input columns of a row the OUT_X windows cover

// The same bindings seen as vec4s.
layout(std430, set = 0, binding = 0) readonly buffer Input4 { X4_T x4[]; };
layout(std430, set = 0, binding = 1) readonly buffer Input2x4 { X24_T x24[]; };
layout(std430, set = 0, binding = 2) readonly buffer Filter4 { vec4 w4[]; };
layout(std430, set = 0, binding = 3) readonly buffer Bias4 { vec4 bias4[]; };
layout(std430, set = 0, binding = 4) writeonly buffer Output4 { Y4_T y4[]; };

// Whether some window of this invocation reads column q (dilated windows skip columns).
bool column_used(const int q) {
    bool used = false;
    [[unroll]] for (int j = 0; j < OUT_X; ++j)
        [[unroll]] for (int kx = 0; kx < KW; ++kx) used = used || j * SW + kx * DW == q;
    return used;
}

// VEC values at element index i (a multiple of VEC) of each binding; the .x lane alone when VEC is 1.
vec4 load_x(int i) { return VEC4 ? vec4(x4[i >> 2]) : vec4(float(x[i]), 0.0, 0.0, 0.0); }
vec4 load_w(int i) { return VEC4 ? w4[i >> 2] : vec4(w[i], 0.0, 0.0, 0.0); }

void main() {
    const int idx = int(linear_invocation());
    if (idx >= p.count) return;   // count: invocations (pixel groups x channel groups)
    const int groups_x = (p.out_w + OUT_X - 1) / OUT_X;
    const int c = (idx % CV) * VEC;
    int t = idx / CV;
    const int ox0 = (t % groups_x) * OUT_X; t /= groups_x;
    const int oy = t % p.out_h;
    const int n = t / p.out_h;
    const int ci = c / MULT;
    const int iy0 = oy * SH - p.pad_top, ix0 = ox0 * SW - p.pad_left;
    vec4 wt[KH * KW];
    [[unroll]] for (int k = 0; k < KH * KW; ++k) wt[k] = load_w(k * CO + c);
    vec4 acc[OUT_X];
    [[unroll]] for (int j = 0; j < OUT_X; ++j) acc[j] = vec4(0.0);
    [[unroll]] for (int ky = 0; ky < KH; ++ky) {
        const int iy = iy0 + ky * DH;
        if (iy < 0 || iy >= p.in_h) continue;
        const int row = (n * p.in_h + iy) * p.in_w;
        vec4 col[COLS];
        [[unroll]] for (int q = 0; q < COLS; ++q) {
            const int ix = ix0 + q;
            col[q] = column_used(q) && ix >= 0 && ix < p.in_w ? load_x((row + ix) * CI + ci) : vec4(0.0);
        }
        [[unroll]] for (int j = 0; j < OUT_X; ++j) {
            [[unroll]] for (int kx = 0; kx < KW; ++kx) {
                const int ix = ix0 + j * SW + kx * DW;
                if (ix < 0 || ix >= p.in_w) continue;
                acc[j] = fma(col[j * SW + kx * DW], wt[ky * KW + kx], acc[j]);
            }
        }
    }
    vec4 b = vec4(0.0);
    if (HAS_BIAS) b = VEC4 ? bias4[c >> 2] : vec4(bias[c], 0.0, 0.0, 0.0);
    [[unroll]] for (int j = 0; j < OUT_X; ++j) {
        const int ox = ox0 + j;
        if (ox >= p.out_w) break;
        const int at = ((n * p.out_h + oy) * p.out_w + ox) * CO + c;
        vec4 v = acc[j];
        if (HAS_BIAS) v += b;
        if (HAS_RESIDUAL) v += VEC4 ? vec4(x24[at >> 2]) : vec4(float(x2[at]), 0.0, 0.0, 0.0);
        if (VEC4) {
            y4[at >> 2] = Y4_T(vec4(activate(v.x), activate(v.y), activate(v.z), activate(v.w)));
        } else {
            y[at] = Y_T(activate(v.x));
        }
    }
}
