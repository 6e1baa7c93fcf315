// Plain float32 CPU executor (Eigen): the oracle every GPU kernel is tested against, and a fallback.
#pragma once

#include <span>
#include <vector>

#include "engine/network.h"

namespace posenet::engine {

// The four PoseNet outputs for one batch, NHWC float32. `heatmap` holds logits (no sigmoid).
struct NetworkOutputs {
    TensorShape heatmap_shape, offsets_shape, displacement_shape;
    std::vector<float> heatmap, offsets, displacement_fwd, displacement_bwd;
};

class CpuExecutor {
public:
    explicit CpuExecutor(const Network& network) : net_(network) {}

    // input: batch x height x width x 3, already preprocessed (see posenet/preprocess.h).
    NetworkOutputs run(std::span<const float> input, int height, int width, int batch = 1) const;

    // Every tensor by id (index 0 is the input), for tests that compare layer by layer.
    std::vector<std::vector<float>> run_all(std::span<const float> input, int height, int width, int batch = 1) const;

    // One layer on explicit operands: the per-kernel reference for the Vulkan tests.
    static std::vector<float> run_layer(const Network& net, const Layer& layer, const LayerGeometry& g,
                                        std::span<const float> input, std::span<const float> input2);

private:
    const Network& net_;
};

}  // namespace posenet::engine
