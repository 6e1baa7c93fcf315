// The weights of a TF.js graph model (engine-internal, for engine/tfjs_model.cpp): the manifest in
// model.json and the shard files it names, read under engine/model_limits.h. Shards must lie inside the
// model's folder and be regular files holding exactly the bytes the manifest implies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
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

// Where the bytes of the shards a manifest names come from: files beside model.json, or memory.
class ShardSource {
public:
    virtual ~ShardSource() = default;
    // The size of the shard `entry` (a manifest path, as written) names, reading nothing; throws
    // ModelError naming it (`where` starts the message when the path itself is at fault).
    virtual uint64_t size(const std::string& entry, const std::string& where) = 0;
    // Its bytes, exactly `bytes` of them (at most its size, which was asked for first).
    virtual std::vector<uint8_t> read(const std::string& entry, uint64_t bytes, const std::string& where) = 0;
};

// Shards as files in the model's folder (resolve_shard_path), regular files only.
class ShardFiles final : public ShardSource {
public:
    ShardFiles(std::filesystem::path folder, std::string model_file);
    uint64_t size(const std::string& entry, const std::string& where) override;
    std::vector<uint8_t> read(const std::string& entry, uint64_t bytes, const std::string& where) override;

private:
    std::filesystem::path folder_;
    std::string model_file_;
    std::string resolved_entry_;  // the entry size() resolved last, and where it led
    std::filesystem::path resolved_;
};

// Shards in memory, by the path a manifest names them (normalized: "a/../b.bin" is "b.bin"). Paths are
// checked as for files (relative, inside the folder); `folder` only names them in messages.
class ShardMemory final : public ShardSource {
public:
    ShardMemory(const std::map<std::string, std::vector<uint8_t>>& shards, std::filesystem::path folder, std::string model_file);
    uint64_t size(const std::string& entry, const std::string& where) override;
    std::vector<uint8_t> read(const std::string& entry, uint64_t bytes, const std::string& where) override;

private:
    const std::vector<uint8_t>& find(const std::string& entry, const std::string& where) const;
    std::map<std::string, const std::vector<uint8_t>*> shards_;  // by normalized path
    std::filesystem::path folder_;
    std::string model_file_;
};

// Reads and decodes every weight of `manifest` (model.json's "weightsManifest", null when absent),
// dequantizing like tfjs-core's decodeWeights (q * scale + min in double, stored as float32; int32
// rounds). Throws ModelError naming model_file and the group, weight or shard at fault.
TfjsWeights read_tfjs_weights(const nlohmann::json* manifest, const std::string& model_file, ShardSource& shards);

// A manifest path checked as written: not empty, no NUL, relative, not leading out of the folder
// once normalized. Returns it normalized; throws ModelError starting with `where` otherwise.
std::filesystem::path normal_shard_path(const std::string& entry, const std::string& where);

// The file a manifest path names in `folder`: the path must be relative, and stay inside the folder
// both as written (normalized) and after symbolic links are resolved. Returns the resolved path;
// throws ModelError starting with `where` otherwise. Reads nothing.
std::filesystem::path resolve_shard_path(const std::filesystem::path& folder, const std::string& entry,
                                         const std::string& where);

}  // namespace posenet::engine
