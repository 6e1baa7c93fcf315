// libFuzzer target: the image decoders (JPEG through libjpeg-turbo, PNG through libpng, PNM) on any
// bytes. Must never crash, hang or read stale memory; any failure is a posenet::ImageError.
#include <cstdint>
#include <cstdlib>

#include "posenet/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        posenet::Image img = posenet::decode_image(std::span(data, size), "fuzz");
        // Every pixel was written by the decoder: reading them all lets MSan/ASan see stale memory.
        unsigned sum = 0;
        for (uint8_t v : img.pixels) sum += v;
        if (img.pixels.size() != size_t(img.width) * size_t(img.height) * 3) std::abort();
        (void)sum;
    } catch (const posenet::ImageError&) {
    }
    return 0;
}
