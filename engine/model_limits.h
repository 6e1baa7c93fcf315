// The largest values a model may hold, in one place: every number read from an untrusted model
// (model.json attributes and weight shapes, the weights manifest, blob records) and every size
// computed from them is checked against these before it is used, so that hostile input ends in a
// ModelError instead of an overflow, a huge allocation or a read out of bounds. Each is chosen well
// above every real PoseNet (MobileNetV1 0.5/0.75/1.0 and ResNet50 at output stride 8/16/32, inputs up
// to 4096x4096); docs/FORMAT.md ("Limits") lists them beside the real values. With these, every
// position, size and index the kernels compute fits in an int (see Network::geometry).
//
// Also the one place for overflow-checked size arithmetic (checked_mul, range_fits).
#pragma once

#include <cstdint>
#include <optional>

namespace posenet::engine::limits {

// ---- One layer --------------------------------------------------------------------------------
inline constexpr int kMaxKernelSize = 32;    // per side; real: 7 (ResNet50 stem), 3
inline constexpr int kMaxStride = 32;        // per side; real: 2
inline constexpr int kMaxDilation = 64;      // per side; real: 2 (the atrous stride-8/16 graphs)
inline constexpr int kMaxExplicitPad = 256;  // each side of a folded Pad; real: 3 (ResNet50 stem), 1
inline constexpr int kMaxChannels = 16384;   // of any tensor; real: 2048 (ResNet50 block 4)

// ---- One network ------------------------------------------------------------------------------
inline constexpr int kMaxOutputStride = 64;     // product of the strides from input to heatmap; real: 8, 16, 32
inline constexpr int kMaxLayers = 16384;        // after folding; real: 31 (MobileNetV1), 61 (ResNet50)
inline constexpr int kMaxTensors = kMaxLayers + 1;
inline constexpr uint64_t kMaxGraphNodes = 1u << 18;  // nodes in model.json, Const/Identity included; real: ~330
inline constexpr uint64_t kMaxNameBytes = 4096;       // a node, weight or layer name, the source name
// All parameters of a model, float32; real: 23.7 M (ResNet50), 3.3 M (MobileNetV1 1.0).
inline constexpr uint64_t kMaxWeightCount = uint64_t(1) << 28;  // 1 GiB as float32

// ---- Geometry (Network::geometry) ---------------------------------------------------------------
inline constexpr int kMaxInputSide = 4096;     // input height or width, as the config allows
inline constexpr int kMaxBatch = 4096;
inline constexpr int kMaxTensorSide = 16384;   // of any tensor, explicit and Same pads included
// Elements of one tensor (batch included): 8 GiB as float32. Real: 2^28 for ResNet50 at 4096x4096.
inline constexpr uint64_t kMaxTensorElements = uint64_t(1) << 31;

// ---- Files --------------------------------------------------------------------------------------
// model.json: parsed, it takes up to ~20 times its size in memory. Real: 114 KB (ResNet50), depth 10.
inline constexpr uint64_t kMaxModelJsonBytes = uint64_t(16) << 20;
inline constexpr int kMaxJsonDepth = 64;  // nesting of lists and objects
// The shards of one weight group together (so also any one shard); real: 4 MiB a shard, 5 MB a group.
inline constexpr uint64_t kMaxWeightGroupBytes = kMaxWeightCount * 4;
// A blob: header, metadata (model record, source name, tensor table, every layer record with a name of
// the longest), the weights.
inline constexpr uint64_t kMaxBlobMetadataBytes =
    56 + kMaxNameBytes + 4 * uint64_t(kMaxTensors) + uint64_t(kMaxLayers) * (112 + kMaxNameBytes);
inline constexpr uint64_t kMaxBlobBytes = 64 + kMaxBlobMetadataBytes + 64 + kMaxWeightCount * 4;

// ---- Checked arithmetic -------------------------------------------------------------------------
// a * b, or nullopt where the product does not fit in uint64_t.
inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
    return r;
}
// Whether [offset, offset + count) lies inside [0, size), without computing offset + count.
inline bool range_fits(uint64_t offset, uint64_t count, uint64_t size) { return offset <= size && count <= size - offset; }

}  // namespace posenet::engine::limits
