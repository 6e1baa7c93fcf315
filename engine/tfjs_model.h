// The converter's front end: reads a TF.js graph model (model.json + weight shards) and folds
// its graph into an engine::Network.
#pragma once

#include <filesystem>

#include "engine/network.h"

namespace posenet::engine {

struct ConvertOptions {
    DilationReading dilation_reading = DilationReading::TfjsParity;
};

// `path` is a model.json, or a folder holding exactly one *.json model. Throws ModelError naming
// the file and the node or weight at fault.
Network load_tfjs_model(const std::filesystem::path& path, const ConvertOptions& options = {});

}  // namespace posenet::engine
