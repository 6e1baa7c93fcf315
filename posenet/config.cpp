#include "posenet/config.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace posenet {

namespace {
std::string fmt(float v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}
}  // namespace

const char* to_string(Architecture a) {
    switch (a) {
        case Architecture::MobileNetV1: return "MobileNetV1";
        case Architecture::ResNet50: return "ResNet50";
    }
    return "?";
}

const char* to_string(Backend b) {
    switch (b) {
        case Backend::Auto: return "auto";
        case Backend::Cpu: return "cpu";
        case Backend::Vulkan: return "vulkan";
    }
    return "?";
}

const char* to_string(Precision p) { return p == Precision::Float16 ? "float16" : "float32"; }

std::optional<Precision> parse_precision(std::string_view s) {
    if (s == "fp32" || s == "float32") return Precision::Float32;
    if (s == "fp16" || s == "float16") return Precision::Float16;
    return std::nullopt;
}

void validate(const ModelConfig& c) {
    if (c.architecture && *c.architecture != Architecture::MobileNetV1 && *c.architecture != Architecture::ResNet50)
        throw ConfigError("architecture " + std::to_string(uint32_t(*c.architecture)) + ": must be MobileNetV1 or ResNet50");
    const bool mobilenet = c.architecture.value_or(Architecture::MobileNetV1) == Architecture::MobileNetV1;
    const char* arch = c.architecture ? to_string(*c.architecture) : "either architecture";
    if (c.output_stride) {
        const int s = *c.output_stride;
        const bool ok = c.architecture ? (mobilenet ? (s == 8 || s == 16 || s == 32) : (s == 16 || s == 32))
                                       : (s == 8 || s == 16 || s == 32);
        if (!ok)
            throw ConfigError("outputStride " + std::to_string(s) + ": should be one of " +
                              (mobilenet ? "8,16,32" : "16,32") + " for architecture " + arch);
    }
    if (c.multiplier) {
        const float m = *c.multiplier;
        if (c.architecture && !mobilenet) {
            if (m != 1.0f) throw ConfigError("multiplier " + fmt(m) + ": ResNet50 has no multiplier (use 1)");
        } else if (m != 0.5f && m != 0.75f && m != 1.0f) {
            throw ConfigError("multiplier " + fmt(m) + ": should be one of 0.5,0.75,1 for architecture MobileNetV1");
        }
        if (mobilenet && c.architecture && c.output_stride == 32 && m != 1.0f)
            throw ConfigError("multiplier " + fmt(m) + ": an outputStride of 32 needs multiplier 1");
    }
    if (c.quant_bytes && *c.quant_bytes != 1 && *c.quant_bytes != 2 && *c.quant_bytes != 4)
        throw ConfigError("quantBytes " + std::to_string(*c.quant_bytes) + ": should be one of 1,2,4");
    const auto& r = c.input_resolution;
    const std::string size = std::to_string(r.height) + "x" + std::to_string(r.width);
    if (r.width < 1 || r.height < 1 || r.width > 4096 || r.height > 4096)
        throw ConfigError("inputResolution " + size + " (height x width): each side must be 1..4096");
    if (c.output_stride) {
        auto v = valid_input_resolution(r, *c.output_stride);
        if (v.width < *c.output_stride + 1 || v.height < *c.output_stride + 1)
            throw ConfigError("inputResolution " + size + " (height x width): too small for outputStride " +
                              std::to_string(*c.output_stride));
    }
}

void validate(const EstimationConfig& c) {
    if (c.max_poses <= 0) throw ConfigError("maxPoses " + std::to_string(c.max_poses) + ": should be > 0");
    if (c.max_poses > 1) {
        if (!(c.score_threshold >= 0.0f && c.score_threshold <= 1.0f))
            throw ConfigError("scoreThreshold " + fmt(c.score_threshold) + ": should be in range [0.0, 1.0]");
        if (!(c.nms_radius > 0.0f) || c.nms_radius == INFINITY)
            throw ConfigError("nmsRadius " + fmt(c.nms_radius) + ": should be > 0 and finite");
    }
}

void validate(const DetectorOptions& o) {
    if (o.device < -1)
        throw ConfigError("device " + std::to_string(o.device) + ": should be -1 (the best device) or a device index >= 0");
    if (o.backend != Backend::Auto && o.backend != Backend::Cpu && o.backend != Backend::Vulkan)
        throw ConfigError("backend " + std::to_string(int(o.backend)) + ": should be auto, cpu or vulkan");
    if (o.precision != Precision::Float32 && o.precision != Precision::Float16)
        throw ConfigError("precision " + std::to_string(int(o.precision)) + ": should be float32 or float16");
}

int valid_input_resolution(int resolution, int output_stride) {
    if (output_stride <= 0) throw ConfigError("outputStride " + std::to_string(output_stride) + ": must be positive");
    if (resolution <= 0) throw ConfigError("inputResolution " + std::to_string(resolution) + ": must be positive");
    // load_utils.js toValidInputResolution
    if ((resolution - 1) % output_stride == 0) return resolution;
    return (resolution / output_stride) * output_stride + 1;
}

InputResolution valid_input_resolution(InputResolution r, int stride) {
    return {valid_input_resolution(r.height, stride), valid_input_resolution(r.width, stride)};
}

}  // namespace posenet
