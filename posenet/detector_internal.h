// Inside the library only (not installed): PoseDetector's state, shared with PoseStream, and the
// steps both take from an image to poses.
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "engine/executor.h"
#include "engine/network.h"
#include "posenet/detector.h"

namespace posenet {

namespace detail {

// An ImageView with its letterbox, as the backends take it (device preprocessing or host).
engine::ImageInput image_input(const ImageView& image, const Letterbox& letterbox);

// What decoding with `config` reads: the heatmap and offsets for one pose, all four for more (or
// when the raw outputs are kept).
engine::OutputSet outputs_for(const EstimationConfig& config, bool keep_outputs);

// Image `i` of a batch's outputs: its part of each tensor (empty where not read back).
struct OutputSlice {
    std::span<const float> heatmap, offsets, fwd, bwd;
    int height = 0, width = 0;
};
OutputSlice slice(const engine::OutputViews& outputs, int i);

// sigmoid of the heatmap into `scores` (kept from call to call), then decode_poses with the letterbox.
std::vector<Pose> decode(const OutputSlice& out, int output_stride, const Letterbox& letterbox, const EstimationConfig& config,
                         std::vector<float>& scores);

}  // namespace detail

struct PoseDetector::Impl {
    ModelConfig config;
    ModelInfo info;
    engine::Network network;
    std::unique_ptr<engine::Executor> executor;  // thread-safe for separate lanes (engine/executor.h)
    std::mutex mutex;                            // the synchronous calls, one at a time: they share `lane`
    std::unique_ptr<engine::Executor::Lane> lane;
    std::vector<float> scores, input;            // the synchronous calls' buffers, kept

    InputResolution resolution() const { return info.input_resolution; }
    Estimate decode(const detail::OutputSlice& out, const Letterbox& letterbox, const EstimationConfig& config, bool keep_outputs);
    std::vector<Estimate> run_images(std::span<const ImageView> images, const EstimationConfig& config, bool keep_outputs);
    std::vector<Estimate> run_floats(std::span<const FloatImageView> images, const EstimationConfig& config, bool keep_outputs);
    // Under `mutex`: runs `input` on `lane` (made on first use).
    engine::OutputViews run_locked(const engine::RunInput& input, engine::OutputSet outputs);
};

// A detector's state, for PoseStream (and tests that wrap its executor).
struct DetectorAccess {
    using Impl = PoseDetector::Impl;
    static Impl& impl(PoseDetector& detector) { return *detector.impl_; }
};

}  // namespace posenet
