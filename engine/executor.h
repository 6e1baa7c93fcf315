// What every backend offers the detector: preprocessed input in, the four raw outputs out.
#pragma once

#include <span>

#include "engine/network.h"

namespace posenet::engine {

// The four PoseNet outputs for one batch, NHWC float32. `heatmap` holds logits (no sigmoid).
struct NetworkOutputs {
    TensorShape heatmap_shape, offsets_shape, displacement_shape;
    std::vector<float> heatmap, offsets, displacement_fwd, displacement_bwd;
};

class Executor {
public:
    virtual ~Executor() = default;
    // input: batch x height x width x 3, already preprocessed (see posenet/preprocess.h).
    virtual NetworkOutputs run(std::span<const float> input, int height, int width, int batch = 1) = 0;
    virtual const char* backend_name() const = 0;
};

}  // namespace posenet::engine
