// The arithmetic of the convolutions. Float32 everywhere by default. Float16: the GEMM convolutions
// (1x1 and KxK, merged 1x1 convs) multiply fp16-rounded inputs and weights on tensor cores
// (Vulkan cooperative matrices) and sum in fp32; storage (activations, weights) stays fp32, and
// depthwise convs, pools and adds stay fp32. Vulkan only, on devices with cooperative matrices.
#pragma once

#include <optional>
#include <string_view>

namespace posenet::engine {

enum class Precision { Float32, Float16 };

inline const char* to_string(Precision p) { return p == Precision::Float16 ? "float16" : "float32"; }

// "fp32" | "float32" | "fp16" | "float16"; nullopt otherwise.
inline std::optional<Precision> parse_precision(std::string_view s) {
    if (s == "fp32" || s == "float32") return Precision::Float32;
    if (s == "fp16" || s == "float16") return Precision::Float16;
    return std::nullopt;
}

}  // namespace posenet::engine
