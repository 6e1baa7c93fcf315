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

namespace posenet::bench {

struct Percentiles {
    double p50 = 0, p90 = 0, p99 = 0;
};
Percentiles percentiles(std::vector<double> samples);

// The hardware ceilings a layer's time is compared with. Zero: unknown (no roofline columns).
struct Ceilings {
    double gflops = 0;  // float32 arithmetic, GFLOP/s
    double gbps = 0;    // memory bandwidth, GB/s
    std::string source;  // where the figures come from
};
// Known devices by name (the H100's float32 peak and its measured streaming bandwidth); else zero.
Ceilings known_ceilings(const std::string& device_name);

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

}  // namespace posenet::bench
