// What every backend offers the detector: preprocessed input in, the four raw outputs out.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "engine/network.h"

namespace posenet::engine {

// The four PoseNet outputs for one batch, NHWC float32. `heatmap` holds logits (no sigmoid).
struct NetworkOutputs {
    TensorShape heatmap_shape, offsets_shape, displacement_shape;
    std::vector<float> heatmap, offsets, displacement_fwd, displacement_bwd;
};

// An 8-bit image for GPU preprocessing: the caller computes the letterbox (posenet::compute_letterbox)
// and passes its transform; the kernel reproduces posenet::preprocess bit for bit.
struct ImageInput {
    const uint8_t* data = nullptr;
    int width = 0, height = 0;
    int row_stride_bytes = 0;  // 0: width * bytes_per_pixel
    int bytes_per_pixel = 3;   // RGB8 3, RGBA8 4, Gray8 1
    std::array<int, 3> channel_offsets{0, 1, 2};  // byte of R, G, B in a pixel: BGR {2,1,0}, gray {0,0,0}
    std::array<float, 8> transform{};             // posenet::Letterbox::transform
};

class Executor {
public:
    virtual ~Executor() = default;
    // input: batch x height x width x 3, already preprocessed (see posenet/preprocess.h).
    virtual NetworkOutputs run(std::span<const float> input, int height, int width, int batch = 1) = 0;
    virtual const char* backend_name() const = 0;
    virtual std::string device_name() const = 0;  // the Vulkan device's name, or "cpu (<kernel set>)"
    virtual int device_index() const { return -1; }  // the Vulkan device's index; -1 on the CPU
    // Backends that preprocess on the device take the 8-bit image itself (batch 1) and return true;
    // the others return false and the caller preprocesses on the CPU.
    virtual bool run_image(const ImageInput& image, int height, int width, NetworkOutputs& out) {
        (void)image, (void)height, (void)width, (void)out;
        return false;
    }
};

}  // namespace posenet::engine
