// Convolution as a tiled matrix multiply: C[M = pixels][N = out channels] = A[M][K] * B[K][N], where
// B is the HWIO filter as stored ([kh][kw][ci][co] is exactly [K][N]) and A is the input, read
// directly (1x1, stride 1, no pads), gathered on the fly (IM2COL: im2col) for any other window, or
// computed on the fly (DEPTHWISE_A: a depthwise conv whose output only this 1x1 conv reads).
// Each workgroup computes a BM x BN tile; each thread TM x TN of it, with strided rows and columns so
// that shared-memory reads are conflict-free and stores to NHWC are coalesced.
#ifndef IM2COL
#define IM2COL 0
#endif
#ifndef DEPTHWISE_A
#define DEPTHWISE_A 0
#endif

layout(local_size_x_id = 0, local_size_y_id = 1) in;   // x = BN / TN, y = BM / TM (host sets both)

layout(constant_id = 5) const int CI = 1;
layout(constant_id = 6) const int CO = 1;
layout(constant_id = 7) const int KH = 1;
layout(constant_id = 8) const int KW = 1;
layout(constant_id = 9) const int SH = 1;
layout(constant_id = 10) const int SW = 1;
layout(constant_id = 11) const int DH = 1;
layout(constant_id = 12) const int DW = 1;
layout(constant_id = 13) const int BM = 64;
layout(constant_id = 14) const int BN = 64;
layout(constant_id = 15) const int BK = 16;
layout(constant_id = 16) const int TM = 4;
layout(constant_id = 17) const int TN = 4;
// Split-K, for layers with too few output tiles to fill the GPU: workgroup z is the slice, which
// covers K values [z * KCHUNK, min(K, (z + 1) * KCHUNK)) (KCHUNK a multiple of BK, so the loads'
// k < K test is the only edge); the raw sums go to y = scratch as [SLICES][M][CO] and
// splitk_reduce.comp adds them up and applies the epilogue. SLICES 1: the whole K, epilogue here.
layout(constant_id = 18) const int SLICES = 1;
layout(constant_id = 19) const int KCHUNK = 1;

#include "output_segments.glsl"

#if DEPTHWISE_A
// A[m][k] = act(depthwise(x)[m][k] + dw bias[k]): the depthwise's window is KH x KW (stride SH, SW,
// dilation DH, DW; pads p.pad_top/left) over input channel k / DW_MULT of x, which has DW_CI channels
// and p.in_h x p.in_w pixels; its filter [KH][KW][CI] and bias (at DW_BIAS_AT) are in binding 1 (x2).
layout(constant_id = 27) const int DW_CI = 1;
layout(constant_id = 28) const int DW_ACT = 0;
layout(constant_id = 29) const bool DW_HAS_BIAS = false;
layout(constant_id = 30) const int DW_BIAS_AT = 0;
// Four channels a load (vec4): the host sets it when CI and DW_CI are multiples of 4 and the
// multiplier is 1 (then DW_BIAS_AT and every binding offset are multiples of 4 floats too). A thread
// then loads 4 channels of a pixel's taps: a quarter of the load instructions, which bound this
// kernel (9 taps per A value).
layout(constant_id = 31) const bool DW_VEC4 = false;
const int DW_MULT = CI / DW_CI;
const int K = CI;
const int AV = DW_VEC4 ? 4 : 1;   // channels per A load
// The same bindings seen as vec4s (read-only, so the aliasing is harmless).
layout(std430, set = 0, binding = 0) readonly buffer Input4 { X4_T x4[]; };
layout(std430, set = 0, binding = 1) readonly buffer Input2x4 { vec4 x24[]; };
#else
const int K = KH * KW * CI;
const int AV = 1;
#endif
const int WX = BN / TN;
const int WY = BM / TM;
const int THREADS = WX * WY;
// Loading: A tiles with k fastest (contiguous channels in NHWC), AV channels a thread, B tiles with n
// fastest. The host guarantees that these divisions are exact, and for AV = 1 that A_ROWS divides BM
// (AV = 4: threads whose rows are past BM idle in the A load).
const int A_KT = BK / AV;   // threads per A row
const int A_ROWS = THREADS / A_KT;
const int A_PASSES = (BM + A_ROWS - 1) / A_ROWS;
const int B_ROWS = THREADS / BN;
const int B_PASSES = BK / B_ROWS;
const int AS = BM + 1;   // +1: the k-major transposed store would otherwise hit one bank

shared float As[BK * AS];
shared float Bs[BK * BN];

// This thread's share of the tile loads (set once in main).
int a_k, a_row, b_n, b_row, tile_n_;
#if IM2COL || DEPTHWISE_A
int a_n[A_PASSES], a_iy[A_PASSES], a_ix[A_PASSES];
#else
int a_base[A_PASSES];
#endif

#if DEPTHWISE_A
// The loads of a tile are only issued in load_tile (each A value's window taps, zero outside the
// input, and this thread's channels' weights); the depthwise sums are formed in a_value when the
// tile is stored to shared memory, after the previous tile's multiply-adds: doing them in load_tile
// would wait for the loads there and undo the software pipelining. AV = 1 uses the .x lanes only.
const int TAPS = KH * KW;
const int A_LOADS = A_PASSES * TAPS;
vec4 dw_w[TAPS], dw_b;
#define A_TYPE vec4
#else
const int A_LOADS = A_PASSES;
#define A_TYPE float
#endif

// Reads this thread's elements of the A (input) and B (filter) tiles starting at k0, zero outside.
void load_tile(const int k0, out A_TYPE a_out[A_LOADS], out float b_out[B_PASSES]) {
    const int k = k0 + a_k;
#if IM2COL
    const int c = k % CI, r = k / CI;
    const int kx = r % KW, ky = r / KW;
#endif
#if DEPTHWISE_A
    // Channels k.. (none past K: B's rows there are 0 too; AV = 4 has K % 4 == 0) of pass i's pixel,
    // taps in window order.
    const bool k_in = k < K;
    const int ci = k / DW_MULT;
    [[unroll]] for (int t = 0; t < TAPS; ++t)
        dw_w[t] = !k_in ? vec4(0.0) : DW_VEC4 ? x24[(t * CI + k) >> 2] : vec4(x2[t * CI + k], 0.0, 0.0, 0.0);
    dw_b = !(DW_HAS_BIAS && k_in) ? vec4(0.0) : DW_VEC4 ? x24[(DW_BIAS_AT + k) >> 2] : vec4(x2[DW_BIAS_AT + k], 0.0, 0.0, 0.0);
    [[unroll]] for (int i = 0; i < A_PASSES; ++i) {
        [[unroll]] for (int ky = 0; ky < KH; ++ky) {
            const int iy = a_iy[i] + ky * DH;
            [[unroll]] for (int kx = 0; kx < KW; ++kx) {
                const int ix = a_ix[i] + kx * DW;
                vec4 v = vec4(0.0);
                if (k_in && a_n[i] >= 0 && iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w) {
                    const int at = ((a_n[i] + iy) * p.in_w + ix) * DW_CI + ci;
                    v = DW_VEC4 ? vec4(x4[at >> 2]) : vec4(float(x[at]), 0.0, 0.0, 0.0);
                }
                a_out[i * TAPS + ky * KW + kx] = v;
            }
        }
    }
#else
    [[unroll]] for (int i = 0; i < A_PASSES; ++i) {
        float v = 0.0;
#if IM2COL
        const int iy = a_iy[i] + ky * DH, ix = a_ix[i] + kx * DW;
        if (k < K && a_n[i] >= 0 && iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w)
            v = float(x[((a_n[i] + iy) * p.in_w + ix) * CI + c]);
#else
        if (k < K && a_base[i] >= 0) v = float(x[a_base[i] + k]);
#endif
        a_out[i] = v;
    }
#endif
    [[unroll]] for (int i = 0; i < B_PASSES; ++i) {
        const int kk = k0 + b_row + i * B_ROWS;
        const int n = tile_n_ + b_n;
        b_out[i] = (kk < K && n < CO) ? w[kk * CO + n] : 0.0;
    }
}

// Stores pass i of what load_tile read into the A tile (its AV channels).
void store_a(const A_TYPE a[A_LOADS], const int i) {
    const int row = a_row + i * A_ROWS;
    if (row >= BM) return;   // (AV = 4 only; A_ROWS * A_PASSES == BM otherwise)
#if DEPTHWISE_A
    // As depthwise_conv.comp: the taps in window order (a zero tap outside the input adds exactly
    // nothing), then the bias, then the activation. Rows past M and channels past K give finite
    // values that meet zero rows of B or are never stored.
    vec4 acc = vec4(0.0);
    [[unroll]] for (int t = 0; t < TAPS; ++t) acc = fma(a[i * TAPS + t], dw_w[t], acc);
    if (DW_HAS_BIAS) acc += dw_b;
    [[unroll]] for (int j = 0; j < AV; ++j) As[(a_k + j) * AS + row] = activate_as(acc[j], DW_ACT);
#else
    As[a_k * AS + row] = a[i];
#endif
}

void main() {
    const int M = p.count;
    const int m_tiles = (M + BM - 1) / BM;
    // Unsplit: m tiles over x, then z (x is capped); split: x only (the host splits only small grids).
    const int slice = SLICES > 1 ? int(gl_WorkGroupID.z) : 0;
    const int tile = SLICES > 1 ? int(gl_WorkGroupID.x) : int(gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x);
    const int k_begin = slice * KCHUNK;
    const int k_end = SLICES > 1 ? min(K, k_begin + KCHUNK) : K;
    if (tile >= m_tiles) return;   // whole workgroup: uniform, before any barrier
    const int tile_m = tile * BM;
    const int tile_n = int(gl_WorkGroupID.y) * BN;
    const int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
    const int tid = ty * WX + tx;

    a_k = (tid % A_KT) * AV, a_row = tid / A_KT;
    b_n = tid % BN, b_row = tid / BN;
    tile_n_ = tile_n;

    // Per loaded row: where its pixel's window starts (or -1 past the last row).
    [[unroll]] for (int i = 0; i < A_PASSES; ++i) {
        const int row = a_row + i * A_ROWS, m = tile_m + row;
#if IM2COL || DEPTHWISE_A
        const int ox = m % p.out_w, t = m / p.out_w;
        a_iy[i] = (t % p.out_h) * SH - p.pad_top;
        a_ix[i] = ox * SW - p.pad_left;
        a_n[i] = m < M && row < BM ? (t / p.out_h) * p.in_h : -1;
#else
        a_base[i] = m < M ? m * CI : -1;
#endif
    }

    float acc[TM * TN];
    [[unroll]] for (int i = 0; i < TM * TN; ++i) acc[i] = 0.0;

    // Global loads for the next k tile go to registers first and are issued before the current
    // tile's multiply-adds, so their latency overlaps the arithmetic (software pipelining).
    A_TYPE a_next[A_LOADS];
    float b_next[B_PASSES];
    load_tile(k_begin, a_next, b_next);
    for (int k0 = k_begin; k0 < k_end; k0 += BK) {
        [[unroll]] for (int i = 0; i < A_PASSES; ++i) store_a(a_next, i);
        [[unroll]] for (int i = 0; i < B_PASSES; ++i) Bs[(b_row + i * B_ROWS) * BN + b_n] = b_next[i];
        barrier();
        if (k0 + BK < k_end) load_tile(k0 + BK, a_next, b_next);
        [[unroll]] for (int kk = 0; kk < BK; ++kk) {
            float a[TM], b[TN];
            [[unroll]] for (int i = 0; i < TM; ++i) a[i] = As[kk * AS + ty + i * WY];
            [[unroll]] for (int j = 0; j < TN; ++j) b[j] = Bs[kk * BN + tx + j * WX];
            [[unroll]] for (int i = 0; i < TM; ++i)
                [[unroll]] for (int j = 0; j < TN; ++j) acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
        }
        barrier();
    }

    [[unroll]] for (int i = 0; i < TM; ++i) {
        const int m = tile_m + ty + i * WY;
        if (m >= M) continue;
        [[unroll]] for (int j = 0; j < TN; ++j) {
            const int n = tile_n + tx + j * WX;
            if (n >= CO) continue;
            float v = acc[i * TN + j];
            if (SLICES > 1) {
                y[(slice * M + m) * CO + n] = Y_T(v);
                continue;
            }
            if (HAS_BIAS) v += bias[n];
            if (HAS_RESIDUAL) v += float(x2[m * CO + n]);
            store_output(m, n, v);
        }
    }
}
