#include "tools/model_options.h"

#include <cstdio>
#include <cstdlib>

#include "tools/user_dirs.h"

namespace posenet::cli {

std::filesystem::path default_model_path() {
    if (const char* env = std::getenv("POSENET_MODEL"); env && *env) return env;  // named: used as is
    std::vector<std::string> looked;
    for (const auto& p : default_model_candidates(&looked))
        if (std::filesystem::exists(p)) return p;
    std::string places;
    for (const auto& l : looked) places += "\n  " + l;
    throw UsageError("no --model given and no default model found; looked in:" + places +
                     "\nput one there with weights/install-default-model.sh (or ./run.sh demo in a checkout)");
}

namespace {
std::string shortest(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}
}  // namespace

void take_estimation_options(Args& args, EstimationConfig& est) {
    est.max_poses = parse_int(args.option("--max-poses", std::to_string(est.max_poses)), "--max-poses");
    est.score_threshold = float(parse_double(args.option("--score-threshold", shortest(est.score_threshold)), "--score-threshold"));
    est.nms_radius = float(parse_double(args.option("--nms-radius", shortest(est.nms_radius)), "--nms-radius"));
    if (args.flag("--flip")) est.flip_horizontal = true;
}

void take_model_options(Args& args, ModelConfig& c, DetectorOptions& o) {
    std::string model = args.option("--model");
    std::string arch = args.option("--architecture");
    std::string stride = args.option("--output-stride");
    std::string res = args.option("--input-resolution", "257");
    std::string mult = args.option("--multiplier");
    std::string quant = args.option("--quant-bytes");
    std::string backend = args.option("--backend", "auto");
    std::string device = args.option("--device");
    std::string precision = args.option("--precision", "fp32");
    std::string cache = args.option("--pipeline-cache");
    c.model = model.empty() ? default_model_path() : std::filesystem::path(model);
    if (arch == "MobileNetV1") c.architecture = Architecture::MobileNetV1;
    else if (arch == "ResNet50") c.architecture = Architecture::ResNet50;
    else if (!arch.empty()) throw UsageError("--architecture must be MobileNetV1 or ResNet50, got '" + arch + "'");
    if (!stride.empty()) c.output_stride = parse_int(stride, "--output-stride");
    parse_resolution(res, c.input_resolution.width, c.input_resolution.height);
    if (!mult.empty()) c.multiplier = float(parse_double(mult, "--multiplier"));
    if (!quant.empty()) c.quant_bytes = parse_int(quant, "--quant-bytes");
    if (backend == "auto") o.backend = Backend::Auto;
    else if (backend == "cpu") o.backend = Backend::Cpu;
    else if (backend == "vulkan") o.backend = Backend::Vulkan;
    else throw UsageError("--backend must be auto, cpu or vulkan, got '" + backend + "'");
    if (!device.empty()) {
        o.device = parse_int(device, "--device");
        if (o.device < 0) throw UsageError("--device must be a device index >= 0 (see `posenet devices`), got '" + device + "'");
    }
    if (auto p = parse_precision(precision)) o.precision = *p;
    else throw UsageError("--precision must be fp32 or fp16, got '" + precision + "'");
    o.pipeline_cache_dir = cache == "none" ? std::filesystem::path() : cache.empty() ? user_cache_dir() : std::filesystem::path(cache);
    o.log = [](LogLevel level, std::string_view message) {
        const char* tag = level == LogLevel::Error ? "error: " : level == LogLevel::Warning ? "warning: " : "";
        std::fprintf(stderr, "posenet: %s%.*s\n", tag, int(message.size()), message.data());
    };
}

}  // namespace posenet::cli
