// posenet-make-test-model: writes a PoseNet TF.js graph model (model-stride<N>.json +
// group1-shard<i>of<n>.bin) in the official layout with seeded random weights, for the variants
// that cannot be downloaded. See tools/test_model_generator.h.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include "tools/test_model_generator.h"

namespace {

namespace gen = posenet::testmodel;

const char* kUsage =
    "usage: posenet-make-test-model --architecture MobileNetV1|ResNet50 --output-stride 8|16|32\n"
    "           [--multiplier 0.5|0.75|1.0] [--quant-bytes 4|2|1] [--seed N] [--fused]\n"
    "           [--fused-input-size N] [-o OUTDIR] [--compare-topology MODEL_JSON]\n"
    "\n"
    "Writes OUTDIR/model-stride<N>.json and OUTDIR/group1-shard<i>of<n>.bin (4 MiB shards), a TF.js\n"
    "graph model laid out and named exactly like the official PoseNet files, with random weights\n"
    "(deterministic: the same options and seed give byte-identical files).\n"
    "\n"
    "  --architecture      MobileNetV1 or ResNet50\n"
    "  --output-stride     MobileNetV1: 8, 16, or 32 (32 only with multiplier 1.0); ResNet50: 16 or 32\n"
    "  --multiplier        MobileNetV1: 0.5, 0.75 (default) or 1.0; ResNet50: 1.0 (default)\n"
    "  --quant-bytes       4 = float32 (default), 2 = uint16, 1 = uint8 quantized weights\n"
    "  --seed              unsigned 64-bit seed (default 0)\n"
    "  --fused             MobileNetV1 only: _FusedConv2D / FusedDepthwiseConv2dNative graph with\n"
    "                      Const_<i> weights and an input `image` of fixed size (the re-converted\n"
    "                      human-models layout)\n"
    "  --fused-input-size  that size, N with (N-1) % stride == 0 (default 385), or 0 for [1,-1,-1,3]\n"
    "                      (pose-detection refuses fixed input sizes)\n"
    "  -o, --output        directory to write (created if missing)\n"
    "  --compare-topology  compare the generated graph with an existing model.json (nodes, ops,\n"
    "                      inputs, attrs, manifest names/shapes/dtypes); exit 1 if they differ\n"
    "\n"
    "Errors (invalid combination, bad value) exit 2 and write nothing.\n";

struct Usage : std::runtime_error {
    using std::runtime_error::runtime_error;
};

bool parse_u64(const std::string& s, uint64_t& out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        uint64_t d = uint64_t(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

int parse_int_option(const std::string& s, const std::string& what) {
    uint64_t v = 0;
    if (!parse_u64(s, v) || v > 1000000) throw Usage(what + " must be a positive integer, got '" + s + "'");
    return int(v);
}

int parse_multiplier(const std::string& s) {
    if (s == "0.5" || s == "0.50") return 50;
    if (s == "0.75") return 75;
    if (s == "1" || s == "1.0" || s == "1.00") return 100;
    throw Usage("--multiplier must be 0.5, 0.75 or 1.0, got '" + s + "'");
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    gen::Options o;
    std::string out_dir, compare_file, multiplier;
    bool have_arch = false, have_stride = false, have_fused_size = false;
    try {
        for (size_t i = 0; i < args.size(); ++i) {
            std::string a = args[i], value;
            auto eq = a.find('=');
            bool inline_value = a.rfind("--", 0) == 0 && eq != std::string::npos;
            if (inline_value) {
                value = a.substr(eq + 1);
                a = a.substr(0, eq);
            }
            auto take = [&]() {
                if (inline_value) return value;
                if (i + 1 >= args.size()) throw Usage(a + " needs a value");
                return args[++i];
            };
            if (a == "-h" || a == "--help") {
                std::fputs(kUsage, stdout);
                return 0;
            } else if (a == "--architecture") {
                std::string v = take();
                if (v == "MobileNetV1")
                    o.architecture = gen::Architecture::MobileNetV1;
                else if (v == "ResNet50")
                    o.architecture = gen::Architecture::ResNet50;
                else
                    throw Usage("--architecture must be MobileNetV1 or ResNet50, got '" + v + "'");
                have_arch = true;
            } else if (a == "--multiplier") {
                multiplier = take();
            } else if (a == "--output-stride") {
                o.output_stride = parse_int_option(take(), "--output-stride");
                have_stride = true;
            } else if (a == "--quant-bytes") {
                o.quant_bytes = parse_int_option(take(), "--quant-bytes");
            } else if (a == "--seed") {
                std::string v = take();
                if (!parse_u64(v, o.seed)) throw Usage("--seed must be an unsigned 64-bit integer, got '" + v + "'");
            } else if (a == "--fused" && !inline_value) {
                o.fused = true;
            } else if (a == "--fused-input-size") {
                std::string v = take();
                uint64_t n = 0;
                if (!parse_u64(v, n) || n > 4096) throw Usage("--fused-input-size must be 0..4096, got '" + v + "'");
                o.fused_input_size = int(n);
                have_fused_size = true;
            } else if (a == "-o" || a == "--output") {
                out_dir = take();
            } else if (a == "--compare-topology") {
                compare_file = take();
            } else {
                throw Usage("unknown argument '" + args[i] + "'");
            }
        }
        if (!have_arch) throw Usage("--architecture is required");
        if (!have_stride) throw Usage("--output-stride is required");
        if (have_fused_size && !o.fused) throw Usage("--fused-input-size needs --fused");
        if (out_dir.empty() && compare_file.empty()) throw Usage("-o OUTDIR (or --compare-topology FILE) is required");
        if (multiplier.empty())
            o.multiplier_percent = o.architecture == gen::Architecture::ResNet50 ? 100 : 75;
        else
            o.multiplier_percent = parse_multiplier(multiplier);
        std::string err = gen::validate(o);
        if (!err.empty()) throw Usage(err);
    } catch (const Usage& e) {
        std::fprintf(stderr, "posenet-make-test-model: error: %s\n(see posenet-make-test-model --help)\n", e.what());
        return 2;
    }

    try {
        auto t0 = std::chrono::steady_clock::now();
        gen::Model model = gen::generate(o);
        int status = 0;
        if (!compare_file.empty()) {
            std::ifstream f(compare_file);
            if (!f) throw std::runtime_error("cannot open " + compare_file);
            nlohmann::json expected = nlohmann::json::parse(f);
            nlohmann::json actual = nlohmann::json::parse(gen::serialize(model));
            auto diffs = gen::compare_topology(expected, actual);
            if (diffs.empty()) {
                std::printf("topology identical to %s\n", compare_file.c_str());
            } else {
                std::printf("topology differs from %s:\n", compare_file.c_str());
                for (const auto& d : diffs) std::printf("  %s\n", d.c_str());
                status = 1;
            }
        }
        if (!out_dir.empty()) {
            gen::write(model, out_dir);
            double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            size_t total = gen::serialize(model).size();
            std::printf("wrote %s/%s", out_dir.c_str(), model.json_file_name.c_str());
            for (const auto& s : model.shards) {
                std::printf(" %s", s.file_name.c_str());
                total += s.bytes.size();
            }
            std::printf(" (%zu bytes, %.0f ms)\n", total, ms);
        }
        return status;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "posenet-make-test-model: error: %s\n", e.what());
        return 1;
    }
}
