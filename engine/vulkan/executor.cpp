#include "engine/vulkan/executor.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include <Eigen/Core>

#include "engine/environment.h"

namespace posenet::engine {

namespace {

using Clock = std::chrono::steady_clock;
double us_since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

// An executor lane: a vk::Lane, the plan its run in flight pins, and the input staging.
class VulkanExecutor::VulkanLane final : public Executor::Lane {
public:
    explicit VulkanLane(VulkanExecutor& executor)
        : executor_(executor), lane_(executor.runtime_->device(), executor.runtime_->kernels(), executor.dummy_.handle()) {}

    ~VulkanLane() override {
        if (plan_) {
            try {
                if (lane_.in_flight()) lane_.wait(executor_.timeout_ns());
            } catch (...) {
                // Failed again: the plan stays pinned (its memory may be in use); ~Lane waits for the device.
            }
            if (!lane_.in_flight()) executor_.unpin(*plan_);
        }
        executor_.lane_bytes_ -= counted_bytes_;
    }

    void submit(const RunInput& input, OutputSet outputs) override { submit(input, outputs, false); }

    void submit(const RunInput& input, OutputSet outputs, bool keep_all) {
        if (plan_) {
            if (!lane_.failed()) throw std::logic_error("Vulkan lane: submit() while a run is in flight");
            // The last wait failed; the run may have finished since (a slow GPU). A lost device throws again.
            lane_.wait(executor_.timeout_ns());
            executor_.unpin(*std::exchange(plan_, nullptr));
        }
        const int batch = input.batch_size();
        vk::Plan* plan = nullptr;
        {
            std::lock_guard<std::mutex> lock(executor_.mutex_);
            plan = &executor_.plan_locked({input.height, input.width, batch, keep_all});
            ++plan->pins;
        }
        try {
            const auto t0 = Clock::now();
            bool on_device = false;
            stage(*plan, input, on_device);
            upload_us_ = us_since(t0);
            const uint64_t records = lane_.records();
            lane_.submit(*plan, on_device, outputs, executor_.timestamp_mode());
            executor_.recordings_ += lane_.records() - records;
            on_device_ = on_device;
            outputs_ = outputs;
        } catch (...) {
            count_bytes();
            executor_.unpin(*plan);
            throw;
        }
        plan_ = plan;
        count_bytes();
    }

    OutputViews wait() override {
        if (!plan_) throw std::logic_error("Vulkan lane: wait() without a submitted run");
        lane_.wait(executor_.timeout_ns());  // throws with the plan still pinned: the run may still be on the device
        const vk::Plan& p = *plan_;
        // Everything the views need is copied out of the plan: it may be evicted once unpinned.
        // float16 tensors (keep_all plans with half storage) are widened into this lane's own copies.
        if (p.shape().keep_all) widened_.assign(p.shapes().size(), {});
        auto view = [&](int t) -> std::span<const float> {
            const int64_t at = t >= 0 ? p.readback_offset(t) : -1;
            if (at < 0) return {};
            const size_t n = size_t(p.shapes()[size_t(t)].elements());
            if (!p.tensor_half(t)) return {lane_.readback(at), n};
            std::vector<float>& w = widened_[size_t(t)];
            w.resize(n);
            const auto* h = reinterpret_cast<const Eigen::half*>(lane_.readback(at));
            for (size_t i = 0; i < n; ++i) w[i] = static_cast<float>(h[i]);
            return w;
        };
        const auto& out = p.outputs();
        OutputViews v;
        auto shape = [&](int t) { return t >= 0 ? p.shapes()[size_t(t)] : TensorShape{}; };
        v.heatmap_shape = shape(out[0]), v.offsets_shape = shape(out[1]), v.displacement_shape = shape(out[2]);
        v.heatmap = view(out[0]);
        v.offsets = view(out[1]);
        if (outputs_ == OutputSet::All || p.shape().keep_all) v.displacement_fwd = view(out[2]), v.displacement_bwd = view(out[3]);
        step_table_ = p.step_table();
        if (p.shape().keep_all) {
            all_.clear();
            for (size_t t = 0; t < p.shapes().size(); ++t) all_.push_back(view(int(t)));
        }
        executor_.unpin(*std::exchange(plan_, nullptr));
        return v;
    }

    bool preprocessed_on_device() const override { return on_device_; }

    const vk::Lane& lane() const { return lane_; }
    double upload_us() const { return upload_us_; }
    const std::shared_ptr<const vk::StepTable>& step_table() const { return step_table_; }
    const std::vector<std::span<const float>>& all_tensors() const { return all_; }

private:
    // Writes the run's input into the upload buffer; returns its bytes. Images go as bytes with their
    // parameters where the plan preprocesses on the device and they fit one binding, else they are
    // preprocessed here into the float input.
    uint64_t stage(const vk::Plan& plan, const RunInput& input, bool& on_device) {
        const TensorShape in = plan.shapes()[0];
        const uint64_t input_bytes = in.elements() * sizeof(float);
        if (!input.has_images()) {
            if (input.floats.size() != in.elements())
                throw std::invalid_argument("Vulkan: input has " + std::to_string(input.floats.size()) + " values, expected " +
                                            std::to_string(in.elements()) + " (batch x height x width x channels)");
            std::memcpy(lane_.upload(input_bytes), input.floats.data(), input_bytes);
            return input_bytes;
        }
        for (const ImageInput& image : input.images) validate(image);
        if (in.c != 3) throw std::invalid_argument("Vulkan: image input needs a 3-channel network input");
        const uint64_t pixels_at = lane_.pixel_offset(int(input.images.size()));
        uint64_t pixel_bytes = 0;
        for (const ImageInput& image : input.images) pixel_bytes = align_up(pixel_bytes, 16) + image.bytes();
        pixel_bytes = align_up(pixel_bytes, 16);  // the kernel reads whole 32-bit words
        on_device = plan.takes_images() && executor_.options_.device_preprocessing &&
                    pixel_bytes <= executor_.device_features().max_storage_buffer_range &&
                    pixel_bytes <= std::numeric_limits<uint32_t>::max();
        if (!on_device) {
            float* out = reinterpret_cast<float*>(lane_.upload(input_bytes));
            const size_t per_image = size_t(in.h) * size_t(in.w) * 3;
            for (size_t i = 0; i < input.images.size(); ++i)
                preprocess_on_host(input.images[i], in.h, in.w, executor_.net_.input_transform,
                                   std::span<float>(out + i * per_image, per_image));
            return input_bytes;
        }
        uint8_t* up = lane_.upload(pixels_at + pixel_bytes);
        uint64_t at = 0;
        for (size_t i = 0; i < input.images.size(); ++i) {
            const ImageInput& image = input.images[i];
            vk::PreprocessItem item;
            item.image_h = image.height, item.image_w = image.width;
            item.row_stride = image.stride(), item.bpp = image.bytes_per_pixel;
            item.c0 = image.channel_offsets[0], item.c1 = image.channel_offsets[1], item.c2 = image.channel_offsets[2];
            item.offset = uint32_t(at);
            std::memcpy(item.t, image.transform.data(), sizeof item.t);
            std::memcpy(up + i * sizeof item, &item, sizeof item);
            std::memcpy(up + pixels_at + at, image.data, image.bytes());
            at = align_up(at + image.bytes(), 16);
        }
        return pixels_at + pixel_bytes;
    }

    void count_bytes() {
        const uint64_t now = lane_.bytes();
        executor_.lane_bytes_ += now - counted_bytes_;
        counted_bytes_ = now;
    }

    VulkanExecutor& executor_;
    vk::Lane lane_;
    vk::Plan* plan_ = nullptr;  // pinned from submit() until wait() returns
    OutputSet outputs_ = OutputSet::All;
    bool on_device_ = false;
    double upload_us_ = 0;
    uint64_t counted_bytes_ = 0;
    std::shared_ptr<const vk::StepTable> step_table_;
    std::vector<std::span<const float>> all_;  // keep_all runs: every tensor
    std::vector<std::vector<float>> widened_;  // keep_all runs: the float16 tensors as float
};

VulkanExecutor::VulkanExecutor(const Network& network, VulkanOptions options)
    : VulkanExecutor(network, std::make_shared<vk::Runtime>(options), options) {}

VulkanExecutor::VulkanExecutor(const Network& network, std::shared_ptr<vk::Runtime> runtime, VulkanOptions options)
    : net_(network), options_(std::move(options)), runtime_(std::move(runtime)) {
    if (options_.max_plans < 1) throw ConfigError("Vulkan: max_plans must be >= 1, not " + std::to_string(options_.max_plans));
    if (const std::string fuse = environment::vulkan_fuse(); fuse == "0") options_.fuse = false;
    else if (fuse == "always") options_.fuse_always = true;
    const vk::DeviceFeatures& f = runtime_->device().features();
    if (options_.precision == Precision::Float16 && !f.coopmat_f16)
        throw vk::VulkanError("Vulkan: fp16 precision needs tensor cores (cooperative matrices), and device " +
                              runtime_->device().info().name + " lacks " + f.coopmat_missing);
    using Storage = VulkanOptions::Storage;
    if (options_.activation_storage == Storage::Auto) {
        if (const std::string s = environment::vulkan_storage(); s == "fp16") options_.activation_storage = Storage::Float16;
        else if (s == "fp16-gemm") options_.activation_storage = Storage::Float16GemmInputs;
        else if (s == "fp32") options_.activation_storage = Storage::Float32;
        else if (!s.empty()) throw ConfigError("POSENET_VULKAN_STORAGE must be fp32, fp16 or fp16-gemm, not '" + s + "'");
    }
    if (options_.activation_storage == Storage::Float16) half_mode_ = vk::HalfTensors::All;
    if (options_.activation_storage == Storage::Float16GemmInputs) half_mode_ = vk::HalfTensors::GemmInputs;
    if (half_mode_ != vk::HalfTensors::None && !f.storage_buffer_16bit)
        throw vk::VulkanError("Vulkan: float16 activations need storageBuffer16BitAccess, which device " + runtime_->device().info().name +
                              " lacks");
    net_.weights = {};
    net_.weight_storage.reset();
    weights_ = std::make_unique<vk::WeightStore>(runtime_->device(), network);
    dummy_ = vk::Buffer(runtime_->device(), 256, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, vk::MemoryUse::DeviceLocal,
                        "unused-binding placeholder");
}

VulkanExecutor::~VulkanExecutor() {
    sync_lane_.reset();
    runtime_->device().wait_idle();  // a run that failed may still hold a plan
    plans_.clear();
}

vk::Timestamps VulkanExecutor::timestamp_mode() const {
    return options_.timestamps ? vk::Timestamps::PerStep : options_.total_timestamps ? vk::Timestamps::Total : vk::Timestamps::Off;
}

uint64_t VulkanExecutor::timeout_ns() const { return uint64_t(options_.timeout_ms) * 1000000ull; }

vk::Plan& VulkanExecutor::plan_locked(const vk::PlanShape& shape) {
    auto it = plans_.find(shape);
    if (it == plans_.end()) {
        auto p = std::make_unique<vk::Plan>(runtime_->device(), runtime_->kernels(), *weights_, dummy_.handle(), net_, shape,
                                            options_.fuse, options_.fuse_always, options_.precision, half_mode_);
        it = plans_.emplace(shape, std::move(p)).first;
        runtime_->pipeline_cache().save();  // new pipelines: keep them even if the process dies later
    }
    vk::Plan& plan = *it->second;
    plan.last_used = ++use_clock_;
    evict_locked(&plan);
    return plan;
}

void VulkanExecutor::evict_locked(const vk::Plan* keep) {
    while (plans_.size() > size_t(options_.max_plans)) {
        auto victim = plans_.end();
        for (auto it = plans_.begin(); it != plans_.end(); ++it)
            if (it->second.get() != keep && it->second->pins == 0 &&
                (victim == plans_.end() || it->second->last_used < victim->second->last_used))
                victim = it;
        if (victim == plans_.end()) return;  // every other plan has a run in flight: evicted once it is done
        plans_.erase(victim);                // no run in flight: nothing on the device uses its memory
    }
}

void VulkanExecutor::unpin(vk::Plan& plan) {
    std::lock_guard<std::mutex> lock(mutex_);
    --plan.pins;
    evict_locked(nullptr);
}

std::unique_ptr<Executor::Lane> VulkanExecutor::make_lane(LaneMode) { return std::make_unique<VulkanLane>(*this); }

MemoryStats VulkanExecutor::memory() const {
    MemoryStats m;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        m.plans = plans_.size();
        for (const auto& [shape, plan] : plans_) m.plan_bytes += plan->arena_bytes();
    }
    m.lane_bytes = lane_bytes_.load();
    return m;
}

void VulkanExecutor::prepare(int height, int width, int batch) {
    with_plan({height, width, batch, false}, [](vk::Plan&) { return 0; });
}

int VulkanExecutor::dispatch_count(int height, int width, int batch) {
    return with_plan({height, width, batch, false}, [](vk::Plan& p) { return p.dispatch_count(); });
}

std::vector<vk::Step> VulkanExecutor::steps(int height, int width, int batch) {
    return with_plan({height, width, batch, false}, [](vk::Plan& p) { return p.steps(); });
}

std::vector<bool> VulkanExecutor::half_tensors(int height, int width, int batch) {
    return with_plan({height, width, batch, false}, [](vk::Plan& p) {
        std::vector<bool> h(p.shapes().size());
        for (size_t t = 0; t < h.size(); ++t) h[t] = p.tensor_half(int(t));
        return h;
    });
}

uint64_t VulkanExecutor::arena_bytes(int height, int width, int batch) {
    return with_plan({height, width, batch, false}, [](vk::Plan& p) { return p.arena_bytes(); });
}

OutputViews VulkanExecutor::run_sync(const RunInput& input, bool keep_all, OutputSet outputs) {
    if (!sync_lane_) sync_lane_ = std::make_unique<VulkanLane>(*this);
    VulkanLane& lane = *sync_lane_;
    last_ = {};
    lane.submit(input, outputs, keep_all);
    OutputViews v = lane.wait();
    last_ = {lane.step_table(), lane.lane().timestamps(), lane.preprocessed_on_device(), timestamp_mode()};
    last_phases_ = {lane.upload_us(), lane.lane().submit_wait_us(), 0};
    return v;
}

NetworkOutputs VulkanExecutor::copy_outputs(const OutputViews& v) {
    const auto t0 = Clock::now();
    NetworkOutputs out;
    out.heatmap_shape = v.heatmap_shape;
    out.offsets_shape = v.offsets_shape;
    out.displacement_shape = v.displacement_shape;
    out.heatmap.assign(v.heatmap.begin(), v.heatmap.end());
    out.offsets.assign(v.offsets.begin(), v.offsets.end());
    out.displacement_fwd.assign(v.displacement_fwd.begin(), v.displacement_fwd.end());
    out.displacement_bwd.assign(v.displacement_bwd.begin(), v.displacement_bwd.end());
    last_phases_.readback_us = us_since(t0);
    return out;
}

std::vector<std::vector<float>> VulkanExecutor::copy_all(const OutputViews&) {
    std::vector<std::vector<float>> out;
    for (const auto& t : sync_lane_->all_tensors()) out.emplace_back(t.begin(), t.end());
    return out;
}

NetworkOutputs VulkanExecutor::run(std::span<const float> input, int height, int width, int batch) {
    RunInput in;
    in.height = height, in.width = width, in.floats = input, in.batch = batch;
    return copy_outputs(run_sync(in, false, OutputSet::All));
}

std::vector<std::vector<float>> VulkanExecutor::run_all(std::span<const float> input, int height, int width, int batch) {
    RunInput in;
    in.height = height, in.width = width, in.floats = input, in.batch = batch;
    return copy_all(run_sync(in, true, OutputSet::All));
}

NetworkOutputs VulkanExecutor::run_images(std::span<const ImageInput> images, int height, int width) {
    if (images.empty()) throw std::invalid_argument("Vulkan: no images");
    RunInput in;
    in.height = height, in.width = width, in.images = images;
    return copy_outputs(run_sync(in, false, OutputSet::All));
}

std::vector<std::vector<float>> VulkanExecutor::run_all_images(std::span<const ImageInput> images, int height, int width) {
    if (images.empty()) throw std::invalid_argument("Vulkan: no images");
    RunInput in;
    in.height = height, in.width = width, in.images = images;
    return copy_all(run_sync(in, true, OutputSet::All));
}

std::vector<LayerTiming> VulkanExecutor::last_timings() const {
    std::vector<LayerTiming> out;
    if (!last_.steps || last_.mode != vk::Timestamps::PerStep) return out;
    const auto& ts = last_.timestamps;
    const size_t first = last_.images ? 1 : 0;
    if (ts.size() != last_.steps->steps.size() + 1 + first) return out;
    const vk::DeviceFeatures& f = device_features();
    const uint64_t mask = f.timestamp_valid_bits >= 64 ? ~0ull : (1ull << f.timestamp_valid_bits) - 1;
    auto ns = [&](size_t i) {
        const uint64_t ticks = ((ts[i + 1] & mask) - (ts[i] & mask)) & mask;  // wraps within the valid bits
        return uint64_t(double(ticks) * f.timestamp_period_ns + 0.5);
    };
    if (last_.images) out.push_back({"preprocess", vk::kernel_name(vk::Kernel::Preprocess), -1, LayerKind::Conv2D, ns(0), 0, {}});
    for (size_t i = 0; i < last_.steps->steps.size(); ++i) {
        LayerTiming t = last_.steps->steps[i];
        t.gpu_ns = ns(first + i);
        out.push_back(std::move(t));
    }
    return out;
}

uint64_t VulkanExecutor::last_gpu_ns() const {
    const auto& ts = last_.timestamps;
    if (ts.size() < 2) return 0;
    const vk::DeviceFeatures& f = device_features();
    const uint64_t mask = f.timestamp_valid_bits >= 64 ? ~0ull : (1ull << f.timestamp_valid_bits) - 1;
    const uint64_t ticks = ((ts.back() & mask) - (ts.front() & mask)) & mask;
    return uint64_t(double(ticks) * f.timestamp_period_ns + 0.5);
}

std::vector<vk::DeviceInfo> list_vulkan_devices() { return vk::list_devices(); }

}  // namespace posenet::engine
