// Where the CLI keeps things of its own (the library writes only where its options say): the
// pipeline cache, and where it looks for the default model.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace posenet::cli {

// $XDG_CACHE_HOME/posenet, else ~/.cache/posenet; empty without either variable.
std::filesystem::path user_cache_dir();
// $XDG_DATA_HOME/posenet, else ~/.local/share/posenet; empty without either variable.
std::filesystem::path user_data_dir();

inline constexpr const char* kDefaultModelName = "mobilenet-float-075-stride16.pnb";

// The default model's search order, first match wins:
//   1. $POSENET_MODEL
//   2. <user_data_dir>/models/mobilenet-float-075-stride16.pnb (weights/install-default-model.sh)
//   3. <prefix>/share/posenet/models/mobilenet-float-075-stride16.pnb (a system-wide install)
//   4. <checkout>/.cache/models/mobilenet-float-075-stride16.pnb, for a binary in <checkout>/<build>/tools
//      (./run.sh puts it there)
// Each entry: the place and whether it applies (e.g. "$POSENET_MODEL (unset)").
std::vector<std::filesystem::path> default_model_candidates(std::vector<std::string>* looked = nullptr);

}  // namespace posenet::cli
