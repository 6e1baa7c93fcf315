// libFuzzer target: the single- and multi-pose decoders on arbitrary tensors (NaN, infinities and
// huge values included) and configs. They must never crash or hang; bad sizes or configs are
// std::invalid_argument (ConfigError is one).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "posenet/decode.h"

namespace {
struct Reader {
    const uint8_t* p;
    size_t n;
    template <typename T>
    T take() {
        T v{};
        const size_t k = n < sizeof v ? n : sizeof v;
        std::memcpy(&v, p, k);
        p += k, n -= k;
        return v;
    }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Reader r{data, size};
    const int h = 1 + r.take<uint8_t>() % 24, w = 1 + r.take<uint8_t>() % 24;
    const int stride = 1 + r.take<uint8_t>() % 32;
    posenet::EstimationConfig c;
    c.max_poses = int(r.take<uint8_t>() % 25) - 2;
    c.score_threshold = r.take<float>();
    c.nms_radius = r.take<float>();
    c.flip_horizontal = r.take<uint8_t>() & 1;
    const int image_h = 1 + r.take<uint16_t>() % 4000, image_w = 1 + r.take<uint16_t>() % 4000;
    const size_t cells = size_t(h) * size_t(w);
    auto tensor = [&](size_t channels) {  // the next bytes as floats, zeros once they run out (one copy)
        std::vector<float> t(cells * channels, 0.0f);
        const size_t bytes = std::min(r.n, t.size() * sizeof(float));
        if (bytes) std::memcpy(t.data(), r.p, bytes);
        r.p += bytes, r.n -= bytes;
        return t;
    };
    std::vector<float> logits = tensor(17), offsets = tensor(34), fwd = tensor(32), bwd = tensor(32);
    try {
        const auto scores = posenet::sigmoid(logits);
        const auto lb = posenet::compute_letterbox(image_h, image_w, (h - 1) * stride + 1, (w - 1) * stride + 1);
        auto poses = posenet::decode_poses(scores, offsets, fwd, bwd, h, w, stride, c, &lb);
        if (int(poses.size()) > c.max_poses) __builtin_trap();
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
