#include "engine/blob.h"

#include "engine/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <new>
#include <random>

namespace posenet::engine {

namespace fs = std::filesystem;

namespace {

struct Header {
    char magic[8];
    uint32_t version;
    uint32_t header_bytes;
    uint64_t meta_offset, meta_bytes;
    uint64_t weights_offset, weights_bytes;
    uint64_t checksum;    // FNV-1a 64 of every byte after the header
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
        if (bytes > 4096) fail("a name is longer than 4096 bytes");
        std::string s(take(bytes), bytes);
        take(align_up(bytes, 4) - bytes);
        return s;
    }
    [[noreturn]] void fail(const std::string& what) const { throw ModelError(file_ + ": corrupt metadata: " + what); }

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

void save_blob(const Network& net, const fs::path& path) {
    net.validate();
    // Weights are re-laid out so that each filter and bias starts on a 64-byte boundary.
    std::vector<Layer> layers = net.layers;
    std::vector<float> weights;
    auto place = [&](uint64_t& offset, uint64_t count) {
        if (count == 0) { offset = 0; return; }
        weights.resize(align_up(weights.size(), kBlobAlignment / sizeof(float)), 0.0f);
        uint64_t at = weights.size();
        weights.insert(weights.end(), net.weights.begin() + offset, net.weights.begin() + offset + count);
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
    m.output_stride = net.output_stride;
    m.quant_bytes = net.quant_bytes;
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
    std::vector<char> gap(h.weights_offset - h.meta_offset - h.meta_bytes, 0);
    uint64_t sum = fnv1a64(meta.buf.data(), meta.buf.size());
    sum = fnv1a64(gap.data(), gap.size(), sum);
    sum = fnv1a64(weights.data(), h.weights_bytes, sum);
    h.checksum = sum;

    // Temporary name in the same folder, renamed into place only when complete.
    std::random_device rd;
    fs::path tmp = path;
    tmp += ".tmp" + std::to_string(rd());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw ModelError(path.string() + ": cannot create the output file");
        out.write(reinterpret_cast<const char*>(&h), sizeof h);
        out.write(meta.buf.data(), std::streamsize(meta.buf.size()));
        out.write(gap.data(), std::streamsize(gap.size()));
        out.write(reinterpret_cast<const char*>(weights.data()), std::streamsize(h.weights_bytes));
        out.flush();
        if (!out) {
            out.close();
            std::error_code ec;
            fs::remove(tmp, ec);
            throw ModelError(path.string() + ": writing failed (disk full?)");
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw ModelError(path.string() + ": cannot move the finished file into place");
    }
}

namespace {
struct Mapping {
    void* addr = nullptr;
    size_t bytes = 0;
    ~Mapping() {
        if (addr) munmap(addr, bytes);
    }
};

Network parse_blob(const char* base, size_t bytes, std::shared_ptr<const void> storage, const std::string& file) {
    if (bytes < sizeof(Header))
        throw ModelError(file + ": too short to be a model blob (" + std::to_string(bytes) + " bytes)");

    Header h;
    std::memcpy(&h, base, sizeof h);
    if (std::memcmp(h.magic, kBlobMagic, 8) != 0) throw ModelError(file + ": bad magic: not a posenet model blob");
    if (h.version != kBlobVersion)
        throw ModelError(file + ": format version " + std::to_string(h.version) + " is not supported (this build reads " +
                         std::to_string(kBlobVersion) + ")");
    if (h.header_bytes != sizeof(Header) || h.file_bytes != bytes || h.meta_offset != sizeof(Header) ||
        h.meta_bytes > bytes || h.weights_offset < h.meta_offset + h.meta_bytes || h.weights_offset % kBlobAlignment ||
        h.weights_offset + h.weights_bytes != h.file_bytes || h.weights_bytes % sizeof(float))
        throw ModelError(file + ": sizes in the header disagree with the file (" + std::to_string(bytes) +
                         " bytes; truncated?)");
    if (fnv1a64(base + sizeof(Header), bytes - sizeof(Header)) != h.checksum)
        throw ModelError(file + ": checksum mismatch: the file is corrupt");

    Reader r(base + h.meta_offset, h.meta_bytes, file);
    auto m = r.get<ModelRecord>();
    Network net;
    if (m.architecture != 1 && m.architecture != 2) r.fail("unknown architecture " + std::to_string(m.architecture));
    net.architecture = Architecture(m.architecture);
    net.multiplier = m.multiplier;
    net.output_stride = int(m.output_stride);
    net.quant_bytes = int(m.quant_bytes);
    net.input_transform = InputTransform(m.input_transform);
    net.dilation_reading = DilationReading(m.dilation_reading);
    net.heatmap = m.heatmap, net.offsets = m.offsets;
    net.displacement_fwd = m.displacement_fwd, net.displacement_bwd = m.displacement_bwd;
    net.source_name = r.get_string(m.source_name_bytes);
    if (m.tensor_count > 100000 || m.layer_count > 100000) r.fail("absurd tensor or layer count");
    for (uint32_t i = 0; i < m.tensor_count; ++i) net.tensor_channels.push_back(r.get<int32_t>());
    for (uint32_t i = 0; i < m.layer_count; ++i) {
        auto rec = r.get<LayerRecord>();
        Layer l;
        if (rec.kind < 1 || rec.kind > 4) r.fail("layer " + std::to_string(i) + " has unknown kind " + std::to_string(rec.kind));
        l.kind = LayerKind(rec.kind);
        l.input = rec.input, l.input2 = rec.input2, l.output = rec.output;
        l.kernel_h = rec.kernel_h, l.kernel_w = rec.kernel_w, l.stride_h = rec.stride_h, l.stride_w = rec.stride_w;
        l.dilation_h = rec.dilation_h, l.dilation_w = rec.dilation_w;
        if (rec.padding > 1 || rec.activation > 2) r.fail("layer " + std::to_string(i) + " has an unknown padding or activation");
        l.padding = Padding(rec.padding);
        l.pad_top = rec.pad_top, l.pad_bottom = rec.pad_bottom, l.pad_left = rec.pad_left, l.pad_right = rec.pad_right;
        l.in_channels = rec.in_channels, l.out_channels = rec.out_channels;
        l.activation = Activation(rec.activation);
        l.weight_offset = rec.weight_offset, l.weight_count = rec.weight_count;
        l.bias_offset = rec.bias_offset, l.bias_count = rec.bias_count;
        l.name = r.get_string(rec.name_bytes);
        net.layers.push_back(std::move(l));
    }
    net.weights = std::span<const float>(reinterpret_cast<const float*>(base + h.weights_offset), h.weights_bytes / sizeof(float));
    net.weight_storage = std::move(storage);
    try {
        net.validate();
    } catch (const ModelError& e) {
        throw ModelError(file + ": " + e.what());
    }
    return net;
}
}  // namespace

Network load_blob(const fs::path& path) {
    const std::string file = path.string();
    uint64_t size = 0;
    std::string why;
    int fd = open_regular_file(path, size, why);
    if (fd < 0) throw ModelError(file + ": cannot read the model: " + why);
    if (size < sizeof(Header)) {
        ::close(fd);
        throw ModelError(file + ": too short to be a model blob (" + std::to_string(size) + " bytes)");
    }
    auto map = std::make_shared<Mapping>();
    map->bytes = size_t(size);
    void* addr = mmap(nullptr, map->bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (addr == MAP_FAILED) throw ModelError(file + ": mmap failed");
    map->addr = addr;
    return parse_blob(static_cast<const char*>(addr), map->bytes, map, file);
}

Network load_blob(std::span<const uint8_t> bytes, const std::string& name) {
    // An owned copy, aligned as a mapping would be, so the weights can be read in place.
    const size_t n = bytes.size();
    std::shared_ptr<uint8_t> copy(static_cast<uint8_t*>(::operator new(n == 0 ? 1 : n, std::align_val_t(kBlobAlignment))),
                                  [](uint8_t* p) { ::operator delete(p, std::align_val_t(kBlobAlignment)); });
    if (n) std::memcpy(copy.get(), bytes.data(), n);
    return parse_blob(reinterpret_cast<const char*>(copy.get()), n, copy, name);
}


}  // namespace posenet::engine
