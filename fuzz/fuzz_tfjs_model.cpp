// libFuzzer target: the TF.js graph-model reader. The input is split at the first NUL byte into a
// model.json and the bytes of its one weight shard ("group1-shard1of1.bin"), both written to a
// private folder (tmpfs where possible) and converted. Any failure must be a posenet::ModelError.
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/tfjs_model.h"

namespace {
std::filesystem::path folder() {
    static const std::filesystem::path dir = [] {
        std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
        auto d = base / ("posenet-fuzz-tfjs-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
    const size_t json_size = nul ? size_t(nul - data) : size;
    const auto dir = folder();
    std::ofstream(dir / "model.json", std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), std::streamsize(json_size));
    {
        std::ofstream shard(dir / "group1-shard1of1.bin", std::ios::binary | std::ios::trunc);
        if (nul) shard.write(reinterpret_cast<const char*>(nul + 1), std::streamsize(size - json_size - 1));
    }
    try {
        posenet::engine::Network net = posenet::engine::load_tfjs_model(dir / "model.json");
        try {
            net.geometry(33, 33);
        } catch (const posenet::ModelError&) {
        }
    } catch (const posenet::ModelError&) {
    }
    return 0;
}
