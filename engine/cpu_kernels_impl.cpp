// The CPU executor's hot kernels, compiled once per ISA (see engine/cpu_kernels.h and
// engine/meson.build): as part of the library for the baseline target, and again into
// posenet_cpu_avx2 with -mavx2 -mfma -DPOSENET_CPU_KERNELS_AVX2. The baseline build multiplies with
// Eigen; the AVX2 build with its own GEMM (6x16 FMA tiles, fused epilogue, no allocation).
//
// Everything here lives in a namespace named after the ISA, and the AVX2 build uses no template or
// inline function from outside it (no Eigen, containers, std::min/max, spans; only builtins, C
// functions and code of its own): such code instantiated in both builds would be two weak
// definitions of one symbol, and the linker could keep the AVX2 one for a baseline caller (an
// illegal instruction on CPUs without AVX2). Check with nm: the AVX2 library defines no weak symbol
// outside posenet::engine::cpu::avx2.
#include "engine/cpu_kernels.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(_OPENMP)
#include <omp.h>
#endif

#if defined(POSENET_CPU_KERNELS_AVX2)
#if !defined(__AVX2__) || !defined(__FMA__)
#error "POSENET_CPU_KERNELS_AVX2 needs -mavx2 -mfma"
#endif
#define POSENET_CPU_ISA_NS avx2
#define POSENET_CPU_ISA_ENUM Isa::Avx2
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
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < pixels; ++p) {
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
}

#if defined(POSENET_CPU_KERNELS_AVX2)
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

// c (m x n) = a (m x k, row stride lda) * b (k x n) + epilogue; residual indexed like c.
void gemm(const float* a, int64_t lda, const float* b, float* c, int64_t m, int64_t k, int64_t n, const Epilogue& e,
          const float* residual, float* packed) {
    if (m <= 0 || n <= 0) return;
    pack_b(b, k, n, packed);
    const int64_t panels = (n + kNr - 1) / kNr;
    int threads = 1;
#if defined(_OPENMP)
    threads = omp_get_max_threads();
#endif
    // Row blocks of at most kMc rows, as many for every thread (static schedule), each a multiple of kMr.
    int64_t blocks = (m + kMc - 1) / kMc;
    blocks = (blocks + threads - 1) / threads * threads;
    int64_t mc = (m + blocks - 1) / blocks;
    mc = (mc + kMr - 1) / kMr * kMr;
    blocks = (m + mc - 1) / mc;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < blocks; ++blk) {
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
}
#else
// The baseline build multiplies with Eigen (SSE2 on x86-64), then applies the epilogue.
void gemm(const float* a, int64_t lda, const float* b, float* c, int64_t m, int64_t k, int64_t n, const Epilogue& e,
          const float* residual, float* packed) {
    (void)packed;
    using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>> am(a, m, k, Eigen::OuterStride<>(lda));
    Eigen::Map<RowMatrix>(c, m, n).noalias() = am * Eigen::Map<const RowMatrix>(b, k, n);
    epilogue_rows(e, c, residual, m, int(n));
}
#endif

// Direct convolution for inputs of few channels (the RGB input layer): im2col would copy a few floats
// a tap and hand the GEMM a thin matrix. Each output pixel keeps up to 32 output channels in
// registers and broadcasts every input value over them; the epilogue is applied before the store.
void conv2d_direct(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const Epilogue& e, float* out) {
    const int cin = l.in_channels, cout = l.out_channels, kw = l.kernel_w;
    const int64_t rows = int64_t(g.out.n) * g.out.h;
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
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
}

void conv2d(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const Epilogue& e, float* out,
            float* scratch) {
    const int cin = l.in_channels, cout = l.out_channels;
    if (cin <= kDirectConvMaxInChannels) return conv2d_direct(l, g, in, filter, e, out);
    float* packed = scratch;
    float* cols = scratch + gemm_packed_floats(l);
    const int rows_per_chunk = im2col_rows_per_chunk(l, g);
    if (rows_per_chunk == 0) {  // plain 1x1: the input is the left-hand matrix
        const int64_t pixels = int64_t(g.out.n) * g.out.h * g.out.w;
        gemm(in, cin, filter, out, pixels, cin, cout, e, e.residual, packed);
        return;
    }
    // im2col in chunks of output rows; HWIO flattens as (ky, kx, cin) x cout, matching the columns.
    const int64_t k = int64_t(l.kernel_h) * l.kernel_w * cin;
    for (int n = 0; n < g.out.n; ++n) {
        for (int oy0 = 0; oy0 < g.out.h; oy0 += rows_per_chunk) {
            const int oy1 = imin(g.out.h, oy0 + rows_per_chunk);
            const int64_t p = int64_t(oy1 - oy0) * g.out.w;
#pragma omp parallel for schedule(static)
            for (int oy = oy0; oy < oy1; ++oy) {
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
            const int64_t first = (int64_t(n) * g.out.h + oy0) * g.out.w;
            gemm(cols, k, filter, out + first * cout, p, k, cout, e, e.residual ? e.residual + first * cout : nullptr, packed);
        }
    }
}

// Depthwise, channels innermost. Multiplier 1 (every PoseNet depthwise layer): each output pixel
// accumulates its taps in registers, 32 then 8 channels at a time, and applies the epilogue before
// the one store. The taps are summed in (ky, kx) order starting from 0, then the bias is added: the
// baseline build gives the same bits as the plain loop it replaces.
void depthwise(const Layer& l, const LayerGeometry& g, const float* in, const float* filter, const Epilogue& e, float* out) {
    const int cin = l.in_channels, cout = l.out_channels, mult = cout / cin;
    const int kw = l.kernel_w;
    const int64_t rows = int64_t(g.out.n) * g.out.h;
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
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
}

}  // namespace

extern const KernelSet kernels;
const KernelSet kernels{POSENET_CPU_ISA_ENUM, &conv2d, &depthwise};

}  // namespace posenet::engine::cpu::POSENET_CPU_ISA_NS
