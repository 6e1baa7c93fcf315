// The network as data: what `posenet convert` produces and every executor runs.
// An ordered list of layers over numbered NHWC float32 tensors; tensor 0 is the model input.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "posenet/config.h"  // the public vocabulary: Architecture, InputTransform, ModelError

namespace posenet::engine {

// Any failure to read, convert or validate a model. The message names the file, node or value.
using posenet::ModelError;
using posenet::Architecture;
// How input pixels (0..255, RGB) become model input: see posenet/preprocess.h.
using posenet::InputTransform;
// How a graph's `dilations` attribute is read. TF.js reads (attr[1], attr[2]), which turns the
// official [2,2,1,1] into (h=2, w=1); the network was trained with (2, 2).
enum class DilationReading : uint32_t { TfjsParity = 0, Trained = 1 };

enum class LayerKind : uint32_t { Conv2D = 1, DepthwiseConv2D = 2, MaxPool = 3, Add = 4 };
enum class Activation : uint32_t { None = 0, Relu = 1, Relu6 = 2 };
// Same/Valid as TensorFlow defines them, computed on the input after the explicit pads below.
enum class Padding : uint32_t { Same = 0, Valid = 1 };

using posenet::to_string;
const char* to_string(LayerKind);
const char* to_string(Activation);
const char* to_string(Padding);

struct Layer {
    LayerKind kind = LayerKind::Conv2D;
    std::string name;   // TF node whose output this layer produces (last fused node)
    int input = 0;      // tensor id
    int input2 = -1;    // Add: the second operand. Conv: residual added after bias, before activation
    int output = 0;     // tensor id; always > input, input2
    int kernel_h = 1, kernel_w = 1;
    int stride_h = 1, stride_w = 1;
    int dilation_h = 1, dilation_w = 1;
    Padding padding = Padding::Valid;
    // Zero padding from a folded TF `Pad` op, applied before `padding`. For MaxPool these zeros take
    // part in the max, like TF's Pad + MaxPool; Same padding of a MaxPool is ignored by the max.
    int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
    int in_channels = 0, out_channels = 0;  // depthwise: out = in * depth multiplier
    // Offsets (in floats) into Network::weights. Conv2D filter layout is TF's HWIO [kh][kw][in][out];
    // depthwise is [kh][kw][in][multiplier]. bias has out_channels values (or count 0: none).
    uint64_t weight_offset = 0, weight_count = 0;
    uint64_t bias_offset = 0, bias_count = 0;
    Activation activation = Activation::None;
};

struct TensorShape {
    int n = 1, h = 0, w = 0, c = 0;
    uint64_t elements() const { return uint64_t(n) * h * w * c; }
};

// Per-layer geometry for one input size: the pads each side after Same/Valid are resolved.
struct LayerGeometry {
    TensorShape in, out;
    int pad_top = 0, pad_left = 0;         // total leading pads (explicit + Same)
    int pad_bottom = 0, pad_right = 0;     // total trailing pads
    int zero_pad_top = 0, zero_pad_left = 0;  // MaxPool: the part of the pads that holds zeros
    int zero_pad_bottom = 0, zero_pad_right = 0;
    uint64_t macs = 0;                     // multiply-accumulates (pool: compares)
};

struct Network {
    Architecture architecture = Architecture::MobileNetV1;
    float multiplier = 1.0f;       // MobileNetV1 width multiplier; 1 for ResNet50
    int output_stride = 16;
    int quant_bytes = 4;           // of the source weights: 4 float32, 2 uint16, 1 uint8
    InputTransform input_transform = InputTransform::MobileNetScale;
    DilationReading dilation_reading = DilationReading::TfjsParity;
    std::string source_name;       // e.g. "mobilenet/float/075/model-stride16.json"

    std::vector<int> tensor_channels;  // by tensor id; [0] = 3 (RGB input)
    std::vector<Layer> layers;         // in execution order
    int heatmap = -1, offsets = -1, displacement_fwd = -1, displacement_bwd = -1;  // tensor ids

    // All parameters, float32. Owned by `weight_storage` (a vector or a mapped blob).
    std::span<const float> weights;
    std::shared_ptr<const void> weight_storage;

    std::span<const float> filter(const Layer& l) const { return weights.subspan(l.weight_offset, l.weight_count); }
    std::span<const float> bias(const Layer& l) const { return weights.subspan(l.bias_offset, l.bias_count); }
    uint64_t parameter_count() const;

    // Shapes and pads for an input of batch x height x width; throws ModelError naming the layer
    // whose shape does not chain or whose attributes or sizes exceed engine/model_limits.h (the input up
    // to kMaxInputSide a side and kMaxBatch, every tensor up to kMaxTensorSide a side and
    // kMaxTensorElements), so every size and position it returns fits in an int.
    std::vector<LayerGeometry> geometry(int height, int width, int batch = 1) const;
    // Shape of every tensor (by id) for that input.
    std::vector<TensorShape> tensor_shapes(int height, int width, int batch = 1) const;

    // Checks the model record's values, ids, channel counts, layer attributes against
    // engine/model_limits.h, weight ranges and finite weights; throws ModelError naming the layer or field.
    // Never traps on any values.
    void validate() const;

    // The output stride the layers imply: the product of the strides on the path from the input to
    // the heatmap (dilations do not stride: the atrous graphs keep stride 1 and dilate instead).
    // Throws ModelError where the strides differ between height and width or exceed kMaxOutputStride.
    // Call on a validated network.
    int implied_output_stride() const;
    // Checks `output_stride` against the layers: it must equal implied_output_stride(), and every
    // output's grid for an input of k * output_stride + 1 a side must be k + 1 cells (the decoders read
    // cell (y, x) as input pixel (y, x) * output_stride). Throws ModelError. Call on a validated network.
    void check_output_stride() const;
};

// TF's Same padding along one axis. Throws ModelError where an argument is outside engine/model_limits.h
// (in: 1..kMaxTensorSide; kernel, stride, dilation: 1..their maximum).
struct SamePad { int out, before, after; };
SamePad same_padding(int in, int kernel, int stride, int dilation);

}  // namespace posenet::engine
