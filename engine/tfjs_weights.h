// The weights of a TF.js graph model (engine-internal, for engine/tfjs_model.cpp): the manifest in
// model.json and the shard files it names, read under engine/model_limits.h. Shards must lie inside the
// model's folder and be regular files holding exactly the bytes the manifest implies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace posenet::engine {

struct ConstTensor {
    std::vector<int64_t> shape;  // each dimension 0..limits::kMaxWeightCount
    std::vector<float> values;   // float32 weights (dequantized)
    std::vector<int32_t> ints;   // int32 weights (paddings)
    bool is_int = false;
};

struct TfjsWeights {
    std::unordered_map<std::string, ConstTensor> tensors;  // by weight name
    int quant_bytes = 4;  // of the source: 4 float32, 2 uint16, 1 uint8 (the last quantized weight's)
};

// Reads and decodes every weight of `manifest` (model.json's "weightsManifest", null when absent),
// dequantizing like tfjs-core's decodeWeights (q * scale + min in double, stored as float32; int32
// rounds). Throws ModelError naming model_file and the group, weight or shard at fault.
TfjsWeights read_tfjs_weights(const nlohmann::json* manifest, const std::filesystem::path& model_file);

// The file a manifest path names in `folder`: the path must be relative, and stay inside the folder
// both as written (normalized) and after symbolic links are resolved. Returns the resolved path;
// throws ModelError starting with `where` otherwise. Reads nothing.
std::filesystem::path resolve_shard_path(const std::filesystem::path& folder, const std::string& entry,
                                         const std::string& where);

}  // namespace posenet::engine
