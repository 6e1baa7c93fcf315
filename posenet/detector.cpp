#include "posenet/detector.h"

#include "engine/blob.h"
#include "engine/cpu_executor.h"
#include "engine/tfjs_model.h"
#include "posenet/backend.h"
#include "posenet/decode.h"

namespace posenet {

engine::Network load_model(const std::filesystem::path& path) {
    if (path.extension() == ".pnb") return engine::load_blob(path);
    return engine::load_tfjs_model(path);
}

PoseDetector::PoseDetector(ModelConfig config, DetectorOptions options) : config_(std::move(config)) {
    if (config_.model.empty()) throw ConfigError("model: no model file given");
    network_ = std::make_unique<engine::Network>(load_model(config_.model));
    // Unset fields come from the model file; set ones must agree with it.
    if (!config_.check_architecture) config_.architecture = network_->architecture;
    if (!config_.check_output_stride) config_.output_stride = network_->output_stride;
    if (!config_.check_multiplier) config_.multiplier = network_->multiplier;
    if (!config_.check_quant_bytes) config_.quant_bytes = network_->quant_bytes;
    validate(config_);
    check_matches(config_, *network_);
    resolution_ = valid_input_resolution(config_.input_resolution, config_.output_stride);
    network_->geometry(resolution_.height, resolution_.width);  // every layer chains at this size
    executor_ = make_executor(*network_, options);
}

PoseDetector::~PoseDetector() = default;
PoseDetector::PoseDetector(PoseDetector&&) noexcept = default;
PoseDetector& PoseDetector::operator=(PoseDetector&&) noexcept = default;

Estimate PoseDetector::decode(engine::NetworkOutputs outputs, const Letterbox& letterbox, const EstimationConfig& config) {
    Estimate e;
    e.letterbox = letterbox;
    e.outputs = std::move(outputs);
    e.heatmap_scores = sigmoid(e.outputs.heatmap);
    DecodeConfig dc;
    dc.max_poses = config.max_poses;
    dc.score_threshold = config.score_threshold;
    dc.nms_radius = config.nms_radius;
    dc.flip_horizontal = config.flip_horizontal;
    e.poses = decode_poses(e.heatmap_scores, e.outputs.offsets, e.outputs.displacement_fwd, e.outputs.displacement_bwd,
                           e.outputs.heatmap_shape.h, e.outputs.heatmap_shape.w, network_->output_stride, dc, &e.letterbox);
    return e;
}

namespace {
engine::ImageInput device_image(const ImageView& image, const Letterbox& lb) {
    engine::ImageInput in;
    in.data = image.data;
    in.width = image.width, in.height = image.height;
    in.bytes_per_pixel = bytes_per_pixel(image.format);
    in.row_stride_bytes = image.row_stride_bytes > 0 ? image.row_stride_bytes : image.width * in.bytes_per_pixel;
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
}  // namespace

Estimate PoseDetector::estimate(const ImageView& image, const EstimationConfig& config) {
    validate(config);
    validate(image);
    const int h = resolution_.height, w = resolution_.width;
    Letterbox lb = compute_letterbox(image.height, image.width, h, w);
    engine::NetworkOutputs out;
    if (executor_->run_image(device_image(image, lb), h, w, out)) {
        Estimate e = decode(std::move(out), lb, config);
        e.preprocessed_on_device = true;
        return e;
    }
    std::vector<float> input(size_t(h) * w * 3);
    lb = preprocess(image, h, w, network_->input_transform, input);
    return decode(executor_->run(input, h, w, 1), lb, config);
}

Estimate PoseDetector::estimate(const FloatImageView& image, const EstimationConfig& config) {
    validate(config);
    validate(image);
    std::vector<float> input(size_t(resolution_.height) * resolution_.width * 3);
    Letterbox lb = preprocess(image, resolution_.height, resolution_.width, network_->input_transform, input);
    return decode(executor_->run(input, resolution_.height, resolution_.width, 1), lb, config);
}

std::vector<Pose> PoseDetector::estimate_poses(const ImageView& image, const EstimationConfig& config) {
    return estimate(image, config).poses;
}

std::vector<Pose> PoseDetector::estimate_poses(const FloatImageView& image, const EstimationConfig& config) {
    return estimate(image, config).poses;
}

}  // namespace posenet
