#include "bench/measure.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <random>

#include "engine/cpu_executor.h"
#include "posenet/detector_internal.h"
#include "posenet/stream.h"

namespace posenet::bench {

namespace {

using Clock = std::chrono::steady_clock;
double us_since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

std::vector<float> random_input(int height, int width, int batch, int channels) {
    std::vector<float> input(size_t(batch) * height * width * channels);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto& v : input) v = u(rng);
    return input;
}

}  // namespace

Percentiles percentiles(std::vector<double> v) {
    if (v.empty()) return {};
    std::sort(v.begin(), v.end());
    auto at = [&](double p) { return v[std::min(v.size() - 1, size_t(p / 100.0 * double(v.size() - 1) + 0.5))]; };
    return {at(50), at(90), at(99)};
}

Ceilings known_ceilings(const std::string& name, bool fp16) {
    // H100 and H200 SXM (one GH100 die and clocks): 67 TFLOP/s float32 (non-tensor, boost clock),
    // 989 TFLOP/s dense fp16 on tensor cores with fp32 sums. H100: 3.0 TB/s is what a streaming kernel
    // reaches on the machine we measure on (../shared/peers), below the 3.35 TB/s datasheet figure;
    // H200: the 4.8 TB/s HBM3e datasheet figure.
    const double gflops = fp16 ? 989000 : 67000;
    const std::string what = fp16 ? "fp16 tensor-core" : "fp32";
    if (name.find("H100") != std::string::npos) return {gflops, 3000, "H100 SXM datasheet " + what + ", measured streaming bandwidth"};
    if (name.find("H200") != std::string::npos) return {gflops, 4800, "H200 SXM datasheet " + what + " and bandwidth"};
    return {};
}

NetworkProfile profile_network(const engine::Network& net, const engine::VulkanOptions& options, int height, int width, int batch,
                               int runs, int warmup, const Ceilings& ceilings) {
    NetworkProfile out;
    out.batch = batch;
    const auto input = random_input(height, width, batch, net.tensor_channels[0]);
    std::vector<std::vector<double>> per_layer;
    std::vector<double> totals, walls, plain, spans, up, sw, rb;
    std::vector<engine::LayerTiming> names;
    // Runs the network `runs` times after warm-up on a fresh executor, calling `after(gpu, wall_us)`
    // after each run; one executor per timestamp mode, so each run's figures are its own.
    auto timed_runs = [&](bool per_step, const auto& after) {
        engine::VulkanOptions o = options;
        o.timestamps = per_step;
        o.total_timestamps = true;
        engine::VulkanExecutor gpu(net, o);
        gpu.prepare(height, width, batch);
        for (int i = 0; i < warmup; ++i) gpu.run(input, height, width, batch);
        for (int i = 0; i < runs; ++i) {
            auto t0 = Clock::now();
            gpu.run(input, height, width, batch);
            after(gpu, us_since(t0));
        }
        out.dispatches = gpu.dispatch_count(height, width, batch);
    };
    timed_runs(true, [&](engine::VulkanExecutor& gpu, double wall) {
        walls.push_back(wall);
        auto t = gpu.last_timings();
        if (t.empty()) return;
        if (per_layer.empty()) per_layer.resize(t.size()), names = t;
        double total = 0;
        for (size_t k = 0; k < t.size() && k < per_layer.size(); ++k) {
            per_layer[k].push_back(double(t[k].gpu_ns) / 1e3);
            total += double(t[k].gpu_ns) / 1e3;
        }
        totals.push_back(total);
    });
    out.steps = int(names.size());
    timed_runs(false, [&](engine::VulkanExecutor& gpu, double wall) {
        plain.push_back(wall);
        if (uint64_t ns = gpu.last_gpu_ns()) spans.push_back(double(ns) / 1e3);
        const auto ph = gpu.last_phases();
        up.push_back(ph.upload_us), sw.push_back(ph.submit_wait_us), rb.push_back(ph.readback_us);
    });
    out.runs = runs;
    out.gpu_us = percentiles(totals);
    out.wall_us = percentiles(walls);
    out.wall_us_plain = percentiles(plain);
    out.gpu_us_network = percentiles(spans);
    out.upload_us = percentiles(up).p50, out.submit_wait_us = percentiles(sw).p50, out.readback_us = percentiles(rb).p50;
    const auto geo = net.geometry(height, width, batch);
    for (size_t k = 0; k < per_layer.size(); ++k) {
        const auto& t = names[k];
        LayerProfile p;
        p.name = t.name;
        p.kernel = t.kernel;
        p.gpu_us = percentiles(per_layer[k]).p50;
        p.flops = 2.0 * double(t.macs);
        p.out = "-";
        p.kind = t.layer >= 0 ? engine::to_string(t.kind) : "preprocess";
        if (t.layer >= 0) {
            const auto& g = geo[size_t(t.layer)];
            const auto& l = net.layers[size_t(t.layer)];
            p.min_bytes = 4.0 * double(g.in.elements() + g.out.elements() + l.weight_count + l.bias_count +
                                       (l.input2 >= 0 ? g.out.elements() : 0));
            p.out = std::to_string(g.out.h) + "x" + std::to_string(g.out.w) + "x" + std::to_string(g.out.c);
        }
        if (ceilings.gflops > 0 && ceilings.gbps > 0)
            p.floor_us = std::max(p.flops / (ceilings.gflops * 1e3), p.min_bytes / (ceilings.gbps * 1e3));
        out.layers.push_back(std::move(p));
    }
    return out;
}

Percentiles time_cpu_network(const engine::Network& net, int height, int width, int batch, int runs, int warmup) {
    const auto input = random_input(height, width, batch, net.tensor_channels[0]);
    engine::CpuExecutor cpu(net);
    for (int i = 0; i < warmup; ++i) cpu.run(input, height, width, batch);
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
        auto t0 = Clock::now();
        cpu.run(input, height, width, batch);
        t.push_back(us_since(t0));
    }
    return percentiles(t);
}

ColdStart measure_cold_start(const engine::Network& net, engine::VulkanOptions options, int height, int width, int batch,
                             const std::filesystem::path& scratch_dir) {
    ColdStart out;
    std::filesystem::create_directories(scratch_dir);
    const auto cache_dir = scratch_dir / "pipelines";
    std::filesystem::remove_all(cache_dir);
    auto build = [&](bool cache) {
        engine::VulkanOptions o = options;
        o.pipeline_cache_dir = cache ? cache_dir : std::filesystem::path();
        auto t0 = Clock::now();
        engine::VulkanExecutor gpu(net, o);
        gpu.prepare(height, width, batch);
        out.pipelines = gpu.pipeline_count();
        return us_since(t0) / 1e3;  // the executor's destructor (which saves the cache) is not timed
    };
    out.no_cache_ms = build(false);
    out.cache_miss_ms = build(true);
    out.cache_hit_ms = build(true);
    std::error_code ec;
    std::filesystem::remove_all(cache_dir, ec);
    std::filesystem::remove(scratch_dir, ec);  // only if empty
    return out;
}

HostMemory host_memory() {
    HostMemory m;
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) == 0) m.peak_rss_bytes = uint64_t(ru.ru_maxrss) * 1024;
    std::ifstream statm("/proc/self/statm");
    uint64_t size = 0, resident = 0;
    if (statm >> size >> resident) m.rss_bytes = resident * uint64_t(sysconf(_SC_PAGESIZE));
    return m;
}

DeviceMemory device_memory(const engine::Network& net, engine::VulkanExecutor& gpu, int height, int width, int batch) {
    DeviceMemory m;
    m.weights = gpu.weight_bytes();
    m.activations = gpu.arena_bytes(height, width, batch);
    const auto shapes = net.tensor_shapes(height, width, batch);
    uint64_t readback = 0;
    for (int id : {net.heatmap, net.offsets, net.displacement_fwd, net.displacement_bwd})
        if (id >= 0) readback += shapes[size_t(id)].elements() * sizeof(float);
    m.staging = shapes[0].elements() * sizeof(float) + readback;
    return m;
}

EndToEnd time_estimate_poses(PoseDetector& detector, const ImageView& image, const EstimationConfig& config, int runs, int warmup) {
    for (int i = 0; i < warmup; ++i) detector.estimate_poses(image, config);
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = Clock::now();
        detector.estimate_poses(image, config);
        t.push_back(us_since(t0));
    }
    EndToEnd e{percentiles(t)};
    e.images_per_s = e.latency_us.p50 > 0 ? 1e6 / e.latency_us.p50 : 0;
    return e;
}

EndToEnd time_estimate_poses_batch(PoseDetector& detector, const ImageView& image, int batch, const EstimationConfig& config, int runs,
                                   int warmup) {
    const std::vector<ImageView> images(size_t(batch), image);
    for (int i = 0; i < warmup; ++i) detector.estimate_poses(std::span<const ImageView>(images), config);
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = Clock::now();
        detector.estimate_poses(std::span<const ImageView>(images), config);
        t.push_back(us_since(t0));
    }
    EndToEnd e{percentiles(t)};
    e.images_per_s = e.latency_us.p50 > 0 ? 1e6 * batch / e.latency_us.p50 : 0;
    return e;
}

StreamFigures measure_stream(PoseDetector& detector, const ImageView& image, const EstimationConfig& config, int frames_in_flight,
                             int frames, int warmup) {
    const int total = warmup + frames;
    std::vector<Clock::time_point> called(static_cast<size_t>(total)), done(static_cast<size_t>(total));
    std::mutex m;
    std::condition_variable cv;
    int results = 0;
    std::string error;
    Clock::time_point timed_start = Clock::now();
    PoseStream stream(detector, {.estimation = config, .frames_in_flight = frames_in_flight, .on_result = [&](FrameResult&& r) {
                                     const auto now = Clock::now();
                                     std::lock_guard<std::mutex> lock(m);
                                     done[size_t(r.index)] = now;
                                     if (!r.ok() && error.empty()) error = r.error_message;
                                     ++results;
                                     cv.notify_all();
                                 }});
    for (int i = 0; i < total; ++i) {
        if (i == warmup) {  // timed frames start with the pipeline empty
            std::unique_lock<std::mutex> lock(m);
            cv.wait(lock, [&] { return results == warmup; });
            timed_start = Clock::now();
        }
        called[size_t(i)] = Clock::now();
        stream.push(image, int64_t(i) * 33333);
    }
    stream.flush();
    if (!error.empty()) throw std::runtime_error("stream: " + error);
    StreamFigures f;
    f.frames_in_flight = frames_in_flight;
    f.frames = frames;
    std::vector<double> latency;
    // A frame's latency runs from when the stream could take it: push() called and a slot free, which
    // is when the result of the frame frames_in_flight before it was handed over (results come in
    // order). Not from push() returning: the result of a fast frame can arrive before that.
    for (int i = warmup; i < total; ++i) {
        Clock::time_point taken = called[size_t(i)];
        if (i >= frames_in_flight) taken = std::max(taken, done[size_t(i - frames_in_flight)]);
        latency.push_back(std::chrono::duration<double, std::micro>(done[size_t(i)] - taken).count());
    }
    f.latency_us = percentiles(latency);
    const double span_s = std::chrono::duration<double>(done[size_t(total - 1)] - timed_start).count();
    f.frames_per_s = span_s > 0 ? frames / span_s : 0;
    return f;
}

ImageBatchProfile profile_image_batch(const engine::Network& net, const engine::VulkanOptions& options, const ImageView& image,
                                      int height, int width, int batch, int runs, int warmup) {
    engine::VulkanOptions o = options;
    o.timestamps = false;
    engine::VulkanExecutor gpu(net, o);
    const Letterbox lb = compute_letterbox(image.height, image.width, height, width);
    const std::vector<engine::ImageInput> images(size_t(batch), detail::image_input(image, lb));
    for (int i = 0; i < warmup; ++i) gpu.run_images(images, height, width);
    ImageBatchProfile p;
    p.batch = batch;
    p.runs = runs;
    p.preprocessed_on_device = gpu.supports_image_input();
    std::vector<double> wall, up, sw, rb;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = Clock::now();
        gpu.run_images(images, height, width);
        wall.push_back(us_since(t0));
        const auto ph = gpu.last_phases();
        up.push_back(ph.upload_us), sw.push_back(ph.submit_wait_us), rb.push_back(ph.readback_us);
    }
    p.wall_us = percentiles(wall);
    p.upload_us = percentiles(up).p50, p.submit_wait_us = percentiles(sw).p50, p.readback_us = percentiles(rb).p50;
    return p;
}

}  // namespace posenet::bench
