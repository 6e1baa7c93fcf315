// Model and estimation configuration, mirroring pose-detection's PoseNet ModelConfig and
// EstimationConfig, with its validation rules.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "engine/network.h"

namespace posenet {

// A configuration value that is not allowed; the message names the field.
struct ConfigError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

struct InputResolution {
    int width = 257, height = 257;
};

enum class Backend { Auto, Cpu, Vulkan };

struct ModelConfig {
    engine::Architecture architecture = engine::Architecture::MobileNetV1;
    int output_stride = 16;
    InputResolution input_resolution{};
    float multiplier = 0.75f;    // MobileNetV1 only
    int quant_bytes = 4;
    std::filesystem::path model;  // a .pnb blob, or a TF.js model.json / folder (converted on load)
    // Fields the caller did not set are taken from the model file instead of checked against it.
    bool check_architecture = true, check_output_stride = true, check_multiplier = true, check_quant_bytes = true;
};

struct EstimationConfig {
    int max_poses = 1;
    bool flip_horizontal = false;
    float score_threshold = 0.5f;  // multi-pose only
    float nms_radius = 20.0f;      // multi-pose only, in model-input pixels
};

// pose-detection's validateModelConfig: MobileNetV1 strides 8/16/32 (32 only with multiplier 1.0),
// ResNet50 strides 16/32, multipliers 0.5/0.75/1.0 for MobileNetV1 only, quantBytes 1/2/4.
void validate(const ModelConfig& config);
void validate(const EstimationConfig& config);

// TF.js's rounding: (R-1) % stride != 0 becomes floor(R/stride)*stride + 1, each side on its own.
InputResolution valid_input_resolution(InputResolution requested, int output_stride);

// A config that disagrees with the model file is an error that names the field.
void check_matches(const ModelConfig& config, const engine::Network& network);

}  // namespace posenet
