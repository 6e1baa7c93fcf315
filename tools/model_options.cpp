#include "tools/model_options.h"

#include <unistd.h>

#include <cstdlib>

namespace posenet::cli {

std::filesystem::path default_model_path() {
    if (const char* env = std::getenv("POSENET_MODEL")) return env;
    // The binary lives in <checkout>/<build>/tools/posenet.
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = 0;
        auto checkout = std::filesystem::path(buf).parent_path().parent_path().parent_path();
        auto p = checkout / ".cache" / "models" / "mobilenet-float-075-stride16.pnb";
        if (std::filesystem::exists(p)) return p;
    }
    throw UsageError("no --model given and the default model is not there (run ./run.sh demo, or set $POSENET_MODEL)");
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
    c.model = model.empty() ? default_model_path() : std::filesystem::path(model);
    c.check_architecture = !arch.empty();
    if (arch == "MobileNetV1") c.architecture = engine::Architecture::MobileNetV1;
    else if (arch == "ResNet50") c.architecture = engine::Architecture::ResNet50;
    else if (!arch.empty()) throw UsageError("--architecture must be MobileNetV1 or ResNet50, got '" + arch + "'");
    c.check_output_stride = !stride.empty();
    if (!stride.empty()) c.output_stride = parse_int(stride, "--output-stride");
    parse_resolution(res, c.input_resolution.width, c.input_resolution.height);
    c.check_multiplier = !mult.empty();
    if (!mult.empty()) c.multiplier = float(parse_double(mult, "--multiplier"));
    c.check_quant_bytes = !quant.empty();
    if (!quant.empty()) c.quant_bytes = parse_int(quant, "--quant-bytes");
    if (backend == "auto") o.backend = Backend::Auto;
    else if (backend == "cpu") o.backend = Backend::Cpu;
    else if (backend == "vulkan") o.backend = Backend::Vulkan;
    else throw UsageError("--backend must be auto, cpu or vulkan, got '" + backend + "'");
    if (!device.empty()) o.vulkan_device = parse_int(device, "--device");
    if (auto p = engine::parse_precision(precision)) o.precision = *p;
    else throw UsageError("--precision must be fp32 or fp16, got '" + precision + "'");
}

}  // namespace posenet::cli
