// `posenet`: a thin command-line layer over the library.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "engine/network.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace posenet::cli {

int parse_int(const std::string& s, const std::string& what) {
    size_t used = 0;
    int v = 0;
    try {
        v = std::stoi(s, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != s.size() || s.empty()) throw UsageError(what + " must be an integer, got '" + s + "'");
    return v;
}

double parse_double(const std::string& s, const std::string& what) {
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(s, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != s.size() || s.empty()) throw UsageError(what + " must be a number, got '" + s + "'");
    return v;
}

void parse_resolution(const std::string& s, int& width, int& height) {
    auto x = s.find('x');
    if (x == std::string::npos) {
        width = height = parse_int(s, "--input-resolution");
    } else {
        width = parse_int(s.substr(0, x), "--input-resolution width");
        height = parse_int(s.substr(x + 1), "--input-resolution height");
    }
    if (width <= 0 || height <= 0 || width > 4096 || height > 4096)
        throw UsageError("--input-resolution " + s + " is out of range (1..4096)");
}

}  // namespace posenet::cli

namespace {

const char* kUsage =
    "usage: posenet <command> [options]\n"
    "\n"
    "commands:\n"
    "  convert   TF.js model.json (+ shards) -> native model blob\n"
    "  inspect   print a model blob's layers, shapes, parameters, FLOPs and memory\n"
    "  detect    estimate poses in photos\n"
    "  video     estimate poses in a video, a camera, a folder of images or frames on stdin\n"
    "  devices   list the Vulkan devices\n"
    "  bench     GPU time per layer and end-to-end latency\n"
    "  eval      COCO keypoint AP over an annotations file and its images\n"
    "\n"
    "`posenet <command> --help` describes each command.\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace posenet::cli;
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    std::string cmd = argv[1];
    try {
        if (cmd == "convert") return cmd_convert(argc - 2, argv + 2);
        if (cmd == "inspect") return cmd_inspect(argc - 2, argv + 2);
        if (cmd == "detect") return cmd_detect(argc - 2, argv + 2);
#if POSENET_CLI_VIDEO
        if (cmd == "video") return cmd_video(argc - 2, argv + 2);
#endif
        if (cmd == "devices") return cmd_devices(argc - 2, argv + 2);
#if POSENET_CLI_BENCH
        if (cmd == "bench") return cmd_bench(argc - 2, argv + 2);
        if (cmd == "eval") return cmd_eval(argc - 2, argv + 2);
#endif
        std::fprintf(stderr, "posenet: unknown command '%s'\n%s", cmd.c_str(), kUsage);
        return 2;
    } catch (const UsageError& e) {
        std::fprintf(stderr, "posenet %s: %s (see `posenet %s --help`)\n", cmd.c_str(), e.what(), cmd.c_str());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "posenet %s: error: %s\n", cmd.c_str(), e.what());
        return 1;
    }
}
