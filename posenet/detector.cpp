#include "posenet/detector.h"

#include <cmath>
#include <mutex>

#include "engine/backend_selection.h"
#include "engine/executor.h"
#include "engine/model_file.h"
#include "engine/network.h"
#include "engine/vulkan/executor.h"
#include "posenet/decode.h"

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

engine::ImageInput device_image(const ImageView& image, const Letterbox& lb) {
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

// Image `i` of a batch's outputs: its part of each tensor.
struct OutputSlice {
    std::span<const float> heatmap, offsets, fwd, bwd;
    int height = 0, width = 0;
};

OutputSlice slice(const engine::NetworkOutputs& o, int i) {
    auto part = [i](const std::vector<float>& v, const engine::TensorShape& s) {
        const size_t n = size_t(s.h) * size_t(s.w) * size_t(s.c);
        return std::span<const float>(v).subspan(size_t(i) * n, n);
    };
    return {part(o.heatmap, o.heatmap_shape), part(o.offsets, o.offsets_shape), part(o.displacement_fwd, o.displacement_shape),
            part(o.displacement_bwd, o.displacement_shape), o.heatmap_shape.h, o.heatmap_shape.w};
}

Tensor tensor(std::span<const float> values, int height, int width) {
    Tensor t;
    t.height = height, t.width = width;
    t.channels = int(values.size() / (size_t(height) * size_t(width)));
    t.values.assign(values.begin(), values.end());
    return t;
}

}  // namespace

struct PoseDetector::Impl {
    ModelConfig config;
    ModelInfo info;
    engine::Network network;
    std::unique_ptr<engine::Executor> executor;
    std::mutex mutex;  // one inference at a time: executors keep per-run state

    InputResolution resolution() const { return info.input_resolution; }

    Estimate decode(const OutputSlice& out, const Letterbox& letterbox, const EstimationConfig& config, bool keep_outputs) {
        Estimate e;
        std::vector<float> scores = sigmoid(out.heatmap);
        e.poses = decode_poses(scores, out.offsets, out.fwd, out.bwd, out.height, out.width, network.output_stride, config, &letterbox);
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

    // Preprocesses every image on the CPU into one batch and runs the network once.
    template <typename View>
    std::vector<Estimate> run_batch(std::span<const View> images, const EstimationConfig& config, bool keep_outputs) {
        validate(config);
        for (const View& image : images) validate(image);
        if (images.empty()) return {};
        const int h = resolution().height, w = resolution().width;
        const size_t per_image = size_t(h) * size_t(w) * 3;
        std::vector<float> input(per_image * images.size());
        std::vector<Letterbox> letterboxes;
        letterboxes.reserve(images.size());
        for (size_t i = 0; i < images.size(); ++i)
            letterboxes.push_back(preprocess(images[i], h, w, network.input_transform, std::span(input).subspan(i * per_image, per_image)));
        std::lock_guard<std::mutex> lock(mutex);
        const engine::NetworkOutputs out = executor->run(input, h, w, int(images.size()));
        std::vector<Estimate> estimates;
        estimates.reserve(images.size());
        for (size_t i = 0; i < images.size(); ++i)
            estimates.push_back(decode(slice(out, int(i)), letterboxes[i], config, keep_outputs));
        return estimates;
    }

    Estimate run_one(const ImageView& image, const EstimationConfig& config, bool keep_outputs) {
        validate(config);
        validate(image);
        const int h = resolution().height, w = resolution().width;
        const Letterbox lb = compute_letterbox(image.height, image.width, h, w);
        {
            std::lock_guard<std::mutex> lock(mutex);
            engine::NetworkOutputs out;
            if (executor->run_image(device_image(image, lb), h, w, out)) {
                Estimate e = decode(slice(out, 0), lb, config, keep_outputs);
                e.outputs.preprocessed_on_device = true;
                return e;
            }
        }
        return std::move(run_batch(std::span(&image, 1), config, keep_outputs).front());
    }
};

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
    return impl_->run_one(image, config, false).poses;
}

std::vector<Pose> PoseDetector::estimate_poses(const FloatImageView& image, const EstimationConfig& config) {
    return std::move(impl_->run_batch(std::span(&image, 1), config, false).front().poses);
}

std::vector<std::vector<Pose>> PoseDetector::estimate_poses(std::span<const ImageView> images, const EstimationConfig& config) {
    std::vector<std::vector<Pose>> out;
    for (Estimate& e : impl_->run_batch(images, config, false)) out.push_back(std::move(e.poses));
    return out;
}

std::vector<std::vector<Pose>> PoseDetector::estimate_poses(std::span<const FloatImageView> images,
                                                            const EstimationConfig& config) {
    std::vector<std::vector<Pose>> out;
    for (Estimate& e : impl_->run_batch(images, config, false)) out.push_back(std::move(e.poses));
    return out;
}

Estimate PoseDetector::estimate(const ImageView& image, const EstimationConfig& config) {
    return impl_->run_one(image, config, true);
}

Estimate PoseDetector::estimate(const FloatImageView& image, const EstimationConfig& config) {
    return std::move(impl_->run_batch(std::span(&image, 1), config, true).front());
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
