// A model from a file or from memory, its kind recognised by its content, never by its name: a
// native blob starts with the magic PNETBLOB (engine/blob.h); a TF.js graph model is a JSON object
// (model.json, or a folder holding one; engine/tfjs_model.h), converted on load.
#pragma once

#include <filesystem>
#include <span>
#include <string>

#include "engine/network.h"

namespace posenet::engine {

// Throws ModelError naming the file and what it is not.
Network load_model_file(const std::filesystem::path& path);
// A blob in memory (a TF.js model needs its weight files beside it, so only blobs load from memory).
Network load_model_bytes(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace posenet::engine
