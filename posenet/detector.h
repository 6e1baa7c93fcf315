// The public entry point: a PoseNet detector built from a model file and a config, as
// pose-detection's createDetector + estimatePoses.
#pragma once

#include <memory>
#include <vector>

#include "engine/executor.h"
#include "engine/precision.h"
#include "posenet/config.h"
#include "posenet/image.h"
#include "posenet/pose.h"
#include "posenet/preprocess.h"

namespace posenet {

struct DetectorOptions {
    // Auto: Vulkan on a hardware device, the CPU executor where there is none or where the only one
    // is a software (CPU-type) device such as lavapipe; see posenet/backend.h.
    Backend backend = Backend::Auto;
    int vulkan_device = -1;           // -1: prefer a discrete GPU; >= 0 (with Auto) means Vulkan on it
    bool cpu_fallback = true;         // Auto only: use the CPU when Vulkan cannot start
    // Float16: convolutions on tensor cores (Vulkan with cooperative matrices only; an error on the
    // CPU executor or a device without them). See engine/precision.h.
    engine::Precision precision = engine::Precision::Float32;
};

// Everything one estimate produced, for callers that want the raw tensors too.
struct Estimate {
    std::vector<Pose> poses;
    bool preprocessed_on_device = false;
    Letterbox letterbox;
    engine::NetworkOutputs outputs;  // heatmap as logits
    std::vector<float> heatmap_scores;
};

class PoseDetector {
public:
    // Loads the model (a .pnb blob, or a TF.js model.json converted on the fly), validates the config
    // and checks it against the model. Throws ConfigError or engine::ModelError.
    PoseDetector(ModelConfig config, DetectorOptions options = {});
    ~PoseDetector();
    PoseDetector(PoseDetector&&) noexcept;
    PoseDetector& operator=(PoseDetector&&) noexcept;

    std::vector<Pose> estimate_poses(const ImageView& image, const EstimationConfig& config = {});
    std::vector<Pose> estimate_poses(const FloatImageView& image, const EstimationConfig& config = {});
    // The same, keeping the model input and outputs.
    Estimate estimate(const ImageView& image, const EstimationConfig& config = {});
    Estimate estimate(const FloatImageView& image, const EstimationConfig& config = {});

    const engine::Network& network() const { return *network_; }
    const ModelConfig& config() const { return config_; }
    InputResolution input_resolution() const { return resolution_; }
    const char* backend_name() const { return executor_->backend_name(); }

private:
    Estimate decode(engine::NetworkOutputs outputs, const Letterbox& letterbox, const EstimationConfig& config);

    ModelConfig config_;
    InputResolution resolution_;
    std::unique_ptr<engine::Network> network_;
    std::unique_ptr<engine::Executor> executor_;
};

// Loads a model file: .pnb blobs are mapped, anything else is read as a TF.js graph model.
engine::Network load_model(const std::filesystem::path& path);

}  // namespace posenet
