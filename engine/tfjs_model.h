// The converter's front end: reads a TF.js graph model (model.json + weight shards) and folds
// its graph into an engine::Network.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "engine/network.h"

namespace posenet::engine {

struct ConvertOptions {
    DilationReading dilation_reading = DilationReading::TfjsParity;
};

// `path` is a model.json, or a folder holding exactly one *.json model. Throws ModelError naming
// the file and the node or weight at fault.
Network load_tfjs_model(const std::filesystem::path& path, const ConvertOptions& options = {});

// The same from memory: model.json's bytes and the weight shards by the path the manifest gives
// them ("group1-shard1of1.bin"). `name` stands for model.json in messages (and shards are named as if
// beside it); the same limits and checks apply, shard paths checked as written (no file system).
Network load_tfjs_model(std::span<const uint8_t> model_json, const std::map<std::string, std::vector<uint8_t>>& shards,
                        const std::string& name, const ConvertOptions& options = {});

}  // namespace posenet::engine
