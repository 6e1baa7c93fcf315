#include "posenet/detector.h"

#include <cmath>
#include <mutex>

#include "engine/backend_selection.h"
#include "engine/executor.h"
#include "engine/model_file.h"
#include "engine/network.h"
#include "engine/vulkan/executor.h"
#include "posenet/decode.h"
#include "posenet/detector_internal.h"

namespace posenet {

namespace {

std::string fmt(float v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}

engine::Network load_network(const ModelConfig& c) {
    if (!c.model_data.empty())
        return engine::load_model_bytes(c.model_data, c.model.empty() ? std::string("model in memory") : c.model.string());
    if (c.model.empty()) throw ConfigError("model: no model file given (ModelConfig::model or model_data)");
    return engine::load_model_file(c.model);
}

// Set fields must agree with the model file (the architecture first: the other rules depend on it);
// unset ones are taken from it.
ModelConfig resolve(ModelConfig c, const engine::Network& net, const std::string& file) {
    if (c.architecture && *c.architecture != net.architecture)
        throw ConfigError("architecture: the config says " + std::string(to_string(*c.architecture)) + " but " + file + " is " +
                          to_string(net.architecture));
    if (c.output_stride && *c.output_stride != net.output_stride)
        throw ConfigError("outputStride: the config says " + std::to_string(*c.output_stride) + " but " + file + " has " +
                          std::to_string(net.output_stride));
    if (c.multiplier && net.architecture == Architecture::MobileNetV1 && std::fabs(*c.multiplier - net.multiplier) > 1e-6f)
        throw ConfigError("multiplier: the config says " + fmt(*c.multiplier) + " but " + file + " has " + fmt(net.multiplier));
    if (c.quant_bytes && *c.quant_bytes != net.quant_bytes)
        throw ConfigError("quantBytes: the config says " + std::to_string(*c.quant_bytes) + " but " + file +
                          " was converted from " + std::to_string(net.quant_bytes) + "-byte weights");
    c.architecture = net.architecture;
    c.output_stride = net.output_stride;
    if (!c.multiplier || net.architecture == Architecture::ResNet50) c.multiplier = net.multiplier;
    c.quant_bytes = net.quant_bytes;
    return c;
}

Tensor tensor(std::span<const float> values, int height, int width) {
    Tensor t;
    t.height = height, t.width = width;
    t.channels = int(values.size() / (size_t(height) * size_t(width)));
    t.values.assign(values.begin(), values.end());
    return t;
}

}  // namespace

namespace detail {

engine::ImageInput image_input(const ImageView& image, const Letterbox& lb) {
    engine::ImageInput in;
    in.data = image.data;
    in.width = image.width, in.height = image.height;
    in.bytes_per_pixel = bytes_per_pixel(image.format);
    in.row_stride_bytes = image.stride();
    switch (image.format) {
        case PixelFormat::RGB8:
        case PixelFormat::RGBA8: in.channel_offsets = {0, 1, 2}; break;
        case PixelFormat::BGR8:
        case PixelFormat::BGRA8: in.channel_offsets = {2, 1, 0}; break;
        case PixelFormat::Gray8: in.channel_offsets = {0, 0, 0}; break;
    }
    in.transform = lb.transform;
    return in;
}

engine::OutputSet outputs_for(const EstimationConfig& config, bool keep_outputs) {
    return keep_outputs || config.max_poses > 1 ? engine::OutputSet::All : engine::OutputSet::HeatmapOffsets;
}

OutputSlice slice(const engine::OutputViews& o, int i) {
    auto part = [i](std::span<const float> v, const engine::TensorShape& s) {
        const size_t n = size_t(s.h) * size_t(s.w) * size_t(s.c);
        return v.empty() ? v : v.subspan(size_t(i) * n, n);
    };
    return {part(o.heatmap, o.heatmap_shape), part(o.offsets, o.offsets_shape), part(o.displacement_fwd, o.displacement_shape),
            part(o.displacement_bwd, o.displacement_shape), o.heatmap_shape.h, o.heatmap_shape.w};
}

std::vector<Pose> decode(const OutputSlice& out, int output_stride, const Letterbox& letterbox, const EstimationConfig& config,
                         std::vector<float>& scores) {
    scores.resize(out.heatmap.size());
    sigmoid(out.heatmap, scores);
    return decode_poses(scores, out.offsets, out.fwd, out.bwd, out.height, out.width, output_stride, config, &letterbox);
}

}  // namespace detail

Estimate PoseDetector::Impl::decode(const detail::OutputSlice& out, const Letterbox& letterbox, const EstimationConfig& config,
                                    bool keep_outputs) {
    Estimate e;
    e.poses = detail::decode(out, network.output_stride, letterbox, config, scores);
    if (keep_outputs) {
        e.outputs.heatmap_logits = tensor(out.heatmap, out.height, out.width);
        e.outputs.heatmap_scores = tensor(scores, out.height, out.width);
        e.outputs.offsets = tensor(out.offsets, out.height, out.width);
        e.outputs.displacement_fwd = tensor(out.fwd, out.height, out.width);
        e.outputs.displacement_bwd = tensor(out.bwd, out.height, out.width);
        e.outputs.letterbox = letterbox;
    }
    return e;
}

engine::OutputViews PoseDetector::Impl::run_locked(const engine::RunInput& input, engine::OutputSet outputs) {
    if (!lane) lane = executor->make_lane(engine::LaneMode::Caller);
    lane->submit(input, outputs);
    return lane->wait();
}

// 8-bit images go to the backend as they are (Vulkan: uploaded as bytes, preprocessed on the GPU,
// one plan per network input size and batch whatever the images' sizes).
std::vector<Estimate> PoseDetector::Impl::run_images(std::span<const ImageView> images, const EstimationConfig& config,
                                                     bool keep_outputs) {
    validate(config);
    for (const ImageView& image : images) validate(image);
    if (images.empty()) return {};
    const int h = resolution().height, w = resolution().width;
    std::vector<Letterbox> letterboxes;
    std::vector<engine::ImageInput> inputs;
    letterboxes.reserve(images.size());
    inputs.reserve(images.size());
    for (const ImageView& image : images) {
        letterboxes.push_back(compute_letterbox(image.height, image.width, h, w));
        inputs.push_back(detail::image_input(image, letterboxes.back()));
    }
    engine::RunInput in;
    in.height = h, in.width = w, in.images = inputs;
    std::lock_guard<std::mutex> lock(mutex);
    const engine::OutputViews out = run_locked(in, detail::outputs_for(config, keep_outputs));
    std::vector<Estimate> estimates;
    estimates.reserve(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
        estimates.push_back(decode(detail::slice(out, int(i)), letterboxes[i], config, keep_outputs));
        estimates.back().outputs.preprocessed_on_device = lane->preprocessed_on_device();
    }
    return estimates;
}

// Float images are preprocessed on the CPU into one batch.
std::vector<Estimate> PoseDetector::Impl::run_floats(std::span<const FloatImageView> images, const EstimationConfig& config,
                                                     bool keep_outputs) {
    validate(config);
    for (const FloatImageView& image : images) validate(image);
    if (images.empty()) return {};
    const int h = resolution().height, w = resolution().width;
    const size_t per_image = size_t(h) * size_t(w) * 3;
    std::lock_guard<std::mutex> lock(mutex);
    input.resize(per_image * images.size());
    std::vector<Letterbox> letterboxes;
    letterboxes.reserve(images.size());
    for (size_t i = 0; i < images.size(); ++i)
        letterboxes.push_back(preprocess(images[i], h, w, network.input_transform, std::span(input).subspan(i * per_image, per_image)));
    engine::RunInput in;
    in.height = h, in.width = w, in.floats = input, in.batch = int(images.size());
    const engine::OutputViews out = run_locked(in, detail::outputs_for(config, keep_outputs));
    std::vector<Estimate> estimates;
    estimates.reserve(images.size());
    for (size_t i = 0; i < images.size(); ++i) estimates.push_back(decode(detail::slice(out, int(i)), letterboxes[i], config, keep_outputs));
    return estimates;
}

std::vector<DeviceDescription> list_devices() {
    std::vector<DeviceDescription> out;
    try {
        for (const auto& d : engine::list_vulkan_devices())
            out.push_back({d.index, d.name, d.type, d.driver, d.device_local_bytes});
    } catch (const engine::vk::VulkanError&) {
        // No loader or no instance: no devices.
    }
    return out;
}

PoseDetector::PoseDetector(const ModelConfig& config, const DetectorOptions& options) : impl_(std::make_unique<Impl>()) {
    validate(options);
    Impl& d = *impl_;
    d.network = load_network(config);
    const std::string file = config.model.empty() ? std::string("the model in memory") : config.model.string();
    d.config = resolve(config, d.network, file);
    d.config.model_data = {};  // the caller's bytes may go once the constructor returns
    validate(d.config);
    const InputResolution r = valid_input_resolution(d.config.input_resolution, *d.config.output_stride);
    d.network.geometry(r.height, r.width);  // every layer chains at this size
    d.executor = engine::make_executor(d.network, options);
    d.info.architecture = d.network.architecture;
    d.info.output_stride = d.network.output_stride;
    d.info.multiplier = d.network.multiplier;
    d.info.quant_bytes = d.network.quant_bytes;
    d.info.input_transform = d.network.input_transform;
    d.info.input_resolution = r;
    d.info.source_name = d.network.source_name;
    d.info.layers = int(d.network.layers.size());
    d.info.parameters = d.network.parameter_count();
}

PoseDetector::~PoseDetector() = default;
PoseDetector::PoseDetector(PoseDetector&&) noexcept = default;
PoseDetector& PoseDetector::operator=(PoseDetector&&) noexcept = default;

std::vector<Pose> PoseDetector::estimate_poses(const ImageView& image, const EstimationConfig& config) {
    return std::move(impl_->run_images(std::span(&image, 1), config, false).front().poses);
}

std::vector<Pose> PoseDetector::estimate_poses(const FloatImageView& image, const EstimationConfig& config) {
    return std::move(impl_->run_floats(std::span(&image, 1), config, false).front().poses);
}

std::vector<std::vector<Pose>> PoseDetector::estimate_poses(std::span<const ImageView> images, const EstimationConfig& config) {
    std::vector<std::vector<Pose>> out;
    for (Estimate& e : impl_->run_images(images, config, false)) out.push_back(std::move(e.poses));
    return out;
}

std::vector<std::vector<Pose>> PoseDetector::estimate_poses(std::span<const FloatImageView> images,
                                                            const EstimationConfig& config) {
    std::vector<std::vector<Pose>> out;
    for (Estimate& e : impl_->run_floats(images, config, false)) out.push_back(std::move(e.poses));
    return out;
}

Estimate PoseDetector::estimate(const ImageView& image, const EstimationConfig& config) {
    return std::move(impl_->run_images(std::span(&image, 1), config, true).front());
}

Estimate PoseDetector::estimate(const FloatImageView& image, const EstimationConfig& config) {
    return std::move(impl_->run_floats(std::span(&image, 1), config, true).front());
}

BackendMemory PoseDetector::backend_memory() const {
    const engine::MemoryStats m = impl_->executor->memory();
    return {m.plans, m.plan_bytes, m.lane_bytes};
}

std::vector<float> PoseDetector::model_input(const ImageView& image) const {
    const InputResolution r = impl_->resolution();
    return preprocess(image, r.height, r.width, impl_->network.input_transform).input;
}

const ModelConfig& PoseDetector::config() const { return impl_->config; }
const ModelInfo& PoseDetector::model_info() const { return impl_->info; }
InputResolution PoseDetector::input_resolution() const { return impl_->resolution(); }
const char* PoseDetector::backend_name() const { return impl_->executor->backend_name(); }
std::string PoseDetector::device_name() const { return impl_->executor->device_name(); }
int PoseDetector::device_index() const { return impl_->executor->device_index(); }

}  // namespace posenet
