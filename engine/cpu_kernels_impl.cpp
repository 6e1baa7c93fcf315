// The CPU executor's hot kernels, compiled once per ISA (see engine/cpu_kernels.h and
// engine/meson.build): as part of the library for the baseline target, again into posenet_cpu_avx2
// with -mavx2 -mfma -DPOSENET_CPU_KERNELS_AVX2, and into posenet_cpu_avx512 with -mavx512f/bw/dq/vl
// -DPOSENET_CPU_KERNELS_AVX512. The baseline build multiplies with Eigen; the AVX2 build with its own
// GEMM (6x16 FMA tiles, fused epilogue, no allocation); the AVX-512 build with a GEMM of 12x32 tiles
// (24 zmm accumulators), a 2-D thread split and masked tails, and depthwise/direct kernels 16 wide.
//
// Everything here lives in a namespace named after the ISA, and the AVX2 and AVX-512 builds use no
// template or inline function from outside it (no Eigen, containers, std::min/max, spans; only
// builtins, C functions, the compiler's intrinsics (always inlined, never emitted) and code of their
// own): such code instantiated in two builds would be two weak definitions of one symbol, and the
// linker could keep the AVX2 one for a baseline caller (an illegal instruction on CPUs without AVX2).
// Check with nm: the AVX2 and AVX-512 libraries define no weak symbol outside their namespace.
#include "engine/cpu_kernels.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#if defined(POSENET_CPU_KERNELS_AVX2)
#if !defined(__AVX2__) || !defined(__FMA__)
#error "POSENET_CPU_KERNELS_AVX2 needs -mavx2 -mfma"
#endif
#define POSENET_CPU_ISA_NS avx2
#define POSENET_CPU_ISA_ENUM Isa::Avx2
#elif defined(POSENET_CPU_KERNELS_AVX512)
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__) || !defined(__FMA__)
#error "POSENET_CPU_KERNELS_AVX512 needs -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma"
#endif
#define POSENET_CPU_ISA_NS avx512
#define POSENET_CPU_ISA_ENUM Isa::Avx512
#include <immintrin.h>
#else
#define POSENET_CPU_ISA_NS baseline
#define POSENET_CPU_ISA_ENUM Isa::Baseline
#include <Eigen/Core>
#endif

namespace posenet::engine::cpu::POSENET_CPU_ISA_NS {

namespace {

// 8 floats: one AVX register, two SSE registers in the baseline build (GCC/Clang vector extension).
typedef float v8 __attribute__((vector_size(32)));
constexpr int kLanes = 8;

#define LOAD8(p) ({ v8 v_; std::memcpy(&v_, (p), sizeof v_); v_; })
#define STORE8(p, v) do { v8 s_ = (v); std::memcpy((p), &s_, sizeof s_); } while (0)
#define SPLAT8(x) ({ const float f_ = (x); v8{f_, f_, f_, f_, f_, f_, f_, f_}; })  // not v8{} + x: -0 + 0 is +0

inline int imin(int a, int b) { return a < b ? a : b; }

// parallel_for (engine/cpu_kernels.h) over a lambda f(begin, end) or f(begin, end, slot).
template <class F>
void par_for(int64_t n, int64_t grain, F&& f) {
    using Fn = std::remove_reference_t<F>;
    parallel_for(n, grain, [](void* ctx, int64_t b, int64_t e, int slot) {
        Fn& fn = *static_cast<Fn*>(ctx);
        if constexpr (std::is_invocable_v<Fn&, int64_t, int64_t, int>) fn(b, e, slot);
        else {
            (void)slot;
            fn(b, e);
        }
    }, &f);
}

// The taps [k0, k1) of a window of k taps (stride, pad, dilation) at output position o whose input
// position lies inside [0, size); the input position increases with the tap. Positions are computed
// in 64 bits; Network::geometry's limits keep them (and the kernels' int positions) far inside int.
inline void valid_taps(int o, int stride, int pad, int dilation, int k, int size, int& k0, int& k1) {
    const int64_t first = int64_t(o) * stride - pad;
    k0 = 0, k1 = k;
    while (k0 < k1 && first + int64_t(k0) * dilation < 0) ++k0;
    while (k1 > k0 && first + int64_t(k1 - 1) * dilation >= size) --k1;
}

// The same comparisons as std::max(v, 0) and std::min(.., 6): NaN and -0 pass as they do there.
inline float act1(float v, Activation a) {
    if (a == Activation::None) return v;
    v = v < 0.0f ? 0.0f : v;
    if (a == Activation::Relu6) v = 6.0f < v ? 6.0f : v;
    return v;
}
inline void act8(v8& v, Activation a) {  // in place: a v8 by value would change the baseline ABI
    if (a == Activation::None) return;
    const v8 zero = {}, six = zero + 6.0f;
    v = v < zero ? zero : v;
    if (a == Activation::Relu6) v = six < v ? six : v;
}

// Bias, residual, activation in place over `pixels` rows of `c` channels; residual is indexed like out.
[[maybe_unused]] void epilogue_rows(const Epilogue& e, float* out, const float* residual, int64_t pixels, int c) {
    if (!e.bias && !residual && e.activation == Activation::None) return;
    par_for(pixels, 64, [&](int64_t begin_, int64_t end_) {
    for (int64_t p = begin_; p < end_; ++p) {
        float* o = out + p * c;
        const float* r = residual ? residual + p * c : nullptr;
        int k = 0;
        for (; k + kLanes <= c; k += kLanes) {
            v8 v = LOAD8(o + k);
            if (e.bias) v += LOAD8(e.bias + k);
            if (r) v += LOAD8(r + k);
            act8(v, e.activation);
            STORE8(o + k, v);
        }
        for (; k < c; ++k) {
            float v = o[k];
            if (e.bias) v += e.bias[k];
            if (r) v += r[k];
            o[k] = act1(v, e.activation);
        }
        }
    });
}

#if defined(POSENET_CPU_KERNELS_AVX512)
// GEMM with the epilogue fused, for AVX-512. B (the weights) is packed once (pack_filter) into panels
// of 32 columns (the last one 16 wide where 16 are enough), zero-padded, per block of at most kKcMax
// rows. The threads split the output in a grid of row ranges x panel ranges (whichever costs the
// least, counting the copy of A a row range needs); each copies blocks of kMc rows x kc of A into
// its own scratch with the fixed row stride kAs (the tile kernel then reaches its 12 rows with one
// pointer and constant offsets) and walks them with 12x32 register tiles (24 zmm accumulators; the
// rows of A broadcast from memory). The tile goes to C once per K block, with bias, residual and
// activation on the last; column tails are masked, row tails use smaller tiles.
constexpr int kMr = 12, kNr = 32, kKcMax = 384, kMc = 144, kAs = kKcMax;
static_assert(uint64_t(kMc) * kKcMax == kGemmThreadScratchFloats, "engine/cpu_kernels.h's per-thread scratch");

// Rows of B per K block: the blocks as even as kKcMax allows.
inline int64_t k_block(int64_t k) {
    const int64_t blocks = (k + kKcMax - 1) / kKcMax;
    return blocks > 0 ? (k + blocks - 1) / blocks : 1;
}
// Packed columns: panels of 32, the last 16 wide where the remainder fits in 16.
inline int64_t packed_columns(int64_t n) {
    const int64_t r = n % kNr;
    return n - r + (r == 0 ? 0 : r > 16 ? kNr : 16);
}

// B (k x n, row-major) -> for each K block (kc rows), for each panel of 32 (or a last one of 16)
// columns, kc rows of the panel's width. The block at k0 starts at k0 * packed_columns(n); the panel
// at column j0 (a multiple of 32) kc * j0 floats into its block.
void pack_b(const float* b, int64_t k, int64_t n, float* packed) {
    const int64_t kc_max = k_block(k);
    float* dst = packed;
    for (int64_t k0 = 0; k0 < k; k0 += kc_max) {
        const int64_t kc = k - k0 < kc_max ? k - k0 : kc_max;
        for (int64_t j0 = 0; j0 < n; j0 += kNr) {
            const int64_t w = n - j0 < kNr ? n - j0 : kNr, pw = w > 16 ? kNr : 16;
            for (int64_t kk = 0; kk < kc; ++kk, dst += pw) {
                std::memcpy(dst, b + (k0 + kk) * n + j0, sizeof(float) * size_t(w));
                if (w < pw) std::memset(dst + w, 0, sizeof(float) * size_t(pw - w));
            }
        }
    }
}

inline __m512 act16(__m512 v, Activation a) {
    // max(0, v) and min(6, v) return v where v is NaN, and keep -0: the comparisons of act1.
    if (a == Activation::None) return v;
    v = _mm512_max_ps(_mm512_setzero_ps(), v);
    if (a == Activation::Relu6) v = _mm512_min_ps(_mm512_set1_ps(6.0f), v);
    return v;
}

inline __mmask16 tail_mask(int count) {  // the first count (0..16) lanes
    return count >= 16 ? __mmask16(0xffff) : __mmask16((1u << (count < 0 ? 0 : count)) - 1);
}

// One tile: MR rows (A in scratch, row stride kAs) x 16*NV packed columns, `cols` of them real; C at
// c (stride ldc), bias at column j0 of the epilogue.
template <int MR, int NV>
void tile(const float* a, const float* bp, int64_t kc, float* c, int64_t ldc, int cols, int64_t j0, bool accumulate,
          const Epilogue* e, const float* residual) {
    __m512 acc[MR][NV];
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
    for (int64_t kk = 0; kk < kc; ++kk, bp += 16 * NV) {
        __m512 b[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(bp + 16 * v);
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) {
            const __m512 x = _mm512_set1_ps(a[i * kAs + kk]);
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(x, b[v], acc[i][v]);
        }
    }
    __mmask16 mask[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) mask[v] = tail_mask(cols - 16 * v);
    __m512 bias[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
        bias[v] = e && e->bias ? _mm512_maskz_loadu_ps(mask[v], e->bias + j0 + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
        float* ci = c + i * ldc;
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
            __m512 x = acc[i][v];
            if (accumulate) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask[v], ci + 16 * v));
            if (e) {
                if (e->bias) x = _mm512_add_ps(x, bias[v]);
                if (residual) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask[v], residual + i * ldc + 16 * v));
                x = act16(x, e->activation);
            }
            _mm512_mask_storeu_ps(ci + 16 * v, mask[v], x);
        }
    }
}

template <int NV>
void tile_rows(int rows, const float* a, const float* bp, int64_t kc, float* c, int64_t ldc, int cols, int64_t j0,
               bool accumulate, const Epilogue* e, const float* residual) {
    switch (rows) {
#define POSENET_TILE_CASE(R) \
    case R: return tile<R, NV>(a, bp, kc, c, ldc, cols, j0, accumulate, e, residual);
        POSENET_TILE_CASE(1) POSENET_TILE_CASE(2) POSENET_TILE_CASE(3) POSENET_TILE_CASE(4) POSENET_TILE_CASE(5)
        POSENET_TILE_CASE(6) POSENET_TILE_CASE(7) POSENET_TILE_CASE(8) POSENET_TILE_CASE(9) POSENET_TILE_CASE(10)
        POSENET_TILE_CASE(11) POSENET_TILE_CASE(12)
#undef POSENET_TILE_CASE
        default: return;
    }
}

// c (m x n) = a (m x k, row stride lda) * B + epilogue; bp is B as pack_b wrote it; residual indexed
// like c; thread_scratch: kGemmThreadScratchFloats floats for each of cpu_threads() threads. The work
// items of parallel_for: blocks of at most kMc rows x ranges of panels (more than one range only where
// there are too few row blocks to give every thread two).
void gemm(const float* a, int64_t lda, const float* bp, float* c, int64_t m, int64_t k, int64_t n, const Epilogue& e,
          const float* residual, float* thread_scratch) {
    if (m <= 0 || n <= 0) return;
    const int threads = cpu_threads();
    const int64_t tiles = (m + kMr - 1) / kMr, panels = (n + kNr - 1) / kNr, npad = packed_columns(n);
    const int64_t kc_max = k_block(k);
    const int64_t mblocks = (tiles + kMc / kMr - 1) / (kMc / kMr);
    int64_t tn = 1;
    if (threads > 1 && mblocks < 2 * threads) tn = (2 * threads + mblocks - 1) / mblocks;
    if (tn > panels) tn = panels;
    par_for(mblocks * tn, 1, [&](int64_t begin, int64_t end, int slot) {
        float* abuf = thread_scratch + int64_t(slot) * kGemmThreadScratchFloats;
        for (int64_t item = begin; item < end; ++item) {
            const int64_t mb = item / tn, pr = item % tn;
            const int64_t m0 = tiles * mb / mblocks * kMr, m1_ = tiles * (mb + 1) / mblocks * kMr, m1 = m1_ < m ? m1_ : m;
            const int64_t p0 = panels * pr / tn, p1 = panels * (pr + 1) / tn;
            for (int64_t k0 = 0; k0 < k; k0 += kc_max) {
                const int64_t kc = k - k0 < kc_max ? k - k0 : kc_max;
                const bool last = k0 + kc == k;
                for (int64_t i = m0; i < m1; ++i) std::memcpy(abuf + (i - m0) * kAs, a + i * lda + k0, sizeof(float) * size_t(kc));
                for (int64_t p = p0; p < p1; ++p) {
                    const int64_t j0 = p * kNr;
                    const float* bp_p = bp + k0 * npad + kc * j0;
                    const int cols = int(n - j0 < kNr ? n - j0 : kNr);
                    for (int64_t i0 = m0; i0 < m1; i0 += kMr) {
                        const int rows = int(m1 - i0 < kMr ? m1 - i0 : kMr);
                        const float* at = abuf + (i0 - m0) * kAs;
                        const float* res = residual ? residual + i0 * n + j0 : nullptr;
                        if (cols > 16)
                            tile_rows<2>(rows, at, bp_p, kc, c + i0 * n + j0, n, cols, j0, k0 > 0, last ? &e : nullptr, res);
                        else
                            tile_rows<1>(rows, at, bp_p, kc, c + i0 * n + j0, n, cols, j0, k0 > 0, last ? &e : nullptr, res);
                    }
                }
            }
        }
    });
}

uint64_t b_packed_floats(int64_t k, int64_t n) { return uint64_t(k) * uint64_t(packed_columns(n)); }
#elif defined(POSENET_CPU_KERNELS_AVX2)
// GEMM with the epilogue fused, for AVX2 + FMA (Goto/BLIS style): B (the weights) is packed into
// panels of 16 columns per block of kKc rows; each thread takes blocks of kMc rows of A and walks them
// with a 6x16 register tile (12 accumulators), reading A in place (rows of stride lda). The tile goes
// to C once per K block, with bias, residual and activation on the last. No allocation: `packed`
// is scratch from the caller (gemm_packed_floats), so repeated runs touch no new memory.
constexpr int kMr = 6, kNr = 16, kKc = 384, kMc = 144;

// B (k x n, row-major) -> for each K block, for each 16-column panel, kc rows of 16 (zero-padded).
void pack_b(const float* b, int64_t k, int64_t n, float* packed) {
    float* dst = packed;
    for (int64_t k0 = 0; k0 < k; k0 += kKc) {
        const int64_t kc = k - k0 < kKc ? k - k0 : kKc;
        for (int64_t j0 = 0; j0 < n; j0 += kNr) {
            const int64_t w = n - j0 < kNr ? n - j0 : kNr;
            for (int64_t kk = 0; kk < kc; ++kk, dst += kNr) {
                std::memcpy(dst, b + (k0 + kk) * n + j0, sizeof(float) * size_t(w));
                if (w < kNr) std::memset(dst + w, 0, sizeof(float) * size_t(kNr - w));
            }
        }
    }
}

// One tile: rows x cols (<= 6 x 16) of C at c (stride n), columns from j0.
void tile(const float* const* a_rows, const float* bp, int64_t kc, float* c, int64_t n, int rows, int cols, int64_t j0,
          bool accumulate, const Epilogue* e, const float* residual) {
    v8 c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {}, c30 = {}, c31 = {}, c40 = {}, c41 = {}, c50 = {}, c51 = {};
    const float *a0 = a_rows[0], *a1 = a_rows[1], *a2 = a_rows[2], *a3 = a_rows[3], *a4 = a_rows[4], *a5 = a_rows[5];
    for (int64_t kk = 0; kk < kc; ++kk, bp += kNr) {
        const v8 b0 = LOAD8(bp), b1 = LOAD8(bp + kLanes);
        v8 x;
        x = SPLAT8(a0[kk]), c00 += x * b0, c01 += x * b1;
        x = SPLAT8(a1[kk]), c10 += x * b0, c11 += x * b1;
        x = SPLAT8(a2[kk]), c20 += x * b0, c21 += x * b1;
        x = SPLAT8(a3[kk]), c30 += x * b0, c31 += x * b1;
        x = SPLAT8(a4[kk]), c40 += x * b0, c41 += x * b1;
        x = SPLAT8(a5[kk]), c50 += x * b0, c51 += x * b1;
    }
    v8 acc[kMr][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (cols == kNr) {
        for (int i = 0; i < rows; ++i) {
            float* ci = c + i * n;
            for (int h = 0; h < 2; ++h) {
                v8 v = acc[i][h];
                if (accumulate) v += LOAD8(ci + h * kLanes);
                if (e) {
                    if (e->bias) v += LOAD8(e->bias + j0 + h * kLanes);
                    if (residual) v += LOAD8(residual + i * n + h * kLanes);
                    act8(v, e->activation);
                }
                STORE8(ci + h * kLanes, v);
            }
        }
        return;
    }
    float t[kMr][kNr];
    for (int i = 0; i < rows; ++i) {
        STORE8(t[i], acc[i][0]);
        STORE8(t[i] + kLanes, acc[i][1]);
    }
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) {
            float v = t[i][j];
            if (accumulate) v += c[i * n + j];
            if (e) {
                if (e->bias) v += e->bias[j0 + j];
                if (residual) v += residual[i * n + j];
                v = act1(v, e->activation);
            }
            c[i * n + j] = v;
        }
}

// c (m x n) = a (m x k, row stride lda) * B + epilogue; packed is B as pack_b wrote it.
void gemm(const float* a, int64_t lda, const float* packed, float* c, int64_t m, int64_t k, int64_t n, const Epilogue& e,
          const float* residual, float* thread_scratch) {
    (void)thread_scratch;
    if (m <= 0 || n <= 0) return;
    const int64_t panels = (n + kNr - 1) / kNr;
    const int threads = cpu_threads();
    // Row blocks of at most kMc rows, as many for every thread, each a multiple of kMr.
    int64_t blocks = (m + kMc - 1) / kMc;
    blocks = (blocks + threads - 1) / threads * threads;
    int64_t mc = (m + blocks - 1) / blocks;
    mc = (mc + kMr - 1) / kMr * kMr;
    blocks = (m + mc - 1) / mc;
    par_for(blocks, 1, [&](int64_t begin_, int64_t end_) {
    for (int64_t blk = begin_; blk < end_; ++blk) {
        const int64_t m0 = blk * mc, m1 = m - m0 < mc ? m : m0 + mc;
        const float* bp = packed;
        for (int64_t k0 = 0; k0 < k; k0 += kKc) {
            const int64_t kc = k - k0 < kKc ? k - k0 : kKc;
            const bool last = k0 + kc == k;
            for (int64_t p = 0; p < panels; ++p, bp += kc * kNr) {
                const int64_t j0 = p * kNr;
                const int cols = int(n - j0 < kNr ? n - j0 : kNr);
                for (int64_t i0 = m0; i0 < m1; i0 += kMr) {
                    const int rows = int(m1 - i0 < kMr ? m1 - i0 : kMr);
                    const float* a_rows[kMr];
                    for (int i = 0; i < kMr; ++i) a_rows[i] = a + (i0 + (i < rows ? i : 0)) * lda + k0;
                    tile(a_rows, bp, kc, c + i0 * n + j0, n, rows, cols, j0, k0 > 0, last ? &e : nullptr,
                         residual ? residual + i0 * n + j0 : nullptr);
                }
            }
        }
        }
    });
}

uint64_t b_packed_floats(int64_t k, int64_t n) { return uint64_t(k) * uint64_t((n + kNr - 1) / kNr * kNr); }
#else
// The baseline build multiplies with Eigen (SSE2 on x86-64), then applies the epilogue; B is the
// filter as it is (no packing).
void gemm(const float* a, int64_t lda, const float* b, float* c, int64_t m, int64_t k, int64_t n, const Epilogue& e,
          const float* residual, float* thread_scratch) {
    (void)thread_scratch;
    using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>> am(a, m, k, Eigen::OuterStride<>(lda));
    Eigen::Map<RowMatrix>(c, m, n).noalias() = am * Eigen::Map<const RowMatrix>(b, k, n);
    epilogue_rows(e, c, residual, m, int(n));
}

uint64_t b_packed_floats(int64_t, int64_t) { return 0; }
void pack_b(const float*, int64_t, int64_t, float*) {}
#endif

#if defined(POSENET_CPU_KERNELS_AVX512)
// Depthwise 3x3, multiplier 1, for AVX-512: per output row, blocks of 8, 4, 2 or 1 output pixels
// (independent sums: one alone would wait on the FMA latency), and for each block all channels 16 at
// a time (the last chunk masked), so the input is read along its rows in memory order; the 9 weight
// vectors of a chunk are loaded once per block. Each output pixel sums its valid taps in (ky, kx)
// order from 0, then adds bias and residual and applies the activation before its one store (the
// order of the generic kernel below).
struct Dw3x3Row {
    const float* xrow[3];  // the input rows of the taps, null outside the input
    float* orow;           // output column ox0 of the row; column ox at orow + (ox - ox0) * ostride
    int64_t ox0, ostride;
    const float* rrow;     // residual row (column ox at rrow + ox * c) or null
    const float* filter;
    const float* bias;     // or null
    Activation act;
    int c, sw, dw, pl, in_w;
};

template <int P, bool Edge>
inline void dw3x3_block(const Dw3x3Row& r, int ox) {
    const int c = r.c;
    const int64_t step = int64_t(r.dw) * c, pstep = int64_t(r.sw) * c;
    const int64_t x0 = int64_t(ox * r.sw - r.pl) * c;
    int kx0[P], kx1[P];
    if (Edge)
        for (int p = 0; p < P; ++p) valid_taps(ox + p, r.sw, r.pl, r.dw, 3, r.in_w, kx0[p], kx1[p]);
    for (int c0 = 0; c0 < c; c0 += 16) {
        const __mmask16 m = tail_mask(c - c0);
        __m512 acc[P];
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) acc[p] = _mm512_setzero_ps();
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ++ky) {
            if (!r.xrow[ky]) continue;
            const float* x = r.xrow[ky] + x0 + c0;
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; ++kx) {
                const __m512 w = _mm512_maskz_loadu_ps(m, r.filter + int64_t(ky * 3 + kx) * c + c0);
#pragma GCC unroll 8
                for (int p = 0; p < P; ++p)
                    if (!Edge || (kx >= kx0[p] && kx < kx1[p]))
                        acc[p] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + p * pstep + kx * step), w, acc[p]);
            }
        }
        const __m512 bias = r.bias ? _mm512_maskz_loadu_ps(m, r.bias + c0) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) {
            __m512 v = acc[p];
            if (r.bias) v = _mm512_add_ps(v, bias);
            if (r.rrow) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, r.rrow + int64_t(ox + p) * c + c0));
            _mm512_mask_storeu_ps(r.orow + (ox + p - r.ox0) * r.ostride + c0, m, act16(v, r.act));
        }
    }
}

// Columns [xa, xb) of one output row: those with taps outside the row ([0, lo) and [hi, out_w)) one at
// a time, the others in blocks of 8, 4, 2, 1.
inline void dw3x3_columns(const Dw3x3Row& r, int xa, int xb, int lo, int hi) {
    int ox = xa;
    for (; ox < xb && ox < lo; ++ox) dw3x3_block<1, true>(r, ox);
    const int end = xb < hi ? xb : hi;
    for (; ox + 8 <= end; ox += 8) dw3x3_block<8, false>(r, ox);
    if (ox + 4 <= end) dw3x3_block<4, false>(r, ox), ox += 4;
    if (ox + 2 <= end) dw3x3_block<2, false>(r, ox), ox += 2;
    if (ox < end) dw3x3_block<1, false>(r, ox), ++ox;
    for (; ox < xb; ++ox) dw3x3_block<1, true>(r, ox);
}

// The geometry of a 3x3 depthwise layer the row routines need.
struct Dw3x3Geometry {
    int c, sw, dw, pl, in_w, out_w, lo, hi;  // [lo, hi): columns whose 3 taps lie inside the row
    Dw3x3Geometry(const Layer& l, const LayerGeometry& g)
        : c(l.in_channels), sw(l.stride_w), dw(l.dilation_w), pl(g.pad_left), in_w(g.in.w), out_w(g.out.w) {
        int ox_lo = 0;
        while (ox_lo < out_w && ox_lo * sw - pl < 0) ++ox_lo;
        int ox_hi = ox_lo;
        while (ox_hi < out_w && ox_hi * sw - pl + 2 * dw < in_w) ++ox_hi;
        lo = ox_lo < out_w ? ox_lo : out_w;
        hi = ox_hi > lo ? ox_hi : lo;
    }
};

// The row routine's view of output row `row` (n * out.h + oy): input rows, weights, epilogue.
inline Dw3x3Row dw3x3_row(const Layer& l, const LayerGeometry& g, const Dw3x3Geometry& dg, const float* in, const float* filter,
                          const Epilogue& e, int64_t row) {
    const int n = int(row / g.out.h), oy = int(row % g.out.h), c = dg.c;
    int ky0, ky1;
    valid_taps(oy, l.stride_h, g.pad_top, l.dilation_h, 3, g.in.h, ky0, ky1);
    Dw3x3Row r;
    for (int ky = 0; ky < 3; ++ky)
        r.xrow[ky] = ky >= ky0 && ky < ky1
                         ? in + (int64_t(n) * g.in.h + (oy * l.stride_h - g.pad_top + ky * l.dilation_h)) * int64_t(dg.in_w) * c
                         : nullptr;
    r.orow = nullptr, r.ox0 = 0, r.ostride = c;
    r.rrow = e.residual ? e.residual + row * int64_t(dg.out_w) * c : nullptr;
    r.filter = filter, r.bias = e.bias, r.act = e.activation;
    r.c = c, r.sw = dg.sw, r.dw = dg.dw, r.pl = dg.pl, r.in_w = dg.in_w;
    return r;
}

void depthwise3x3(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const Epilogue& e, float* out) {
    const Dw3x3Geometry dg(l, g);
    const int64_t rows = int64_t(g.out.n) * g.out.h;
    par_for(rows, 1, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            Dw3x3Row r = dw3x3_row(l, g, dg, in, filter, e, row);
            r.orow = out + row * int64_t(dg.out_w) * dg.c;
            dw3x3_columns(r, 0, dg.out_w, dg.lo, dg.hi);
        }
    });
}

// A 3x3 depthwise layer (multiplier 1, no residual) and the plain 1x1 Conv2D reading its output, fused:
// each work item computes the depthwise output of a block of pixels straight into its per-thread block
// of A (the GEMM's copy of the left-hand matrix, row stride kAs), then multiplies it by every panel of
// the pointwise weights. The depthwise output never goes to memory; the results are the bits of the two
// layers run one after the other (the same sums in the same order).
bool dw_pw_supported(const Layer& dw, const Layer& pw) {
    return dw.kind == LayerKind::DepthwiseConv2D && dw.kernel_h == 3 && dw.kernel_w == 3 && dw.out_channels == dw.in_channels &&
           pw.kind == LayerKind::Conv2D && pw.kernel_h == 1 && pw.kernel_w == 1 && pw.stride_h == 1 && pw.stride_w == 1 &&
           pw.in_channels == dw.out_channels && pw.in_channels > kDirectConvMaxInChannels && pw.in_channels <= kKcMax &&
           pw.pad_top == 0 && pw.pad_left == 0 && pw.pad_bottom == 0 && pw.pad_right == 0;
}

void dw_pw(const Layer& dl, const LayerGeometry& dg_, const Layer& pl_, const LayerGeometry& pg, const float* in, const float* dw_filter,
           const Epilogue& de, const float* pw_packed, const Epilogue& pe, float* out, float* scratch) {
    (void)pg;
    const Dw3x3Geometry dg(dl, dg_);
    const int64_t m = int64_t(dg_.out.n) * dg_.out.h * dg_.out.w, k = dl.out_channels, n = pl_.out_channels;
    if (m <= 0 || n <= 0) return;
    float* thread_scratch = scratch + gemm_packed_floats(pl_);
    const int64_t tiles = (m + kMr - 1) / kMr, panels = (n + kNr - 1) / kNr, npad = packed_columns(n);
    // Blocks of at most kMc rows, and at least two per thread where there are tiles enough (no
    // depthwise output is computed twice, so the panels are never split between threads).
    const int threads = cpu_threads();
    int64_t mblocks = (tiles + kMc / kMr - 1) / (kMc / kMr);
    if (threads > 1 && mblocks < 2 * threads) mblocks = tiles < 2 * threads ? tiles : 2 * threads;
    (void)npad;
    par_for(mblocks, 1, [&](int64_t begin, int64_t end, int slot) {
        float* abuf = thread_scratch + int64_t(slot) * kGemmThreadScratchFloats;
        for (int64_t mb = begin; mb < end; ++mb) {
            const int64_t m0 = tiles * mb / mblocks * kMr, m1_ = tiles * (mb + 1) / mblocks * kMr, m1 = m1_ < m ? m1_ : m;
            // The depthwise output of pixels [m0, m1), row segment by row segment.
            for (int64_t p = m0; p < m1;) {
                const int64_t row = p / dg.out_w;
                const int xa = int(p - row * dg.out_w);
                const int xb = int(m1 - row * dg.out_w < dg.out_w ? m1 - row * dg.out_w : dg.out_w);
                Dw3x3Row r = dw3x3_row(dl, dg_, dg, in, dw_filter, de, row);
                r.orow = abuf + (p - m0) * kAs, r.ox0 = xa, r.ostride = kAs;
                dw3x3_columns(r, xa, xb, dg.lo, dg.hi);
                p += xb - xa;
            }
            for (int64_t pn = 0; pn < panels; ++pn) {
                const int64_t j0 = pn * kNr;
                const float* bp_p = pw_packed + k * j0;
                const int cols = int(n - j0 < kNr ? n - j0 : kNr);
                for (int64_t i0 = m0; i0 < m1; i0 += kMr) {
                    const int rows = int(m1 - i0 < kMr ? m1 - i0 : kMr);
                    const float* at = abuf + (i0 - m0) * kAs;
                    const float* res = pe.residual ? pe.residual + i0 * n + j0 : nullptr;
                    if (cols > 16) tile_rows<2>(rows, at, bp_p, k, out + i0 * n + j0, n, cols, j0, false, &pe, res);
                    else tile_rows<1>(rows, at, bp_p, k, out + i0 * n + j0, n, cols, j0, false, &pe, res);
                }
            }
        }
    });
}

// Direct convolution for inputs of few channels (the RGB input layer), for AVX-512: 8 output pixels
// of a row at a time where their windows lie inside the row, 32 output channels (masked) in 16
// accumulators, each weight pair loaded once for the 8 pixels; other pixels one at a time. Taps in
// (ky, kx, ci) order from 0, then bias, residual, activation: the generic kernel's order.
void conv2d_direct16(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const Epilogue& e, float* out) {
    const int cin = l.in_channels, cout = l.out_channels, kw = l.kernel_w;
    const int sw = l.stride_w, dw = l.dilation_w, pl = g.pad_left, in_w = g.in.w, out_w = g.out.w;
    const int64_t rows = int64_t(g.out.n) * g.out.h;
    int ox_lo = 0;
    while (ox_lo < out_w && ox_lo * sw - pl < 0) ++ox_lo;
    int ox_hi = ox_lo;
    while (ox_hi < out_w && ox_hi * sw - pl + (kw - 1) * dw < in_w) ++ox_hi;
    constexpr int P = 8;
    par_for(rows, 1, [&](int64_t begin_, int64_t end_) {
    for (int64_t row = begin_; row < end_; ++row) {
        const int n = int(row / g.out.h), oy = int(row % g.out.h);
        int ky0, ky1;
        valid_taps(oy, l.stride_h, g.pad_top, l.dilation_h, l.kernel_h, g.in.h, ky0, ky1);
        const float* in_n = in + int64_t(n) * g.in.h * in_w * cin;
        float* orow = out + row * int64_t(out_w) * cout;
        const float* rrow = e.residual ? e.residual + row * int64_t(out_w) * cout : nullptr;
        for (int c0 = 0; c0 < cout; c0 += 32) {
            const __mmask16 m0 = tail_mask(cout - c0), m1 = tail_mask(cout - c0 - 16);
            const __m512 b0 = e.bias ? _mm512_maskz_loadu_ps(m0, e.bias + c0) : _mm512_setzero_ps();
            const __m512 b1 = e.bias ? _mm512_maskz_loadu_ps(m1, e.bias + c0 + 16) : _mm512_setzero_ps();
            auto finish = [&](int ox, __m512 a0, __m512 a1) {
                const int64_t o = int64_t(ox) * cout + c0;
                if (e.bias) a0 = _mm512_add_ps(a0, b0), a1 = _mm512_add_ps(a1, b1);
                if (rrow) {
                    a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(m0, rrow + o));
                    a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(m1, rrow + o + 16));
                }
                _mm512_mask_storeu_ps(orow + o, m0, act16(a0, e.activation));
                _mm512_mask_storeu_ps(orow + o + 16, m1, act16(a1, e.activation));
            };
            auto single = [&](int ox) {
                int kx0, kx1;
                valid_taps(ox, sw, pl, dw, kw, in_w, kx0, kx1);
                __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
                for (int ky = ky0; ky < ky1; ++ky) {
                    const int iy = oy * l.stride_h - g.pad_top + ky * l.dilation_h;
                    for (int kx = kx0; kx < kx1; ++kx) {
                        const float* x = in_n + (int64_t(iy) * in_w + (ox * sw - pl + kx * dw)) * cin;
                        const float* w = filter + (int64_t(ky) * kw + kx) * cin * cout + c0;
                        for (int ci = 0; ci < cin; ++ci, w += cout) {
                            const __m512 xs = _mm512_set1_ps(x[ci]);
                            a0 = _mm512_fmadd_ps(xs, _mm512_maskz_loadu_ps(m0, w), a0);
                            a1 = _mm512_fmadd_ps(xs, _mm512_maskz_loadu_ps(m1, w + 16), a1);
                        }
                    }
                }
                finish(ox, a0, a1);
            };
            int ox = 0;
            for (; ox < ox_lo && ox < out_w; ++ox) single(ox);
            for (; ox + P <= ox_hi; ox += P) {
                __m512 a0[P], a1[P];
#pragma GCC unroll 8
                for (int p = 0; p < P; ++p) a0[p] = _mm512_setzero_ps(), a1[p] = _mm512_setzero_ps();
                const int64_t xstep = int64_t(sw) * cin;
                for (int ky = ky0; ky < ky1; ++ky) {
                    const int iy = oy * l.stride_h - g.pad_top + ky * l.dilation_h;
                    for (int kx = 0; kx < kw; ++kx) {
                        const float* x = in_n + (int64_t(iy) * in_w + (ox * sw - pl + kx * dw)) * cin;
                        const float* w = filter + (int64_t(ky) * kw + kx) * cin * cout + c0;
                        for (int ci = 0; ci < cin; ++ci, w += cout) {
                            const __m512 w0 = _mm512_maskz_loadu_ps(m0, w), w1 = _mm512_maskz_loadu_ps(m1, w + 16);
#pragma GCC unroll 8
                            for (int p = 0; p < P; ++p) {
                                const __m512 xs = _mm512_set1_ps(x[p * xstep + ci]);
                                a0[p] = _mm512_fmadd_ps(xs, w0, a0[p]);
                                a1[p] = _mm512_fmadd_ps(xs, w1, a1[p]);
                            }
                        }
                    }
                }
#pragma GCC unroll 8
                for (int p = 0; p < P; ++p) finish(ox + p, a0[p], a1[p]);
            }
            for (; ox < out_w; ++ox) single(ox);
        }
        }
    });
}
#endif

// Direct convolution for inputs of few channels (the RGB input layer): im2col would copy a few floats
// a tap and hand the GEMM a thin matrix. Each output pixel keeps up to 32 output channels in
// registers and broadcasts every input value over them; the epilogue is applied before the store.
void conv2d_direct(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const Epilogue& e, float* out) {
#if defined(POSENET_CPU_KERNELS_AVX512)
    return conv2d_direct16(l, g, in, filter, e, out);
#endif
    const int cin = l.in_channels, cout = l.out_channels, kw = l.kernel_w;
    const int64_t rows = int64_t(g.out.n) * g.out.h;
    par_for(rows, 1, [&](int64_t begin_, int64_t end_) {
    for (int64_t row = begin_; row < end_; ++row) {
        const int n = int(row / g.out.h), oy = int(row % g.out.h);
        int ky0, ky1;
        valid_taps(oy, l.stride_h, g.pad_top, l.dilation_h, l.kernel_h, g.in.h, ky0, ky1);
        const float* in_n = in + int64_t(n) * g.in.h * g.in.w * cin;
        for (int ox = 0; ox < g.out.w; ++ox) {
            int kx0, kx1;
            valid_taps(ox, l.stride_w, g.pad_left, l.dilation_w, kw, g.in.w, kx0, kx1);
            const int64_t o_off = (row * g.out.w + ox) * cout;
            float* o = out + o_off;
            const float* r = e.residual ? e.residual + o_off : nullptr;
            int c = 0;
            while (c + kLanes <= cout) {
                const int blocks = imin(4, (cout - c) / kLanes);
                v8 acc[4] = {};
                for (int ky = ky0; ky < ky1; ++ky) {
                    const int iy = oy * l.stride_h - g.pad_top + ky * l.dilation_h;
                    for (int kx = kx0; kx < kx1; ++kx) {
                        const int ix = ox * l.stride_w - g.pad_left + kx * l.dilation_w;
                        const float* x = in_n + (int64_t(iy) * g.in.w + ix) * cin;
                        const float* w = filter + (int64_t(ky) * kw + kx) * cin * cout + c;
                        for (int ci = 0; ci < cin; ++ci, w += cout) {
                            const v8 xs = SPLAT8(x[ci]);
                            if (blocks == 4) {  // the common case, unrolled
                                acc[0] += xs * LOAD8(w);
                                acc[1] += xs * LOAD8(w + kLanes);
                                acc[2] += xs * LOAD8(w + 2 * kLanes);
                                acc[3] += xs * LOAD8(w + 3 * kLanes);
                            } else {
                                for (int j = 0; j < blocks; ++j) acc[j] += xs * LOAD8(w + j * kLanes);
                            }
                        }
                    }
                }
                for (int j = 0; j < blocks; ++j) {
                    const int cc = c + j * kLanes;
                    if (e.bias) acc[j] += LOAD8(e.bias + cc);
                    if (r) acc[j] += LOAD8(r + cc);
                    act8(acc[j], e.activation);
                    STORE8(o + cc, acc[j]);
                }
                c += blocks * kLanes;
            }
            for (; c < cout; ++c) {
                float a = 0.0f;
                for (int ky = ky0; ky < ky1; ++ky) {
                    const int iy = oy * l.stride_h - g.pad_top + ky * l.dilation_h;
                    for (int kx = kx0; kx < kx1; ++kx) {
                        const int ix = ox * l.stride_w - g.pad_left + kx * l.dilation_w;
                        const float* x = in_n + (int64_t(iy) * g.in.w + ix) * cin;
                        const float* w = filter + (int64_t(ky) * kw + kx) * cin * cout + c;
                        for (int ci = 0; ci < cin; ++ci) a += x[ci] * w[int64_t(ci) * cout];
                    }
                }
                if (e.bias) a += e.bias[c];
                if (r) a += r[c];
                o[c] = act1(a, e.activation);
            }
        }
        }
    });
}

uint64_t packed_filter_floats(const Layer& l) {
    if (l.kind != LayerKind::Conv2D || l.in_channels <= kDirectConvMaxInChannels) return 0;
    return b_packed_floats(int64_t(l.kernel_h) * l.kernel_w * l.in_channels, l.out_channels);
}

void pack_filter(const Layer& l, const float* filter, float* packed) {
    if (packed_filter_floats(l) == 0) return;
    pack_b(filter, int64_t(l.kernel_h) * l.kernel_w * l.in_channels, l.out_channels, packed);
}

void conv2d(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const float* packed,
            const Epilogue& e, float* out, float* scratch) {
    const int cin = l.in_channels, cout = l.out_channels;
    if (cin <= kDirectConvMaxInChannels) return conv2d_direct(l, g, in, filter, e, out);
    // scratch: packed weights (where not given), the GEMM's per-thread blocks, im2col columns.
    float* thread_scratch = scratch + gemm_packed_floats(l);
    float* cols = thread_scratch + uint64_t(cpu_threads()) * kGemmThreadScratchFloats;
    const int64_t k = int64_t(l.kernel_h) * l.kernel_w * cin;
    const float* b = filter;  // the baseline GEMM reads the filter as it is
    if (packed_filter_floats(l) > 0) {
        if (!packed) {
            pack_b(filter, k, cout, scratch);
            packed = scratch;
        }
        b = packed;
    }
    const int rows_per_chunk = im2col_rows_per_chunk(l, g);
    if (rows_per_chunk == 0) {  // plain 1x1: the input is the left-hand matrix
        const int64_t pixels = int64_t(g.out.n) * g.out.h * g.out.w;
        gemm(in, cin, b, out, pixels, cin, cout, e, e.residual, thread_scratch);
        return;
    }
    // im2col in chunks of output rows; HWIO flattens as (ky, kx, cin) x cout, matching the columns.
    for (int n = 0; n < g.out.n; ++n) {
        for (int oy0 = 0; oy0 < g.out.h; oy0 += rows_per_chunk) {
            const int oy1 = imin(g.out.h, oy0 + rows_per_chunk);
            const int64_t p = int64_t(oy1 - oy0) * g.out.w;
            par_for(int64_t(oy1) - oy0, 1, [&](int64_t begin_, int64_t end_) {
            for (int oy = oy0 + int(begin_); oy < oy0 + int(end_); ++oy) {
                for (int ox = 0; ox < g.out.w; ++ox) {
                    float* col = cols + (int64_t(oy - oy0) * g.out.w + ox) * k;
                    for (int ky = 0; ky < l.kernel_h; ++ky) {
                        const int iy = oy * l.stride_h - g.pad_top + ky * l.dilation_h;
                        for (int kx = 0; kx < l.kernel_w; ++kx) {
                            const int ix = ox * l.stride_w - g.pad_left + kx * l.dilation_w;
                            float* dst = col + (int64_t(ky) * l.kernel_w + kx) * cin;
                            if (iy < 0 || iy >= g.in.h || ix < 0 || ix >= g.in.w)
                                std::memset(dst, 0, sizeof(float) * size_t(cin));
                            else
                                std::memcpy(dst, in + ((int64_t(n) * g.in.h + iy) * g.in.w + ix) * cin, sizeof(float) * size_t(cin));
                        }
                    }
                }
                        }
            });
            const int64_t first = (int64_t(n) * g.out.h + oy0) * g.out.w;
            gemm(cols, k, b, out + first * cout, p, k, cout, e, e.residual ? e.residual + first * cout : nullptr, thread_scratch);
        }
    }
}

// Depthwise, channels innermost. Multiplier 1 (every PoseNet depthwise layer): each output pixel
// accumulates its taps in registers, 32 then 8 channels at a time, and applies the epilogue before
// the one store. The taps are summed in (ky, kx) order starting from 0, then the bias is added: the
// baseline build gives the same bits as the plain loop it replaces.
void depthwise(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const Epilogue& e, float* out) {
#if defined(POSENET_CPU_KERNELS_AVX512)
    if (l.out_channels == l.in_channels && l.kernel_h == 3 && l.kernel_w == 3) return depthwise3x3(l, g, in, filter, e, out);
#endif
    const int cin = l.in_channels, cout = l.out_channels, mult = cout / cin;
    const int kw = l.kernel_w;
    const int64_t rows = int64_t(g.out.n) * g.out.h;
    par_for(rows, 1, [&](int64_t begin_, int64_t end_) {
    for (int64_t row = begin_; row < end_; ++row) {
        const int n = int(row / g.out.h), oy = int(row % g.out.h);
        // Valid ky range for this row (iy increases with ky).
        int ky0, ky1;
        valid_taps(oy, l.stride_h, g.pad_top, l.dilation_h, l.kernel_h, g.in.h, ky0, ky1);
        const float* in_n = in + int64_t(n) * g.in.h * g.in.w * cin;
        for (int ox = 0; ox < g.out.w; ++ox) {
            int kx0, kx1;
            valid_taps(ox, l.stride_w, g.pad_left, l.dilation_w, kw, g.in.w, kx0, kx1);
            const int64_t o_off = (row * g.out.w + ox) * cout;
            float* o = out + o_off;
            const float* r = e.residual ? e.residual + o_off : nullptr;
            auto x_at = [&](int ky, int kx) {
                const int iy = oy * l.stride_h - g.pad_top + ky * l.dilation_h;
                const int ix = ox * l.stride_w - g.pad_left + kx * l.dilation_w;
                return in_n + (int64_t(iy) * g.in.w + ix) * cin;
            };
            if (mult == 1) {
                int c = 0;
                for (; c + 4 * kLanes <= cin; c += 4 * kLanes) {
                    v8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
                    for (int ky = ky0; ky < ky1; ++ky)
                        for (int kx = kx0; kx < kx1; ++kx) {
                            const float* x = x_at(ky, kx) + c;
                            const float* w = filter + (int64_t(ky) * kw + kx) * cout + c;
                            a0 += LOAD8(x) * LOAD8(w);
                            a1 += LOAD8(x + kLanes) * LOAD8(w + kLanes);
                            a2 += LOAD8(x + 2 * kLanes) * LOAD8(w + 2 * kLanes);
                            a3 += LOAD8(x + 3 * kLanes) * LOAD8(w + 3 * kLanes);
                        }
                    v8 acc[4] = {a0, a1, a2, a3};
                    for (int j = 0; j < 4; ++j) {
                        const int cc = c + j * kLanes;
                        if (e.bias) acc[j] += LOAD8(e.bias + cc);
                        if (r) acc[j] += LOAD8(r + cc);
                        act8(acc[j], e.activation);
                        STORE8(o + cc, acc[j]);
                    }
                }
                for (; c + kLanes <= cin; c += kLanes) {
                    v8 a = {};
                    for (int ky = ky0; ky < ky1; ++ky)
                        for (int kx = kx0; kx < kx1; ++kx)
                            a += LOAD8(x_at(ky, kx) + c) * LOAD8(filter + (int64_t(ky) * kw + kx) * cout + c);
                    if (e.bias) a += LOAD8(e.bias + c);
                    if (r) a += LOAD8(r + c);
                    act8(a, e.activation);
                    STORE8(o + c, a);
                }
                for (; c < cin; ++c) {
                    float a = 0.0f;
                    for (int ky = ky0; ky < ky1; ++ky)
                        for (int kx = kx0; kx < kx1; ++kx) a += x_at(ky, kx)[c] * filter[(int64_t(ky) * kw + kx) * cout + c];
                    if (e.bias) a += e.bias[c];
                    if (r) a += r[c];
                    o[c] = act1(a, e.activation);
                }
            } else {
                for (int j = 0; j < cout; ++j) o[j] = 0.0f;
                for (int ky = ky0; ky < ky1; ++ky)
                    for (int kx = kx0; kx < kx1; ++kx) {
                        const float* x = x_at(ky, kx);
                        const float* w = filter + (int64_t(ky) * kw + kx) * cout;
                        for (int c = 0; c < cin; ++c)
                            for (int q = 0; q < mult; ++q) o[c * mult + q] += x[c] * w[c * mult + q];
                    }
                for (int j = 0; j < cout; ++j) {
                    float v = o[j];
                    if (e.bias) v += e.bias[j];
                    if (r) v += r[j];
                    o[j] = act1(v, e.activation);
                }
            }
        }
        }
    });
}

}  // namespace

extern const KernelSet kernels;
#if defined(POSENET_CPU_KERNELS_AVX512)
const KernelSet kernels{POSENET_CPU_ISA_ENUM, &conv2d, &depthwise, &packed_filter_floats, &pack_filter, &dw_pw_supported, &dw_pw};
#else
const KernelSet kernels{POSENET_CPU_ISA_ENUM, &conv2d, &depthwise, &packed_filter_floats, &pack_filter, nullptr, nullptr};
#endif

}  // namespace posenet::engine::cpu::POSENET_CPU_ISA_NS
