#include "engine/blob.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <new>

#include "engine/file_io.h"
#include "engine/model_limits.h"

namespace posenet::engine {

namespace fs = std::filesystem;

namespace {

struct Header {
    char magic[8];
    uint32_t version;
    uint32_t header_bytes;
    uint64_t meta_offset, meta_bytes;
    uint64_t weights_offset, weights_bytes;
    uint64_t checksum;    // FNV-1a 64 of the whole file, this field taken as zero
    uint64_t file_bytes;
};
static_assert(sizeof(Header) == 64);

// Fixed-size layer record; the name follows it (name_bytes, padded to 4).
struct LayerRecord {
    uint32_t kind;
    int32_t input, input2, output;
    int32_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
    uint32_t padding;
    int32_t pad_top, pad_bottom, pad_left, pad_right;
    int32_t in_channels, out_channels;
    uint32_t activation;
    uint64_t weight_offset, weight_count, bias_offset, bias_count;
    uint32_t name_bytes;
    uint32_t reserved;
};
static_assert(sizeof(LayerRecord) == 112);

struct ModelRecord {
    uint32_t architecture;
    float multiplier;
    uint32_t output_stride, quant_bytes, input_transform, dilation_reading;
    uint32_t tensor_count, layer_count;
    int32_t heatmap, offsets, displacement_fwd, displacement_bwd;
    uint32_t source_name_bytes;
    uint32_t reserved;
};
static_assert(sizeof(ModelRecord) == 56);

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

class Writer {
public:
    template <class T>
    void put(const T& v) { append(&v, sizeof v); }
    void append(const void* p, size_t n) {
        auto b = static_cast<const char*>(p);
        buf.insert(buf.end(), b, b + n);
    }
    void put_string(const std::string& s) {
        append(s.data(), s.size());
        buf.resize(align_up(buf.size(), 4), 0);
    }
    std::vector<char> buf;
};

class Reader {
public:
    Reader(const char* p, size_t n, const std::string& file) : p_(p), n_(n), file_(file) {}
    template <class T>
    T get() {
        T v;
        std::memcpy(&v, take(sizeof v), sizeof v);
        return v;
    }
    std::string get_string(uint32_t bytes) {
        if (bytes > limits::kMaxNameBytes) fail("a name is longer than " + std::to_string(limits::kMaxNameBytes) + " bytes");
        std::string s(take(bytes), bytes);
        take(align_up(bytes, 4) - bytes);
        return s;
    }
    [[noreturn]] void fail(const std::string& what) const { throw ModelError(file_ + ": corrupt metadata: " + what); }
    size_t left() const { return n_ - pos_; }

private:
    const char* take(size_t k) {
        if (k > n_ - pos_) fail("it ends early");
        const char* r = p_ + pos_;
        pos_ += k;
        return r;
    }
    const char* p_;
    size_t n_, pos_ = 0;
    std::string file_;
};

}  // namespace

uint64_t fnv1a64(const void* data, size_t bytes, uint64_t h) {
    auto p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < bytes; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

namespace {

// FNV-1a 64 of the whole file with the header's checksum field taken as zero (format version 2).
uint64_t file_checksum(const uint8_t* bytes, uint64_t size) {
    constexpr size_t kField = offsetof(Header, checksum);
    const uint8_t zeros[sizeof(uint64_t)] = {};
    uint64_t sum = fnv1a64(bytes, kField);
    sum = fnv1a64(zeros, sizeof zeros, sum);
    return fnv1a64(bytes + kField + sizeof zeros, size - kField - sizeof zeros, sum);
}

}  // namespace

void save_blob(const Network& net, const fs::path& path) {
    try {
        net.validate();
        net.check_output_stride();
    } catch (const ModelError& e) {
        throw ModelError(path.string() + ": not written: " + e.what());
    }
    // Weights are re-laid out so that each filter and bias starts on a 64-byte boundary.
    std::vector<Layer> layers = net.layers;
    std::vector<float> weights;
    auto place = [&](uint64_t& offset, uint64_t count) {
        if (count == 0) { offset = 0; return; }
        weights.resize(align_up(weights.size(), kBlobAlignment / sizeof(float)), 0.0f);
        uint64_t at = weights.size();
        weights.insert(weights.end(), net.weights.begin() + std::ptrdiff_t(offset), net.weights.begin() + std::ptrdiff_t(offset + count));
        offset = at;
    };
    for (Layer& l : layers) {
        place(l.weight_offset, l.weight_count);
        place(l.bias_offset, l.bias_count);
    }

    Writer meta;
    ModelRecord m{};
    m.architecture = uint32_t(net.architecture);
    m.multiplier = net.multiplier;
    m.output_stride = uint32_t(net.output_stride);
    m.quant_bytes = uint32_t(net.quant_bytes);
    m.input_transform = uint32_t(net.input_transform);
    m.dilation_reading = uint32_t(net.dilation_reading);
    m.tensor_count = uint32_t(net.tensor_channels.size());
    m.layer_count = uint32_t(layers.size());
    m.heatmap = net.heatmap, m.offsets = net.offsets;
    m.displacement_fwd = net.displacement_fwd, m.displacement_bwd = net.displacement_bwd;
    m.source_name_bytes = uint32_t(net.source_name.size());
    meta.put(m);
    meta.put_string(net.source_name);
    for (int c : net.tensor_channels) meta.put(int32_t(c));
    for (const Layer& l : layers) {
        LayerRecord r{};
        r.kind = uint32_t(l.kind);
        r.input = l.input, r.input2 = l.input2, r.output = l.output;
        r.kernel_h = l.kernel_h, r.kernel_w = l.kernel_w, r.stride_h = l.stride_h, r.stride_w = l.stride_w;
        r.dilation_h = l.dilation_h, r.dilation_w = l.dilation_w;
        r.padding = uint32_t(l.padding);
        r.pad_top = l.pad_top, r.pad_bottom = l.pad_bottom, r.pad_left = l.pad_left, r.pad_right = l.pad_right;
        r.in_channels = l.in_channels, r.out_channels = l.out_channels;
        r.activation = uint32_t(l.activation);
        r.weight_offset = l.weight_offset, r.weight_count = l.weight_count;
        r.bias_offset = l.bias_offset, r.bias_count = l.bias_count;
        r.name_bytes = uint32_t(l.name.size());
        meta.put(r);
        meta.put_string(l.name);
    }

    Header h{};
    std::memcpy(h.magic, kBlobMagic, 8);
    h.version = kBlobVersion;
    h.header_bytes = sizeof(Header);
    h.meta_offset = sizeof(Header);
    h.meta_bytes = meta.buf.size();
    h.weights_offset = align_up(h.meta_offset + h.meta_bytes, kBlobAlignment);
    h.weights_bytes = weights.size() * sizeof(float);
    h.file_bytes = h.weights_offset + h.weights_bytes;

    std::vector<uint8_t> bytes(h.file_bytes, 0);
    std::memcpy(bytes.data() + h.meta_offset, meta.buf.data(), meta.buf.size());
    std::memcpy(bytes.data() + h.weights_offset, weights.data(), h.weights_bytes);
    h.checksum = 0;
    std::memcpy(bytes.data(), &h, sizeof h);
    h.checksum = file_checksum(bytes.data(), bytes.size());
    std::memcpy(bytes.data(), &h, sizeof h);
    if (auto why = write_file_atomically(path, bytes)) throw ModelError(path.string() + ": cannot write the model blob: " + *why);
}

namespace {

struct Mapping {
    void* addr = nullptr;
    size_t bytes = 0;
    ~Mapping() {
        if (addr) munmap(addr, bytes);
    }
};

std::string layer_text(uint32_t index, const std::string& name) {
    return "layer " + std::to_string(index) + " ('" + name + "')";
}

// Refuses a blob too short to hold a header or larger than any blob may be, before anything is read.
void check_blob_size(uint64_t size, const std::string& file) {
    if (size < sizeof(Header)) throw ModelError(file + ": too short to be a model blob (" + std::to_string(size) + " bytes)");
    if (size > limits::kMaxBlobBytes)
        throw ModelError(file + ": is " + std::to_string(size) + " bytes, more than a model blob may be (" +
                         std::to_string(limits::kMaxBlobBytes) + ")");
}

// Checks and reads a whole blob at `base` (`size` bytes, 64-byte aligned); the network's weights point
// into it and keep `storage` alive. `file` names it in messages.
Network parse_blob(const uint8_t* base, uint64_t size, std::shared_ptr<const void> storage, const std::string& file) {
    check_blob_size(size, file);
    Header h;
    std::memcpy(&h, base, sizeof h);
    if (std::memcmp(h.magic, kBlobMagic, 8) != 0) throw ModelError(file + ": bad magic: not a posenet model blob");
    if (h.version == 1)
        throw ModelError(file + ": format version 1 is no longer read (its checksum does not cover the header); "
                                "re-convert the model with `posenet convert`");
    if (h.version != kBlobVersion)
        throw ModelError(file + ": format version " + std::to_string(h.version) + " is not supported (this build reads " +
                         std::to_string(kBlobVersion) + ")");
    if (h.file_bytes != size)
        throw ModelError(file + ": the header says the file has " + std::to_string(h.file_bytes) + " bytes, but it has " +
                         std::to_string(size) + " (truncated?)");
    if (file_checksum(base, size) != h.checksum) throw ModelError(file + ": checksum mismatch: the file is corrupt");
    // Each comparison is arranged so that nothing wraps around: sizes are subtracted, never added.
    if (h.header_bytes != sizeof(Header) || h.meta_offset != sizeof(Header) || h.meta_bytes > size - h.meta_offset ||
        h.weights_offset < h.meta_offset + h.meta_bytes || h.weights_offset > size || h.weights_offset % kBlobAlignment != 0 ||
        h.weights_bytes != size - h.weights_offset || h.weights_bytes % sizeof(float) != 0)
        throw ModelError(file + ": sizes in the header disagree with the file (" + std::to_string(size) + " bytes)");

    Reader r(reinterpret_cast<const char*>(base + h.meta_offset), size_t(h.meta_bytes), file);
    const auto m = r.get<ModelRecord>();
    auto record_fail = [&](const std::string& what) -> void { throw ModelError(file + ": model record: " + what); };
    if (m.architecture != 1 && m.architecture != 2) record_fail("unknown architecture " + std::to_string(m.architecture));
    if (m.input_transform != 1 && m.input_transform != 2)
        record_fail("unknown input_transform " + std::to_string(m.input_transform));
    if (m.dilation_reading > 1) record_fail("unknown dilation_reading " + std::to_string(m.dilation_reading));
    if (m.quant_bytes != 1 && m.quant_bytes != 2 && m.quant_bytes != 4)
        record_fail("quant_bytes " + std::to_string(m.quant_bytes) + " is not 1, 2 or 4");
    if (!std::isfinite(m.multiplier) || m.multiplier <= 0.0f)
        record_fail("multiplier " + std::to_string(m.multiplier) + " is not a positive number");
    if (m.tensor_count < 1 || m.tensor_count > uint32_t(limits::kMaxTensors))
        record_fail("tensor_count " + std::to_string(m.tensor_count) + " is out of range 1.." + std::to_string(limits::kMaxTensors));
    if (m.layer_count > uint32_t(limits::kMaxLayers))
        record_fail("layer_count " + std::to_string(m.layer_count) + " is more than the limit of " +
                    std::to_string(limits::kMaxLayers));
    if (m.source_name_bytes > limits::kMaxNameBytes)
        record_fail("source_name_bytes " + std::to_string(m.source_name_bytes) + " is more than the limit of " +
                    std::to_string(limits::kMaxNameBytes));
    if (m.reserved != 0) record_fail("the reserved field is not zero");
    Network net;
    net.architecture = Architecture(m.architecture);
    net.multiplier = m.multiplier;
    net.quant_bytes = int(m.quant_bytes);
    net.input_transform = InputTransform(m.input_transform);
    net.dilation_reading = DilationReading(m.dilation_reading);
    net.heatmap = m.heatmap, net.offsets = m.offsets;
    net.displacement_fwd = m.displacement_fwd, net.displacement_bwd = m.displacement_bwd;
    net.source_name = r.get_string(m.source_name_bytes);
    net.tensor_channels.reserve(m.tensor_count);
    for (uint32_t i = 0; i < m.tensor_count; ++i) net.tensor_channels.push_back(r.get<int32_t>());
    net.layers.reserve(m.layer_count);
    for (uint32_t i = 0; i < m.layer_count; ++i) {
        const auto rec = r.get<LayerRecord>();
        Layer l;
        l.name = r.get_string(rec.name_bytes);
        auto layer_fail = [&](const std::string& what) { throw ModelError(file + ": " + layer_text(i, l.name) + ": " + what); };
        if (rec.kind < 1 || rec.kind > 4) layer_fail("unknown kind " + std::to_string(rec.kind));
        if (rec.padding > 1) layer_fail("unknown padding " + std::to_string(rec.padding));
        if (rec.activation > 2) layer_fail("unknown activation " + std::to_string(rec.activation));
        if (rec.reserved != 0) layer_fail("the reserved field is not zero");
        l.kind = LayerKind(rec.kind);
        l.input = rec.input, l.input2 = rec.input2, l.output = rec.output;
        l.kernel_h = rec.kernel_h, l.kernel_w = rec.kernel_w, l.stride_h = rec.stride_h, l.stride_w = rec.stride_w;
        l.dilation_h = rec.dilation_h, l.dilation_w = rec.dilation_w;
        l.padding = Padding(rec.padding);
        l.pad_top = rec.pad_top, l.pad_bottom = rec.pad_bottom, l.pad_left = rec.pad_left, l.pad_right = rec.pad_right;
        l.in_channels = rec.in_channels, l.out_channels = rec.out_channels;
        l.activation = Activation(rec.activation);
        l.weight_offset = rec.weight_offset, l.weight_count = rec.weight_count;
        l.bias_offset = rec.bias_offset, l.bias_count = rec.bias_count;
        net.layers.push_back(std::move(l));
    }
    if (r.left() != 0) r.fail(std::to_string(r.left()) + " bytes are left over after the last layer");
    net.weights = std::span<const float>(reinterpret_cast<const float*>(base + h.weights_offset), h.weights_bytes / sizeof(float));
    net.weight_storage = std::move(storage);
    try {
        net.validate();  // ids, channels, attributes against the limits, weight ranges: nothing traps
        const int implied = net.implied_output_stride();
        if (m.output_stride != uint32_t(implied))
            throw ModelError("model record: output_stride " + std::to_string(m.output_stride) +
                             " disagrees with the layers, whose strides from the input to the heatmap multiply to " +
                             std::to_string(implied));
        net.output_stride = implied;
        net.check_output_stride();
    } catch (const ModelError& e) {
        throw ModelError(file + ": " + e.what());
    }
    return net;
}

Network map_and_parse_blob(const fs::path& path) {
    const std::string file = path.string();
    uint64_t size = 0;
    std::string why;
    const int fd = open_regular_file(path, size, why);  // FIFOs and devices refused without blocking
    if (fd < 0) throw ModelError(file + ": cannot open the model blob: it " + why);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }  // the mapping outlives the descriptor
    } closer{fd};
    check_blob_size(size, file);
    auto map = std::make_shared<Mapping>();
    void* addr = mmap(nullptr, size_t(size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) throw ModelError(file + ": mmap failed (" + std::strerror(errno) + ")");
    map->addr = addr;
    map->bytes = size_t(size);
    return parse_blob(static_cast<const uint8_t*>(addr), size, map, file);
}

// Whatever escapes the checks above (out of memory) leaves as a ModelError naming the file.
template <class F>
Network with_model_errors(const std::string& file, F&& load) {
    try {
        return load();
    } catch (const ModelError&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw ModelError(file + ": out of memory while loading the model blob");
    } catch (const std::exception& e) {
        throw ModelError(file + ": cannot load the model blob (" + e.what() + ")");
    }
}

}  // namespace

Network load_blob(const fs::path& path) {
    return with_model_errors(path.string(), [&] { return map_and_parse_blob(path); });
}

Network load_blob(std::span<const uint8_t> bytes, const std::string& name) {
    return with_model_errors(name, [&] {
        check_blob_size(bytes.size(), name);
        // An owned copy, aligned as a mapping would be, so the weights can be read in place.
        const size_t n = bytes.size();
        std::shared_ptr<uint8_t> copy(static_cast<uint8_t*>(::operator new(n, std::align_val_t(kBlobAlignment))),
                                      [](uint8_t* p) { ::operator delete(p, std::align_val_t(kBlobAlignment)); });
        std::memcpy(copy.get(), bytes.data(), n);
        return parse_blob(copy.get(), n, copy, name);
    });
}

}  // namespace posenet::engine
