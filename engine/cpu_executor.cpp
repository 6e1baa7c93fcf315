#include "engine/cpu_executor.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

namespace posenet::engine {

namespace {

inline float activate(float v, Activation a) {
    switch (a) {
        case Activation::None: return v;
        case Activation::Relu: return std::max(v, 0.0f);
        case Activation::Relu6: return std::min(std::max(v, 0.0f), 6.0f);
    }
    return v;
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

// One layer into `out` (g.out.elements() floats); scratch holds conv2d_scratch_floats(l, g) floats.
void run_layer_into(const cpu::KernelSet& k, const Network& net, const Layer& l, const LayerGeometry& g, const float* input,
                    const float* second, float* out, float* scratch) {
    cpu::Epilogue e;
    e.bias = l.bias_count ? net.bias(l).data() : nullptr;
    e.residual = second;
    e.activation = l.activation;
    switch (l.kind) {
        case LayerKind::Conv2D:
            k.conv2d(l, g, input, net.filter(l).data(), e, out, scratch);
            break;
        case LayerKind::DepthwiseConv2D:
            k.depthwise(l, g, input, net.filter(l).data(), e, out);
            break;
        case LayerKind::MaxPool:
            maxpool(l, g, input, out);
            break;
        case LayerKind::Add: {
            const int64_t n = int64_t(g.out.elements());
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < n; ++i) out[i] = activate(input[i] + second[i], l.activation);
            break;
        }
    }
}

std::vector<float> run_layer_with(const cpu::KernelSet& k, const Network& net, const Layer& l, const LayerGeometry& g,
                                  std::span<const float> input, std::span<const float> input2) {
    std::vector<float> out(g.out.elements());
    if (input.size() != g.in.elements()) throw ModelError("layer '" + l.name + "': input has the wrong size");
    const float* second = input2.empty() ? nullptr : input2.data();
    if ((l.input2 >= 0) != (second != nullptr) || (second && input2.size() != out.size()))
        throw ModelError("layer '" + l.name + "': second input missing or of the wrong size");
    std::vector<float> scratch(l.kind == LayerKind::Conv2D ? cpu::conv2d_scratch_floats(l, g) : 0);
    run_layer_into(k, net, l, g, input.data(), second, out.data(), scratch.data());
    return out;
}

const cpu::KernelSet& kernels_for(cpu::Isa isa) {
    const cpu::KernelSet* k = cpu::kernel_set(isa);
    if (!k)
        throw std::runtime_error(std::string("CPU kernels '") + cpu::to_string(isa) +
                                 "' are not built into this binary or not supported by this CPU");
    return *k;
}

void check_input(std::span<const float> input, int height, int width, int batch) {
    if (input.size() != uint64_t(batch) * height * width * 3)
        throw ModelError("input has " + std::to_string(input.size()) + " values, expected " + std::to_string(batch) + "x" +
                         std::to_string(height) + "x" + std::to_string(width) + "x3");
}

}  // namespace

// Buffers kept from run to run: fresh allocations would cost a page fault and a clear per page.
struct CpuExecutor::Workspace {
    struct Buffer {
        std::unique_ptr<float[]> data;
        uint64_t size = 0;
    };
    std::vector<Buffer> free;
    Buffer scratch;

    Buffer take(uint64_t n) {  // the smallest free buffer that fits, else a new one
        size_t best = free.size();
        for (size_t i = 0; i < free.size(); ++i)
            if (free[i].size >= n && (best == free.size() || free[i].size < free[best].size)) best = i;
        if (best == free.size()) return {std::make_unique_for_overwrite<float[]>(std::max<uint64_t>(n, 1)), n};
        Buffer b = std::move(free[best]);
        free.erase(free.begin() + std::ptrdiff_t(best));
        return b;
    }
    float* scratch_for(uint64_t n) {
        if (scratch.size < n) scratch = {std::make_unique_for_overwrite<float[]>(n), n};
        return scratch.data.get();
    }
};

CpuExecutor::CpuExecutor(const Network& network, cpu::Isa isa)
    : net_(network), kernels_(&kernels_for(isa)), workspace_(std::make_unique<Workspace>()) {}

CpuExecutor::~CpuExecutor() = default;

std::vector<float> CpuExecutor::run_layer(const Network& net, const Layer& l, const LayerGeometry& g,
                                          std::span<const float> input, std::span<const float> input2) {
    return run_layer_with(kernels_for(cpu::default_isa()), net, l, g, input, input2);
}

std::vector<float> CpuExecutor::run_layer(const Network& net, const Layer& l, const LayerGeometry& g,
                                          std::span<const float> input, std::span<const float> input2, cpu::Isa isa) {
    return run_layer_with(kernels_for(isa), net, l, g, input, input2);
}

std::vector<std::vector<float>> CpuExecutor::run_all(std::span<const float> input, int height, int width, int batch) const {
    auto geo = net_.geometry(height, width, batch);
    check_input(input, height, width, batch);
    std::vector<std::vector<float>> tensors(net_.tensor_channels.size());
    tensors[0].assign(input.begin(), input.end());
    for (size_t i = 0; i < net_.layers.size(); ++i) {
        const Layer& l = net_.layers[i];
        std::span<const float> second;
        if (l.input2 >= 0) second = tensors[l.input2];
        tensors[l.output] = run_layer_with(*kernels_, net_, l, geo[i], tensors[l.input], second);
    }
    return tensors;
}

NetworkOutputs CpuExecutor::run(std::span<const float> input, int height, int width, int batch) const {
    auto geo = net_.geometry(height, width, batch);
    auto shapes = net_.tensor_shapes(height, width, batch);
    check_input(input, height, width, batch);
    const size_t count = net_.tensor_channels.size();
    // The last layer reading each tensor; the four outputs live to the end.
    std::vector<int> last_use(count, -1);
    for (size_t i = 0; i < net_.layers.size(); ++i) {
        last_use[net_.layers[i].input] = int(i);
        if (net_.layers[i].input2 >= 0) last_use[net_.layers[i].input2] = int(i);
    }
    const int outputs[4] = {net_.heatmap, net_.offsets, net_.displacement_fwd, net_.displacement_bwd};
    for (int t : outputs) last_use[t] = int(net_.layers.size());

    std::lock_guard<std::mutex> lock(mutex_);
    Workspace& ws = *workspace_;
    std::vector<Workspace::Buffer> live(count);
    auto data = [&](int t) -> const float* { return t == 0 ? input.data() : live[t].data.get(); };
    for (size_t i = 0; i < net_.layers.size(); ++i) {
        const Layer& l = net_.layers[i];
        live[l.output] = ws.take(geo[i].out.elements());
        float* scratch = l.kind == LayerKind::Conv2D ? ws.scratch_for(cpu::conv2d_scratch_floats(l, geo[i])) : nullptr;
        run_layer_into(*kernels_, net_, l, geo[i], data(l.input), l.input2 >= 0 ? data(l.input2) : nullptr,
                       live[l.output].data.get(), scratch);
        for (int t : {l.input, l.input2})
            if (t > 0 && last_use[t] == int(i) && live[t].data) ws.free.push_back(std::move(live[t]));
    }
    auto copy = [&](int t) { return std::vector<float>(data(t), data(t) + shapes[t].elements()); };
    NetworkOutputs o;
    o.heatmap_shape = shapes[net_.heatmap];
    o.offsets_shape = shapes[net_.offsets];
    o.displacement_shape = shapes[net_.displacement_fwd];
    o.heatmap = copy(net_.heatmap);
    o.offsets = copy(net_.offsets);
    o.displacement_fwd = copy(net_.displacement_fwd);
    o.displacement_bwd = copy(net_.displacement_bwd);
    for (auto& b : live)
        if (b.data) ws.free.push_back(std::move(b));
    return o;
}

}  // namespace posenet::engine
