// Convolution as a matrix multiply on tensor cores (GL_NV_cooperative_matrix): the same GEMM as
// conv_gemm.glsl (C[M = pixels][N = out channels] = A[M][K] * B[K][N], B the HWIO filter, A the
// input read directly (1x1) or gathered (IM2COL)), with fp16 products and fp32 sums. Each workgroup
// loads its A and B tiles (activations fp32 or fp16: common.glsl; weights fp32), rounds them to fp16
// into shared memory, and its subgroups multiply 16x16x16 fragments from there into fp32 accumulators. The
// epilogue (bias, residual, activation, merged outputs; or split-K partials) is conv_gemm.glsl's.
// Host: engine/vulkan/lowering.cpp (Precision::Float16); needs subgroups of 32 invocations and the
// 16x16x16 fp16 x fp16 -> fp32 subgroup shape (vkGetPhysicalDeviceCooperativeMatrixPropertiesNV).
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#ifndef IM2COL
#define IM2COL 0
#endif

layout(local_size_x_id = 0) in;   // WARPS_M * WARPS_N subgroups of 32 (host sets it)

layout(constant_id = 5) const int CI = 1;
layout(constant_id = 6) const int CO = 1;
layout(constant_id = 7) const int KH = 1;
layout(constant_id = 8) const int KW = 1;
layout(constant_id = 9) const int SH = 1;
layout(constant_id = 10) const int SW = 1;
layout(constant_id = 11) const int DH = 1;
layout(constant_id = 12) const int DW = 1;
layout(constant_id = 13) const int BM = 64;    // multiple of 16 * WARPS_M
layout(constant_id = 14) const int BN = 64;    // multiple of 16 * WARPS_N
layout(constant_id = 15) const int BK = 32;    // multiple of 16
layout(constant_id = 16) const int WARPS_M = 2;
layout(constant_id = 17) const int WARPS_N = 2;
// Split-K as conv_gemm.glsl: slice z covers K values [z * KCHUNK, ...), KCHUNK a multiple of BK;
// raw sums to y as [SLICES][M][CO], splitk_reduce.comp does the epilogue.
layout(constant_id = 18) const int SLICES = 1;
layout(constant_id = 19) const int KCHUNK = 1;
#include "output_segments.glsl"
// Four values a load: A when CI % 4 == 0 (then every A index is a multiple of 4: the bindings start
// at multiples of 256 bytes), B when CO % 4 == 0.
layout(constant_id = 32) const bool A_VEC4 = false;
layout(constant_id = 33) const bool B_VEC4 = false;

layout(std430, set = 0, binding = 0) readonly buffer Input4 { X4_T x4[]; };
// Four output values a store where every vector index is exact: CO % 4 == 0 and, for merged 1x1
// convs, every segment's channels too (bindings and segments start at multiples of 256 bytes).
layout(std430, set = 0, binding = 4) writeonly buffer Output4 { Y4_T y4[]; };
const bool OUT_VEC4 = CO % 4 == 0 && (SEGMENTS < 2 || SEG_END0 % 4 == 0) && (SEGMENTS < 3 || SEG_END1 % 4 == 0) &&
                      (SEGMENTS < 4 || SEG_END2 % 4 == 0);

// store_output (output_segments.glsl) for channels n..n+3 of one segment, as one store (OUT_VEC4).
void store_output4(const int m, const int n, const vec4 v) {
    if (SEGMENTS == 1) {
        y4[(m * CO + n) >> 2] = Y4_T(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
        return;
    }
    int begin, end, base;
    const int s = output_segment(n, begin, end, base);
    const vec4 r = vec4(activate_segment(v.x, s), activate_segment(v.y, s), activate_segment(v.z, s), activate_segment(v.w, s));
    y4[(base + m * (end - begin) + (n - begin)) >> 2] = Y4_T(r);
}
layout(std430, set = 0, binding = 2) readonly buffer Filter4 { vec4 w4[]; };

const int K = KH * KW * CI;
const int THREADS = WARPS_M * WARPS_N * 32;
const int AV = A_VEC4 ? 4 : 1;
const int BV = B_VEC4 ? 4 : 1;
// A tile: k fastest (contiguous channels in NHWC); B tile: n fastest. The host keeps these exact.
const int A_KT = BK / AV;
const int A_ROWS = THREADS / A_KT;
const int A_PASSES = BM / A_ROWS;
const int B_NT = BN / BV;
const int B_ROWS = THREADS / B_NT;
const int B_PASSES = BK / B_ROWS;
// Row strides in shared memory, padded by 16 bytes (fragment loads need 16-byte multiples; the pad
// spreads a fragment's rows over the banks).
const int ASTR = BK + 8;
const int BSTR = BN + 8;
const int CSTR = 16 + 4;
const int WTM = BM / WARPS_M, WTN = BN / WARPS_N;   // a subgroup's tile
const int FM = WTM / 16, FN = WTN / 16;             // its fragments

shared float16_t As[BM * ASTR];
shared float16_t Bs[BK * BSTR];
shared float Cs[WARPS_M * WARPS_N * 16 * CSTR];     // a fragment per subgroup, for the epilogue

int a_k, a_row, b_n, b_row, tile_n_;
#if IM2COL
int a_n[A_PASSES], a_iy[A_PASSES], a_ix[A_PASSES];
#else
int a_base[A_PASSES];
#endif

void load_tile(const int k0, out X4_T a_out[A_PASSES], out vec4 b_out[B_PASSES]) {
    const int k = k0 + a_k;
#if IM2COL
    const int c = k % CI, r = k / CI;
    const int kx = r % KW, ky = r / KW;
#endif
    [[unroll]] for (int i = 0; i < A_PASSES; ++i) {
        X4_T v = X4_T(0.0);   // (fp16 storage: loaded as stored, no rounding)
#if IM2COL
        const int iy = a_iy[i] + ky * DH, ix = a_ix[i] + kx * DW;
        if (k < K && a_n[i] >= 0 && iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w) {
            const int at = ((a_n[i] + iy) * p.in_w + ix) * CI + c;
            v = A_VEC4 ? X4_T(x4[at >> 2]) : X4_T(x[at], 0.0, 0.0, 0.0);
        }
#else
        if (k < K && a_base[i] >= 0) v = A_VEC4 ? X4_T(x4[(a_base[i] + k) >> 2]) : X4_T(x[a_base[i] + k], 0.0, 0.0, 0.0);
#endif
        a_out[i] = v;
    }
    [[unroll]] for (int i = 0; i < B_PASSES; ++i) {
        const int kk = k0 + b_row + i * B_ROWS;
        const int n = tile_n_ + b_n;
        vec4 v = vec4(0.0);
        if (kk < K && n < CO) v = B_VEC4 ? w4[(kk * CO + n) >> 2] : vec4(w[kk * CO + n], 0.0, 0.0, 0.0);
        b_out[i] = v;
    }
}

void main() {
    const int M = p.count;
    const int m_tiles = (M + BM - 1) / BM;
    const int slice = SLICES > 1 ? int(gl_WorkGroupID.z) : 0;
    const int tile = SLICES > 1 ? int(gl_WorkGroupID.x) : int(gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x);
    const int k_begin = slice * KCHUNK;
    const int k_end = SLICES > 1 ? min(K, k_begin + KCHUNK) : K;
    if (tile >= m_tiles) return;   // whole workgroup: uniform, before any barrier
    const int tile_m = tile * BM;
    const int tile_n = int(gl_WorkGroupID.y) * BN;
    const int tid = int(gl_LocalInvocationID.x);
    const int warp = int(gl_SubgroupID), lane = int(gl_SubgroupInvocationID);
    const int wm = warp / WARPS_N, wn = warp % WARPS_N;

    a_k = (tid % A_KT) * AV, a_row = tid / A_KT;
    b_n = (tid % B_NT) * BV, b_row = tid / B_NT;
    tile_n_ = tile_n;
    [[unroll]] for (int i = 0; i < A_PASSES; ++i) {
        const int m = tile_m + a_row + i * A_ROWS;
#if IM2COL
        const int ox = m % p.out_w, t = m / p.out_w;
        a_iy[i] = (t % p.out_h) * SH - p.pad_top;
        a_ix[i] = ox * SW - p.pad_left;
        a_n[i] = m < M ? (t / p.out_h) * p.in_h : -1;
#else
        a_base[i] = m < M ? m * CI : -1;
#endif
    }

    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[FM * FN];
    [[unroll]] for (int i = 0; i < FM * FN; ++i) acc[i] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);

    // The next tile's global loads are issued before this tile's multiplies (software pipelining).
    X4_T a_next[A_PASSES];
    vec4 b_next[B_PASSES];
    load_tile(k_begin, a_next, b_next);
    for (int k0 = k_begin; k0 < k_end; k0 += BK) {
        [[unroll]] for (int i = 0; i < A_PASSES; ++i) {
            const int at = (a_row + i * A_ROWS) * ASTR + a_k;
            [[unroll]] for (int j = 0; j < AV; ++j) As[at + j] = float16_t(a_next[i][j]);
        }
        [[unroll]] for (int i = 0; i < B_PASSES; ++i) {
            const int at = (b_row + i * B_ROWS) * BSTR + b_n;
            [[unroll]] for (int j = 0; j < BV; ++j) Bs[at + j] = float16_t(b_next[i][j]);
        }
        barrier();
        if (k0 + BK < k_end) load_tile(k0 + BK, a_next, b_next);
        [[unroll]] for (int kk = 0; kk < BK; kk += 16) {
            fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> fa[FM], fb[FN];
            [[unroll]] for (int i = 0; i < FM; ++i) coopMatLoadNV(fa[i], As, uint((wm * WTM + i * 16) * ASTR + kk), uint(ASTR), false);
            [[unroll]] for (int j = 0; j < FN; ++j) coopMatLoadNV(fb[j], Bs, uint(kk * BSTR + wn * WTN + j * 16), uint(BSTR), false);
            [[unroll]] for (int i = 0; i < FM; ++i)
                [[unroll]] for (int j = 0; j < FN; ++j) acc[i * FN + j] = coopMatMulAddNV(fa[i], fb[j], acc[i * FN + j]);
        }
        barrier();
    }

    // Epilogue, a fragment at a time through this subgroup's corner of shared memory: each lane
    // takes 8 of its 256 values, 4 consecutive channels twice (16 channels a row over 4 lanes:
    // coalesced NHWC stores), stored as one vector where the output allows (OUT_VEC4), else one
    // value at a time. The values and their order of operations do not depend on the store width.
    const uint cw = uint(warp * 16 * CSTR);
    [[unroll]] for (int i = 0; i < FM; ++i) {
        [[unroll]] for (int j = 0; j < FN; ++j) {
            coopMatStoreNV(acc[i * FN + j], Cs, cw, uint(CSTR), false);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            [[unroll]] for (int t = 0; t < 2; ++t) {
                const int g = lane + 32 * t, r = g >> 2, c = (g & 3) * 4;
                const int m = tile_m + wm * WTM + i * 16 + r;
                const int n = tile_n + wn * WTN + j * 16 + c;
                if (m >= M || n >= CO) continue;
                const uint at = cw + uint(r * CSTR + c);
                vec4 v = vec4(Cs[at], Cs[at + 1], Cs[at + 2], Cs[at + 3]);
                const bool whole = OUT_VEC4 && n + 3 < CO;
                if (SLICES > 1) {
                    const int o = (slice * M + m) * CO + n;
                    if (whole) {
                        y4[o >> 2] = Y4_T(v);
                    } else {
                        [[unroll]] for (int e = 0; e < 4; ++e)
                            if (n + e < CO) y[o + e] = Y_T(v[e]);
                    }
                    continue;
                }
                [[unroll]] for (int e = 0; e < 4; ++e) {
                    if (n + e >= CO) break;
                    if (HAS_BIAS) v[e] += bias[n + e];
                    if (HAS_RESIDUAL) v[e] += float(x2[m * CO + n + e]);
                }
                if (whole) {
                    store_output4(m, n, v);
                } else {
                    [[unroll]] for (int e = 0; e < 4; ++e)
                        if (n + e < CO) store_output(m, n + e, v[e]);
                }
            }
            subgroupMemoryBarrierShared();
            subgroupBarrier();
        }
    }
}
