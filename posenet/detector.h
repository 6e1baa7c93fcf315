// The public entry point: a PoseNet detector built from a model file and a config, as
// pose-detection's createDetector + estimatePoses.
#pragma once

#include <memory>
#include <vector>

#include "engine/executor.h"
#include "posenet/config.h"
#include "posenet/image.h"
#include "posenet/pose.h"
#include "posenet/preprocess.h"

namespace posenet {

struct DetectorOptions {
    Backend backend = Backend::Auto;  // Auto: Vulkan where a device exists, else the CPU
    int vulkan_device = -1;           // -1: prefer a discrete GPU
    bool cpu_fallback = true;         // Auto only: use the CPU when Vulkan cannot start
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
