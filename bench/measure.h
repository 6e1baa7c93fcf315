// What `posenet bench` measures, as functions tests can call: per-layer GPU profiles with each layer's
// distance from the device's ceilings, throughput over batch sizes, cold start with and without the
// pipeline cache, and memory. Printing lives in tools/cmd_bench.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/network.h"
#include "engine/vulkan/executor.h"
#include "posenet/detector.h"
#include "posenet/image.h"

namespace posenet::bench {

struct Percentiles {
    double p50 = 0, p90 = 0, p99 = 0;
};
Percentiles percentiles(std::vector<double> samples);

// The hardware ceilings a layer's time is compared with. Zero: unknown (no roofline columns).
struct Ceilings {
    double gflops = 0;  // arithmetic at the precision measured (fp16: tensor cores), GFLOP/s
    double gbps = 0;    // memory bandwidth, GB/s
    std::string source;  // where the figures come from
};
// Known devices by name (H100, H200: datasheet peaks; the H100's measured streaming bandwidth);
// fp16: the dense fp16 tensor-core peak, which the tensor-core layers run against. Else zero.
Ceilings known_ceilings(const std::string& device_name, bool fp16 = false);

struct LayerProfile {
    std::string name, kernel, kind, out;  // out: "HxWxC", "-" for preprocessing
    double gpu_us = 0;                    // median over runs
    double flops = 0;                     // 2 x multiply-accumulates
    double min_bytes = 0;                 // input + second input + output + weights, float32, each read once
    double floor_us = 0;                  // max(flops / peak, bytes / bandwidth); 0 without ceilings
};

struct NetworkProfile {
    int batch = 1, runs = 0;
    int steps = 0, dispatches = 0;  // timed steps (fused layers share one) and compute dispatches
    std::vector<LayerProfile> layers;
    Percentiles gpu_us;         // sum of layer times (timestamps around every layer)
    Percentiles wall_us;        // run(): upload + GPU + readback, wall clock, per-layer timestamps on
    Percentiles wall_us_plain;  // the same without per-step timestamps (what an application sees)
    Percentiles gpu_us_network; // GPU time of the network between two timestamps, no per-step ones
                                // (comparable with a CUDA-event timing of a whole forward pass)
    // Where run()'s wall time goes, medians: input copy into staging, submit to fence, outputs out.
    double upload_us = 0, submit_wait_us = 0, readback_us = 0;
};
// Runs `net` through `gpu` (warm-up first) at height x width x batch on random input.
NetworkProfile profile_network(const engine::Network& net, const engine::VulkanOptions& options, int height, int width, int batch,
                               int runs, int warmup, const Ceilings& ceilings);

// Network time on the CPU executor (wall clock per run).
Percentiles time_cpu_network(const engine::Network& net, int height, int width, int batch, int runs, int warmup);

struct ColdStart {
    double no_cache_ms = 0;    // runtime (instance, device) + weights + plan, pipeline cache off
    double cache_miss_ms = 0;  // the same, cache on but empty (compiles, then saves)
    double cache_hit_ms = 0;   // the same, cache file from the previous step
    size_t pipelines = 0;
};
// Each step builds a fresh runtime; the cache file lives in `scratch_dir` (created, then removed).
ColdStart measure_cold_start(const engine::Network& net, engine::VulkanOptions options, int height, int width, int batch,
                             const std::filesystem::path& scratch_dir);

struct HostMemory {
    uint64_t rss_bytes = 0, peak_rss_bytes = 0;
};
HostMemory host_memory();

struct DeviceMemory {
    uint64_t weights = 0, activations = 0, staging = 0;  // staging: input upload + output readback
    uint64_t total() const { return weights + activations + staging; }
};
DeviceMemory device_memory(const engine::Network& net, engine::VulkanExecutor& gpu, int height, int width, int batch);

// 8-bit images through a detector, end to end (image in memory -> poses).
struct EndToEnd {
    Percentiles latency_us;  // per call (one image, or one batch)
    double images_per_s = 0;   // from the median call
};
// estimate_poses on one image, `runs` times after `warmup` untimed calls.
EndToEnd time_estimate_poses(PoseDetector& detector, const ImageView& image, const EstimationConfig& config, int runs, int warmup);
// estimate_poses on a batch of `batch` copies of the image (one network run, bytes uploaded).
EndToEnd time_estimate_poses_batch(PoseDetector& detector, const ImageView& image, int batch, const EstimationConfig& config, int runs,
                                   int warmup);

// A PoseStream on the detector (posenet/stream.h), fed `frames` copies of the image back to back
// (after `warmup` untimed frames through the same stream), results taken by its callback.
struct StreamFigures {
    int frames_in_flight = 0, frames = 0;
    double frames_per_s = 0;  // frames / (last result - first timed push)
    Percentiles latency_us;   // per frame: taken (push() called and a slot free) -> its result handed over
};
StreamFigures measure_stream(PoseDetector& detector, const ImageView& image, const EstimationConfig& config, int frames_in_flight,
                             int frames, int warmup);

// VulkanExecutor::run_images on `batch` copies of an 8-bit image: the bytes uploaded and
// preprocessed on the GPU (or on the host without shaderFloat64), the network, the readback.
struct ImageBatchProfile {
    int batch = 1, runs = 0;
    bool preprocessed_on_device = false;
    Percentiles wall_us;  // run_images(): upload + GPU + outputs copied out, wall clock
    double upload_us = 0, submit_wait_us = 0, readback_us = 0;  // medians of its phases
};
ImageBatchProfile profile_image_batch(const engine::Network& net, const engine::VulkanOptions& options, const ImageView& image,
                                      int height, int width, int batch, int runs, int warmup);

}  // namespace posenet::bench
