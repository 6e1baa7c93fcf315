// Runs the TF.js reference tool (tools/reference) and reads its dumps, cached outside git by a key
// over the model files, images, configuration and the tool's pins, so each case runs TF.js once.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace posenet::test {

struct ReferenceConfig {
    std::filesystem::path model_json;
    std::string architecture = "MobileNetV1";
    int output_stride = 16;
    int input_width = 257, input_height = 257;
    float multiplier = 0.75f;
    int quant_bytes = 4;
    int max_poses = 1;
    float score_threshold = 0.5f;
    float nms_radius = 20.0f;
    bool flip = false;
};

struct ReferenceImage {
    std::filesystem::path image;
    int width = 0, height = 0;      // of the photo
    int grid_h = 0, grid_w = 0;     // of the outputs
    std::vector<uint8_t> rgb;       // exactly the pixels TF.js decoded
    std::vector<float> input;       // model input (after letterbox, resize, value shift)
    std::vector<float> heatmap, heatmap_logits, offsets, displacement_fwd, displacement_bwd;
    nlohmann::json result;          // result.json: poses and more
};

// nullopt (with a SKIP line printed) when node or the tool's node_modules are missing.
std::optional<std::vector<ReferenceImage>> tfjs_reference(const ReferenceConfig& config,
                                                          const std::vector<std::filesystem::path>& images);

}  // namespace posenet::test
