#include "posenet/config.h"

#include <cmath>

namespace posenet {

namespace {
std::string fmt(float v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}
}  // namespace

void validate(const ModelConfig& c) {
    const bool mobilenet = c.architecture == engine::Architecture::MobileNetV1;
    if (c.architecture != engine::Architecture::MobileNetV1 && c.architecture != engine::Architecture::ResNet50)
        throw ConfigError("architecture: must be MobileNetV1 or ResNet50");
    if (mobilenet ? (c.output_stride != 8 && c.output_stride != 16 && c.output_stride != 32)
                  : (c.output_stride != 16 && c.output_stride != 32))
        throw ConfigError("outputStride " + std::to_string(c.output_stride) + ": should be one of " +
                          (mobilenet ? "8,16,32" : "16,32") + " for architecture " + engine::to_string(c.architecture));
    if (mobilenet) {
        if (c.multiplier != 0.5f && c.multiplier != 0.75f && c.multiplier != 1.0f)
            throw ConfigError("multiplier " + fmt(c.multiplier) + ": should be one of 0.5,0.75,1 for architecture MobileNetV1");
        if (c.output_stride == 32 && c.multiplier != 1.0f)
            throw ConfigError("multiplier " + fmt(c.multiplier) + ": an outputStride of 32 needs multiplier 1");
    } else if (c.multiplier != 1.0f) {
        throw ConfigError("multiplier " + fmt(c.multiplier) + ": ResNet50 has no multiplier (use 1)");
    }
    if (c.quant_bytes != 1 && c.quant_bytes != 2 && c.quant_bytes != 4)
        throw ConfigError("quantBytes " + std::to_string(c.quant_bytes) + ": should be one of 1,2,4");
    const auto& r = c.input_resolution;
    if (r.width < 1 || r.height < 1 || r.width > 4096 || r.height > 4096)
        throw ConfigError("inputResolution " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                          ": each side must be 1..4096");
    auto v = valid_input_resolution(r, c.output_stride);
    if (v.width < c.output_stride + 1 || v.height < c.output_stride + 1)
        throw ConfigError("inputResolution " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                          ": too small for outputStride " + std::to_string(c.output_stride));
}

void validate(const EstimationConfig& c) {
    if (c.max_poses <= 0) throw ConfigError("maxPoses " + std::to_string(c.max_poses) + ": should be > 0");
    if (c.max_poses > 1) {
        if (!(c.score_threshold >= 0.0f && c.score_threshold <= 1.0f))
            throw ConfigError("scoreThreshold " + fmt(c.score_threshold) + ": should be in range [0.0, 1.0]");
        if (!(c.nms_radius > 0.0f)) throw ConfigError("nmsRadius " + fmt(c.nms_radius) + ": should be > 0");
    }
}

InputResolution valid_input_resolution(InputResolution r, int stride) {
    auto fix = [stride](int v) { return (v - 1) % stride == 0 ? v : v / stride * stride + 1; };
    return {fix(r.width), fix(r.height)};
}

void check_matches(const ModelConfig& c, const engine::Network& net) {
    const std::string file = c.model.string();
    if (c.check_architecture && c.architecture != net.architecture)
        throw ConfigError("architecture: the config says " + std::string(engine::to_string(c.architecture)) + " but " + file +
                          " is " + engine::to_string(net.architecture));
    if (c.check_output_stride && c.output_stride != net.output_stride)
        throw ConfigError("outputStride: the config says " + std::to_string(c.output_stride) + " but " + file + " has " +
                          std::to_string(net.output_stride));
    if (c.check_multiplier && net.architecture == engine::Architecture::MobileNetV1 &&
        std::fabs(c.multiplier - net.multiplier) > 1e-6f)
        throw ConfigError("multiplier: the config says " + fmt(c.multiplier) + " but " + file + " has " + fmt(net.multiplier));
    if (c.check_quant_bytes && c.quant_bytes != net.quant_bytes)
        throw ConfigError("quantBytes: the config says " + std::to_string(c.quant_bytes) + " but " + file + " was converted from " +
                          std::to_string(net.quant_bytes) + "-byte weights");
}

}  // namespace posenet
