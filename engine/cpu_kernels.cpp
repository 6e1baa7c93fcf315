// Runtime dispatch between the kernel builds of engine/cpu_kernels_impl.cpp.
#include "engine/cpu_kernels.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/environment.h"
#include "engine/cpu_kernels_config.h"  // POSENET_HAVE_AVX2_KERNELS, POSENET_HAVE_AVX512_KERNELS (engine/meson.build)

namespace posenet::engine::cpu {

namespace baseline {
extern const KernelSet kernels;
}
#if POSENET_HAVE_AVX2_KERNELS
namespace avx2 {
extern const KernelSet kernels;
}
#endif
#if POSENET_HAVE_AVX512_KERNELS
namespace avx512 {
extern const KernelSet kernels;
}
#endif

namespace {

bool cpu_has_avx2_fma() {
#if POSENET_HAVE_AVX2_KERNELS && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    // libgcc reports avx2 only where the OS saves the YMM state too.
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

bool cpu_has_avx512() {
#if POSENET_HAVE_AVX512_KERNELS && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    // libgcc reports avx512* only where the OS saves the ZMM and mask state too.
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}

}  // namespace

const char* to_string(Isa isa) {
    switch (isa) {
        case Isa::Baseline: return "baseline";
        case Isa::Avx2: return "avx2";
        case Isa::Avx512: return "avx512";
    }
    return "?";
}

int im2col_rows_per_chunk(const Layer& l, const LayerGeometry& g) {
    const bool plain_1x1 = l.kernel_h == 1 && l.kernel_w == 1 && l.stride_h == 1 && l.stride_w == 1 && g.pad_top == 0 &&
                           g.pad_left == 0 && g.in.h == g.out.h && g.in.w == g.out.w;
    if (plain_1x1) return 0;
    // Up to 4 Mi floats of columns a chunk: few, large GEMMs (the weights are read once a chunk).
    const int64_t row_floats = std::max<int64_t>(1, int64_t(l.kernel_h) * l.kernel_w * l.in_channels * g.out.w);
    return int(std::clamp<int64_t>((int64_t(1) << 22) / row_floats, 1, std::max(1, g.out.h)));
}

uint64_t gemm_packed_floats(const Layer& l) {
    return uint64_t(l.kernel_h) * uint64_t(l.kernel_w) * uint64_t(l.in_channels) * ((uint64_t(l.out_channels) + 31) / 32 * 32);
}

uint64_t conv2d_scratch_floats(const Layer& l, const LayerGeometry& g) {
    if (l.in_channels <= kDirectConvMaxInChannels) return 0;
    return gemm_packed_floats(l) + uint64_t(cpu_threads()) * kGemmThreadScratchFloats +
           uint64_t(im2col_rows_per_chunk(l, g)) * uint64_t(g.out.w) * uint64_t(l.kernel_h) * uint64_t(l.kernel_w) *
               uint64_t(l.in_channels);
}

const KernelSet* kernel_set(Isa isa) {
    switch (isa) {
        case Isa::Baseline: return &baseline::kernels;
        case Isa::Avx2: {
#if POSENET_HAVE_AVX2_KERNELS
            static const bool supported = cpu_has_avx2_fma();
            return supported ? &avx2::kernels : nullptr;
#else
            return nullptr;
#endif
        }
        case Isa::Avx512: {
#if POSENET_HAVE_AVX512_KERNELS
            static const bool supported = cpu_has_avx512();
            return supported ? &avx512::kernels : nullptr;
#else
            return nullptr;
#endif
        }
    }
    return nullptr;
}

Isa default_isa() {
    static const Isa isa = [] {
        const std::string asked = environment::cpu_kernels();
        Isa best = Isa::Avx512;
        if (asked == "baseline") best = Isa::Baseline;
        else if (asked == "avx2") best = Isa::Avx2;
        for (Isa i : {Isa::Avx512, Isa::Avx2})
            if (int(i) <= int(best) && kernel_set(i)) return i;
        return Isa::Baseline;
    }();
    return isa;
}

}  // namespace posenet::engine::cpu
