#include "engine/vulkan/lowering.h"

#include <algorithm>
#include <limits>
#include <string>

#include "engine/vulkan/error.h"

namespace posenet::engine::vk {

namespace {

uint32_t div_up(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

int32_t checked_count(uint64_t n, const Layer& l) {
    if (n > uint64_t(std::numeric_limits<int32_t>::max()))
        throw VulkanError("Vulkan: layer '" + l.name + "' has " + std::to_string(n) + " output values, more than the kernels index");
    return int32_t(n);
}

PushConstants spatial_push(const LayerGeometry& g) {
    PushConstants p;
    p.batch = g.in.n, p.in_h = g.in.h, p.in_w = g.in.w, p.out_h = g.out.h, p.out_w = g.out.w;
    p.pad_top = g.pad_top, p.pad_left = g.pad_left;
    return p;
}

// One invocation per element, 256 per workgroup (less where the device allows less), groups spread
// over x and y because x may be capped at 65535.
template <class D>
void elementwise_groups(D& d, uint64_t count, const DeviceFeatures& f, const Layer& l) {
    const uint32_t local = std::min<uint32_t>(256, f.max_workgroup_invocations);
    d.spec[kLocalX] = int32_t(local);
    d.spec[kLocalY] = 1;
    uint64_t groups = std::max<uint64_t>(1, div_up(count, local));
    uint32_t gx = uint32_t(std::min<uint64_t>(groups, f.max_workgroup_count[0]));
    uint64_t gy = div_up(groups, gx);
    if (gy > f.max_workgroup_count[1]) throw VulkanError("Vulkan: layer '" + l.name + "' needs more workgroups than the device allows");
    d.groups = {gx, uint32_t(gy), 1};
}

// Split-K slices for a GEMM conv of `tiles` output tiles and reduction length K (1: no split).
// A layer with few tiles (late layers and heads: 9x9 or 17x17 pixels) leaves most of a large GPU
// idle while each workgroup walks the whole K serially, which makes it latency-bound; S slices
// give tiles * S workgroups, each with 1/S of the K loop. Target: 264 workgroups, 2 per compute
// unit of a 132-SM H100 (Vulkan does not report the unit count; smaller GPUs just get more waves
// of short workgroups). Only layers with K >= 256 split, and every slice keeps >= 64 K values
// (4 BK steps), so the partial sums' traffic and the extra reduce dispatch (~2.4 us on an H100)
// stay small next to the serial loop they remove. Layers with enough tiles keep the single pass.
uint32_t choose_slices(uint64_t tiles, uint64_t K, uint64_t BK, uint64_t outputs, const DeviceFeatures& f) {
    constexpr uint64_t kTargetGroups = 264, kMinSplitK = 256, kMinSliceK = 64;
    if (tiles >= kTargetGroups || K < kMinSplitK) return 1;
    uint64_t S = std::min<uint64_t>(div_up(kTargetGroups, tiles), K / kMinSliceK);
    // The partials [S][outputs] must fit one binding and int32 indices.
    const uint64_t cap = std::min<uint64_t>(f.max_storage_buffer_range / sizeof(float), std::numeric_limits<int32_t>::max()) / outputs;
    S = std::min({S, cap, uint64_t(f.max_workgroup_count[2])});
    if (S < 2) return 1;
    // Slices are whole BK steps; recount after rounding so that none is empty.
    const uint64_t steps = div_up(K, BK);
    return div_up(steps, div_up(steps, S));
}

}  // namespace

Dispatch lower_layer(const Layer& l, const LayerGeometry& g, const DeviceFeatures& f) {
    Dispatch d;
    const bool residual = l.input2 >= 0;
    d.push = spatial_push(g);
    const int32_t act = int32_t(l.activation);
    switch (l.kind) {
        case LayerKind::Conv2D: {
            const bool pointwise = l.kernel_h == 1 && l.kernel_w == 1 && l.stride_h == 1 && l.stride_w == 1 && g.pad_top == 0 &&
                                   g.pad_left == 0 && g.pad_bottom == 0 && g.pad_right == 0;
            d.kernel = pointwise ? Kernel::PointwiseConv : Kernel::Conv2dGeneric;
            // Tiles: 64 pixels x 64 channels per workgroup, 4x4 per thread; 32 channels (2 per
            // thread) for narrow layers such as the heads (17/32/34 channels) to waste fewer lanes.
            // Small grids (late layers: few pixels, many channels) get 32-pixel and then 32-channel
            // tiles so that enough workgroups exist to fill a large GPU.
            // 128 threads instead of 256 on devices that allow only the minimum.
            const uint64_t rows = uint64_t(g.out.n) * g.out.h * g.out.w;
            const int BK = 16;
            int BM = 64;
            int BN = l.out_channels <= 32 ? 32 : 64;
            auto tiles = [&] { return uint64_t(div_up(rows, BM)) * div_up(uint64_t(l.out_channels), BN); };
            constexpr uint64_t kEnoughTiles = 128;
            if (tiles() < kEnoughTiles) BM = 32;
            if (tiles() < kEnoughTiles) BN = 32;
            const int TN = BN / 16;
            const int WY = f.max_workgroup_invocations >= 256 ? 16 : 8;
            const int TM = BM / WY;
            // conv_gemm.glsl needs these divisions exact (its load loops have no remainder).
            const int threads = (BN / TN) * WY;
            if (threads % BK || BM % (threads / BK) || threads % BN || BK % (threads / BN) || BM % WY)
                throw VulkanError("Vulkan: internal error: inconsistent GEMM tile sizes for layer '" + l.name + "'");
            d.spec.assign(kSpecCount, 1);
            d.spec[kLocalX] = BN / TN;
            d.spec[kLocalY] = BM / TM;
            d.spec[kAct] = act;
            d.spec[kHasBias] = l.bias_count > 0;
            d.spec[kHasResidual] = residual;
            d.spec[kCI] = l.in_channels;
            d.spec[kCO] = l.out_channels;
            if (!pointwise) {
                d.spec[kKH] = l.kernel_h, d.spec[kKW] = l.kernel_w;
                d.spec[kSH] = l.stride_h, d.spec[kSW] = l.stride_w;
                d.spec[kDH] = l.dilation_h, d.spec[kDW] = l.dilation_w;
            }
            d.spec[kBM] = BM, d.spec[kBN] = BN, d.spec[kBK] = BK, d.spec[kTM] = TM, d.spec[kTN] = TN;
            checked_count(g.out.elements(), l);
            d.push.count = checked_count(rows, l);
            const uint64_t m_tiles = div_up(rows, BM);
            const uint32_t gx = uint32_t(std::min<uint64_t>(m_tiles, f.max_workgroup_count[0]));
            const uint64_t gz = div_up(m_tiles, gx);
            const uint32_t gy = div_up(uint64_t(l.out_channels), BN);
            if (gz > f.max_workgroup_count[2] || gy > f.max_workgroup_count[1])
                throw VulkanError("Vulkan: layer '" + l.name + "' needs more workgroups than the device allows");
            d.groups = {gx, gy, uint32_t(gz)};
            d.uses_filter = true;
            d.uses_bias = l.bias_count > 0;
            d.uses_input2 = residual;
            const uint64_t K = uint64_t(l.kernel_h) * l.kernel_w * l.in_channels;
            const uint64_t outputs = rows * uint64_t(l.out_channels);
            const uint32_t S = choose_slices(m_tiles * gy, K, BK, outputs, f);
            if (S > 1) {
                // m tiles < 264 here, so they fit in x alone and z is free for the slice.
                const uint64_t steps = div_up(K, BK);
                d.slices = S;
                d.spec[kSlices] = int32_t(S);
                d.spec[kKChunk] = int32_t(div_up(steps, S) * BK);
                d.spec[kAct] = 0, d.spec[kHasBias] = 0, d.spec[kHasResidual] = 0;  // applied by the reduce
                d.groups = {uint32_t(m_tiles), gy, S};
                d.scratch_bytes = S * outputs * sizeof(float);
                Dispatch::Reduce& r = d.reduce;
                r.spec.assign(kSlices + 1, 0);
                r.spec[kAct] = act;
                r.spec[kHasBias] = l.bias_count > 0;
                r.spec[kHasResidual] = residual;
                r.spec[kCO] = l.out_channels;
                r.spec[kSlices] = int32_t(S);
                r.push = d.push;
                r.push.count = checked_count(outputs, l);
                elementwise_groups(r, outputs, f, l);
            }
            return d;
        }
        case LayerKind::DepthwiseConv2D: {
            d.kernel = Kernel::DepthwiseConv;
            d.spec.assign(kDW + 1, 1);
            d.spec[kAct] = act;
            d.spec[kHasBias] = l.bias_count > 0;
            d.spec[kHasResidual] = residual;
            d.spec[kCI] = l.in_channels, d.spec[kCO] = l.out_channels;
            d.spec[kKH] = l.kernel_h, d.spec[kKW] = l.kernel_w;
            d.spec[kSH] = l.stride_h, d.spec[kSW] = l.stride_w;
            d.spec[kDH] = l.dilation_h, d.spec[kDW] = l.dilation_w;
            d.push.count = checked_count(g.out.elements(), l);
            elementwise_groups(d, g.out.elements(), f, l);
            d.uses_filter = true;
            d.uses_bias = l.bias_count > 0;
            d.uses_input2 = residual;
            return d;
        }
        case LayerKind::MaxPool: {
            d.kernel = Kernel::MaxPool;
            d.spec.assign(kSW + 1, 0);
            d.spec[kCO] = l.out_channels;
            d.spec[kKH] = l.kernel_h, d.spec[kKW] = l.kernel_w;
            d.spec[kSH] = l.stride_h, d.spec[kSW] = l.stride_w;
            if (l.dilation_h != 1 || l.dilation_w != 1)
                throw VulkanError("Vulkan: layer '" + l.name + "': dilated max pooling is not supported");
            d.push.zero_top = g.zero_pad_top, d.push.zero_left = g.zero_pad_left;
            d.push.zero_bottom = g.zero_pad_bottom, d.push.zero_right = g.zero_pad_right;
            d.push.count = checked_count(g.out.elements(), l);
            elementwise_groups(d, g.out.elements(), f, l);
            return d;
        }
        case LayerKind::Add: {
            d.kernel = Kernel::Add;
            d.spec.assign(kHasResidual + 1, 0);
            d.spec[kAct] = act;
            d.push.count = checked_count(g.out.elements(), l);
            elementwise_groups(d, g.out.elements(), f, l);
            d.uses_input2 = true;
            return d;
        }
    }
    throw VulkanError("Vulkan: layer '" + l.name + "' has an unknown kind");
}

}  // namespace posenet::engine::vk
