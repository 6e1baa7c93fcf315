#include "engine/vulkan/lowering.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "engine/environment.h"
#include "engine/vulkan/error.h"

namespace posenet::engine::vk {

namespace {

uint32_t div_up(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

int32_t checked_count(uint64_t n, const std::string& name) {
    if (n > uint64_t(std::numeric_limits<int32_t>::max()))
        throw VulkanError("Vulkan: layer '" + name + "' has " + std::to_string(n) + " output values, more than the kernels index");
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
void elementwise_groups(D& d, uint64_t count, const DeviceFeatures& f, const std::string& name) {
    const uint32_t local = std::min<uint32_t>(256, f.max_workgroup_invocations);
    d.spec[kLocalX] = int32_t(local);
    d.spec[kLocalY] = 1;
    uint64_t groups = std::max<uint64_t>(1, div_up(count, local));
    uint32_t gx = uint32_t(std::min<uint64_t>(groups, f.max_workgroup_count[0]));
    uint64_t gy = div_up(groups, gx);
    if (gy > f.max_workgroup_count[1]) throw VulkanError("Vulkan: layer '" + name + "' needs more workgroups than the device allows");
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
constexpr uint64_t kMinSplitK = 256;
// Convolutions with a shorter reduction stay fp32 under Precision::Float16.
constexpr uint64_t kMinCoopmatK = 64;

uint32_t choose_slices(uint64_t tiles, uint64_t K, uint64_t BK, uint64_t outputs, const DeviceFeatures& f) {
    constexpr uint64_t kTargetGroups = 264, kMinSliceK = 64;
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

// How depthwise_conv.comp spreads a layer over invocations: 4 channels each where the channels
// allow vec4 loads, and up to 4 output pixels of a row each (their windows share input columns)
// while enough invocations remain to keep a large GPU's memory system busy.
struct DepthwiseShape {
    bool vec4 = false;
    int out_x = 1;
    uint64_t invocations = 0;
};

DepthwiseShape depthwise_shape(const Layer& l, const LayerGeometry& g) {
    DepthwiseShape s;
    s.vec4 = l.in_channels % 4 == 0 && l.out_channels == l.in_channels;
    const uint64_t channel_groups = uint64_t(l.out_channels) / (s.vec4 ? 4 : 1);
    auto invocations = [&](int out_x) { return uint64_t(g.out.n) * g.out.h * div_up(uint64_t(g.out.w), out_x) * channel_groups; };
    constexpr uint64_t kEnoughInvocations = 128 * 256;
    int forced = 0;
    const std::string e = environment::vulkan_depthwise_out_x();
    if (e == "1" || e == "2" || e == "4") forced = e[0] - '0';
    // Windows wider than 5 columns or dilated ones keep one pixel (few shared columns; registers).
    const bool shares_columns = l.kernel_w <= 5 && l.dilation_w == 1;
    for (int out_x : {4, 2, 1}) {
        if (forced ? out_x == forced : (out_x == 1 || (shares_columns && invocations(out_x) >= kEnoughInvocations))) {
            s.out_x = out_x;
            break;
        }
    }
    s.invocations = invocations(s.out_x);
    return s;
}

// A convolution as conv_gemm.glsl's matrix multiply: rows (output pixels) x co, reduction K.
struct Gemm {
    const std::string* name = nullptr;  // for errors
    Kernel kernel = Kernel::PointwiseConv;
    uint64_t rows = 0, K = 0;
    int ci = 0, co = 0;                                      // kCI, kCO
    std::array<int, 6> window{1, 1, 1, 1, 1, 1};             // kKH, kKW, kSH, kSW, kDH, kDW
    int act = 0;
    bool bias = false, residual = false;
    std::array<int, kMaxSegments> segment_ends{};            // merged 1x1 convs: channel where each ends
    std::array<int, kMaxSegments> segment_acts{};
    int segments = 1;
    bool depthwise_a = false;  // depthwise_pointwise_conv.comp
    bool fp16 = false;         // tensor cores: coopmat_gemm.glsl
};

// Tensor-core tiles (coopmat_gemm.glsl): BM x BN per workgroup of WM x WN subgroups of 32, each
// (BM / WM) x (BN / WN) in 16x16 fragments, BK values of K a step.
// $POSENET_VULKAN_COOPMAT_TILE=BMxBNxWMxWN[xBK] sets them for every layer (A/B measurements).
struct CoopmatTile {
    int BM = 64, BN = 64, WM = 2, WN = 2, BK = 32;
};

const CoopmatTile* coopmat_tile_override() {
    static const CoopmatTile* tile = [] {
        static CoopmatTile t;
        const std::string e = environment::vulkan_coopmat_tile();
        if (e.empty() || std::sscanf(e.c_str(), "%dx%dx%dx%dx%d", &t.BM, &t.BN, &t.WM, &t.WN, &t.BK) < 4)
            return static_cast<const CoopmatTile*>(nullptr);
        return static_cast<const CoopmatTile*>(&t);
    }();
    return tile;
}

void set_segments(SpecValues& spec, const Gemm& m) {
    spec[kSegments] = m.segments;
    for (int s = 0; s < 3; ++s) spec[kSegEnd0 + s] = m.segments > 1 ? m.segment_ends[s] : 0;
    for (int s = 1; s < 4; ++s) spec[kSegAct1 + s - 1] = m.segments > 1 ? m.segment_acts[s] : 0;
}

// Split-K for a GEMM dispatch whose spec, push and groups are set (m tiles in groups x (and z), N
// tiles in y): S slices of whole BK steps, the epilogue moved to a splitk_reduce dispatch.
void split_k(Dispatch& d, const Gemm& m, uint64_t m_tiles, uint32_t gy, int BK, const DeviceFeatures& f) {
    const uint64_t outputs = m.rows * uint64_t(m.co);
    const uint32_t S = choose_slices(m_tiles * gy, m.K, uint64_t(BK), outputs, f);
    if (S <= 1) return;
    const std::string& name = *m.name;
    // m tiles < 264 here, so they fit in x alone and z is free for the slice.
    const uint64_t steps = div_up(m.K, uint64_t(BK));
    d.slices = S;
    d.spec[kSlices] = int32_t(S);
    d.spec[kKChunk] = int32_t(div_up(steps, S) * uint64_t(BK));
    // Bias, residual, activation and the output segments are the reduce's.
    d.spec[kAct] = 0, d.spec[kHasBias] = 0, d.spec[kHasResidual] = 0;
    set_segments(d.spec, Gemm{});
    d.groups = {uint32_t(m_tiles), gy, S};
    d.scratch_bytes = S * outputs * sizeof(float);
    Dispatch::Reduce& r = d.reduce;
    r.spec.assign(kSegAct3 + 1, 0);
    r.spec[kAct] = m.act;
    r.spec[kHasBias] = m.bias;
    r.spec[kHasResidual] = m.residual;
    r.spec[kCO] = m.co;
    r.spec[kSlices] = int32_t(S);
    set_segments(r.spec, m);
    r.push = d.push;
    r.push.count = checked_count(outputs, name);
    elementwise_groups(r, outputs, f, name);
}

// The workgroup grid of a GEMM dispatch (m tiles over x, then z; N tiles over y), its bindings,
// and split-K where it pays.
Dispatch finish_gemm(Dispatch& d, const Gemm& m, uint64_t rows, int BM, int BN, int BK, const DeviceFeatures& f,
                     const std::string& name) {
    const uint64_t m_tiles = div_up(rows, BM);
    const uint32_t gx = uint32_t(std::min<uint64_t>(m_tiles, f.max_workgroup_count[0]));
    const uint64_t gz = div_up(m_tiles, gx);
    const uint32_t gy = div_up(uint64_t(m.co), BN);
    if (gz > f.max_workgroup_count[2] || gy > f.max_workgroup_count[1])
        throw VulkanError("Vulkan: layer '" + name + "' needs more workgroups than the device allows");
    d.groups = {gx, gy, uint32_t(gz)};
    d.uses_filter = true;
    d.uses_bias = m.bias;
    d.uses_input2 = m.residual;
    split_k(d, m, m_tiles, gy, BK, f);
    return d;
}

// The GEMM on tensor cores (coopmat_gemm.glsl).
Dispatch lower_coopmat(const Gemm& m, const LayerGeometry& g, const DeviceFeatures& f) {
    const std::string& name = *m.name;
    if (!f.coopmat_f16)
        throw VulkanError("Vulkan: layer '" + name + "': fp16 precision needs tensor cores (cooperative matrices); this device lacks " +
                          f.coopmat_missing);
    Dispatch d;
    d.kernel = m.kernel == Kernel::PointwiseConv ? Kernel::PointwiseConvCoopmat : Kernel::Conv2dGenericCoopmat;
    d.push = spatial_push(g);
    const uint64_t rows = m.rows;
    // 64 x 64 tiles of 4 subgroups (32 x 32 each); 32 channels wide for narrow layers (heads);
    // 32 rows where the grid is small; and 32 x 32 tiles of 4 subgroups (a fragment each) for short
    // reductions (K <= 384) where the grid has fewer than 2 tiles per compute unit of a 132-unit GPU
    // (H200, MobileNetV1 0.75 257 batch 1: its 65x65 and 33x33 1x1 convs and the heads 0.7-2.2 us
    // faster each than with 32 x 64 or 64 x 64 tiles; the 17x17 ones, split-K, the same; for every
    // K, ResNet50 257 batch 16 was 237 -> 279 us/image). (H100, MobileNetV1 0.75 513 batch 16:
    // 128 x 64 tiles of 8 subgroups on the large grids made the network 215 us/image against 179.)
    CoopmatTile t;
    if (m.co <= 32) t.BN = 32, t.WN = 1, t.WM = 4;
    auto tiles = [&] { return uint64_t(div_up(rows, t.BM)) * div_up(uint64_t(m.co), t.BN); };
    constexpr uint64_t kCoopmatEnoughTiles = 264, kCoopmatSmallTileMaxK = 384;
    if (m.K <= kCoopmatSmallTileMaxK && tiles() < kCoopmatEnoughTiles) t.BM = 32, t.BN = 32, t.WM = 2, t.WN = 2;
    if (tiles() < 128) t.BM = 32, t.WM = 2;
    // Wide 1x1 convs (output channels a multiple of 256) on large grids: 64 x 128 tiles of 8
    // subgroups (ResNet50's, at batch 16; docs/PERFORMANCE.md, the tile sweep).
    if (m.kernel == Kernel::PointwiseConv && m.co % 256 == 0 && div_up(rows, uint64_t(64)) >= kCoopmatEnoughTiles)
        t.BM = 64, t.BN = 128, t.WM = 2, t.WN = 4;
    if (const CoopmatTile* o = coopmat_tile_override()) t = *o;
    const int BK = t.BK;
    const int threads = t.WM * t.WN * 32;
    const bool a_vec4 = m.ci % 4 == 0, b_vec4 = m.co % 4 == 0;
    const int a_kt = BK / (a_vec4 ? 4 : 1), b_nt = t.BN / (b_vec4 ? 4 : 1);
    if (BK % 16 || t.BM % (16 * t.WM) || t.BN % (16 * t.WN) || threads > int(f.max_workgroup_invocations) || threads % a_kt ||
        t.BM % (threads / a_kt) || threads % b_nt || BK % (threads / b_nt))
        throw VulkanError("Vulkan: internal error: inconsistent tensor-core tile sizes for layer '" + name + "'");
    d.spec.assign(kSpecCount, 0);
    d.spec[kLocalX] = threads;
    d.spec[kLocalY] = 1;
    d.spec[kAct] = m.act;
    d.spec[kHasBias] = m.bias;
    d.spec[kHasResidual] = m.residual;
    d.spec[kCI] = m.ci;
    d.spec[kCO] = m.co;
    for (int i = 0; i < 6; ++i) d.spec[kKH + i] = m.window[i];
    d.spec[kBM] = t.BM, d.spec[kBN] = t.BN, d.spec[kBK] = BK, d.spec[kTM] = t.WM, d.spec[kTN] = t.WN;
    d.spec[kSlices] = 1, d.spec[kKChunk] = 1;
    set_segments(d.spec, m);
    d.spec[kDwCI] = 1;
    d.spec[kCmVecA] = a_vec4, d.spec[kCmVecB] = b_vec4;
    checked_count(rows * uint64_t(m.co), name);
    d.push.count = checked_count(rows, name);
    return finish_gemm(d, m, rows, t.BM, t.BN, BK, f, name);
}

// g: the geometry whose spatial sizes and pads the kernel's push constants carry (the layer's; for
// a fused depthwise + 1x1, the depthwise's).
Dispatch lower_gemm(const Gemm& m, const LayerGeometry& g, const DeviceFeatures& f) {
    Dispatch d;
    d.kernel = m.kernel;
    d.push = spatial_push(g);
    const std::string& name = *m.name;
    // Tiles: 64 pixels x 64 channels per workgroup, 4x4 per thread; 32 channels (2 per
    // thread) for narrow layers such as the heads (17/32/34 channels) to waste fewer lanes.
    // Small grids (late layers: few pixels, many channels) get 32-pixel and then 32-channel
    // tiles so that enough workgroups exist to fill a large GPU.
    // 128 threads instead of 256 on devices that allow only the minimum.
    const uint64_t rows = m.rows;
    const int BK = 16;
    int BM = 64;
    int BN = m.co <= 32 ? 32 : 64;
    auto tiles = [&] { return uint64_t(div_up(rows, BM)) * div_up(uint64_t(m.co), BN); };
    constexpr uint64_t kEnoughTiles = 128;
    if (m.fp16) return lower_coopmat(m, g, f);
    if (tiles() < kEnoughTiles) BM = 32;
    // A fused depthwise + 1x1 conv recomputes the depthwise values once per N tile: where split-K
    // will supply the workgroups (long K), it keeps 64-channel tiles (half the recomputation; on an
    // H100, 17x17 384 -> 384: 19.0 us against 22.5 us with 32-channel tiles).
    if (tiles() < kEnoughTiles && !(m.depthwise_a && m.K >= kMinSplitK)) BN = 32;
    const int TN = BN / 16;
    const int WY = f.max_workgroup_invocations >= 256 ? 16 : 8;
    const int TM = BM / WY;
    // conv_gemm.glsl needs these divisions exact (its load loops have no remainder).
    const int threads = (BN / TN) * WY;
    if (threads % BK || BM % (threads / BK) || threads % BN || BK % (threads / BN) || BM % WY)
        throw VulkanError("Vulkan: internal error: inconsistent GEMM tile sizes for layer '" + name + "'");
    d.spec.assign(kSpecCount, 0);
    d.spec[kLocalX] = BN / TN;
    d.spec[kLocalY] = BM / TM;
    d.spec[kAct] = m.act;
    d.spec[kHasBias] = m.bias;
    d.spec[kHasResidual] = m.residual;
    d.spec[kCI] = m.ci;
    d.spec[kCO] = m.co;
    for (int i = 0; i < 6; ++i) d.spec[kKH + i] = m.window[i];
    d.spec[kBM] = BM, d.spec[kBN] = BN, d.spec[kBK] = BK, d.spec[kTM] = TM, d.spec[kTN] = TN;
    d.spec[kSlices] = 1, d.spec[kKChunk] = 1;
    set_segments(d.spec, m);
    d.spec[kDwCI] = 1;  // (depthwise_pointwise_conv.comp only)
    const uint64_t outputs = rows * uint64_t(m.co);
    checked_count(outputs, name);
    d.push.count = checked_count(rows, name);
    return finish_gemm(d, m, rows, BM, BN, BK, f, name);
}

}  // namespace

bool rounds_input_to_fp16(const Layer& l, Precision precision, bool merged) {
    if (precision != Precision::Float16 || l.kind != LayerKind::Conv2D) return false;
    // Short reductions (MobileNet's 3x3 stem on 3 channels: K = 27) stay fp32: a tensor-core step of
    // 32 would be mostly padding (H100, 513 batch 16: 230 us against 191).
    return merged || uint64_t(l.kernel_h) * l.kernel_w * l.in_channels >= kMinCoopmatK;
}

std::vector<bool> half_tensors(const Network& net, std::span<const Step> steps, Precision precision, HalfTensors half) {
    std::vector<bool> h(net.tensor_channels.size(), half != HalfTensors::None);
    if (half == HalfTensors::GemmInputs)
        for (const Step& s : steps)
            for (size_t j = 0; j < s.layers.size(); ++j) {
                const Layer& l = net.layers[size_t(s.layers[j])];
                if (s.form == Step::Form::DepthwisePointwise) {
                    // The depthwise reads its input as float32; its output, the 1x1 conv's input, is never stored.
                    if (j == 0) h[size_t(l.input)] = false;
                    continue;
                }
                if (!rounds_input_to_fp16(l, precision, s.form == Step::Form::MergedPointwise)) h[size_t(l.input)] = false;
                if (l.input2 >= 0) h[size_t(l.input2)] = false;
            }
    if (!h.empty()) h[0] = false;
    for (int id : {net.heatmap, net.offsets, net.displacement_fwd, net.displacement_bwd})
        if (id >= 0) h[size_t(id)] = false;
    for (const Step& s : steps)
        if (s.form == Step::Form::MergedPointwise) {
            bool all = true;
            for (int i : s.layers) all = all && h[size_t(net.layers[size_t(i)].output)];
            for (int i : s.layers) h[size_t(net.layers[size_t(i)].output)] = all;
        }
    return h;
}

Dispatch lower_layer(const Layer& l, const LayerGeometry& g, const DeviceFeatures& f, Precision precision) {
    Dispatch d;
    const bool residual = l.input2 >= 0;
    d.push = spatial_push(g);
    const int32_t act = int32_t(l.activation);
    switch (l.kind) {
        case LayerKind::Conv2D: {
            const bool pointwise = l.kernel_h == 1 && l.kernel_w == 1 && l.stride_h == 1 && l.stride_w == 1 && g.pad_top == 0 &&
                                   g.pad_left == 0 && g.pad_bottom == 0 && g.pad_right == 0;
            Gemm m;
            m.name = &l.name;
            m.kernel = pointwise ? Kernel::PointwiseConv : Kernel::Conv2dGeneric;
            m.rows = uint64_t(g.out.n) * g.out.h * g.out.w;
            m.K = uint64_t(l.kernel_h) * l.kernel_w * l.in_channels;
            m.ci = l.in_channels, m.co = l.out_channels;
            if (!pointwise) m.window = {l.kernel_h, l.kernel_w, l.stride_h, l.stride_w, l.dilation_h, l.dilation_w};
            m.act = act, m.bias = l.bias_count > 0, m.residual = residual;
            m.fp16 = rounds_input_to_fp16(l, precision);
            return lower_gemm(m, g, f);
        }
        case LayerKind::DepthwiseConv2D: {
            d.kernel = Kernel::DepthwiseConv;
            d.spec.assign(kDepthwiseOutX + 1, 1);
            d.spec[kAct] = act;
            d.spec[kHasBias] = l.bias_count > 0;
            d.spec[kHasResidual] = residual;
            d.spec[kCI] = l.in_channels, d.spec[kCO] = l.out_channels;
            d.spec[kKH] = l.kernel_h, d.spec[kKW] = l.kernel_w;
            d.spec[kSH] = l.stride_h, d.spec[kSW] = l.stride_w;
            d.spec[kDH] = l.dilation_h, d.spec[kDW] = l.dilation_w;
            const DepthwiseShape s = depthwise_shape(l, g);
            d.spec[kDepthwiseVec4] = s.vec4;
            d.spec[kDepthwiseOutX] = s.out_x;
            d.push.count = checked_count(s.invocations, l.name);
            elementwise_groups(d, s.invocations, f, l.name);
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
            d.push.count = checked_count(g.out.elements(), l.name);
            elementwise_groups(d, g.out.elements(), f, l.name);
            return d;
        }
        case LayerKind::Add: {
            d.kernel = Kernel::Add;
            d.spec.assign(kHasResidual + 1, 0);
            d.spec[kAct] = act;
            d.push.count = checked_count(g.out.elements(), l.name);
            elementwise_groups(d, g.out.elements(), f, l.name);
            d.uses_input2 = true;
            return d;
        }
    }
    throw VulkanError("Vulkan: layer '" + l.name + "' has an unknown kind");
}

}  // namespace posenet::engine::vk

namespace posenet::engine::vk {

bool is_plain_pointwise(const Layer& l) {
    return l.kind == LayerKind::Conv2D && l.kernel_h == 1 && l.kernel_w == 1 && l.stride_h == 1 && l.stride_w == 1 && l.pad_top == 0 &&
           l.pad_bottom == 0 && l.pad_left == 0 && l.pad_right == 0 && l.input2 < 0;
}

std::vector<std::vector<int>> pointwise_groups(const Network& net) {
    std::vector<std::vector<int>> readers(net.tensor_channels.size());
    for (int i = 0; i < int(net.layers.size()); ++i)
        if (is_plain_pointwise(net.layers[i]) && net.layers[i].input >= 0 && size_t(net.layers[i].input) < readers.size())
            readers[net.layers[i].input].push_back(i);
    std::vector<std::vector<int>> groups;
    for (const auto& r : readers)
        for (size_t at = 0; at + 2 <= r.size(); at += kMaxSegments)  // chunks of kMaxSegments; a last lone one stays alone
            groups.emplace_back(r.begin() + long(at), r.begin() + long(std::min(r.size(), at + kMaxSegments)));
    std::sort(groups.begin(), groups.end());
    return groups;
}

std::vector<Step> schedule(const Network& net, bool merge, bool fuse_depthwise) {
    const int L = int(net.layers.size());
    const int T = int(net.tensor_channels.size());
    std::vector<int> readers(T, 0);
    for (const Layer& l : net.layers) {
        if (l.input >= 0 && l.input < T) ++readers[l.input];
        if (l.input2 >= 0 && l.input2 < T) ++readers[l.input2];
    }
    std::vector<bool> is_output(T, false);
    for (int id : {net.heatmap, net.offsets, net.displacement_fwd, net.displacement_bwd})
        if (id >= 0 && id < T) is_output[id] = true;
    // What each layer becomes: -1 alone; else the step it belongs to, emitted at `first` layer.
    std::vector<int> group_of(L, -1);
    std::vector<Step> groups;
    if (merge)
        for (auto& members : pointwise_groups(net)) {
            for (int i : members) group_of[i] = int(groups.size());
            groups.push_back({Step::Form::MergedPointwise, members});
        }
    if (fuse_depthwise) {
        std::vector<int> producer(T, -1);
        for (int i = 0; i < L; ++i) producer[net.layers[i].output] = i;
        for (int i = 0; i < L; ++i) {
            const Layer& pw = net.layers[i];
            if (group_of[i] >= 0 || !is_plain_pointwise(pw) || pw.input <= 0 || pw.input >= T) continue;
            const int d = producer[pw.input];
            if (d < 0 || group_of[d] >= 0) continue;
            const Layer& dw = net.layers[d];
            if (dw.kind != LayerKind::DepthwiseConv2D || dw.input2 >= 0 || readers[dw.output] != 1 || is_output[dw.output]) continue;
            group_of[d] = group_of[i] = int(groups.size());
            groups.push_back({Step::Form::DepthwisePointwise, {d, i}});
        }
    }
    // Merged 1x1 convs run where their first member was (they only need the shared input, which
    // exists by then); a fused pair where its 1x1 conv was (its depthwise's input exists by then).
    std::vector<Step> steps;
    for (int i = 0; i < L; ++i) {
        if (group_of[i] < 0) {
            steps.push_back({Step::Form::Layer, {i}});
            continue;
        }
        const Step& g = groups[group_of[i]];
        const int at = g.form == Step::Form::MergedPointwise ? g.layers.front() : g.layers.back();
        if (i == at) steps.push_back(g);
    }
    return steps;
}

Dispatch lower_merged_pointwise(std::span<const Layer* const> members, std::span<const LayerGeometry* const> geometry,
                                std::span<const uint64_t> output_offsets, const DeviceFeatures& f, Precision precision) {
    const int n = int(members.size());
    if (n < 2 || n > kMaxSegments || int(geometry.size()) != n || int(output_offsets.size()) != n)
        throw VulkanError("Vulkan: internal error: a merged 1x1 conv step needs 2.." + std::to_string(kMaxSegments) + " members");
    const Layer& first = *members[0];
    const LayerGeometry& g = *geometry[0];
    Gemm m;
    m.name = &first.name;
    m.kernel = Kernel::PointwiseConv;
    m.rows = uint64_t(g.out.n) * g.out.h * g.out.w;
    m.K = uint64_t(first.in_channels);
    m.ci = first.in_channels;
    m.segments = n;
    m.act = int32_t(first.activation);
    m.fp16 = rounds_input_to_fp16(first, precision, true);
    for (int s = 0; s < n; ++s) {
        const Layer& l = *members[s];
        const LayerGeometry& gs = *geometry[s];
        if (!is_plain_pointwise(l) || l.input != first.input || gs.out.n != g.out.n || gs.out.h != g.out.h || gs.out.w != g.out.w ||
            gs.pad_top || gs.pad_left || gs.pad_bottom || gs.pad_right)
            throw VulkanError("Vulkan: internal error: layer '" + l.name + "' cannot merge with '" + first.name + "'");
        m.co += l.out_channels;
        m.segment_ends[s] = m.co;
        m.segment_acts[s] = int32_t(l.activation);
        m.bias = m.bias || l.bias_count > 0;
        if (output_offsets[s] > uint64_t(std::numeric_limits<int32_t>::max()))
            throw VulkanError("Vulkan: layer '" + l.name + "': merged outputs are too large for the kernels' indices");
    }
    Dispatch d = lower_gemm(m, g, f);
    for (int s = 0; s < n; ++s) d.push.segment_offset[s] = int32_t(output_offsets[s]);
    if (d.slices > 1)
        for (int s = 0; s < n; ++s) d.reduce.push.segment_offset[s] = int32_t(output_offsets[s]);
    return d;
}

Dispatch lower_depthwise_pointwise(const Layer& dw, const LayerGeometry& g_dw, const Layer& pw, const LayerGeometry& g_pw,
                                   uint64_t dw_bias_at, const DeviceFeatures& f) {
    if (dw.kind != LayerKind::DepthwiseConv2D || dw.input2 >= 0 || !is_plain_pointwise(pw) || pw.input != dw.output ||
        g_pw.pad_top || g_pw.pad_left || g_pw.pad_bottom || g_pw.pad_right)
        throw VulkanError("Vulkan: internal error: layers '" + dw.name + "' and '" + pw.name + "' cannot fuse");
    if (dw_bias_at > uint64_t(std::numeric_limits<int32_t>::max()))
        throw VulkanError("Vulkan: layer '" + dw.name + "': depthwise weights too large to fuse");
    Gemm m;
    m.name = &pw.name;
    m.kernel = Kernel::DepthwisePointwiseConv;
    m.depthwise_a = true;
    m.rows = uint64_t(g_pw.out.n) * g_pw.out.h * g_pw.out.w;
    m.K = uint64_t(pw.in_channels);
    m.ci = pw.in_channels, m.co = pw.out_channels;
    m.window = {dw.kernel_h, dw.kernel_w, dw.stride_h, dw.stride_w, dw.dilation_h, dw.dilation_w};
    m.act = int32_t(pw.activation), m.bias = pw.bias_count > 0;
    checked_count(g_dw.in.elements(), dw.name);
    Dispatch d = lower_gemm(m, g_dw, f);  // push constants: the depthwise's input, output and pads
    d.spec[kDwCI] = dw.in_channels;
    d.spec[kDwAct] = int32_t(dw.activation);
    d.spec[kDwHasBias] = dw.bias_count > 0;
    d.spec[kDwBiasAt] = int32_t(dw_bias_at);
    // vec4 loads: every index the kernel forms is then a multiple of 4 floats (the bindings start at
    // multiples of 256 bytes; the bias offset follows from the weight store's alignment).
    // Only where every thread takes part in the A load (BM * BK / 4 >= threads: the 64-row tiles):
    // with half the threads loading, the 32-row tiles ran slower than with scalar loads on an H100
    // (17x17 384 -> 384: 30 us against 22 us; 65x65 96 -> 96 with 64-row tiles: 19.8 against 21.6).
    const int threads = d.spec[kLocalX] * d.spec[kLocalY];
    d.spec[kDwVec4] = pw.in_channels % 4 == 0 && dw.in_channels == dw.out_channels && dw_bias_at % 4 == 0 &&
                      d.spec[kBM] * d.spec[kBK] / 4 >= threads;
    return d;
}

bool depthwise_pointwise_pays(const Dispatch& d, bool cpu_device) {
    // lavapipe (2-core machine, MobileNetV1 0.75 at 257): every pair ran slower fused, even with one
    // N tile (129x129 24 -> 48: 96 ms against 16 + 69 ms); the whole network 2.10 s against 1.45 s.
    if (d.kernel != Kernel::DepthwisePointwiseConv || cpu_device) return false;
    // A fused dispatch saves a dispatch and a barrier (2.4-4.7 us on an H100) and the intermediate's
    // trip through memory, but computes the depthwise values once per N tile, each over the K
    // steps a workgroup walks. With one N tile it always pays. Otherwise only small layers gain,
    // whose time is mostly latency, not throughput; and only when the repeated work is short.
    // Measured on an H100 (MobileNetV1 0.75; fused against depthwise + pointwise dispatches,
    // barriers included; N tiles x K steps, 1x1 conv MACs):
    //   one N tile: 129x129 24 -> 48 10.4 against 16.0 us; 257x257 (513 input) 33.6 against 35.9,
    //     and at batch 16 404 against 426;
    //   small: 65x65/2 48 -> 96 (2 x 3, 19.5 M) 12.7 against 15.7; 65x65 96 -> 96 (2 x 6, 39 M) 19.6
    //     against 21.5; 33x33/2 96 -> 192 (6 x 6, 20 M) 13.3 against 13.9; 17x17 384 -> 384 split-K
    //     (6 x 5, 43 M) 18.5 against 20.7;
    //   long repeated work: 33x33 192 -> 192 (6 x 12, 40 M) 20.9 against 18.8; 17x17/2 192 -> 384
    //     (12 x 12, 21 M) 16.7 against 14.7;
    //   large (513 input): 129x129/2 48 -> 96 (2 x 3, 77 M) 26.5 against 25.2; 65x65/2 96 -> 192
    //     (3 x 6, 78 M) 24.8 against 23.9; 65x65 192 -> 192 (3 x 12, 156 M) 39.7 against 35.9;
    //     33x33 384 -> 384 (160 M) 46 against 40; at batch 16 up to 30% slower.
    constexpr uint64_t kMaxRepeatedSteps = 48, kMaxMacs = 48'000'000;
    const uint64_t n_tiles = d.groups[1];
    if (n_tiles == 1) return true;
    const uint64_t K = uint64_t(d.spec[kCI]);
    const uint64_t steps = div_up(div_up(K, uint64_t(d.spec[kBK])), d.slices);
    const uint64_t macs = uint64_t(d.push.count) * K * uint64_t(d.spec[kCO]);
    return n_tiles * steps <= kMaxRepeatedSteps && macs <= kMaxMacs;
}

}  // namespace posenet::engine::vk
