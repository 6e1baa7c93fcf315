// libFuzzer target: the TF.js graph-model reader, from memory (no files). The input is split at the
// first NUL byte into a model.json and the bytes of its one weight shard ("group1-shard1of1.bin").
// Any failure must be a posenet::ModelError.
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "engine/tfjs_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
    const size_t json_size = nul ? size_t(nul - data) : size;
    std::map<std::string, std::vector<uint8_t>> shards;
    if (nul) shards["group1-shard1of1.bin"].assign(nul + 1, data + size);
    try {
        posenet::engine::Network net =
            posenet::engine::load_tfjs_model(std::span(data, json_size), shards, "fuzz/model.json");
        try {
            net.geometry(33, 33);
        } catch (const posenet::ModelError&) {
        }
    } catch (const posenet::ModelError&) {
    }
    return 0;
}
