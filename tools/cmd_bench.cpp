// `posenet bench`: GPU time per layer (timestamp queries) beside its FLOPs, minimum bytes and the
// device's ceilings; throughput over batch sizes (float input, and 8-bit images uploaded as bytes);
// dispatch overhead; cold start with and without the pipeline cache; host and device memory;
// end-to-end estimatePoses latency from an 8-bit image to poses, one at a time, in batches, and
// through a PoseStream with 1 and 3 frames in flight. --plot draws the per-layer figures as an SVG.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "bench/dispatch_probe.h"
#include "bench/measure.h"
#include "bench/plot_svg.h"
#include "engine/model_file.h"
#include "engine/vulkan/executor.h"
#include "tools/commands.h"
#include "tools/model_options.h"
#include "tools/write_file.h"

namespace posenet::cli {

static const std::string kHelp = std::string(
    "usage: posenet bench [model options] [--batch N[,N...]] [--runs N] [--warmup N] [--image FILE] [--json OUT]\n"
    "                     [--plot OUT.svg] [--stream-frames N] [--quick] [--peak-gflops X --peak-gbps Y]\n"
    "\n"
    "Network (Vulkan): GPU time per layer and in total (timestamps; median over runs) with each layer's\n"
    "FLOPs, minimum bytes (inputs + output + weights, float32) and its floor on this device\n"
    "(max(FLOPs / peak, bytes / bandwidth)); wall time of a run with and without per-layer timestamps;\n"
    "throughput at every batch size given, from float input and from 8-bit images uploaded as bytes (GPU\n"
    "preprocessing); host and device memory. CPU backend: network wall time.\n"
    "Start-up: dispatch overhead (GPU time per dispatch with and without a barrier, submit round trip) and\n"
    "cold start (device + weights + pipelines + plan) without the pipeline cache, with an empty one, and\n"
    "with a warm one.\n"
    "End to end: estimatePoses latency from an 8-bit image to poses (p50/p90/p99), batch 1; per image in\n"
    "batches of the sizes given; and through a PoseStream fed frames back to back (frames/s, per-frame\n"
    "latency from the stream taking the frame, push() called and a slot free, to the result) with 1 and 3 frames in flight.\n"
    "  --batch N[,N...] network batch sizes (default 1); the first gets the per-layer table\n"
    "  --runs N         timed runs (default 100)\n"
    "  --warmup N       untimed runs first (default 10)\n"
    "  --image FILE     photo for the end-to-end runs (default: a synthetic 640x480 image)\n"
    "  --stream-frames N frames timed per stream measurement (default: --runs)\n"
    "  --quick          skip cold start and dispatch overhead\n"
    "  --peak-gflops X  float32 peak of the device, GFLOP/s (default: known devices only)\n"
    "  --peak-gbps Y    memory bandwidth, GB/s (default: known devices only)\n"
    "  --json OUT       also write every figure as JSON\n"
    "  --plot OUT.svg   also draw the per-layer figures of the first batch size as one self-contained SVG:\n"
    "                   GPU time per layer as bars with each layer's floor as a tick, and a roofline\n"
    "                   (achieved GFLOP/s against FLOPs per minimum byte, log-log) under the device's\n"
    "                   compute and bandwidth ceilings (a note instead where they are unknown). Needs\n"
    "                   per-layer GPU timestamps, so the Vulkan backend: with the CPU backend it is a\n"
    "                   usage error (exit 2) before anything is measured\n") + kModelOptionsHelp;

namespace {

nlohmann::json to_json(const bench::Percentiles& p) { return {{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}}; }

std::vector<int> parse_batches(const std::string& s) {
    std::vector<int> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t end = s.find(',', start);
        if (end == std::string::npos) end = s.size();
        int b = parse_int(s.substr(start, end - start), "--batch");
        if (b < 1) throw UsageError("--batch sizes must be >= 1");
        out.push_back(b);
        start = end + 1;
    }
    return out;
}

double mib(uint64_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

// Output files are written at the end of a long run: a path that cannot work is refused up front.
void check_output_path(const std::string& option, const std::string& path) {
    if (path.empty()) return;
    const std::filesystem::path p(path);
    if (std::filesystem::is_directory(p)) throw UsageError(option + " " + path + " is a directory; give a file name");
    const std::filesystem::path folder = p.parent_path().empty() ? "." : p.parent_path();
    if (!std::filesystem::is_directory(folder))
        throw UsageError(option + " " + path + ": its folder " + folder.string() + " does not exist");
}

std::string plot_title(const engine::Network& net, int width, int height, int batch, const std::string& precision) {
    char title[160];
    std::snprintf(title, sizeof title, "%s %.2f stride %d, input %dx%d, batch %d, %s", to_string(net.architecture), net.multiplier,
                  net.output_stride, width, height, batch, precision.c_str());
    return title;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
    Args args(argc, argv);
    if (args.help(kHelp)) return 0;
    ModelConfig config;
    DetectorOptions options;
    take_model_options(args, config, options);
    const std::vector<int> batches = parse_batches(args.option("--batch", "1"));
    const int runs = parse_int(args.option("--runs", "100"), "--runs");
    const int warmup = parse_int(args.option("--warmup", "10"), "--warmup");
    const std::string image_path = args.option("--image");
    const std::string json_out = args.option("--json");
    const std::string plot_out = args.option("--plot");
    const bool quick = args.flag("--quick");
    const int stream_frames = parse_int(args.option("--stream-frames", std::to_string(runs)), "--stream-frames");
    const std::string peak_gflops = args.option("--peak-gflops"), peak_gbps = args.option("--peak-gbps");
    if (runs < 1 || warmup < 0) throw UsageError("--runs must be >= 1, --warmup >= 0");
    if (stream_frames < 1) throw UsageError("--stream-frames must be >= 1");
    if (peak_gflops.empty() != peak_gbps.empty()) throw UsageError("--peak-gflops and --peak-gbps go together");
    if (!args.positional().empty()) throw UsageError("takes no positional arguments");
    check_output_path("--json", json_out);
    check_output_path("--plot", plot_out);
    if (!plot_out.empty() && options.backend == Backend::Cpu)
        throw UsageError("--plot needs per-layer GPU timestamps (Vulkan backend); --backend cpu has none");

    Image img;  // for the runs from 8-bit images
    if (!image_path.empty()) {
        img = load_image(image_path);
    } else {
        img.width = 640, img.height = 480;
        img.pixels.resize(size_t(640) * 480 * 3);
        for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * 31) ^ (i >> 9));
    }
    const auto host_before = bench::host_memory();
    auto t_load = std::chrono::steady_clock::now();
    PoseDetector detector(config, options);
    const double detector_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_load).count();
    const engine::Network net = engine::load_model_file(config.model);  // the engine's view, for per-layer profiles
    const auto res = detector.input_resolution();
    const bool vulkan = std::string(detector.backend_name()) == "vulkan";
    if (!plot_out.empty() && !vulkan)
        throw UsageError("--plot needs per-layer GPU timestamps (Vulkan backend); this run uses the " +
                         std::string(detector.backend_name()) + " backend (try --backend vulkan)");
    std::string plot;  // the SVG, drawn once the per-layer figures are in
    nlohmann::json report{{"model", config.model.string()},
                          {"architecture", to_string(net.architecture)},
                          {"multiplier", net.multiplier},
                          {"output_stride", net.output_stride},
                          {"input", {{"width", res.width}, {"height", res.height}}},
                          {"backend", detector.backend_name()},
                          {"device", detector.device_name()},
                          {"precision", to_string(options.precision)},
                          {"detector_create_ms", detector_ms}};
    std::printf("%s %.2f stride %d, input %dx%d, backend %s, %s\n", to_string(net.architecture), net.multiplier,
                net.output_stride, res.width, res.height, detector.backend_name(), to_string(options.precision));
    std::printf("detector created in %.1f ms (model load%s)\n", detector_ms, vulkan ? ", device, weights, pipelines" : "");

    if (vulkan) {
        engine::VulkanOptions vo;
        vo.device_index = detector.device_index();  // the probe runs where the detector runs
        vo.precision = options.precision;
        bench::Ceilings ceil;
        {
            engine::VulkanExecutor probe_gpu(net, vo);
            const auto& info = probe_gpu.device_info();
            std::printf("device: %s (index %d, %s)\n", info.name.c_str(), detector.device_index(), info.driver.c_str());
            report["device"] = info.name;
            report["device_index"] = detector.device_index();
            report["driver"] = info.driver;
            ceil = bench::known_ceilings(info.name, options.precision == Precision::Float16);
            if (!peak_gflops.empty())
                ceil = {parse_double(peak_gflops, "--peak-gflops"), parse_double(peak_gbps, "--peak-gbps"), "--peak-gflops/--peak-gbps"};
            if (ceil.gflops > 0)
                report["ceilings"] = {{"gflops", ceil.gflops}, {"gbps", ceil.gbps}, {"source", ceil.source}};
            if (!quick) {
                auto o = engine::vk::measure_dispatch_overhead(probe_gpu.runtime());
                std::printf("dispatch overhead (one 64-invocation workgroup, %d in a row): %.2f us with a barrier after each, "
                            "%.2f us back to back; submit + wait: empty %.1f us, one dispatch %.1f us\n",
                            o.dispatches, o.with_barrier_ns / 1e3, o.without_barrier_ns / 1e3, o.empty_submit_us,
                            o.one_dispatch_submit_us);
                report["dispatch_overhead"] = {{"with_barrier_us", o.with_barrier_ns / 1e3},
                                               {"without_barrier_us", o.without_barrier_ns / 1e3},
                                               {"empty_submit_us", o.empty_submit_us},
                                               {"one_dispatch_submit_us", o.one_dispatch_submit_us}};
            }
            for (size_t bi = 0; bi < batches.size(); ++bi) {
                const auto m = bench::device_memory(net, probe_gpu, res.height, res.width, batches[bi]);
                report["device_memory"][std::to_string(batches[bi])] = {
                    {"weights", m.weights}, {"activations", m.activations}, {"staging", m.staging}, {"total", m.total()}};
                std::printf("device memory at batch %d: %.2f MiB (weights %.2f, activations %.2f, staging %.2f)\n", batches[bi],
                            mib(m.total()), mib(m.weights), mib(m.activations), mib(m.staging));
            }
        }
        if (!quick) {
            auto scratch = std::filesystem::temp_directory_path() / ("posenet-bench-" + std::to_string(getpid()));
            auto c = bench::measure_cold_start(net, vo, res.height, res.width, batches[0], scratch);
            std::printf("cold start (device + weights + %zu pipelines + plan): no pipeline cache %.1f ms, empty cache %.1f ms, "
                        "warm cache %.1f ms\n",
                        c.pipelines, c.no_cache_ms, c.cache_miss_ms, c.cache_hit_ms);
            report["cold_start_ms"] = {{"no_cache", c.no_cache_ms}, {"cache_miss", c.cache_miss_ms}, {"cache_hit", c.cache_hit_ms},
                                       {"pipelines", c.pipelines}};
        }
        nlohmann::json throughput = nlohmann::json::array();
        for (size_t bi = 0; bi < batches.size(); ++bi) {
            const int batch = batches[bi];
            auto prof = bench::profile_network(net, vo, res.height, res.width, batch, runs, warmup, ceil);
            if (bi == 0 && !prof.layers.empty()) {
                std::printf("\nbatch %d: %d steps, %d dispatches\n%4s %-12s %-16s %-12s %9s %9s %9s %9s %8s %8s\n", batch, prof.steps, prof.dispatches, "#",
                            "kind", "kernel", "out", "GPU us", "MFLOP", "min KiB", "GFLOP/s", "GB/s", "x floor");
                nlohmann::json layers = nlohmann::json::array();
                double floor_sum = 0;
                for (size_t k = 0; k < prof.layers.size(); ++k) {
                    const auto& l = prof.layers[k];
                    floor_sum += l.floor_us;
                    const double us = l.gpu_us;
                    char xfloor[16] = "-";
                    if (l.floor_us > 0) std::snprintf(xfloor, sizeof xfloor, "%.1f", us / l.floor_us);
                    std::printf("%4zu %-12s %-16s %-12s %9.2f %9.2f %9.1f %9.1f %8.1f %8s\n", k, l.kind.c_str(), l.kernel.c_str(),
                                l.out.c_str(), us, l.flops / 1e6, l.min_bytes / 1024, us > 0 ? l.flops / us / 1e3 : 0,
                                us > 0 ? l.min_bytes / us / 1e3 : 0, xfloor);
                    layers.push_back({{"name", l.name}, {"kind", l.kind}, {"kernel", l.kernel}, {"out", l.out}, {"gpu_us", us},
                                      {"flops", l.flops}, {"min_bytes", l.min_bytes}, {"floor_us", l.floor_us}});
                }
                report["layers"] = layers;
                if (!plot_out.empty()) {
                    bench::PlotInput pi;
                    pi.title = plot_title(net, res.width, res.height, batch, to_string(options.precision));
                    pi.subtitle = report["device"].get<std::string>() + " (" + report["driver"].get<std::string>() + "), " +
                                  config.model.filename().string() + ", median of " + std::to_string(runs) + " runs after " +
                                  std::to_string(warmup) + " warm-up runs";
                    for (const auto& l : prof.layers) pi.layers.push_back({l.kernel, l.name, l.gpu_us, l.flops, l.min_bytes, l.floor_us});
                    pi.peak_gflops = ceil.gflops, pi.peak_gbps = ceil.gbps, pi.ceilings_source = ceil.source;
                    plot = bench::plot_svg(pi);
                }
                if (floor_sum > 0) {
                    std::printf("sum of layer floors (%s: %.0f GFLOP/s, %.0f GB/s): %.1f us\n", ceil.source.c_str(), ceil.gflops,
                                ceil.gbps, floor_sum);
                    report["floor_us"] = floor_sum;
                }
            }
            std::printf("batch %3d: GPU network p50 %.1f us = %.1f us/image (sum of per-step times %.1f us); run() wall p50 "
                        "%.1f us (p90 %.1f, p99 %.1f) = %.1f us/image, %.1f us with per-step timestamps\n",
                        batch, prof.gpu_us_network.p50, prof.gpu_us_network.p50 / batch, prof.gpu_us.p50, prof.wall_us_plain.p50,
                        prof.wall_us_plain.p90, prof.wall_us_plain.p99, prof.wall_us_plain.p50 / batch, prof.wall_us.p50);
            std::printf("           run() p50 phases: input into staging %.1f us, submit -> fence %.1f us, outputs out %.1f us\n",
                        prof.upload_us, prof.submit_wait_us, prof.readback_us);
            // The same from 8-bit images: bytes into the upload buffer, preprocessed on the GPU.
            const auto ib = bench::profile_image_batch(net, vo, img.view(), res.height, res.width, batch, runs, warmup);
            std::printf("           from %dx%d 8-bit images (%s): run() wall p50 %.1f us (p90 %.1f, p99 %.1f) = %.1f us/image; phases: "
                        "bytes into the upload buffer %.1f us, submit -> fence %.1f us, outputs out %.1f us\n",
                        img.width, img.height, ib.preprocessed_on_device ? "uploaded as bytes, GPU preprocessing" : "preprocessed on the host",
                        ib.wall_us.p50, ib.wall_us.p90, ib.wall_us.p99, ib.wall_us.p50 / batch, ib.upload_us, ib.submit_wait_us,
                        ib.readback_us);
            throughput.push_back({{"batch", batch},
                                  {"image_input", {{"wall_us", to_json(ib.wall_us)},
                                                   {"us_per_image", ib.wall_us.p50 / batch},
                                                   {"preprocessed_on_device", ib.preprocessed_on_device},
                                                   {"phases_us", {{"upload", ib.upload_us}, {"submit_wait", ib.submit_wait_us},
                                                                  {"readback", ib.readback_us}}}}},
                                  {"phases_us", {{"upload", prof.upload_us}, {"submit_wait", prof.submit_wait_us}, {"readback", prof.readback_us}}},
                                  {"steps", prof.steps},
                                  {"dispatches", prof.dispatches},
                                  {"gpu_us", to_json(prof.gpu_us_network)},
                                  {"gpu_us_sum_of_steps", to_json(prof.gpu_us)},
                                  {"wall_us_timestamps", to_json(prof.wall_us)},
                                  {"wall_us", to_json(prof.wall_us_plain)},
                                  {"images_per_s", prof.wall_us_plain.p50 > 0 ? 1e6 * batch / prof.wall_us_plain.p50 : 0}});
        }
        report["throughput"] = throughput;
    } else {
        nlohmann::json throughput = nlohmann::json::array();
        for (int batch : batches) {
            auto t = bench::time_cpu_network(net, res.height, res.width, batch, runs, std::min(warmup, 3));
            std::printf("batch %3d: CPU network wall p50 %.1f us (p90 %.1f, p99 %.1f) = %.1f us/image\n", batch, t.p50, t.p90, t.p99,
                        t.p50 / batch);
            throughput.push_back({{"batch", batch}, {"wall_us", to_json(t)}, {"images_per_s", t.p50 > 0 ? 1e6 * batch / t.p50 : 0}});
        }
        report["throughput"] = throughput;
    }

    // End to end from an 8-bit image in memory to poses: one at a time, in batches, in a stream.
    EstimationConfig est;
    const int e2e_warmup = std::min(warmup, 5) + 1;
    const auto e2e = bench::time_estimate_poses(detector, img.view(), est, runs, e2e_warmup);
    const auto& p = e2e.latency_us;
    std::printf("\nestimatePoses end to end (%dx%d 8-bit image -> poses): p50 %.1f us, p90 %.1f us, p99 %.1f us (%.1f frames/s)\n",
                img.width, img.height, p.p50, p.p90, p.p99, e2e.images_per_s);
    report["estimate_poses_us"] = to_json(p);
    report["estimate_poses_per_s"] = e2e.images_per_s;
    nlohmann::json batch_e2e = nlohmann::json::array();
    for (int batch : batches) {
        if (batch == 1) continue;
        const auto b = bench::time_estimate_poses_batch(detector, img.view(), batch, est, runs, std::min(warmup, 3) + 1);
        std::printf("estimatePoses batch %d (8-bit images -> poses, one network run): p50 %.1f us = %.1f us/image (%.1f images/s)\n", batch,
                    b.latency_us.p50, b.latency_us.p50 / batch, b.images_per_s);
        batch_e2e.push_back({{"batch", batch}, {"wall_us", to_json(b.latency_us)}, {"us_per_image", b.latency_us.p50 / batch},
                             {"images_per_s", b.images_per_s}});
    }
    report["estimate_poses_batch"] = batch_e2e;
    nlohmann::json streams = nlohmann::json::array();
    for (int in_flight : {1, 3}) {
        const auto f = bench::measure_stream(detector, img.view(), est, in_flight, stream_frames, e2e_warmup);
        std::printf("PoseStream, %d frame%s in flight (%d 8-bit frames): %.1f frames/s, latency taken -> result p50 %.1f us, p90 %.1f us, "
                    "p99 %.1f us\n",
                    in_flight, in_flight == 1 ? "" : "s", f.frames, f.frames_per_s, f.latency_us.p50, f.latency_us.p90, f.latency_us.p99);
        streams.push_back({{"frames_in_flight", in_flight}, {"frames", f.frames}, {"frames_per_s", f.frames_per_s},
                           {"latency_us", to_json(f.latency_us)}});
    }
    report["stream"] = streams;
    const auto mem = detector.backend_memory();
    report["backend_memory"] = {{"plans", mem.plans}, {"plan_bytes", mem.plan_bytes}, {"buffer_bytes", mem.buffer_bytes}};
    const auto host = bench::host_memory();
    std::printf("host memory: resident %.1f MiB (%.1f MiB before the detector), peak %.1f MiB\n", mib(host.rss_bytes),
                mib(host_before.rss_bytes), mib(host.peak_rss_bytes));
    report["host_memory"] = {{"rss_bytes", host.rss_bytes}, {"rss_before_bytes", host_before.rss_bytes}, {"peak_rss_bytes", host.peak_rss_bytes}};
    if (!plot_out.empty() && plot.empty())
        throw std::runtime_error("--plot " + plot_out + ": the device gave no per-layer timestamps; nothing written");
    if (!json_out.empty()) write_atomically(json_out, report.dump(2) + "\n");
    if (!plot_out.empty()) {
        write_atomically(plot_out, plot);
        std::printf("plot: %s\n", plot_out.c_str());
    }
    return 0;
}

}  // namespace posenet::cli
