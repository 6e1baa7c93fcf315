// `posenet bench`: GPU time per layer (timestamp queries) next to its FLOPs and minimum bytes, and
// end-to-end estimatePoses latency from an 8-bit image to poses.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/vulkan/executor.h"
#include "tools/commands.h"
#include "tools/model_options.h"

namespace posenet::cli {

static const std::string kHelp = std::string(
    "usage: posenet bench [model options] [--batch N] [--runs N] [--warmup N] [--image FILE] [--json OUT]\n"
    "\n"
    "Network: GPU time per layer and in total (Vulkan timestamps; median over runs), with each layer's\n"
    "FLOPs and minimum bytes (input + output + weights, float32) and what they imply.\n"
    "End to end: estimatePoses latency from an 8-bit image to poses (p50/p90/p99), batch 1.\n"
    "  --batch N      network batch size (default 1)\n"
    "  --runs N       timed runs (default 100)\n"
    "  --warmup N     untimed runs first (default 10)\n"
    "  --image FILE   photo for the end-to-end runs (default: a synthetic 640x480 image)\n"
    "  --json OUT     also write the figures as JSON\n") + kModelOptionsHelp;

namespace {

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t i = std::min(v.size() - 1, size_t(p / 100.0 * double(v.size() - 1) + 0.5));
    return v[i];
}

}  // namespace

int cmd_bench(int argc, char** argv) {
    Args args(argc, argv);
    if (args.help(kHelp)) return 0;
    ModelConfig config;
    DetectorOptions options;
    take_model_options(args, config, options);
    const int batch = parse_int(args.option("--batch", "1"), "--batch");
    const int runs = parse_int(args.option("--runs", "100"), "--runs");
    const int warmup = parse_int(args.option("--warmup", "10"), "--warmup");
    std::string image_path = args.option("--image");
    std::string json_out = args.option("--json");
    if (batch < 1 || runs < 1 || warmup < 0) throw UsageError("--batch and --runs must be >= 1, --warmup >= 0");
    if (!args.positional().empty()) throw UsageError("takes no positional arguments");

    PoseDetector detector(config, options);
    const auto& net = detector.network();
    const auto res = detector.input_resolution();
    nlohmann::json report{{"model", config.model.string()},
                          {"architecture", engine::to_string(net.architecture)},
                          {"multiplier", net.multiplier},
                          {"output_stride", net.output_stride},
                          {"input", {{"width", res.width}, {"height", res.height}}},
                          {"batch", batch},
                          {"backend", detector.backend_name()}};
    std::printf("%s %.2f stride %d, input %dx%d, batch %d, backend %s\n", engine::to_string(net.architecture), net.multiplier,
                net.output_stride, res.width, res.height, batch, detector.backend_name());

    // Network alone, per layer, on the GPU.
    if (std::string(detector.backend_name()) == "vulkan") {
        engine::VulkanOptions vo;
        vo.device_index = options.vulkan_device;
        engine::VulkanExecutor gpu(net, vo);
        std::printf("device: %s (%s)\n", gpu.device_info().name.c_str(), gpu.device_info().driver.c_str());
        std::vector<float> input(size_t(batch) * res.height * res.width * 3);
        std::mt19937 rng(1);
        std::uniform_real_distribution<float> u(-1, 1);
        for (auto& v : input) v = u(rng);
        auto t0 = std::chrono::steady_clock::now();
        gpu.prepare(res.height, res.width, batch);
        double prepare_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        for (int i = 0; i < warmup; ++i) gpu.run(input, res.height, res.width, batch);
        std::vector<std::vector<double>> per_layer;
        std::vector<double> totals, walls;
        std::vector<engine::LayerTiming> names;
        for (int i = 0; i < runs; ++i) {
            auto w0 = std::chrono::steady_clock::now();
            gpu.run(input, res.height, res.width, batch);
            walls.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - w0).count());
            auto t = gpu.last_timings();
            if (t.empty()) break;
            if (per_layer.empty()) per_layer.resize(t.size()), names = t;
            double total = 0;
            for (size_t k = 0; k < t.size(); ++k) {
                per_layer[k].push_back(t[k].gpu_ns / 1e3);
                total += t[k].gpu_ns / 1e3;
            }
            totals.push_back(total);
        }
        report["device"] = gpu.device_info().name;
        report["plan_build_ms"] = prepare_ms;
        report["network_wall_us"] = {{"p50", percentile(walls, 50)}, {"p90", percentile(walls, 90)}, {"p99", percentile(walls, 99)}};
        if (!per_layer.empty()) {
            auto geo = net.geometry(res.height, res.width, batch);
            std::printf("\n%4s %-9s %-16s %-16s %10s %10s %10s %10s %9s\n", "#", "kind", "kernel", "out", "GPU us", "MFLOP",
                        "min KiB", "GFLOP/s", "GB/s");
            nlohmann::json layers = nlohmann::json::array();
            for (size_t k = 0; k < per_layer.size(); ++k) {
                const auto& t = names[k];
                double us = percentile(per_layer[k], 50);
                double flops = 2.0 * double(t.macs);
                double bytes = 0;
                char out[32] = "-";
                if (t.layer >= 0) {
                    const auto& g = geo[size_t(t.layer)];
                    const auto& l = net.layers[size_t(t.layer)];
                    bytes = 4.0 * double(g.in.elements() + g.out.elements() + l.weight_count + l.bias_count +
                                         (l.input2 >= 0 ? g.out.elements() : 0));
                    std::snprintf(out, sizeof out, "%dx%dx%d", g.out.h, g.out.w, g.out.c);
                }
                std::printf("%4zu %-9s %-16s %-16s %10.2f %10.2f %10.1f %10.1f %9.1f\n", k,
                            t.layer >= 0 ? engine::to_string(t.kind) : "preproc", t.kernel, out, us, flops / 1e6,
                            bytes / 1024, us > 0 ? flops / us / 1e3 : 0, us > 0 ? bytes / us / 1e3 : 0);
                layers.push_back({{"name", t.name}, {"kernel", t.kernel}, {"gpu_us", us}, {"flops", flops}, {"min_bytes", bytes}});
            }
            double p50 = percentile(totals, 50);
            std::printf("\nGPU time (sum of layers), median over %d runs: %.1f us (p90 %.1f, p99 %.1f); %.1f us per image\n",
                        runs, p50, percentile(totals, 90), percentile(totals, 99), p50 / batch);
            report["layers"] = layers;
            report["gpu_us"] = {{"p50", p50}, {"p90", percentile(totals, 90)}, {"p99", percentile(totals, 99)}};
        }
        std::printf("network run (upload + GPU + readback, wall): p50 %.1f us, p90 %.1f us; plan build %.1f ms\n",
                    percentile(walls, 50), percentile(walls, 90), prepare_ms);
    }

    // End to end, batch 1: image -> poses.
    Image img;
    if (!image_path.empty()) {
        img = load_image(image_path);
    } else {
        img.width = 640, img.height = 480;
        img.pixels.resize(size_t(640) * 480 * 3);
        for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * 31) ^ (i >> 9));
    }
    EstimationConfig est;
    for (int i = 0; i < std::min(warmup, 5) + 1; ++i) detector.estimate_poses(img.view(), est);
    std::vector<double> e2e;
    for (int i = 0; i < runs; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        detector.estimate_poses(img.view(), est);
        e2e.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("estimatePoses end to end (%dx%d 8-bit image -> poses): p50 %.1f us, p90 %.1f us, p99 %.1f us\n", img.width,
                img.height, percentile(e2e, 50), percentile(e2e, 90), percentile(e2e, 99));
    report["estimate_poses_us"] = {{"p50", percentile(e2e, 50)}, {"p90", percentile(e2e, 90)}, {"p99", percentile(e2e, 99)}};
    if (!json_out.empty()) std::ofstream(json_out) << report.dump(2) << "\n";
    return 0;
}

}  // namespace posenet::cli
