// `posenet bench` on a tiny model: every figure the issue asks for is present and consistent with the
// network (FLOPs sum to the network's, floors follow the ceilings given, memory adds up), on the Vulkan
// device when there is one and on the CPU executor; and usage errors exit 2 with nothing written.
// --plot: the SVG of the per-layer figures on the Vulkan device, refused on the CPU backend and for
// paths that cannot be written.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/measure.h"
#include "engine/blob.h"
#include "engine/tfjs_model.h"
#include "tests/test_support.h"
#include "tests/test_vulkan_support.h"
#include "tests/tiny_model.h"
#include "tests/xml_check.h"

using namespace posenet;
using namespace posenet::test;
using nlohmann::json;

namespace {

struct TinyBench {
    fs::path dir = scratch_dir("bench-cli");
    fs::path blob = dir / "tiny.pnb";
    engine::Network net;
    TinyBench() {
        TinyModel t;
        net = engine::load_tfjs_model(t.write(dir));
        engine::save_blob(net, blob);
    }
    double total_flops(int h, int w, int batch) const {
        double f = 0;
        for (const auto& g : net.geometry(h, w, batch)) f += 2.0 * double(g.macs);
        return f;
    }
};

}  // namespace

// The end-to-end figures from 8-bit images: one at a time, batches (those > 1), PoseStream with 1 and 3
// frames in flight.
void check_end_to_end(const json& j, std::vector<int> batches) {
    CHECK(j["estimate_poses_per_s"].get<double>() > 0);
    REQUIRE(j["estimate_poses_batch"].size() == batches.size());
    for (size_t i = 0; i < batches.size(); ++i) {
        const auto& b = j["estimate_poses_batch"][i];
        CHECK(b["batch"] == batches[i]);
        CHECK(b["us_per_image"].get<double>() == doctest::Approx(b["wall_us"]["p50"].get<double>() / batches[i]));
    }
    REQUIRE(j["stream"].size() == 2);
    CHECK(j["stream"][0]["frames_in_flight"] == 1);
    CHECK(j["stream"][1]["frames_in_flight"] == 3);
    for (const auto& s : j["stream"]) {
        CHECK(s["frames"].get<int>() == 3);
        CHECK(s["frames_per_s"].get<double>() > 0);
        CHECK(s["latency_us"]["p50"].get<double>() > 0);
        CHECK(s["latency_us"]["p50"].get<double>() <= s["latency_us"]["p99"].get<double>());
    }
}

TEST_CASE("bench: percentiles pick the nearest rank") {
    auto p = bench::percentiles({5, 1, 4, 2, 3, 6, 7, 8, 9, 10});
    CHECK(p.p50 == 6);  // rank 0.5 x 9 = 4.5 rounds to 5 -> sixth smallest
    CHECK(p.p90 == 9);
    CHECK(p.p99 == 10);
    CHECK(bench::percentiles({}).p50 == 0);
    CHECK(bench::known_ceilings("NVIDIA H100 80GB HBM3").gflops > 0);
    CHECK(bench::known_ceilings("llvmpipe (LLVM 15.0.6, 256 bits)").gflops == 0);
}

TEST_CASE("bench CLI on Vulkan: per-layer table, floors, throughput, start-up, memory, JSON") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    TinyBench t;
    const fs::path out = t.dir / "vulkan.json";
    auto r = run_command(posenet_cli() + " bench --model " + t.blob.string() +
                         " --backend vulkan --input-resolution 65 --batch 1,2 --runs 3 --warmup 1"
                         " --peak-gflops 1000 --peak-gbps 100 --json " + out.string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::ifstream in(out);
    auto j = json::parse(in);
    CHECK(j["backend"] == "vulkan");
    CHECK(j["input"]["width"] == 65);
    // Per-layer figures add up to the network's arithmetic, and each floor is max(compute, memory).
    REQUIRE(j["layers"].is_array());
    REQUIRE(!j["layers"].empty());
    double flops = 0, floor_sum = 0;
    for (const auto& l : j["layers"]) {
        flops += l["flops"].get<double>();
        floor_sum += l["floor_us"].get<double>();
        CHECK(l["gpu_us"].get<double>() > 0);
        const double expect = std::max(l["flops"].get<double>() / 1e6, l["min_bytes"].get<double>() / 1e5);
        CHECK(l["floor_us"].get<double>() == doctest::Approx(expect).epsilon(1e-9));
        CHECK(l["min_bytes"].get<double>() > 0);
    }
    CHECK(flops == doctest::Approx(t.total_flops(65, 65, 1)).epsilon(1e-12));
    CHECK(j["floor_us"].get<double>() == doctest::Approx(floor_sum));
    // Throughput at both batch sizes; the GPU sum of layers is within the wall time of a run.
    REQUIRE(j["throughput"].size() == 2);
    CHECK(j["throughput"][1]["batch"] == 2);
    for (const auto& b : j["throughput"]) {
        CHECK(b["gpu_us"]["p50"].get<double>() > 0);
        CHECK(b["gpu_us"]["p50"].get<double>() <= b["wall_us"]["p99"].get<double>());
        CHECK(b["gpu_us_sum_of_steps"]["p50"].get<double>() <= b["wall_us_timestamps"]["p99"].get<double>());
        CHECK(b["dispatches"].get<int>() >= b["steps"].get<int>());
        CHECK(b["wall_us"]["p50"].get<double>() <= b["wall_us"]["p90"].get<double>());
        CHECK(b["images_per_s"].get<double>() > 0);
    }
    CHECK(j["device_index"].get<int>() >= 0);  // the device the detector chose, named in the report
    CHECK(j["dispatch_overhead"]["with_barrier_us"].get<double>() > 0);
    CHECK(j["dispatch_overhead"]["empty_submit_us"].get<double>() > 0);
    CHECK(j["cold_start_ms"]["no_cache"].get<double>() > 0);
    CHECK(j["cold_start_ms"]["cache_hit"].get<double>() > 0);
    CHECK(j["cold_start_ms"]["pipelines"].get<int>() > 0);
    for (const char* b : {"1", "2"}) {
        const auto& m = j["device_memory"][b];
        CHECK(m["total"].get<uint64_t>() == m["weights"].get<uint64_t>() + m["activations"].get<uint64_t>() + m["staging"].get<uint64_t>());
        CHECK(m["weights"].get<uint64_t>() >= t.net.weights.size() * sizeof(float));
    }
    // Staging: the float input plus the four outputs, read back once.
    {
        auto shapes = t.net.tensor_shapes(65, 65, 2);
        uint64_t expect = shapes[0].elements() * 4;
        for (int id : {t.net.heatmap, t.net.offsets, t.net.displacement_fwd, t.net.displacement_bwd}) expect += shapes[size_t(id)].elements() * 4;
        CHECK(j["device_memory"]["2"]["staging"].get<uint64_t>() == expect);
        CHECK(j["device_memory"]["2"]["activations"].get<uint64_t>() > j["device_memory"]["1"]["activations"].get<uint64_t>());
    }
    CHECK(j["host_memory"]["rss_bytes"].get<uint64_t>() > j["host_memory"]["rss_before_bytes"].get<uint64_t>());
    CHECK(j["host_memory"]["peak_rss_bytes"].get<uint64_t>() > 0);
    CHECK(j["estimate_poses_us"]["p50"].get<double>() <= j["estimate_poses_us"]["p99"].get<double>());
    check_end_to_end(j, {2});
    // Batches from 8-bit images: bytes uploaded (GPU preprocessing where the device has shaderFloat64).
    for (const auto& b : j["throughput"]) {
        CHECK(b["image_input"]["wall_us"]["p50"].get<double>() > 0);
        CHECK(b["image_input"]["us_per_image"].get<double>() ==
              doctest::Approx(b["image_input"]["wall_us"]["p50"].get<double>() / b["batch"].get<int>()));
        CHECK(b["image_input"]["preprocessed_on_device"].get<bool>() == rt->device().features().shader_float64);
    }
    CHECK(j["backend_memory"]["plans"].get<int>() >= 1);
    CHECK(r.output.find("x floor") != std::string::npos);
    CHECK(r.output.find("cold start") != std::string::npos);
}

TEST_CASE("bench CLI on the CPU executor, and its usage errors") {
    TinyBench t;
    const fs::path out = t.dir / "cpu.json";
    auto r = run_command(posenet_cli() + " bench --model " + t.blob.string() +
                         " --backend cpu --input-resolution 65 --batch 1,3 --runs 3 --warmup 1 --json " + out.string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::ifstream in(out);
    auto j = json::parse(in);
    CHECK(j["backend"] == "cpu");
    REQUIRE(j["throughput"].size() == 2);
    CHECK(j["throughput"][1]["batch"] == 3);
    CHECK(j["throughput"][1]["wall_us"]["p50"].get<double>() > 0);
    CHECK(j["estimate_poses_us"]["p50"].get<double>() > 0);
    CHECK_FALSE(j.contains("layers"));
    check_end_to_end(j, {3});

    for (const char* bad : {" --batch 0", " --batch 1,x", " --runs 0", " --peak-gflops 10", " --frobnicate", " --stream-frames 0"}) {
        const fs::path o = t.dir / "bad.json";
        auto e = run_command(posenet_cli() + " bench --backend cpu --model " + t.blob.string() + bad + " --json " + o.string());
        INFO(bad << ": " << e.output);
        CHECK(e.exit_code == 2);
        CHECK_FALSE(fs::exists(o));
    }
}

namespace {

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

TEST_CASE("bench CLI --plot on Vulkan: a well-formed SVG with a bar per layer and a point per layer with bytes") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    TinyBench t;
    const fs::path svg = t.dir / "layers.svg", out = t.dir / "layers.json";
    for (const bool peaks : {false, true}) {
        CAPTURE(peaks);
        fs::remove(svg);
        auto r = run_command(posenet_cli() + " bench --model " + t.blob.string() +
                             " --backend vulkan --input-resolution 65 --quick --runs 2 --warmup 1 --stream-frames 1 --plot " +
                             svg.string() + " --json " + out.string() + (peaks ? " --peak-gflops 1000 --peak-gbps 100" : ""));
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        REQUIRE(fs::exists(svg));
        CHECK(r.output.find("plot: " + svg.string()) != std::string::npos);
        const std::string text = read_text(svg);
        const auto d = parse_xml(text);
        INFO(d.error);
        REQUIRE(d.ok());
        std::ifstream in(out);
        const auto j = json::parse(in);
        size_t with_bytes = 0;
        for (const auto& l : j["layers"]) with_bytes += l["min_bytes"].get<double>() > 0 && l["flops"].get<double>() > 0;
        CHECK(d.with("rect", "bar").size() == j["layers"].size());
        CHECK(d.with("circle", "point").size() == with_bytes);
        CHECK(with_bytes > 0);
        // Ceilings: the --peak-* given, or the device's known ones (bench/measure.cpp: H100, H200).
        const bool ceilings = peaks || j.contains("ceilings");
        CHECK(d.with("line", "floor").size() == (ceilings ? j["layers"].size() : 0));
        CHECK(d.with("line", "ceiling-compute").size() == (ceilings ? 1u : 0u));
        CHECK(d.with("text", "ceilings-unknown").size() == (ceilings ? 0u : 1u));
        // The title names the model, the input size, the batch, the precision and the device.
        const std::string title = d.with("title").front()->text;
        CHECK(title.find("input 65x65, batch 1, float32") != std::string::npos);
        CHECK(title.find(j["device"].get<std::string>()) != std::string::npos);
        CHECK(title.find("tiny.pnb") != std::string::npos);
        // A second reader where there is one: Python's own XML parser.
        if (std::system("python3 -c 'import xml.etree.ElementTree' >/dev/null 2>&1") == 0) {
            auto py = run_command("python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
                                  "print(r.tag, len(r.findall(\".//{http://www.w3.org/2000/svg}rect[@class=\\\"bar\\\"]\")))' " +
                                  svg.string());
            INFO(py.output);
            CHECK(py.exit_code == 0);
            CHECK(py.output == "{http://www.w3.org/2000/svg}svg " + std::to_string(j["layers"].size()) + "\n");
        }
    }
}

TEST_CASE("bench CLI --plot: the CPU backend and unwritable paths are refused before any measuring, nothing written") {
    TinyBench t;
    const std::string base = posenet_cli() + " bench --model " + t.blob.string() + " --input-resolution 33 --quick --runs 1 --warmup 0";
    {
        const fs::path svg = t.dir / "cpu.svg";
        auto r = run_command(base + " --backend cpu --plot " + svg.string());
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find("--plot needs per-layer GPU timestamps (Vulkan backend)") != std::string::npos);
        CHECK(r.output.find("CPU network") == std::string::npos);  // refused before measuring
        CHECK_FALSE(fs::exists(svg));
    }
    {
        const fs::path svg = t.dir / "no-such-folder" / "x.svg", js = t.dir / "x.json";
        auto r = run_command(base + " --backend cpu --plot " + svg.string() + " --json " + js.string());
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find(svg.string()) != std::string::npos);
        CHECK(r.output.find("does not exist") != std::string::npos);
        CHECK_FALSE(fs::exists(svg.parent_path()));
        CHECK_FALSE(fs::exists(js));
    }
    {
        auto r = run_command(base + " --backend vulkan --plot " + t.dir.string());
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find(t.dir.string() + " is a directory") != std::string::npos);
    }
    // auto: where the detector picks the CPU executor (no GPU, or only lavapipe), the same refusal.
    {
        const fs::path svg = t.dir / "auto.svg";
        auto r = run_command(base + " --backend auto --plot " + svg.string());
        INFO(r.output);
        if (r.output.find("uses the cpu backend") != std::string::npos) {
            CHECK(r.exit_code == 2);
            CHECK_FALSE(fs::exists(svg));
        } else {
            CHECK(r.exit_code == 0);
            CHECK(parse_xml(read_text(svg)).ok());
        }
    }
}
