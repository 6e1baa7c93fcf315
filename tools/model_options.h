// The model-selection options shared by detect, bench and eval: --model, --architecture,
// --output-stride, --input-resolution, --multiplier, --quant-bytes, --backend, --device, --precision.
#pragma once

#include <filesystem>

#include "posenet/detector.h"
#include "tools/args.h"

namespace posenet::cli {

inline constexpr const char* kModelOptionsHelp =
    "  --model FILE            .pnb blob or TF.js model.json (default: the fetched MobileNetV1 0.75 s16)\n"
    "  --architecture A        MobileNetV1 | ResNet50 (default: from the model file)\n"
    "  --output-stride N       8 | 16 | 32 (default: from the model file)\n"
    "  --input-resolution R    N or WxH (default 257; rounded as TF.js does)\n"
    "  --multiplier M          0.5 | 0.75 | 1.0 (default: from the model file)\n"
    "  --quant-bytes Q         1 | 2 | 4 (default: from the model file)\n"
    "  --backend B             auto | cpu | vulkan (default auto: Vulkan on a GPU; the CPU executor where\n"
    "                          there is none or the only Vulkan device is a software one, e.g. lavapipe)\n"
    "  --device N              Vulkan device index (see `posenet devices`); with auto, means Vulkan\n"
    "  --precision P           fp32 | fp16 (default fp32; fp16: convolutions on tensor cores, Vulkan only)\n";

// Takes the options above out of args. Throws UsageError.
void take_model_options(Args& args, ModelConfig& config, DetectorOptions& options);

// The default model: $POSENET_MODEL, else .cache/models/mobilenet-float-075-stride16.pnb in the
// checkout this binary was built from.
std::filesystem::path default_model_path();

}  // namespace posenet::cli
