// The model-selection options shared by detect, bench and eval: --model, --architecture,
// --output-stride, --input-resolution, --multiplier, --quant-bytes, --backend, --device, --precision,
// --pipeline-cache.
#pragma once

#include <filesystem>

#include "posenet/detector.h"
#include "tools/args.h"

namespace posenet::cli {

inline constexpr const char* kModelOptionsHelp =
    "  --model FILE            model blob or TF.js model.json, recognised by content (default: the first of\n"
    "                          $POSENET_MODEL, ~/.local/share/posenet/models/mobilenet-float-075-stride16.pnb,\n"
    "                          <prefix>/share/posenet/models/..., <checkout>/.cache/models/...)\n"
    "  --architecture A        MobileNetV1 | ResNet50 (default: from the model file)\n"
    "  --output-stride N       8 | 16 | 32 (default: from the model file)\n"
    "  --input-resolution R    N or WxH (default 257; rounded as TF.js does)\n"
    "  --multiplier M          0.5 | 0.75 | 1.0 (default: from the model file)\n"
    "  --quant-bytes Q         1 | 2 | 4 (default: from the model file)\n"
    "  --backend B             auto | cpu | vulkan (default auto: Vulkan on a GPU; the CPU executor where\n"
    "                          there is none or the only Vulkan device is a software one, e.g. lavapipe)\n"
    "  --device N              Vulkan device index (see `posenet devices`); with auto, means Vulkan\n"
    "  --precision P           fp32 | fp16 (default fp32; fp16: convolutions on tensor cores, Vulkan only)\n"
    "  --pipeline-cache DIR    where compiled Vulkan pipelines are kept (default ~/.cache/posenet; none: off)\n";

// Takes the options above out of args. Throws UsageError. Messages of the library go to stderr.
void take_model_options(Args& args, ModelConfig& config, DetectorOptions& options);

// --max-poses, --score-threshold, --nms-radius and --flip into `est`, whose values are the defaults
// (detect and video: pose-detection's; eval: COCO's). Throws UsageError.
void take_estimation_options(Args& args, EstimationConfig& est);

// The default model (tools/user_dirs.h): the first candidate that exists; UsageError naming every
// place looked when none does.
std::filesystem::path default_model_path();

}  // namespace posenet::cli
