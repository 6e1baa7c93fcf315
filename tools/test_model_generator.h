// Writes PoseNet TF.js graph models (model.json + weight shards) with random weights.
//
// The graphs follow the official PoseNet 2.x files node for node: the same node names, ops,
// inputs and attrs (strings base64, ints as lists of decimal strings), the same Const order and
// weight manifest (names, shapes, dtypes, order), the same quantization ("dtype": "float32" plus
// "quantization": {min, scale, dtype}) and the same sharding (4 MiB shards named
// group1-shard<i>of<n>.bin). Only the weight values are made up: drawn from a seeded
// generator, scaled like a trained network with BatchNorm folded in, so the outputs are finite
// and not degenerate. Used to test the engine on variants that cannot be downloaded here.
//
// Everything here is deterministic: the same options give byte-identical files on any platform
// (mt19937 and std::seed_seq are fully specified; normal samples are an exact Irwin-Hall sum).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace posenet::testmodel {

enum class Architecture { MobileNetV1, ResNet50 };

struct Options {
    Architecture architecture = Architecture::MobileNetV1;
    int multiplier_percent = 75;  // 50, 75 or 100
    int output_stride = 16;       // 8, 16 or 32
    int quant_bytes = 4;          // 4 (float32), 2 (uint16) or 1 (uint8)
    uint64_t seed = 0;
    // MobileNetV1 only: the re-converted form with _FusedConv2D / FusedDepthwiseConv2dNative,
    // Const_<i> weight names and a fixed [1,385,385,3] input `image` (human-models layout).
    bool fused = false;
    // Input height/width of the fused graph's `image` (and its signature); 0 = dynamic (-1).
    // pose-detection only runs models whose input is [1,-1,-1,3]; with 0 the signature also lists
    // the outputs in the order pose-detection reads them (offset, heatmap, fwd, bwd).
    int fused_input_size = 385;
};

// Empty when the combination is one PoseNet offers, else why not.
std::string validate(const Options& options);

struct Shard {
    std::string file_name;
    std::vector<uint8_t> bytes;
};

struct Model {
    std::string json_file_name;  // model-stride<N>.json
    nlohmann::ordered_json json;
    std::vector<Shard> shards;
};

// Throws std::invalid_argument when validate(options) is not empty.
Model generate(const Options& options);

// tfjs-converter's weight quantization (python/tensorflowjs/quantization.py, as run by the
// converter that made the official files) of float32 values to uint8 (quant_bytes 1) or uint16
// (2): the stored little-endian values q, and min/scale with value = min + scale * q.
struct Quantized {
    std::vector<uint8_t> bytes;
    double min = 0, scale = 1;
};
Quantized quantize(const std::vector<float>& values, int quant_bytes);

// model.json text exactly as write() stores it.
std::string serialize(const Model& model);

// Creates `dir` if needed and writes the json and every shard (each through a temporary file
// renamed into place). Throws std::runtime_error on I/O failure.
void write(const Model& model, const std::string& dir);

// Differences between two model.json documents' topologies: the node list in order (name, op,
// input, device, attr; JSON key order ignored), the weights manifest (weight names, shapes,
// dtypes, quantization dtype, and the bytes the shards must hold), `format`, `signature` and
// `modelTopology` apart from `node`. Not compared: generatedBy/convertedBy, the quantization
// min/scale values and the shard file names. Empty when identical; at most max_diffs entries.
std::vector<std::string> compare_topology(const nlohmann::json& expected, const nlohmann::json& actual,
                                          size_t max_diffs = 20);

}  // namespace posenet::testmodel
