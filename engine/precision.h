// The arithmetic of the convolutions (posenet::Precision, posenet/config.h). Float32 everywhere by
// default. Float16: the GEMM convolutions (1x1 and KxK, merged 1x1 convs) multiply fp16-rounded
// inputs and weights on tensor cores (Vulkan cooperative matrices) and sum in fp32; storage
// (activations, weights) stays fp32 (vk: VulkanOptions::activation_storage can make activations
// fp16), and depthwise convs, pools and adds compute in fp32.
#pragma once

#include "posenet/config.h"

namespace posenet::engine {

using posenet::parse_precision;
using posenet::Precision;
using posenet::to_string;

}  // namespace posenet::engine
