// What every backend offers the detector: the network on preprocessed floats or on 8-bit images,
// synchronously (run) or through lanes that keep several runs in flight (make_lane).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/network.h"

namespace posenet::engine {

// The four PoseNet outputs for one batch, NHWC float32. `heatmap` holds logits (no sigmoid).
struct NetworkOutputs {
    TensorShape heatmap_shape, offsets_shape, displacement_shape;
    std::vector<float> heatmap, offsets, displacement_fwd, displacement_bwd;
};

// An 8-bit image for device preprocessing: the caller computes the letterbox (posenet::compute_letterbox)
// and passes its transform; the result is posenet::preprocess's bit for bit.
struct ImageInput {
    const uint8_t* data = nullptr;
    int width = 0, height = 0;
    int row_stride_bytes = 0;  // 0: width * bytes_per_pixel
    int bytes_per_pixel = 3;   // RGB8 3, RGBA8 4, Gray8 1
    std::array<int, 3> channel_offsets{0, 1, 2};  // byte of R, G, B in a pixel: BGR {2,1,0}, gray {0,0,0}
    std::array<float, 8> transform{};             // posenet::Letterbox::transform
    int stride() const { return row_stride_bytes > 0 ? row_stride_bytes : width * bytes_per_pixel; }
    // Bytes from `data` to the end of the last pixel (rows past the last one are not read).
    uint64_t bytes() const { return uint64_t(height - 1) * uint64_t(stride()) + uint64_t(width) * uint64_t(bytes_per_pixel); }
};

// Throws std::invalid_argument for no pixels, a non-positive size, a row stride shorter than a row
// or a channel offset outside a pixel.
void validate(const ImageInput& image);

// The model input of one image computed on the host, as posenet::preprocess (letterbox `transform`
// of the image, bilinear in double, the network's value shift): `out` holds height * width * 3 floats.
void preprocess_on_host(const ImageInput& image, int height, int width, InputTransform transform, std::span<float> out);

// One run's input: either 8-bit images, one per batch item, each of its own size and layout
// (preprocessed by the backend), or preprocessed floats (batch x height x width x channels).
struct RunInput {
    int height = 0, width = 0;  // the network input size
    std::span<const ImageInput> images;
    std::span<const float> floats;
    int batch = 1;  // with floats; with images it is images.size()
    bool has_images() const { return !images.empty(); }
    int batch_size() const { return has_images() ? int(images.size()) : batch; }
};

// What a run reads back: single-pose decoding needs the heatmap and the offsets only.
enum class OutputSet { HeatmapOffsets, All };

// One run's outputs, batch items back to back (NHWC float32); tensors not read back are empty.
// The views point into the lane's own memory and stay valid until its next submit.
struct OutputViews {
    TensorShape heatmap_shape, offsets_shape, displacement_shape;
    std::span<const float> heatmap, offsets, displacement_fwd, displacement_bwd;
};

// Memory a backend holds besides the weights, for monitoring and tests.
struct MemoryStats {
    size_t plans = 0;         // Vulkan: prepared network plans (one per input size, batch, keep_all); CPU: 0
    uint64_t plan_bytes = 0;  // their device memory (activation arenas); CPU: the reused layer buffers
    uint64_t lane_bytes = 0;  // lanes' upload, device input and readback buffers (CPU: input and output copies)
};

// How a lane treats its input. Background: submit() copies the input (the caller may reuse its
// memory at once) and the run proceeds without the caller (on the device, or on the lane's worker
// thread for the CPU executor). Caller: the input must stay valid until wait(); the CPU executor
// then runs in wait(), on the calling thread (Vulkan copies in submit() either way).
enum class LaneMode { Background, Caller };

class Executor {
public:
    virtual ~Executor() = default;
    // input: batch x height x width x 3, already preprocessed (see posenet/preprocess.h).
    virtual NetworkOutputs run(std::span<const float> input, int height, int width, int batch = 1) = 0;
    virtual const char* backend_name() const = 0;
    virtual std::string device_name() const = 0;  // the Vulkan device's name, or "cpu (<kernel set>)"
    virtual int device_index() const { return -1; }  // the Vulkan device's index; -1 on the CPU

    // One run at a time: submit(), then wait(), then the next submit(). Separate lanes may be used
    // from separate threads at once (a lane itself from one thread at a time; its submit() and
    // wait() may come from different threads when the caller orders them), and their runs are
    // serialized on the device or the executor's CPU threads. Destroying a lane waits for its run.
    class Lane {
    public:
        virtual ~Lane() = default;
        // Starts a run; returns once the input is copied (Background) and the run is queued.
        // Throws std::invalid_argument for bad input, DeviceError where the device fails (the lane is
        // then idle: no run in flight), std::logic_error when a run is already in flight.
        virtual void submit(const RunInput& input, OutputSet outputs) = 0;
        // Waits for the run; throws what it failed with (DeviceError, ...). The lane is idle after.
        virtual OutputViews wait() = 0;
        // Whether the last submitted images were preprocessed on the device (Vulkan with shaderFloat64).
        virtual bool preprocessed_on_device() const = 0;
    };
    virtual std::unique_ptr<Lane> make_lane(LaneMode mode) = 0;
    virtual MemoryStats memory() const = 0;
};

}  // namespace posenet::engine
