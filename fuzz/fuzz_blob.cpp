// libFuzzer target: the native model blob loader on any bytes, and, for blobs it accepts, the layer
// geometry at a few input sizes. Any failure must be a posenet::ModelError.
//
// The first input byte picks what happens to the rest (the blob) before it is loaded:
//   % 4 == 0: nothing, so the magic, version, size and checksum checks themselves are fuzzed;
//   % 4 == 1: the checksum is recomputed (docs/FORMAT.md, version 2: FNV-1a 64 of the whole file
//             with the checksum field, bytes 48..55, taken as zero), so mutations reach the parser;
//   % 4 >= 2: the same, and file_bytes (bytes 56..63) is set to the blob's size first, so that
//             mutations that insert or remove bytes get past the size check too.
// A resealed blob refused for its checksum means this rule and the loader's disagree: a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/blob.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const unsigned mode = data[0] % 4;
    std::vector<uint8_t> blob(data + 1, data + size);
    const bool resealed = mode >= 1 && blob.size() >= 64;
    if (resealed) {
        if (mode >= 2) {
            const uint64_t file_bytes = blob.size();
            std::memcpy(blob.data() + 56, &file_bytes, 8);
        }
        std::memset(blob.data() + 48, 0, 8);
        const uint64_t sum = posenet::engine::fnv1a64(blob.data(), blob.size());
        std::memcpy(blob.data() + 48, &sum, 8);
    }
    try {
        posenet::engine::Network net = posenet::engine::load_blob(blob, "fuzz.pnb");
        for (int s : {33, 257}) {
            try {
                net.geometry(s, s);
            } catch (const posenet::ModelError&) {
            }
        }
    } catch (const posenet::ModelError& e) {
        const bool sizes_match = blob.size() >= 64 && [&] {
            uint64_t file_bytes;
            std::memcpy(&file_bytes, blob.data() + 56, 8);
            return file_bytes == blob.size();
        }();
        // The message's start only: a layer name further on may say anything (the fuzzer once made
        // one that read "checksum mismatch").
        if (resealed && sizes_match && std::string_view(e.what()).starts_with("fuzz.pnb: checksum mismatch")) {
            std::fprintf(stderr, "fuzz_blob: a resealed blob was refused for its checksum: %s\n", e.what());
            std::abort();
        }
    }
    return 0;
}
