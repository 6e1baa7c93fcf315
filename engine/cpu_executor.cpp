#include "engine/cpu_executor.h"

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <memory>
#include <new>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "engine/environment.h"
#include "posenet/preprocess.h"

namespace posenet::engine {

namespace cpu {
void AlignedDelete::operator()(float* p) const { ::operator delete[](p, std::align_val_t(64)); }
AlignedFloats aligned_floats(uint64_t n) {
    return AlignedFloats(static_cast<float*>(::operator new[](std::max<uint64_t>(n, 1) * sizeof(float), std::align_val_t(64))));
}
}  // namespace cpu

namespace {

// f(i) for i in [0, n) on the CPU executor's threads (cpu::parallel_for), one i per chunk.
template <class F>
void for_rows(int64_t n, F&& f) {
    cpu::parallel_for(n, 1, [](void* ctx, int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) (*static_cast<std::remove_reference_t<F>*>(ctx))(i);
    }, &f);
}

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
    const int64_t rows = int64_t(g.out.n) * g.out.h;
    for_rows(rows, [&](int64_t row) {
        const int n = int(row / g.out.h), oy = int(row % g.out.h);
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
    });
}

// One layer into `out` (g.out.elements() floats); scratch holds conv2d_scratch_floats(l, g) floats;
// packed: the layer's filter as k.pack_filter wrote it, or null.
void run_layer_into(const cpu::KernelSet& k, const Network& net, const Layer& l, const LayerGeometry& g, const float* input,
                    const float* second, float* out, float* scratch, const float* packed = nullptr) {
    cpu::Epilogue e;
    e.bias = l.bias_count ? net.bias(l).data() : nullptr;
    e.residual = second;
    e.activation = l.activation;
    switch (l.kind) {
        case LayerKind::Conv2D:
            k.conv2d(l, g, input, net.filter(l).data(), packed, e, out, scratch);
            break;
        case LayerKind::DepthwiseConv2D:
            k.depthwise(l, g, input, net.filter(l).data(), e, out);
            break;
        case LayerKind::MaxPool:
            maxpool(l, g, input, out);
            break;
        case LayerKind::Add: {
            const int64_t n = int64_t(g.out.elements());
            constexpr int64_t kChunk = 4096;
            for_rows((n + kChunk - 1) / kChunk, [&](int64_t chunk) {
                for (int64_t i = chunk * kChunk; i < std::min(n, (chunk + 1) * kChunk); ++i)
                    out[i] = activate(input[i] + second[i], l.activation);
            });
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
        cpu::AlignedFloats data;
        uint64_t size = 0;
    };
    std::vector<Buffer> free;
    Buffer scratch;
    uint64_t bytes = 0;  // every buffer held, free or in use

    Buffer take(uint64_t n) {  // the smallest free buffer that fits, else a new one
        size_t best = free.size();
        for (size_t i = 0; i < free.size(); ++i)
            if (free[i].size >= n && (best == free.size() || free[i].size < free[best].size)) best = i;
        if (best == free.size()) {
            bytes += std::max<uint64_t>(n, 1) * sizeof(float);
            return {cpu::aligned_floats(n), n};
        }
        Buffer b = std::move(free[best]);
        free.erase(free.begin() + std::ptrdiff_t(best));
        return b;
    }
    float* scratch_for(uint64_t n) {
        if (scratch.size < n) {
            bytes += (n - scratch.size) * sizeof(float);
            scratch = {cpu::aligned_floats(n), n};
        }
        return scratch.data.get();
    }
};

CpuExecutor::CpuExecutor(const Network& network, cpu::Isa isa)
    : net_(network), kernels_(&kernels_for(isa)), workspace_(std::make_unique<Workspace>()) {
    fuse_ = environment::cpu_fuse();
    // The weights in the GEMM's layout, once (the kernels would otherwise pack them on every run).
    packed_at_.assign(net_.layers.size(), -1);
    uint64_t total = 0;
    for (size_t i = 0; i < net_.layers.size(); ++i) {
        const Layer& l = net_.layers[i];
        const uint64_t n = l.kind == LayerKind::Conv2D ? kernels_->packed_filter_floats(l) : 0;
        if (n) packed_at_[i] = int64_t(total), total += (n + 15) / 16 * 16;
    }
    packed_weights_ = cpu::aligned_floats(total);
    packed_floats_ = total;
    for (size_t i = 0; i < net_.layers.size(); ++i)
        if (packed_at_[i] >= 0)
            kernels_->pack_filter(net_.layers[i], net_.filter(net_.layers[i]).data(), packed_weights_.get() + packed_at_[i]);
}

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

void CpuExecutor::run_into(std::span<const float> input, int height, int width, int batch, OutputSet outputs,
                           NetworkOutputs& o) const {
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
    const int output_ids[4] = {net_.heatmap, net_.offsets, net_.displacement_fwd, net_.displacement_bwd};
    for (int t : output_ids)
        if (t < 0) throw ModelError("network: an output tensor is missing");
    for (int t : output_ids) last_use[t] = int(net_.layers.size());
    std::vector<int> readers(count, 0);
    for (const Layer& l : net_.layers) {
        ++readers[l.input];
        if (l.input2 >= 0) ++readers[l.input2];
    }
    // Layer i (depthwise) and i + 1 (pointwise) run fused where the kernels can and nothing else reads
    // the depthwise output.
    auto fused_pair = [&](size_t i) {
        if (!fuse_ || !kernels_->dw_pw || i + 1 >= net_.layers.size()) return false;
        const Layer& d = net_.layers[i];
        const Layer& p = net_.layers[i + 1];
        if (d.kind != LayerKind::DepthwiseConv2D || d.input2 >= 0 || p.input != d.output || readers[d.output] != 1 ||
            last_use[d.output] != int(i + 1) || packed_at_[i + 1] < 0)
            return false;
        return kernels_->dw_pw_supported(d, p) && cpu::im2col_rows_per_chunk(p, geo[i + 1]) == 0;
    };

    std::lock_guard<std::mutex> lock(mutex_);
    Workspace& ws = *workspace_;
    std::vector<Workspace::Buffer> live(count);
    auto data = [&](int t) -> const float* { return t == 0 ? input.data() : live[t].data.get(); };
    for (size_t i = 0; i < net_.layers.size(); ++i) {
        const Layer& l = net_.layers[i];
        if (fused_pair(i)) {
            const Layer& p = net_.layers[i + 1];
            live[p.output] = ws.take(geo[i + 1].out.elements());
            float* scratch = ws.scratch_for(cpu::conv2d_scratch_floats(p, geo[i + 1]));
            cpu::Epilogue de, pe;
            de.bias = l.bias_count ? net_.bias(l).data() : nullptr;
            de.activation = l.activation;
            pe.bias = p.bias_count ? net_.bias(p).data() : nullptr;
            pe.residual = p.input2 >= 0 ? data(p.input2) : nullptr;
            pe.activation = p.activation;
            kernels_->dw_pw(l, geo[i], p, geo[i + 1], data(l.input), net_.filter(l).data(), de,
                            packed_weights_.get() + packed_at_[i + 1], pe, live[p.output].data.get(), scratch);
            for (int t : {l.input, p.input2})
                if (t > 0 && last_use[t] <= int(i + 1) && live[t].data) ws.free.push_back(std::move(live[t]));
            ++i;
            continue;
        }
        live[l.output] = ws.take(geo[i].out.elements());
        float* scratch = l.kind == LayerKind::Conv2D ? ws.scratch_for(cpu::conv2d_scratch_floats(l, geo[i])) : nullptr;
        run_layer_into(*kernels_, net_, l, geo[i], data(l.input), l.input2 >= 0 ? data(l.input2) : nullptr,
                       live[l.output].data.get(), scratch, packed_at_[i] >= 0 ? packed_weights_.get() + packed_at_[i] : nullptr);
        for (int t : {l.input, l.input2})
            if (t > 0 && last_use[t] == int(i) && live[t].data) ws.free.push_back(std::move(live[t]));
    }
    // assign() keeps the vectors' capacity: no fresh pages per run.
    auto copy = [&](int t, std::vector<float>& to) { to.assign(data(t), data(t) + shapes[t].elements()); };
    o.heatmap_shape = shapes[net_.heatmap];
    o.offsets_shape = shapes[net_.offsets];
    o.displacement_shape = shapes[net_.displacement_fwd];
    copy(net_.heatmap, o.heatmap);
    copy(net_.offsets, o.offsets);
    if (outputs == OutputSet::All) {
        copy(net_.displacement_fwd, o.displacement_fwd);
        copy(net_.displacement_bwd, o.displacement_bwd);
    } else {
        o.displacement_fwd.clear();
        o.displacement_bwd.clear();
    }
    for (auto& b : live)
        if (b.data) ws.free.push_back(std::move(b));
}

NetworkOutputs CpuExecutor::run(std::span<const float> input, int height, int width, int batch) const {
    NetworkOutputs o;
    run_into(input, height, width, batch, OutputSet::All, o);
    return o;
}

MemoryStats CpuExecutor::memory() const {
    MemoryStats m;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        m.plan_bytes = workspace_->bytes + packed_floats_ * sizeof(float);
    }
    m.lane_bytes = lane_bytes_.load();
    return m;
}

void validate(const ImageInput& image) {
    if (!image.data || image.width <= 0 || image.height <= 0 || image.bytes_per_pixel <= 0)
        throw std::invalid_argument("image input has no pixels or a non-positive size");
    if (image.stride() < image.width * image.bytes_per_pixel) throw std::invalid_argument("image row stride is shorter than a row");
    for (int c : image.channel_offsets)
        if (c < 0 || c >= image.bytes_per_pixel) throw std::invalid_argument("image channel offset outside a pixel");
}

void preprocess_on_host(const ImageInput& image, int height, int width, InputTransform transform, std::span<float> out) {
    validate(image);
    using posenet::PixelFormat;
    const auto& c = image.channel_offsets;
    const bool rgb = c == std::array<int, 3>{0, 1, 2}, bgr = c == std::array<int, 3>{2, 1, 0};
    PixelFormat format;
    if (image.bytes_per_pixel == 3 && (rgb || bgr)) format = rgb ? PixelFormat::RGB8 : PixelFormat::BGR8;
    else if (image.bytes_per_pixel == 4 && (rgb || bgr)) format = rgb ? PixelFormat::RGBA8 : PixelFormat::BGRA8;
    else if (image.bytes_per_pixel == 1) format = PixelFormat::Gray8;
    else throw std::invalid_argument("image input: no pixel format has " + std::to_string(image.bytes_per_pixel) +
                                     " bytes per pixel with these channel offsets");
    const posenet::ImageView view{image.data, image.height, image.width, image.row_stride_bytes, format};
    // The caller's transform, as the device kernel takes it (compute_letterbox gives the same one).
    posenet::Letterbox lb;
    lb.image_height = image.height, lb.image_width = image.width;
    lb.input_height = height, lb.input_width = width;
    lb.transform = image.transform;
    posenet::resample(view, lb, out);
    posenet::apply_input_transform(out, transform);
}

// A lane of the CPU executor. Background: submit() copies the input and a worker thread of the lane
// preprocesses and runs the network (runs of several lanes share the executor's mutex, so their
// preprocessing overlaps the network of another). Caller: wait() does the work on the calling thread.
class CpuExecutor::CpuLane final : public Executor::Lane {
public:
    CpuLane(const CpuExecutor& executor, LaneMode mode) : executor_(executor), mode_(mode) {}
    ~CpuLane() override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        cv_.notify_all();
        if (worker_.joinable()) worker_.join();
        executor_.lane_bytes_ -= counted_bytes_;
    }

    void submit(const RunInput& in, OutputSet outputs) override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (state_ != State::Idle) throw std::logic_error("CPU lane: submit() while a run is in flight");
        }
        if (in.height <= 0 || in.width <= 0) throw std::invalid_argument("CPU lane: the network input size must be positive");
        for (const ImageInput& image : in.images) validate(image);
        if (!in.has_images() && (in.batch < 1 || in.floats.size() != uint64_t(in.batch) * in.height * in.width *
                                                                     uint64_t(executor_.net_.tensor_channels[0])))
            throw std::invalid_argument("CPU lane: the float input has " + std::to_string(in.floats.size()) +
                                        " values, not batch x height x width x channels");
        outputs_wanted_ = outputs;
        if (mode_ == LaneMode::Caller) {
            input_ = in;
        } else {
            // One copy of every image's bytes, back to back; the copies keep the callers' strides.
            uint64_t total = 0;
            for (const ImageInput& image : in.images) total += image.bytes();
            bytes_.resize(total);
            images_.assign(in.images.begin(), in.images.end());
            uint64_t at = 0;
            for (ImageInput& image : images_) {
                std::copy_n(image.data, image.bytes(), bytes_.data() + at);
                image.data = bytes_.data() + at;
                at += image.bytes();
            }
            floats_.assign(in.floats.begin(), in.floats.end());
            input_ = in;
            input_.images = images_;
            input_.floats = floats_;
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            state_ = State::Queued;
            error_ = nullptr;
            if (mode_ == LaneMode::Background && !worker_.joinable()) worker_ = std::thread([this] { work(); });
        }
        cv_.notify_all();
    }

    OutputViews wait() override {
        if (mode_ == LaneMode::Caller) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (state_ != State::Queued) throw std::logic_error("CPU lane: wait() without a submitted run");
                state_ = State::Idle;
            }
            execute();  // throws what the run throws; the lane is idle either way
            return views();
        }
        std::unique_lock<std::mutex> lock(mutex_);
        if (state_ == State::Idle) throw std::logic_error("CPU lane: wait() without a submitted run");
        cv_.wait(lock, [&] { return state_ == State::Done; });
        state_ = State::Idle;
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
        return views();
    }

    bool preprocessed_on_device() const override { return false; }

private:
    enum class State { Idle, Queued, Running, Done };

    void execute() {
        std::span<const float> input = input_.floats;
        int batch = input_.batch;
        if (input_.has_images()) {
            const size_t per_image = size_t(input_.height) * size_t(input_.width) * 3;
            batch = int(input_.images.size());
            preprocessed_.resize(per_image * size_t(batch));
            for (int i = 0; i < batch; ++i)
                preprocess_on_host(input_.images[size_t(i)], input_.height, input_.width, executor_.net_.input_transform,
                                   std::span(preprocessed_).subspan(size_t(i) * per_image, per_image));
            input = preprocessed_;
        }
        executor_.run_into(input, input_.height, input_.width, batch, outputs_wanted_, outputs_);
        count_bytes();
    }

    void work() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            cv_.wait(lock, [&] { return stop_ || state_ == State::Queued; });
            if (stop_) return;  // a queued run nobody will wait for is dropped
            state_ = State::Running;
            lock.unlock();
            std::exception_ptr error;
            try {
                execute();
            } catch (...) {
                error = std::current_exception();
            }
            lock.lock();
            error_ = error;
            state_ = State::Done;
            cv_.notify_all();
        }
    }

    OutputViews views() const {
        OutputViews v;
        v.heatmap_shape = outputs_.heatmap_shape;
        v.offsets_shape = outputs_.offsets_shape;
        v.displacement_shape = outputs_.displacement_shape;
        v.heatmap = outputs_.heatmap, v.offsets = outputs_.offsets;
        v.displacement_fwd = outputs_.displacement_fwd, v.displacement_bwd = outputs_.displacement_bwd;
        return v;
    }

    void count_bytes() {
        const uint64_t now = bytes_.capacity() + sizeof(float) * (floats_.capacity() + preprocessed_.capacity() +
                                                                 outputs_.heatmap.capacity() + outputs_.offsets.capacity() +
                                                                 outputs_.displacement_fwd.capacity() +
                                                                 outputs_.displacement_bwd.capacity());
        executor_.lane_bytes_ += now - counted_bytes_;
        counted_bytes_ = now;
    }

    const CpuExecutor& executor_;
    const LaneMode mode_;
    RunInput input_;
    OutputSet outputs_wanted_ = OutputSet::All;
    std::vector<uint8_t> bytes_;        // Background: the images' bytes
    std::vector<ImageInput> images_;    // Background: the images, pointing into bytes_
    std::vector<float> floats_;         // Background: the float input
    std::vector<float> preprocessed_;   // the images as model input
    NetworkOutputs outputs_;
    uint64_t counted_bytes_ = 0;        // what this lane added to executor_.lane_bytes_

    std::mutex mutex_;
    std::condition_variable cv_;
    State state_ = State::Idle;
    std::exception_ptr error_;
    bool stop_ = false;
    std::thread worker_;
};

std::unique_ptr<Executor::Lane> CpuExecutor::make_lane(LaneMode mode) { return std::make_unique<CpuLane>(*this, mode); }

}  // namespace posenet::engine
