// libFuzzer target: the native model blob loader on any bytes, and, for blobs it accepts, the layer
// geometry at a few input sizes. Any failure must be a posenet::ModelError.
#include <cstdint>

#include "engine/blob.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        posenet::engine::Network net = posenet::engine::load_blob(std::span(data, size), "fuzz.pnb");
        for (int s : {33, 257}) {
            try {
                net.geometry(s, s);
            } catch (const posenet::ModelError&) {
            }
        }
    } catch (const posenet::ModelError&) {
    }
    return 0;
}
