// Configuration: which model, how to estimate, and what the host application controls (device,
// pipeline cache, logging). ModelConfig and EstimationConfig mirror pose-detection's PoseNet
// ModelConfig and EstimationConfig, with its validation rules. Sizes are height before width
// throughout the public API.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "posenet/errors.h"
#include "posenet/export.h"

namespace posenet {

enum class Architecture : uint32_t { MobileNetV1 = 1, ResNet50 = 2 };
POSENET_API const char* to_string(Architecture architecture);  // "MobileNetV1" | "ResNet50"

// How input pixels (0..255, RGB) become model input (posenet/preprocess.h): MobileNetV1 scales to
// [-1, 1], ResNet50 subtracts the ImageNet mean. A property of the model file.
enum class InputTransform : uint32_t { MobileNetScale = 1, ResNetMeanShift = 2 };

// Where the network runs. Auto: Vulkan on a hardware GPU; the CPU executor where there is no Vulkan
// device, or where the only one is a software (CPU-type) device such as Mesa's lavapipe.
enum class Backend { Auto, Cpu, Vulkan };
POSENET_API const char* to_string(Backend backend);  // "auto" | "cpu" | "vulkan"

// The arithmetic of the convolutions. Float32: the TF.js-parity path. Float16: the GEMM convolutions
// multiply fp16-rounded inputs and weights on tensor cores (Vulkan cooperative matrices) and sum in
// fp32; Vulkan devices with cooperative matrices only (a DeviceError elsewhere).
enum class Precision { Float32, Float16 };
POSENET_API const char* to_string(Precision precision);  // "float32" | "float16"
// "fp32" | "float32" | "fp16" | "float16"; nullopt otherwise.
POSENET_API std::optional<Precision> parse_precision(std::string_view text);

struct InputResolution {
    int height = 257, width = 257;
};

struct ModelConfig {
    // The model: a .pnb blob (`posenet convert`) or a TF.js model.json / a folder holding one
    // (converted on load). The kind is recognised by the file's content, never by its name.
    std::filesystem::path model;
    // Or the bytes of a blob in memory: used instead of `model` when not empty (`model` then only
    // names it in messages). Copied by the detector's constructor; need not outlive it.
    std::span<const uint8_t> model_data;
    // Fields left unset are taken from the model file; fields set are checked against it (a
    // ConfigError naming the field where they disagree).
    std::optional<Architecture> architecture;
    std::optional<int> output_stride;  // MobileNetV1 8, 16, 32 (32 only with multiplier 1); ResNet50 16, 32
    std::optional<float> multiplier;   // MobileNetV1 0.5, 0.75, 1.0; ResNet50 1.0
    std::optional<int> quant_bytes;    // of the weights the model was converted from: 1, 2, 4
    // Rounded as TF.js does (valid_input_resolution); each side 1..4096 before rounding.
    InputResolution input_resolution{};
};

struct EstimationConfig {
    int max_poses = 1;             // 1: the single-pose decoder; more: the multi-pose decoder
    bool flip_horizontal = false;
    float score_threshold = 0.5f;  // multi-pose only, [0, 1]
    float nms_radius = 20.0f;      // multi-pose only, > 0, in model-input pixels
};

enum class LogLevel { Debug, Info, Warning, Error };
// Receives the library's messages (a fallback to the CPU, validation-layer reports where the
// environment turned validation on). Called from the thread that caused the message.
using LogCallback = std::function<void(LogLevel level, std::string_view message)>;

// What a host application controls. The library writes no file that these options do not name and
// prints nothing; the environment variables of docs/ENVIRONMENT.md override some of them (for tools
// and tests).
struct DetectorOptions {
    Backend backend = Backend::Auto;
    // Vulkan device index (posenet::list_devices()); -1 picks the best (discrete > integrated > virtual
    // > cpu). An index >= 0 means Vulkan on that device, also with Backend::Auto, and it is a
    // DeviceError when the device does not exist.
    int device = -1;
    bool cpu_fallback = true;  // Backend::Auto, no device named: the CPU executor where Vulkan cannot start
    Precision precision = Precision::Float32;
    // Folder for the Vulkan pipeline cache (compiled kernels, kept across runs; one file per device
    // and driver). Empty: none on disk, pipelines compile at every start.
    std::filesystem::path pipeline_cache_dir;
    LogCallback log;  // empty: messages are dropped
};

// pose-detection's validateModelConfig on a config whose optional fields are all set (as a detector
// resolves them from the model): MobileNetV1 strides 8/16/32 (32 only with multiplier 1.0), ResNet50
// strides 16/32, multipliers 0.5/0.75/1.0 for MobileNetV1 only, quantBytes 1/2/4; and the input
// resolution. Fields left unset are not checked. Throws ConfigError naming the field.
POSENET_API void validate(const ModelConfig& config);
// pose-detection's validateEstimationConfig. Throws ConfigError naming the field.
POSENET_API void validate(const EstimationConfig& config);
// Throws ConfigError for a device below -1.
POSENET_API void validate(const DetectorOptions& options);

// TF.js's rounding of each side: (R - 1) % stride != 0 becomes floor(R / stride) * stride + 1.
// Throws ConfigError for a stride < 1.
POSENET_API int valid_input_resolution(int resolution, int output_stride);
POSENET_API InputResolution valid_input_resolution(InputResolution requested, int output_stride);

}  // namespace posenet
