// The C++ entry point: a PoseNet detector built from a model file and a config, as pose-detection's
// createDetector + estimatePoses.
//
//   #include <posenet/detector.h>
//
//   posenet::ModelConfig config;
//   config.model = "mobilenet-float-075-stride16.pnb";   // or a TF.js model.json
//   posenet::PoseDetector detector(config);               // Vulkan on a GPU, else the CPU executor
//   posenet::Image photo = posenet::load_image("photo.jpg");
//   for (const posenet::Pose& pose : detector.estimate_poses(photo.view(), {.max_poses = 5}))
//       for (const posenet::Keypoint& k : pose.keypoints) ...   // k.name, k.x, k.y, k.score
//
// Thread safety: one PoseDetector may be used from several threads at once; its calls are
// serialized (one inference at a time per detector). Separate detectors share nothing and run
// concurrently, each on its own device queue or CPU threads. Free functions are safe to call
// from any thread. For video, PoseStream (posenet/stream.h) keeps several frames in flight on a
// detector; the detector's own calls still work meanwhile (their runs queue behind the stream's).
//
// Memory: 8-bit images reach the backend as bytes whatever their size and format (on Vulkan with
// shaderFloat64 they are preprocessed on the GPU; elsewhere on the CPU), and the backend keeps one
// prepared network plan per batch size run (at most 4, least recently used freed first), so images
// of ever new sizes do not grow memory; the buffers for images grow to the largest seen.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "posenet/config.h"
#include "posenet/errors.h"
#include "posenet/export.h"
#include "posenet/image.h"
#include "posenet/pose.h"
#include "posenet/preprocess.h"
#include "posenet/version.h"

namespace posenet {

// What the model file says, with the detector's input size.
struct ModelInfo {
    Architecture architecture = Architecture::MobileNetV1;
    int output_stride = 16;
    float multiplier = 1.0f;
    int quant_bytes = 4;
    InputTransform input_transform = InputTransform::MobileNetScale;
    InputResolution input_resolution{};  // as rounded for the output stride
    std::string source_name;             // the TF.js file it was converted from
    int layers = 0;
    uint64_t parameters = 0;
};

// One output tensor for one image: height x width x channels float32, channel fastest.
struct Tensor {
    int height = 0, width = 0, channels = 0;
    std::vector<float> values;
};

// The network's raw outputs for one image, for callers who want the tensors (see posenet/decode.h
// for their layout); the grid is ((input - 1) / output_stride + 1) cells each way.
struct RawOutputs {
    Tensor heatmap_logits;  // 17 channels, before the sigmoid
    Tensor heatmap_scores;  // sigmoid of the logits, as the decoders read them
    Tensor offsets;         // 34 channels: dy of keypoint k at k, dx at 17 + k
    Tensor displacement_fwd, displacement_bwd;  // 32 channels each: dy of edge e at e, dx at 16 + e
    Letterbox letterbox;    // how the image was fitted into the model input
    bool preprocessed_on_device = false;
};

struct Estimate {
    std::vector<Pose> poses;
    RawOutputs outputs;
};

// Memory the backend holds besides the weights (PoseDetector::backend_memory), for monitoring.
struct BackendMemory {
    size_t plans = 0;           // Vulkan: prepared network plans (one per batch size run, at most 4); CPU: 0
    uint64_t plan_bytes = 0;    // Vulkan: their activation memory on the device; CPU: the executor's layer buffers
    uint64_t buffer_bytes = 0;  // the runs' upload, readback and copy buffers (the detector's and its streams')
};

// A Vulkan device the detector could run on (DetectorOptions::device is `index`).
struct DeviceDescription {
    int index = 0;
    std::string name, type;  // type: discrete, integrated, virtual, cpu, other
    std::string driver;
    uint64_t memory_bytes = 0;  // largest device-local heap
};

// Every Vulkan device on this machine; empty where there is no Vulkan loader or device.
POSENET_API std::vector<DeviceDescription> list_devices();

struct DetectorAccess;

class POSENET_API PoseDetector {
public:
    // Loads the model (ModelConfig::model or model_data), resolves and validates the config and checks
    // it against the model, and starts the backend. Throws ConfigError, ModelError, DeviceError.
    explicit PoseDetector(const ModelConfig& config, const DetectorOptions& options = {});
    ~PoseDetector();
    PoseDetector(PoseDetector&&) noexcept;
    PoseDetector& operator=(PoseDetector&&) noexcept;
    PoseDetector(const PoseDetector&) = delete;
    PoseDetector& operator=(const PoseDetector&) = delete;

    // Poses in source-image pixels, in decode order (single pose: one; multi: up to max_poses).
    // Throws ConfigError for a bad view or config, DeviceError where the device fails.
    std::vector<Pose> estimate_poses(const ImageView& image, const EstimationConfig& config = {});
    std::vector<Pose> estimate_poses(const FloatImageView& image, const EstimationConfig& config = {});
    // Many images in one run of the network (one GPU submission); sizes may differ. Poses per image,
    // in order; the same poses as one call per image.
    std::vector<std::vector<Pose>> estimate_poses(std::span<const ImageView> images, const EstimationConfig& config = {});
    std::vector<std::vector<Pose>> estimate_poses(std::span<const FloatImageView> images,
                                                  const EstimationConfig& config = {});
    // The same, keeping the raw outputs.
    Estimate estimate(const ImageView& image, const EstimationConfig& config = {});
    Estimate estimate(const FloatImageView& image, const EstimationConfig& config = {});

    // The model input exactly as this detector feeds it to the network for `image` (1 x H x W x 3,
    // after the letterbox and the input transform), for parity checks against other implementations.
    std::vector<float> model_input(const ImageView& image) const;

    const ModelConfig& config() const;  // resolved: every optional field set
    const ModelInfo& model_info() const;
    InputResolution input_resolution() const;
    const char* backend_name() const;  // "cpu" | "vulkan"
    std::string device_name() const;   // the Vulkan device's name, or the CPU kernels' ("cpu (avx2)")
    int device_index() const;          // the Vulkan device's index, -1 on the CPU
    BackendMemory backend_memory() const;

private:
    friend struct DetectorAccess;  // the library's own (PoseStream; posenet/detector_internal.h)
    struct POSENET_LOCAL Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace posenet
