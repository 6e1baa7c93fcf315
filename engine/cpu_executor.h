// Float32 CPU executor: the oracle every GPU kernel is tested against, and the backend where there is
// no GPU. Its hot kernels (engine/cpu_kernels.h) are built for the baseline ISA, for AVX2 + FMA and
// for AVX-512; the best set the CPU supports is picked at run time.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "engine/cpu_kernels.h"
#include "engine/executor.h"

namespace posenet::engine {

namespace cpu {
// Float arrays on 64-byte boundaries (a cache line, one AVX-512 vector): unaligned vectors of the
// kernels would straddle two lines (measured: depthwise 17x17x384 1.4x slower).
struct AlignedDelete {
    void operator()(float* p) const;
};
using AlignedFloats = std::unique_ptr<float[], AlignedDelete>;
AlignedFloats aligned_floats(uint64_t n);  // uninitialized
}  // namespace cpu

class CpuExecutor final : public Executor {
public:
    explicit CpuExecutor(const Network& network) : CpuExecutor(network, cpu::default_isa()) {}
    // A given kernel set; throws std::runtime_error where it is not built or this CPU lacks it.
    CpuExecutor(const Network& network, cpu::Isa isa);
    ~CpuExecutor() override;

    // input: batch x height x width x 3, already preprocessed (see posenet/preprocess.h).
    NetworkOutputs run(std::span<const float> input, int height, int width, int batch = 1) override {
        return std::as_const(*this).run(input, height, width, batch);
    }
    NetworkOutputs run(std::span<const float> input, int height, int width, int batch = 1) const;
    // The same into `out`, whose vectors keep their capacity from run to run; with
    // OutputSet::HeatmapOffsets the displacements are left empty. Runs are serialized (a mutex).
    void run_into(std::span<const float> input, int height, int width, int batch, OutputSet outputs, NetworkOutputs& out) const;
    // Lanes: Background ones copy the input in submit() and run on a worker thread of their own
    // (preprocessing, then the network: one network at a time per executor); Caller ones run in wait().
    std::unique_ptr<Lane> make_lane(LaneMode mode) override;
    MemoryStats memory() const override;
    const char* backend_name() const override { return "cpu"; }
    std::string device_name() const override { return std::string("cpu (") + cpu::to_string(isa()) + ")"; }
    cpu::Isa isa() const { return kernels_->isa; }

    // Every tensor by id (index 0 is the input), for tests that compare layer by layer. run() instead
    // reuses buffers from run to run (one run at a time per executor).
    std::vector<std::vector<float>> run_all(std::span<const float> input, int height, int width, int batch = 1) const;

    // One layer on explicit operands: the per-kernel reference for the Vulkan tests.
    static std::vector<float> run_layer(const Network& net, const Layer& layer, const LayerGeometry& g,
                                        std::span<const float> input, std::span<const float> input2);
    static std::vector<float> run_layer(const Network& net, const Layer& layer, const LayerGeometry& g,
                                        std::span<const float> input, std::span<const float> input2, cpu::Isa isa);

private:
    struct Workspace;
    class CpuLane;

    const Network& net_;
    const cpu::KernelSet* kernels_;
    mutable std::mutex mutex_;
    std::unique_ptr<Workspace> workspace_;
    mutable std::atomic<uint64_t> lane_bytes_{0};
    cpu::AlignedFloats packed_weights_;  // the Conv2D filters in the kernel set's GEMM layout
    uint64_t packed_floats_ = 0;
    std::vector<int64_t> packed_at_;     // per layer: its offset in packed_weights_ (a multiple of 16), or -1
    bool fuse_ = true;                   // depthwise + pointwise pairs fused where the kernels can ($POSENET_CPU_FUSE)
};

}  // namespace posenet::engine
