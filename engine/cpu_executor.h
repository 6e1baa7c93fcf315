// Plain float32 CPU executor (Eigen): the oracle every GPU kernel is tested against, and a fallback.
#pragma once

#include <span>
#include <utility>
#include <vector>

#include "engine/executor.h"

namespace posenet::engine {

class CpuExecutor final : public Executor {
public:
    explicit CpuExecutor(const Network& network) : net_(network) {}

    // input: batch x height x width x 3, already preprocessed (see posenet/preprocess.h).
    NetworkOutputs run(std::span<const float> input, int height, int width, int batch = 1) override {
        return std::as_const(*this).run(input, height, width, batch);
    }
    NetworkOutputs run(std::span<const float> input, int height, int width, int batch = 1) const;
    const char* backend_name() const override { return "cpu"; }

    // Every tensor by id (index 0 is the input), for tests that compare layer by layer.
    std::vector<std::vector<float>> run_all(std::span<const float> input, int height, int width, int batch = 1) const;

    // One layer on explicit operands: the per-kernel reference for the Vulkan tests.
    static std::vector<float> run_layer(const Network& net, const Layer& layer, const LayerGeometry& g,
                                        std::span<const float> input, std::span<const float> input2);

private:
    const Network& net_;
};

}  // namespace posenet::engine
