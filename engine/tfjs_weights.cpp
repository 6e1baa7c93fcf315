#include "engine/tfjs_weights.h"

#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <algorithm>
#include <cstring>
#include <optional>

#include "engine/file_io.h"
#include "engine/json_fields.h"
#include "engine/model_limits.h"
#include "engine/network.h"

namespace posenet::engine {

namespace fs = std::filesystem;
using namespace json_fields;

namespace {

// One manifest entry, checked; its bytes are read from the group's shards afterwards.
struct WeightSpec {
    std::string name;
    std::vector<int64_t> shape;
    uint64_t count = 0;       // elements, at most limits::kMaxWeightCount
    bool is_int = false;      // int32, else float32
    int stored_bytes = 4;     // per element in the shard: 4, or 2 / 1 when quantized
    bool quantized = false;
    double scale = 1, min = 0;
    uint64_t bytes() const { return count * uint64_t(stored_bytes); }
};

std::string shape_text(const json& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size() && i < 8; ++i) s += (i ? ", " : "") + value_text(shape[i]);
    return s + (shape.size() > 8 ? ", ...]" : "]");
}

WeightSpec parse_weight_spec(const json& w, const std::string& file, const std::string& where_entry) {
    WeightSpec spec;
    spec.name = as_string(required(w, "name", where_entry), where_entry + ": name");
    if (spec.name.size() > limits::kMaxNameBytes) fail(where_entry, "the name is longer than the limit");
    const std::string where = file + ": weight '" + spec.name + "'";

    const json& shape = as_array(required(w, "shape", where), where + ": shape", "dimensions");
    if (shape.size() > 8) fail(where, "shape " + shape_text(shape) + " has more than 8 dimensions");
    spec.count = 1;
    bool too_many = false;
    for (const json& d : shape) {
        std::optional<int64_t> v = d.is_number_integer() ? to_int64(d) : std::nullopt;
        if (!v || *v < 0) fail(where, "shape " + shape_text(shape) + ": " + value_text(d) + " is not a dimension");
        auto product = limits::checked_mul(spec.count, uint64_t(*v));
        if (uint64_t(*v) > limits::kMaxWeightCount || !product) too_many = true;
        else spec.count = *product;
        spec.shape.push_back(*v);
    }
    if (too_many || spec.count > limits::kMaxWeightCount)
        fail(where, "shape " + shape_text(shape) + " has more elements than the limit of " +
                        std::to_string(limits::kMaxWeightCount));

    const std::string& dtype = as_string(required(w, "dtype", where), where + ": dtype");
    if (dtype != "float32" && dtype != "int32") throw ModelError(where + " has unsupported dtype '" + dtype + "'");
    spec.is_int = dtype == "int32";
    if (const json* q = member(w, "quantization")) {
        const std::string where_q = where + ": quantization";
        const std::string& qd = as_string(required(*q, "dtype", where_q), where_q + " dtype");
        if (qd == "float16") fail(where, "float16 quantization is not supported");
        if (qd != "uint8" && qd != "uint16") throw ModelError(where + " has unsupported dtype '" + qd + "'");
        spec.quantized = true;
        spec.stored_bytes = qd == "uint8" ? 1 : 2;
        spec.scale = as_number(required(*q, "scale", where_q), where_q + " scale");
        spec.min = as_number(required(*q, "min", where_q), where_q + " min");
    }
    return spec;
}

// Every shard of one group, back to back: exactly `needed` bytes, never reading more.
std::vector<uint8_t> read_group_shards(const json& paths, ShardSource& source, uint64_t needed, const std::string& file,
                                       const std::string& group) {
    std::vector<uint8_t> data;
    for (size_t i = 0; i < paths.size(); ++i) {
        const std::string& entry = as_string(paths[i], file + ": " + group + ": paths[" + std::to_string(i) + "]");
        const std::string where = file + ": " + group + ": shard \"" + entry + "\"";
        // The size first (nothing read), so a shard larger than the bytes left is refused unread.
        const uint64_t size = source.size(entry, where);
        const uint64_t left = needed - data.size();
        if (size > left)
            throw ModelError(file + ": " + group + " needs " + std::to_string(needed) + " bytes, but its shards hold more: \"" +
                             entry + "\" is " + std::to_string(size) + " bytes where " + std::to_string(left) + " were left");
        std::vector<uint8_t> bytes = source.read(entry, size, where);
        data.insert(data.end(), bytes.begin(), bytes.end());
    }
    if (data.size() != needed)
        throw ModelError(file + ": " + group + " needs " + std::to_string(needed) + " bytes but its shards hold " +
                         std::to_string(data.size()) + " (truncated shard?)");
    return data;
}

ConstTensor decode(const WeightSpec& spec, const uint8_t* src, const std::string& where) {
    ConstTensor t;
    t.shape = spec.shape;
    t.is_int = spec.is_int;
    const size_t count = size_t(spec.count);
    if (spec.quantized) {
        if (t.is_int) t.ints.reserve(count);
        else t.values.reserve(count);
        for (size_t i = 0; i < count; ++i) {
            const uint32_t q = spec.stored_bytes == 1 ? src[i] : uint32_t(src[2 * i]) | uint32_t(src[2 * i + 1]) << 8;
            const double x = double(q) * spec.scale + spec.min;
            if (t.is_int) {
                if (!(x > -2147483648.5 && x < 2147483647.5)) fail(where, "a dequantized value does not fit in int32");
                t.ints.push_back(int32_t(std::lround(x)));
            } else {
                if (!(std::fabs(x) <= double(FLT_MAX))) throw ModelError(where + " holds NaN or Inf");
                t.values.push_back(float(x));
            }
        }
    } else if (t.is_int) {
        t.ints.resize(count);
        if (count) std::memcpy(t.ints.data(), src, count * 4);  // memcpy from null is undefined, even of 0 bytes
    } else {
        t.values.resize(count);
        if (count) std::memcpy(t.values.data(), src, count * 4);
    }
    for (float v : t.values)
        if (!std::isfinite(v)) throw ModelError(where + " holds NaN or Inf");
    return t;
}

}  // namespace

fs::path normal_shard_path(const std::string& entry, const std::string& where) {
    if (entry.empty()) fail(where, "the path is empty");
    if (entry.size() > limits::kMaxNameBytes) fail(where, "the path is longer than the limit");
    if (entry.find('\0') != std::string::npos) fail(where, "the path holds a NUL byte");
    const fs::path written(entry);
    if (written.has_root_path())
        fail(where, "the path is absolute; shard paths are relative to the model's folder");
    const fs::path normal = written.lexically_normal();
    if (normal.empty() || *normal.begin() == "..") fail(where, "the path leads outside the model's folder");
    return normal;
}

fs::path resolve_shard_path(const fs::path& folder, const std::string& entry, const std::string& where) {
    const fs::path normal = normal_shard_path(entry, where);
    std::error_code ec;
    const fs::path base = fs::weakly_canonical(folder.empty() ? fs::path(".") : folder, ec);
    if (ec) fail(where, "cannot resolve the model's folder (" + ec.message() + ")");
    const fs::path resolved = fs::weakly_canonical(base / normal, ec);
    if (ec) fail(where, "cannot resolve the path (" + ec.message() + ")");
    const fs::path inside = resolved.lexically_relative(base);
    if (inside.empty() || *inside.begin() == "..")
        fail(where, "the path resolves to " + resolved.string() + " (through a symbolic link), outside the model's folder");
    return resolved;
}

ShardFiles::ShardFiles(fs::path folder, std::string model_file) : folder_(std::move(folder)), model_file_(std::move(model_file)) {}

uint64_t ShardFiles::size(const std::string& entry, const std::string& where) {
    const fs::path shard = resolve_shard_path(folder_, entry, where);
    resolved_entry_ = entry, resolved_ = shard;
    uint64_t size = 0;
    std::string why;
    const int fd = open_regular_file(shard, size, why);  // FIFOs and devices refused without blocking
    if (fd < 0) {
        const std::string shown = (folder_ / entry).string();
        if (why == "no such file") throw ModelError(shown + ": weight shard is missing (listed in " + model_file_ + ")");
        throw ModelError(shown + ": cannot read this weight shard (listed in " + model_file_ + "): it " + why);
    }
    ::close(fd);
    return size;
}

std::vector<uint8_t> ShardFiles::read(const std::string& entry, uint64_t bytes, const std::string& where) {
    std::string why;
    auto data = read_regular_file(entry == resolved_entry_ ? resolved_ : resolve_shard_path(folder_, entry, where), bytes, why);
    if (!data) throw ModelError((folder_ / entry).string() + ": cannot read this weight shard (listed in " + model_file_ + "): it " + why);
    return std::move(*data);
}

ShardMemory::ShardMemory(const std::map<std::string, std::vector<uint8_t>>& shards, fs::path folder, std::string model_file)
    : folder_(std::move(folder)), model_file_(std::move(model_file)) {
    for (const auto& [path, bytes] : shards) shards_[fs::path(path).lexically_normal().string()] = &bytes;
}

const std::vector<uint8_t>& ShardMemory::find(const std::string& entry, const std::string& where) const {
    auto it = shards_.find(normal_shard_path(entry, where).string());
    if (it == shards_.end()) throw ModelError((folder_ / entry).string() + ": weight shard is missing (listed in " + model_file_ + ")");
    return *it->second;
}

uint64_t ShardMemory::size(const std::string& entry, const std::string& where) { return find(entry, where).size(); }

std::vector<uint8_t> ShardMemory::read(const std::string& entry, uint64_t bytes, const std::string& where) {
    const std::vector<uint8_t>& data = find(entry, where);
    return {data.begin(), data.begin() + std::ptrdiff_t(std::min<uint64_t>(bytes, data.size()))};
}

TfjsWeights read_tfjs_weights(const json* manifest, const std::string& file, ShardSource& shards) {
    if (!manifest || !manifest->is_array()) throw ModelError(file + ": weightsManifest is missing or not a list");
    TfjsWeights out;
    uint64_t total_count = 0;
    for (size_t g = 0; g < manifest->size(); ++g) {
        const std::string group = "weight group " + std::to_string(g + 1);
        const json& entry = (*manifest)[g];
        const json& paths = as_array(required(entry, "paths", file + ": " + group), file + ": " + group + ": paths", "file names");
        const json& weights = as_array(required(entry, "weights", file + ": " + group), file + ": " + group + ": weights",
                                       "weights");
        std::vector<WeightSpec> specs;
        uint64_t needed = 0;
        for (size_t i = 0; i < weights.size(); ++i) {
            specs.push_back(parse_weight_spec(weights[i], file, file + ": " + group + ": weight " + std::to_string(i + 1)));
            // Each term is at most 4 x 2^28: the sums stay far from overflowing before these checks.
            needed += specs.back().bytes();
            total_count += specs.back().count;
            if (needed > limits::kMaxWeightGroupBytes || total_count > limits::kMaxWeightCount)
                throw ModelError(file + ": the weights manifest lists more than " + std::to_string(limits::kMaxWeightCount) +
                                 " weights (at '" + specs.back().name + "')");
        }
        const std::vector<uint8_t> data = read_group_shards(paths, shards, needed, file, group);
        uint64_t pos = 0;
        for (const WeightSpec& spec : specs) {
            ConstTensor t = decode(spec, data.data() + pos, file + ": weight '" + spec.name + "'");
            pos += spec.bytes();
            if (spec.quantized) out.quant_bytes = spec.stored_bytes;
            out.tensors[spec.name] = std::move(t);
        }
    }
    return out;
}

}  // namespace posenet::engine
