#include "engine/cpu_executor.h"

#include <Eigen/Core>
#include <algorithm>
#include <cstring>

namespace posenet::engine {

namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapConst = Eigen::Map<const RowMatrix>;
using MapMut = Eigen::Map<RowMatrix>;

inline float activate(float v, Activation a) {
    switch (a) {
        case Activation::None: return v;
        case Activation::Relu: return std::max(v, 0.0f);
        case Activation::Relu6: return std::min(std::max(v, 0.0f), 6.0f);
    }
    return v;
}

// Bias, residual and activation, in that order (TF's BiasAdd -> Add -> Relu).
void epilogue(const Layer& l, std::span<const float> bias, const float* residual, float* out, uint64_t pixels) {
    const int c = l.out_channels;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < int64_t(pixels); ++p) {
        float* o = out + p * c;
        const float* r = residual ? residual + p * c : nullptr;
        for (int k = 0; k < c; ++k) {
            float v = o[k];
            if (!bias.empty()) v += bias[k];
            if (r) v += r[k];
            o[k] = activate(v, l.activation);
        }
    }
}

void conv2d(const Layer& l, const LayerGeometry& g, const float* in, std::span<const float> filter, float* out) {
    const int cin = l.in_channels, cout = l.out_channels;
    const uint64_t pixels = uint64_t(g.out.n) * g.out.h * g.out.w;
    MapConst w(filter.data(), int64_t(l.kernel_h) * l.kernel_w * cin, cout);
    const bool plain_1x1 = l.kernel_h == 1 && l.kernel_w == 1 && l.stride_h == 1 && l.stride_w == 1 && g.pad_top == 0 &&
                           g.pad_left == 0 && g.in.h == g.out.h && g.in.w == g.out.w;
    if (plain_1x1) {
        MapMut(out, int64_t(pixels), cout).noalias() = MapConst(in, int64_t(pixels), cin) * w;
        return;
    }
    // im2col in chunks of output rows; HWIO flattens as (ky, kx, cin) x cout, matching the columns.
    const int64_t k = int64_t(l.kernel_h) * l.kernel_w * cin;
    const int64_t rows_per_chunk = std::max<int64_t>(1, (int64_t(1) << 22) / std::max<int64_t>(1, k * g.out.w));
    std::vector<float> cols;
    for (int n = 0; n < g.out.n; ++n) {
        for (int oy0 = 0; oy0 < g.out.h; oy0 += int(rows_per_chunk)) {
            const int oy1 = std::min<int>(g.out.h, oy0 + int(rows_per_chunk));
            const int64_t p = int64_t(oy1 - oy0) * g.out.w;
            cols.assign(size_t(p * k), 0.0f);
#pragma omp parallel for schedule(static)
            for (int oy = oy0; oy < oy1; ++oy) {
                for (int ox = 0; ox < g.out.w; ++ox) {
                    float* col = cols.data() + (int64_t(oy - oy0) * g.out.w + ox) * k;
                    for (int ky = 0; ky < l.kernel_h; ++ky) {
                        const int iy = oy * l.stride_h - g.pad_top + ky * l.dilation_h;
                        if (iy < 0 || iy >= g.in.h) continue;
                        for (int kx = 0; kx < l.kernel_w; ++kx) {
                            const int ix = ox * l.stride_w - g.pad_left + kx * l.dilation_w;
                            if (ix < 0 || ix >= g.in.w) continue;
                            std::memcpy(col + (int64_t(ky) * l.kernel_w + kx) * cin,
                                        in + ((int64_t(n) * g.in.h + iy) * g.in.w + ix) * cin, sizeof(float) * cin);
                        }
                    }
                }
            }
            float* dst = out + (int64_t(n) * g.out.h + oy0) * g.out.w * cout;
            MapMut(dst, p, cout).noalias() = MapConst(cols.data(), p, k) * w;
        }
    }
}

void depthwise(const Layer& l, const LayerGeometry& g, const float* in, std::span<const float> filter, float* out) {
    const int cin = l.in_channels, cout = l.out_channels, mult = cout / cin;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < g.out.n; ++n)
        for (int oy = 0; oy < g.out.h; ++oy)
            for (int ox = 0; ox < g.out.w; ++ox) {
                float* o = out + ((int64_t(n) * g.out.h + oy) * g.out.w + ox) * cout;
                std::fill(o, o + cout, 0.0f);
                for (int ky = 0; ky < l.kernel_h; ++ky) {
                    const int iy = oy * l.stride_h - g.pad_top + ky * l.dilation_h;
                    if (iy < 0 || iy >= g.in.h) continue;
                    for (int kx = 0; kx < l.kernel_w; ++kx) {
                        const int ix = ox * l.stride_w - g.pad_left + kx * l.dilation_w;
                        if (ix < 0 || ix >= g.in.w) continue;
                        const float* x = in + ((int64_t(n) * g.in.h + iy) * g.in.w + ix) * cin;
                        const float* w = filter.data() + (int64_t(ky) * l.kernel_w + kx) * cout;
                        for (int c = 0; c < cin; ++c)
                            for (int q = 0; q < mult; ++q) o[c * mult + q] += x[c] * w[c * mult + q];
                    }
                }
            }
}

// Window positions inside the explicit (Pad-op) zeros count as 0; Same padding is ignored.
void maxpool(const Layer& l, const LayerGeometry& g, const float* in, float* out) {
    const int c = l.in_channels;
    auto zone = [](int i, int size, int zero_before, int zero_after) {
        if (i >= 0 && i < size) return 0;                             // real
        if (i >= -zero_before && i < size + zero_after) return 1;     // explicit zero
        return 2;                                                     // ignored
    };
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < g.out.n; ++n)
        for (int oy = 0; oy < g.out.h; ++oy)
            for (int ox = 0; ox < g.out.w; ++ox) {
                float* o = out + ((int64_t(n) * g.out.h + oy) * g.out.w + ox) * c;
                std::fill(o, o + c, -std::numeric_limits<float>::infinity());
                for (int ky = 0; ky < l.kernel_h; ++ky) {
                    const int iy = oy * l.stride_h - g.pad_top + ky * l.dilation_h;
                    const int zy = zone(iy, g.in.h, g.zero_pad_top, g.zero_pad_bottom);
                    if (zy == 2) continue;
                    for (int kx = 0; kx < l.kernel_w; ++kx) {
                        const int ix = ox * l.stride_w - g.pad_left + kx * l.dilation_w;
                        const int zx = zone(ix, g.in.w, g.zero_pad_left, g.zero_pad_right);
                        if (zx == 2) continue;
                        if (zy == 1 || zx == 1) {
                            for (int k = 0; k < c; ++k) o[k] = std::max(o[k], 0.0f);
                            continue;
                        }
                        const float* x = in + ((int64_t(n) * g.in.h + iy) * g.in.w + ix) * c;
                        for (int k = 0; k < c; ++k) o[k] = std::max(o[k], x[k]);
                    }
                }
            }
}

}  // namespace

std::vector<float> CpuExecutor::run_layer(const Network& net, const Layer& l, const LayerGeometry& g,
                                          std::span<const float> input, std::span<const float> input2) {
    std::vector<float> out(g.out.elements());
    if (input.size() != g.in.elements()) throw ModelError("layer '" + l.name + "': input has the wrong size");
    const float* second = input2.empty() ? nullptr : input2.data();
    if ((l.input2 >= 0) != (second != nullptr) || (second && input2.size() != out.size()))
        throw ModelError("layer '" + l.name + "': second input missing or of the wrong size");
    const uint64_t pixels = uint64_t(g.out.n) * g.out.h * g.out.w;
    switch (l.kind) {
        case LayerKind::Conv2D:
            conv2d(l, g, input.data(), net.filter(l), out.data());
            epilogue(l, net.bias(l), second, out.data(), pixels);
            break;
        case LayerKind::DepthwiseConv2D:
            depthwise(l, g, input.data(), net.filter(l), out.data());
            epilogue(l, net.bias(l), second, out.data(), pixels);
            break;
        case LayerKind::MaxPool:
            maxpool(l, g, input.data(), out.data());
            break;
        case LayerKind::Add:
            std::copy(input.begin(), input.end(), out.begin());
            epilogue(l, {}, second, out.data(), pixels);
            break;
    }
    return out;
}

std::vector<std::vector<float>> CpuExecutor::run_all(std::span<const float> input, int height, int width, int batch) const {
    auto geo = net_.geometry(height, width, batch);
    std::vector<std::vector<float>> tensors(net_.tensor_channels.size());
    if (input.size() != uint64_t(batch) * height * width * 3)
        throw ModelError("input has " + std::to_string(input.size()) + " values, expected " + std::to_string(batch) + "x" +
                         std::to_string(height) + "x" + std::to_string(width) + "x3");
    tensors[0].assign(input.begin(), input.end());
    for (size_t i = 0; i < net_.layers.size(); ++i) {
        const Layer& l = net_.layers[i];
        std::span<const float> second;
        if (l.input2 >= 0) second = tensors[l.input2];
        tensors[l.output] = run_layer(net_, l, geo[i], tensors[l.input], second);
    }
    return tensors;
}

NetworkOutputs CpuExecutor::run(std::span<const float> input, int height, int width, int batch) const {
    auto tensors = run_all(input, height, width, batch);
    auto shapes = net_.tensor_shapes(height, width, batch);
    NetworkOutputs o;
    o.heatmap_shape = shapes[net_.heatmap];
    o.offsets_shape = shapes[net_.offsets];
    o.displacement_shape = shapes[net_.displacement_fwd];
    o.heatmap = std::move(tensors[net_.heatmap]);
    o.offsets = std::move(tensors[net_.offsets]);
    o.displacement_fwd = std::move(tensors[net_.displacement_fwd]);
    o.displacement_bwd = std::move(tensors[net_.displacement_bwd]);
    return o;
}

}  // namespace posenet::engine
