// Hostile model input (issue 10): malformed model.json attributes and weight shapes, weights
// manifests, shard paths and special files, and patched blobs. Each must end in a ModelError that
// names the file and the node, weight, field or value at fault, promptly, without a crash, a hang,
// an absurd allocation or a read out of bounds. Limits: engine/model_limits.h, docs/FORMAT.md. They run
// under ASan + UBSan with the whole suite in ./run.sh test (tests/sanitize.sh); alone, after that:
//   UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-asan/tests/posenet_tests -tc="*hostile*,convert*,blob*"
// The fuzz targets (fuzz/README.md) look for what these miss.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <mutex>
#include <thread>

#include "engine/blob.h"
#include "engine/cpu_executor.h"
#include "engine/tfjs_model.h"
#include "tests/test_support.h"
#include "tests/tiny_model.h"

using namespace posenet::engine;
using namespace posenet::test;
using nlohmann::json;

namespace {

// The message of the ModelError the call throws; any other exception or none is reported as such,
// so that a CHECK on the message fails.
template <class F>
std::string model_error(F&& load) {
    try {
        load();
    } catch (const ModelError& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("(not a ModelError: ") + e.what() + ")";
    }
    return "(no error)";
}
// model.json and every file in its folder, in memory (keys relative to the folder), where they are
// all plain regular files small enough to hold: no FIFO, device, folder, symbolic link or sparse giant,
// whose meaning the in-memory entry point cannot share.
struct InMemory {
    std::vector<uint8_t> model_json;
    std::map<std::string, std::vector<uint8_t>> shards;
};
std::optional<InMemory> in_memory(const fs::path& model) {
    auto slurp = [](const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
    };
    std::error_code ec;
    constexpr uintmax_t kMax = uintmax_t(64) << 20;
    if (!fs::is_regular_file(fs::symlink_status(model, ec)) || fs::file_size(model, ec) > kMax) return std::nullopt;
    InMemory m;
    for (const auto& e : fs::directory_iterator(model.parent_path(), ec)) {
        if (!fs::is_regular_file(e.symlink_status()) || e.file_size() > kMax) return std::nullopt;
        if (e.path() != model) m.shards[e.path().filename().string()] = slurp(e.path());
    }
    if (ec) return std::nullopt;
    m.model_json = slurp(model);
    return m;
}

// The message converting `model` gives; the in-memory entry point, given the same bytes and
// named as the file, must give the very same message (or none) wherever in_memory() can hold it.
std::string convert_error(const fs::path& model) {
    const std::string from_file = model_error([&] { load_tfjs_model(model); });
    if (auto m = in_memory(model)) {
        const std::string from_memory = model_error([&] { load_tfjs_model(m->model_json, m->shards, model.string()); });
        CHECK_MESSAGE(from_memory == from_file, "from memory: " << from_memory);
    }
    return from_file;
}
std::string blob_error(const fs::path& blob) {
    return model_error([&] { load_blob(blob); });
}

bool mentions(const std::string& text, std::initializer_list<std::string> words) {
    for (const auto& w : words)
        if (text.find(w) == std::string::npos) return false;
    return true;
}
#define CHECK_MENTIONS(text, ...)                                   \
    do {                                                            \
        const std::string text_ = (text);                           \
        CHECK_MESSAGE(mentions(text_, {__VA_ARGS__}), text_);       \
    } while (0)

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---- Blob surgery ------------------------------------------------------------------------------

// A blob's bytes with the offsets of its records (docs/FORMAT.md), to patch fields and reseal.
struct BlobBytes {
    std::string bytes;
    size_t model_record = 64, tensor_table = 0;
    std::vector<size_t> layer_records;

    static size_t pad4(size_t n) { return (n + 3) / 4 * 4; }

    explicit BlobBytes(const fs::path& file) {
        std::ifstream in(file, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
        tensor_table = model_record + 56 + pad4(get<uint32_t>(model_record + 48));
        size_t at = tensor_table + 4 * size_t(get<uint32_t>(model_record + 24));
        for (uint32_t i = 0, n = get<uint32_t>(model_record + 28); i < n; ++i) {
            layer_records.push_back(at);
            at += 112 + pad4(get<uint32_t>(at + 104));
        }
    }
    template <class T>
    T get(size_t at) const {
        T v;
        std::memcpy(&v, bytes.data() + at, sizeof v);
        return v;
    }
    template <class T>
    void set(size_t at, T v) {
        std::memcpy(bytes.data() + at, &v, sizeof v);
    }
    // Recomputes the checksum as the header's format version defines it, so that a patch reaches
    // the loader's structural checks: version 1 sums every byte after the header, version 2 the
    // whole file with the checksum field taken as zero.
    void reseal() {
        if (get<uint32_t>(8) == 1) {
            set<uint64_t>(48, fnv1a64(bytes.data() + 64, bytes.size() - 64));
        } else {
            set<uint64_t>(48, 0);
            set<uint64_t>(48, fnv1a64(bytes.data(), bytes.size()));
        }
    }
    fs::path write(const fs::path& file) const {
        std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
        return file;
    }
};

// Layer record field offsets (docs/FORMAT.md).
enum LayerField : size_t {
    kKind = 0, kInput = 4, kInput2 = 8, kOutput = 12, kKernelH = 16, kKernelW = 20, kStrideH = 24, kStrideW = 28,
    kDilationH = 32, kDilationW = 36, kPadding = 40, kPadTop = 44, kPadBottom = 48, kPadLeft = 52, kPadRight = 56,
    kInChannels = 60, kOutChannels = 64, kActivation = 68, kWeightOffset = 72, kWeightCount = 80, kBiasOffset = 88,
    kBiasCount = 96, kNameBytes = 104
};
// Model record field offsets.
enum ModelField : size_t {
    kArchitecture = 0, kMultiplier = 4, kOutputStride = 8, kQuantBytes = 12, kInputTransform = 16,
    kDilationReading = 20, kTensorCount = 24, kLayerCount = 28, kHeatmap = 32, kSourceNameBytes = 48
};

// The tiny model with conv2 depthwise, converted and saved; returns the blob's path.
fs::path tiny_blob(const fs::path& dir) {
    TinyModel t;
    make_conv2_depthwise(t);
    save_blob(load_tfjs_model(t.write(dir / "model")), dir / "tiny.pnb");
    return dir / "tiny.pnb";
}

// ---- Special files -----------------------------------------------------------------------------

// Opens a FIFO for writing (and closes it again) every 200 ms from `after` on, until destroyed: code
// that wrongly blocks opening or reading the FIFO then sees end-of-file, so a test of it fails
// (too slow, wrong message) instead of hanging the suite.
class FifoUnblocker {
public:
    FifoUnblocker(fs::path fifo, std::chrono::milliseconds after) : fifo_(std::move(fifo)) {
        thread_ = std::thread([this, after] {
            std::unique_lock lock(mutex_);
            if (cv_.wait_for(lock, after, [this] { return done_; })) return;
            while (!done_) {
                int fd = ::open(fifo_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                if (fd >= 0) ::close(fd);
                cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return done_; });
            }
        });
    }
    ~FifoUnblocker() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

private:
    fs::path fifo_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

}  // namespace

TEST_CASE("hostile model.json: the surgery helpers make models that convert") {
    auto dir = scratch_dir("hostile-baseline");
    auto ok = [&](const std::string& name, auto mutate, size_t layers) {
        TinyModel t;
        mutate(t);
        CAPTURE(name);
        Network net;
        CHECK_NOTHROW(net = load_tfjs_model(t.write(dir / name)));
        CHECK(net.layers.size() == layers);
        CHECK(net.output_stride == 8);
    };
    ok("depthwise", make_conv2_depthwise, 7);
    ok("maxpool", insert_maxpool, 8);
    ok("pad", [](TinyModel& t) { insert_pad(t, 1, 1, 1, 1); }, 7);
    ok("fused", fuse_stem, 7);
    ok("identities", [](TinyModel& t) { insert_identity_chain(t, 10); }, 7);
}

TEST_CASE("hostile model.json: huge strides, dilations, kernels and pads are refused at convert time") {
    auto dir = scratch_dir("hostile-attributes");
    auto variant = [&](const std::string& name, auto mutate) {
        TinyModel t;
        mutate(t);
        return convert_error(t.write(dir / name));
    };
    SUBCASE("dilation of 2^31-1 on a depthwise conv") {
        auto e = variant("dilation", [](TinyModel& t) {
            make_conv2_depthwise(t);
            t.node("Tiny/conv2/conv")["attr"]["dilations"] = ints_attr({"1", "2147483647", "2147483647", "1"});
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/conv2/conv", "dilations", "2147483647");
    }
    SUBCASE("dilation just above the limit, read as trained") {
        TinyModel t;
        t.node("Tiny/conv3/conv")["attr"]["dilations"] = ints_attr({"100000", "100000", "1", "1"});
        auto m = t.write(dir / "dilation-trained");
        CHECK_MENTIONS(model_error([&] { load_tfjs_model(m, {DilationReading::Trained}); }), "Tiny/conv3/conv",
                       "dilations");
    }
    SUBCASE("stride of 2^31-1") {
        auto e = variant("stride", [](TinyModel& t) {
            t.node("Tiny/conv2/conv")["attr"]["strides"] = ints_attr({"1", "2147483647", "2", "1"});
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/conv2/conv", "strides", "2147483647");
    }
    SUBCASE("max pool window of 2^31-1") {
        auto e = variant("ksize", [](TinyModel& t) {
            insert_maxpool(t);
            t.node("Tiny/pool")["attr"]["ksize"] = ints_attr({"1", "2147483647", "3", "1"});
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/pool", "ksize", "2147483647");
    }
    SUBCASE("max pool stride 0") {
        auto e = variant("pool-stride", [](TinyModel& t) {
            insert_maxpool(t);
            t.node("Tiny/pool")["attr"]["strides"] = ints_attr({"1", "0", "1", "1"});
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/pool", "strides");
    }
    SUBCASE("64x1 depthwise kernel") {
        auto e = variant("kernel", [](TinyModel& t) {
            make_conv2_depthwise(t);
            replace_weight(t, "Tiny/conv2/weights", {64, 1, 16, 1}, std::vector<float>(1024, 0.01f));
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/conv2", "kernel");
    }
    SUBCASE("Pad of 16M (would ask for 52 GB)") {
        auto e = variant("pad", [](TinyModel& t) { insert_pad(t, 16 << 20, 16 << 20, 1, 1); });
        CHECK_MENTIONS(e, "model.json", "Tiny/pad", "16777216");
    }
    SUBCASE("Pad whose sum overflows") {
        auto e = variant("pad-sum", [](TinyModel& t) { insert_pad(t, 1, 1, 2147483647, 2147483647); });
        CHECK_MENTIONS(e, "model.json", "Tiny/pad", "2147483647");
    }
}

TEST_CASE("hostile model.json: a layer with 0 channels is refused, never divides by zero") {
    auto dir = scratch_dir("hostile-zero-channels");
    // Placeholder -> 1x1 conv to 0 channels -> depthwise conv of 0 channels (the fuzzer's 460 bytes).
    json model = {
        {"format", "graph-model"},
        {"modelTopology",
         {{"node",
           {{{"name", "x"}, {"op", "Placeholder"}},
            {{"name", "w0"}, {"op", "Const"}},
            {{"name", "c0"}, {"op", "Conv2D"}, {"input", {"x", "w0"}},
             {"attr", {{"padding", {{"s", "U0FNRQ=="}}}, {"strides", ints_attr({"1", "1", "1", "1"})}}}},
            {{"name", "w1"}, {"op", "Const"}},
            {{"name", "heatmap"}, {"op", "DepthwiseConv2dNative"}, {"input", {"c0", "w1"}},
             {"attr", {{"padding", {{"s", "U0FNRQ=="}}}, {"strides", ints_attr({"1", "1", "1", "1"})}}}},
            {{"name", "offset"}, {"op", "Identity"}, {"input", {"x"}}},
            {{"name", "displacement_fwd"}, {"op", "Identity"}, {"input", {"x"}}},
            {{"name", "displacement_bwd"}, {"op", "Identity"}, {"input", {"x"}}}}}}},
        {"weightsManifest",
         {{{"paths", {"w.bin"}},
           {"weights", {{{"name", "w0"}, {"shape", {1, 1, 3, 0}}, {"dtype", "float32"}},
                        {{"name", "w1"}, {"shape", {3, 3, 0, 1}}, {"dtype", "float32"}}}}}}}};
    std::ofstream(dir / "model.json") << model.dump();
    std::ofstream(dir / "w.bin").flush();
    CHECK_MENTIONS(convert_error(dir / "model.json"), "model.json", "c0", "0 output channels");
}

TEST_CASE("hostile model.json: attributes of the wrong type name the file, node and attribute") {
    auto dir = scratch_dir("hostile-attribute-types");
    auto variant = [&](const std::string& name, auto mutate) {
        TinyModel t;
        mutate(t);
        return convert_error(t.write(dir / name));
    };
    SUBCASE("strides {}") {
        auto e = variant("strides-object", [](TinyModel& t) { t.node("Tiny/conv2/conv")["attr"]["strides"] = json::object(); });
        CHECK_MENTIONS(e, "model.json", "node \"Tiny/conv2/conv\"", "attribute strides", "expected a list of 4 integers",
                       "got an object");
    }
    SUBCASE("fused_ops {}") {
        auto e = variant("fused-object", [](TinyModel& t) {
            fuse_stem(t);
            t.node("Tiny/stem/conv")["attr"]["fused_ops"] = json::object();
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/stem/conv", "attribute fused_ops", "got an object");
    }
    SUBCASE("fused_ops with a number") {
        auto e = variant("fused-number", [](TinyModel& t) {
            fuse_stem(t);
            t.node("Tiny/stem/conv")["attr"]["fused_ops"]["list"]["s"][1] = 7;
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/stem/conv", "attribute fused_ops");
    }
    SUBCASE("dilations \"x\"") {
        auto e = variant("dilations-string", [](TinyModel& t) { t.node("Tiny/conv2/conv")["attr"]["dilations"] = "x"; });
        CHECK_MENTIONS(e, "model.json", "Tiny/conv2/conv", "attribute dilations", "got a string");
    }
    SUBCASE("a list element that is not a number (was: error: stoi)") {
        auto e = variant("dilations-x", [](TinyModel& t) {
            t.node("Tiny/conv2/conv")["attr"]["dilations"] = ints_attr({"1", "x", "1", "1"});
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/conv2/conv", "attribute dilations", "\"x\"");
    }
    SUBCASE("a list element beyond 64 bits") {
        auto e = variant("strides-huge", [](TinyModel& t) {
            t.node("Tiny/conv2/conv")["attr"]["strides"] = ints_attr({"1", "99999999999999999999999", "2", "1"});
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/conv2/conv", "attribute strides");
    }
    SUBCASE("three strides") {
        auto e = variant("strides-3", [](TinyModel& t) {
            t.node("Tiny/conv2/conv")["attr"]["strides"] = ints_attr({"1", "2", "2"});
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/conv2/conv", "attribute strides", "3");
    }
    SUBCASE("padding that is a number") {
        auto e = variant("padding-number", [](TinyModel& t) { t.node("Tiny/conv2/conv")["attr"]["padding"]["s"] = 5; });
        CHECK_MENTIONS(e, "model.json", "Tiny/conv2/conv", "attribute padding");
    }
    SUBCASE("attr that is a list") {
        auto e = variant("attr-list", [](TinyModel& t) { t.node("Tiny/conv2/conv")["attr"] = json::array({1, 2}); });
        CHECK_MENTIONS(e, "model.json", "Tiny/conv2/conv", "attr");
    }
    SUBCASE("node name that is a number") {
        auto e = variant("name-number", [](TinyModel& t) { t.node("Tiny/conv2/conv")["name"] = 12; });
        CHECK_MENTIONS(e, "model.json", "name");
    }
    SUBCASE("input that is an object") {
        auto e = variant("input-object", [](TinyModel& t) { t.node("Tiny/conv2/conv")["input"] = json::object(); });
        CHECK_MENTIONS(e, "model.json", "Tiny/conv2/conv", "input");
    }
    SUBCASE("node list that is an object") {
        auto e = variant("nodes-object", [](TinyModel& t) { t.model["modelTopology"]["node"] = json::object(); });
        CHECK_MENTIONS(e, "model.json", "modelTopology.node");
    }
}

TEST_CASE("hostile weights manifest: shapes, dtypes and quantization are checked") {
    auto dir = scratch_dir("hostile-manifest");
    auto variant = [&](const std::string& name, auto mutate) {
        TinyModel t;
        mutate(t);
        return convert_error(t.write(dir / name));
    };
    SUBCASE("a shape whose element count overflows 64 bits (was: converted as a 1x1 filter)") {
        auto e = variant("shape-overflow", [](TinyModel& t) {
            replace_weight(t, "Tiny/stem/weights", {1, 1, 3, 16}, std::vector<float>(48, 0.25f));
            manifest_entry(t, "Tiny/stem/weights")["shape"] = json::array({9223372036854775809ull, 1, 3, 16});
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/stem/weights", "shape");
    }
    SUBCASE("a shape of 2^64-1 elements (was: vector::_M_default_append)") {
        auto e = variant("shape-huge", [](TinyModel& t) {
            manifest_entry(t, "Tiny/stem/bias")["shape"] = json::array({4294967296ull, 4294967295ull});
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/stem/bias", "shape");
    }
    SUBCASE("a negative dimension") {
        auto e = variant("shape-negative", [](TinyModel& t) { manifest_entry(t, "Tiny/stem/bias")["shape"] = {-1, -16}; });
        CHECK_MENTIONS(e, "model.json", "Tiny/stem/bias", "shape");
    }
    SUBCASE("a dimension that is a string") {
        auto e = variant("shape-string", [](TinyModel& t) { manifest_entry(t, "Tiny/stem/bias")["shape"] = {"16"}; });
        CHECK_MENTIONS(e, "model.json", "Tiny/stem/bias", "shape");
    }
    SUBCASE("a dtype that is a number") {
        auto e = variant("dtype-number", [](TinyModel& t) { manifest_entry(t, "Tiny/stem/bias")["dtype"] = 4; });
        CHECK_MENTIONS(e, "model.json", "Tiny/stem/bias", "dtype");
    }
    SUBCASE("quantization with a string scale") {
        auto e = variant("quant-scale", [](TinyModel& t) {
            manifest_entry(t, "Tiny/stem/bias")["quantization"] = {{"dtype", "uint8"}, {"scale", "big"}, {"min", 0}};
        });
        CHECK_MENTIONS(e, "model.json", "Tiny/stem/bias", "scale");
    }
    SUBCASE("quantization with an infinite scale") {
        auto e = variant("quant-inf", [](TinyModel& t) {
            manifest_entry(t, "Tiny/stem/bias")["quantization"] = {{"dtype", "uint8"}, {"scale", 1e308}, {"min", -1e308}};
        });
        // 16 bytes of uint8 where 64 of float32 were: the sizes disagree, or the values are not finite.
        CHECK_MENTIONS(e, "model.json");
        CHECK(e.find("not a ModelError") == std::string::npos);
    }
    SUBCASE("paths that is a string") {
        auto e = variant("paths-string", [](TinyModel& t) { t.model["weightsManifest"][0]["paths"] = "group1-shard1of1.bin"; });
        CHECK_MENTIONS(e, "model.json", "paths");
    }
}

TEST_CASE("hostile model.json: deep nesting, huge files and files that are not JSON objects") {
    auto dir = scratch_dir("hostile-json");
    auto t0 = std::chrono::steady_clock::now();
    std::ofstream(dir / "deep.json") << std::string(10 << 20, '[');  // 10 M nested lists
    CHECK_MENTIONS(convert_error(dir / "deep.json"), "deep.json", "nested deeper");
    CHECK(seconds_since(t0) < 10);
    REQUIRE(::truncate((dir / "deep.json").c_str(), off_t(1) << 32) == 0);  // 4 GiB, sparse: never read
    CHECK_MENTIONS(convert_error(dir / "deep.json"), "deep.json", "4294967296 bytes");
    std::ofstream(dir / "list.json") << "[1, 2, 3]";
    CHECK_MENTIONS(convert_error(dir / "list.json"), "list.json", "expected a JSON object");
    std::ofstream(dir / "format.json") << R"({"format": 7, "modelTopology": {"node": []}})";
    CHECK_MENTIONS(convert_error(dir / "format.json"), "format.json", "format 7");
    std::ofstream(dir / "empty.json") << R"({"format": "graph-model", "modelTopology": {"node": []}, "weightsManifest": []})";
    CHECK_MENTIONS(convert_error(dir / "empty.json"), "empty.json", "no heatmap output");
}

TEST_CASE("hostile model.json: a 100k-node Identity chain converts without recursion") {
    auto dir = scratch_dir("hostile-identity-chain");
    TinyModel t;
    insert_identity_chain(t, 100000);
    Network net;
    CHECK_NOTHROW(net = load_tfjs_model(t.write(dir)));
    CHECK(net.layers.size() == 7);
    // A cycle through a long chain is found the same way.
    t.node("Tiny/id/0")["input"][0] = "Tiny/id/99999";
    CHECK_MENTIONS(convert_error(t.write(dir / "cycle")), "model.json", "cycle");
}

TEST_CASE("hostile model.json: layers whose grid does not follow the output stride are refused") {
    auto dir = scratch_dir("hostile-grid");
    TinyModel t;
    // 3x3 VALID heads: the heatmap grid loses a cell each side, so (R-1)/stride+1 no longer holds.
    for (auto [head, ch] : std::vector<std::pair<std::string, int>>{
             {"heatmap_2", 17}, {"offset_2", 34}, {"displacement_fwd_2", 32}, {"displacement_bwd_2", 32}}) {
        replace_weight(t, "Tiny/" + head + "/weights", {3, 3, 16, ch}, std::vector<float>(size_t(9 * 16 * ch), 0.01f));
        t.node("Tiny/" + head + "/conv")["attr"]["padding"]["s"] = "VkFMSUQ=";
    }
    CHECK_MENTIONS(convert_error(t.write(dir)), "model.json", "output stride");
}

TEST_CASE("hostile shards: paths stay inside the model's folder; special files are refused promptly") {
    auto dir = scratch_dir("hostile-shards");
    TinyModel t;
    auto with_path = [&](const std::string& name, const std::string& shard_path) {
        TinyModel v = t;
        v.model["weightsManifest"][0]["paths"][0] = shard_path;
        return v.write(dir / name);
    };
    // The right bytes outside the folder: a converter that follows ../ would succeed.
    auto outside = t.write(dir / "outside");
    SUBCASE("../x") {
        auto m = with_path("dotdot", "../outside/group1-shard1of1.bin");
        CHECK_MENTIONS(convert_error(m), "model.json", "../outside/group1-shard1of1.bin", "outside");
    }
    SUBCASE("a/../../x") {
        auto m = with_path("dotdot2", "sub/../../outside/group1-shard1of1.bin");
        CHECK_MENTIONS(convert_error(m), "model.json", "outside");
    }
    SUBCASE("absolute paths") {
        auto m = with_path("absolute", (dir / "outside/group1-shard1of1.bin").string());
        CHECK_MENTIONS(convert_error(m), "model.json", "absolute");
        auto m2 = with_path("passwd", "/etc/passwd");
        CHECK_MENTIONS(convert_error(m2), "model.json", "/etc/passwd", "absolute");
    }
    SUBCASE("/dev/zero") {
        auto t0 = std::chrono::steady_clock::now();
        auto m = with_path("devzero", "/dev/zero");
        CHECK_MENTIONS(convert_error(m), "model.json", "/dev/zero");
        CHECK(seconds_since(t0) < 5);
    }
    SUBCASE("a symlink that resolves outside") {
        auto m = t.write(dir / "symlink-out");
        fs::remove(m.parent_path() / "group1-shard1of1.bin");
        fs::create_symlink(outside.parent_path() / "group1-shard1of1.bin", m.parent_path() / "group1-shard1of1.bin");
        CHECK_MENTIONS(convert_error(m), "model.json", "group1-shard1of1.bin", "outside");
    }
    SUBCASE("inside the folder, through a subfolder, .. or a symlink: fine") {
        auto m = with_path("inside", "sub/../group1-shard1of1.bin");
        fs::create_directories(m.parent_path() / "sub");
        CHECK(convert_error(m) == "(no error)");
        auto m2 = with_path("symlink-in", "link.bin");
        fs::create_symlink("group1-shard1of1.bin", m2.parent_path() / "link.bin");
        CHECK(convert_error(m2) == "(no error)");
    }
    SUBCASE("a FIFO shard") {
        auto m = t.write(dir / "fifo-shard");
        const fs::path shard = m.parent_path() / "group1-shard1of1.bin";
        fs::remove(shard);
        REQUIRE(::mkfifo(shard.c_str(), 0600) == 0);
        FifoUnblocker unblock(shard, std::chrono::seconds(5));
        auto t0 = std::chrono::steady_clock::now();
        CHECK_MENTIONS(convert_error(m), "group1-shard1of1.bin", "FIFO");
        CHECK(seconds_since(t0) < 4);
    }
    SUBCASE("a shard far larger than the manifest says is not read") {
        auto m = t.write(dir / "sparse");
        const fs::path shard = m.parent_path() / "group1-shard1of1.bin";
        REQUIRE(::truncate(shard.c_str(), off_t(1) << 34) == 0);  // 16 GiB, sparse
        auto t0 = std::chrono::steady_clock::now();
        CHECK_MENTIONS(convert_error(m), "model.json", "group1-shard1of1.bin", "17179869184");
        CHECK(seconds_since(t0) < 4);
    }
}

TEST_CASE("hostile files: a FIFO, a device or a folder as model.json or blob is refused promptly") {
    auto dir = scratch_dir("hostile-special-files");
    REQUIRE(::mkfifo((dir / "model.json").c_str(), 0600) == 0);
    REQUIRE(::mkfifo((dir / "model.pnb").c_str(), 0600) == 0);
    FifoUnblocker unblock_json(dir / "model.json", std::chrono::seconds(5));
    FifoUnblocker unblock_blob(dir / "model.pnb", std::chrono::seconds(5));
    auto t0 = std::chrono::steady_clock::now();
    CHECK_MENTIONS(convert_error(dir / "model.json"), "model.json", "FIFO");
    CHECK_MENTIONS(convert_error(dir), "model.json", "FIFO");  // the folder form finds it
    CHECK_MENTIONS(blob_error(dir / "model.pnb"), "model.pnb", "FIFO");
    CHECK_MENTIONS(convert_error("/dev/zero"), "/dev/zero", "character device");
    CHECK_MENTIONS(blob_error("/dev/zero"), "/dev/zero", "character device");
    fs::create_directories(dir / "folder.pnb");
    CHECK_MENTIONS(blob_error(dir / "folder.pnb"), "folder.pnb", "directory");
    // The command line: one line naming the file, exit code 1, no output file.
    auto r = run_command(posenet_cli() + " inspect " + (dir / "model.pnb").string());
    CHECK(r.exit_code == 1);
    CHECK_MENTIONS(r.output, "model.pnb", "FIFO");
    r = run_command(posenet_cli() + " convert " + (dir / "model.json").string() + " -o " + (dir / "out.pnb").string());
    CHECK(r.exit_code == 1);
    CHECK_MENTIONS(r.output, "model.json", "FIFO");
    CHECK_FALSE(fs::exists(dir / "out.pnb"));
    CHECK(seconds_since(t0) < 4);
}

TEST_CASE("hostile blob: header fields that wrap around are refused; the checksum covers the header") {
    auto dir = scratch_dir("hostile-blob-header");
    const BlobBytes good(tiny_blob(dir));
    const uint64_t file_bytes = good.bytes.size();
    auto patched = [&](const std::string& name, auto patch, bool reseal = true) {
        BlobBytes b = good;
        patch(b);
        if (reseal) b.reseal();
        return blob_error(b.write(dir / name));
    };
    SUBCASE("weights_offset 2^64-64 (was: read outside the mapping)") {
        auto e = patched("weights-offset.pnb", [&](BlobBytes& b) {
            b.set<uint64_t>(32, ~uint64_t(63));
            b.set<uint64_t>(40, file_bytes + 64);  // so that offset + bytes wraps to the file size
        });
        CHECK_MENTIONS(e, "weights-offset.pnb", "header");
    }
    SUBCASE("meta_bytes near 2^64") {
        CHECK_MENTIONS(patched("meta-bytes.pnb", [](BlobBytes& b) { b.set<uint64_t>(24, ~uint64_t(31)); }), "meta-bytes.pnb",
                       "header");
    }
    SUBCASE("meta_offset near 2^64") {
        CHECK_MENTIONS(patched("meta-offset.pnb", [](BlobBytes& b) { b.set<uint64_t>(16, ~uint64_t(63)); }), "meta-offset.pnb",
                       "header");
    }
    SUBCASE("file size field") {
        CHECK_MENTIONS(patched("file-bytes.pnb", [](BlobBytes& b) { b.set<uint64_t>(56, ~uint64_t(0)); }), "file-bytes.pnb",
                       "header");
    }
    SUBCASE("a header patch without a new checksum is a checksum mismatch") {
        auto e = patched("unsealed.pnb", [](BlobBytes& b) { b.set<uint64_t>(40, b.get<uint64_t>(40) - 64); }, false);
        CHECK_MENTIONS(e, "unsealed.pnb", "checksum");
    }
    SUBCASE("version 1 asks for re-conversion") {
        auto e = patched("v1.pnb", [](BlobBytes& b) { b.set<uint32_t>(8, 1); });
        CHECK_MENTIONS(e, "v1.pnb", "version 1", "posenet convert");
    }
}

TEST_CASE("hostile blob: layer and model records out of range are refused, naming the record and value") {
    auto dir = scratch_dir("hostile-blob-records");
    const BlobBytes good(tiny_blob(dir));
    REQUIRE(good.layer_records.size() == 7);
    const size_t conv = good.layer_records[2];       // conv3: a GEMM conv (16 input channels)
    const size_t depthwise = good.layer_records[1];  // conv2
    auto patched = [&](const std::string& name, auto patch) {
        BlobBytes b = good;
        patch(b);
        b.reseal();
        return blob_error(b.write(dir / name));
    };
    auto layer_field = [&](const std::string& name, size_t record, size_t field, auto value) {
        return patched(name, [&](BlobBytes& b) { b.set(record + field, value); });
    };
    SUBCASE("weight_offset near 2^64 (was: GEMM read out of bounds)") {
        const uint64_t count = good.get<uint64_t>(conv + kWeightCount);
        CHECK_MENTIONS(layer_field("weight-offset.pnb", conv, kWeightOffset, uint64_t(0) - count + 16), "weight-offset.pnb",
                       "Tiny/conv3", "weight");
    }
    SUBCASE("bias_offset near 2^64") {
        CHECK_MENTIONS(layer_field("bias-offset.pnb", conv, kBiasOffset, ~uint64_t(0) - 7), "bias-offset.pnb", "Tiny/conv3",
                       "bias");
    }
    SUBCASE("weight_count huge") {
        CHECK_MENTIONS(layer_field("weight-count.pnb", conv, kWeightCount, ~uint64_t(0)), "weight-count.pnb", "Tiny/conv3");
    }
    SUBCASE("depthwise with 0 input channels (was: SIGFPE)") {
        CHECK_MENTIONS(layer_field("zero-channels.pnb", depthwise, kInChannels, int32_t(0)), "zero-channels.pnb",
                       "Tiny/conv2", "channels");
        auto e = patched("zero-tensor.pnb", [&](BlobBytes& b) {
            b.set<int32_t>(good.tensor_table + 4 * 1, 0);  // the stem's output tensor
            b.set<int32_t>(good.layer_records[0] + kOutChannels, 0);
            b.set<int32_t>(depthwise + kInChannels, 0);
        });
        CHECK_MENTIONS(e, "zero-tensor.pnb", "channels");
    }
    SUBCASE("channel counts out of range") {
        CHECK_MENTIONS(layer_field("neg-channels.pnb", conv, kOutChannels, int32_t(-16)), "neg-channels.pnb", "Tiny/conv3");
        auto e = patched("huge-tensor.pnb", [&](BlobBytes& b) { b.set<int32_t>(good.tensor_table, 2147483647); });
        CHECK_MENTIONS(e, "huge-tensor.pnb", "channels");
    }
    SUBCASE("dilation, stride, kernel and pads of 2^31-1") {
        for (size_t field : {kDilationH, kDilationW, kStrideH, kStrideW, kKernelH, kPadTop, kPadRight}) {
            CAPTURE(field);
            CHECK_MENTIONS(layer_field("geometry.pnb", depthwise, field, int32_t(2147483647)), "geometry.pnb", "Tiny/conv2",
                           "2147483647");
        }
    }
    SUBCASE("unknown enum values name the layer and the value") {
        CHECK_MENTIONS(layer_field("kind.pnb", conv, kKind, uint32_t(9)), "kind.pnb", "Tiny/conv3", "kind", "9");
        CHECK_MENTIONS(layer_field("activation.pnb", conv, kActivation, uint32_t(7)), "activation.pnb", "Tiny/conv3",
                       "activation", "7");
        CHECK_MENTIONS(layer_field("padding.pnb", conv, kPadding, uint32_t(5)), "padding.pnb", "Tiny/conv3", "padding", "5");
    }
    SUBCASE("model record fields") {
        auto model_field = [&](const std::string& name, size_t field, auto value) {
            return patched(name, [&](BlobBytes& b) { b.set(good.model_record + field, value); });
        };
        CHECK_MENTIONS(model_field("transform.pnb", kInputTransform, uint32_t(7)), "transform.pnb", "input_transform", "7");
        CHECK_MENTIONS(model_field("architecture.pnb", kArchitecture, uint32_t(9)), "architecture.pnb", "architecture", "9");
        CHECK_MENTIONS(model_field("dilation-reading.pnb", kDilationReading, uint32_t(5)), "dilation-reading.pnb",
                       "dilation_reading", "5");
        CHECK_MENTIONS(model_field("quant.pnb", kQuantBytes, uint32_t(3)), "quant.pnb", "quant_bytes", "3");
        CHECK_MENTIONS(model_field("multiplier.pnb", kMultiplier, std::nanf("")), "multiplier.pnb", "multiplier");
        CHECK_MENTIONS(model_field("tensors.pnb", kTensorCount, ~uint32_t(0)), "tensors.pnb", "tensor");
        CHECK_MENTIONS(model_field("layers.pnb", kLayerCount, ~uint32_t(0)), "layers.pnb", "layer");
        CHECK_MENTIONS(model_field("heatmap.pnb", kHeatmap, int32_t(-5)), "heatmap.pnb", "output");
        CHECK_MENTIONS(model_field("name.pnb", kSourceNameBytes, ~uint32_t(0)), "name.pnb");
    }
    SUBCASE("output_stride that disagrees with the layers (was: keypoints scaled wrongly)") {
        for (uint32_t stride : {16u, 4u, 0u, 4294967295u}) {
            CAPTURE(stride);
            auto e = patched("output-stride.pnb", [&](BlobBytes& b) { b.set(good.model_record + kOutputStride, stride); });
            CHECK_MENTIONS(e, "output-stride.pnb", "output_stride", std::to_string(stride), "8");
        }
    }
    SUBCASE("a layer name longer than the metadata") {
        CHECK_MENTIONS(layer_field("name-bytes.pnb", conv, kNameBytes, uint32_t(4000)), "name-bytes.pnb");
    }
}

TEST_CASE("hostile geometry: huge sizes and attributes throw ModelError, never overflow") {
    CHECK_THROWS_AS(same_padding(2147483647, 3, 2, 1), ModelError);
    CHECK_THROWS_AS(same_padding(257, 3, 2, 2147483647), ModelError);
    CHECK_THROWS_AS(same_padding(257, 2147483647, 1, 2), ModelError);
    CHECK_THROWS_AS(same_padding(257, 3, 0, 1), ModelError);
    SamePad p = same_padding(257, 3, 2, 1);
    CHECK(p.out == 129);
    CHECK(p.before == 1);
    CHECK(p.after == 1);

    auto dir = scratch_dir("hostile-geometry");
    TinyModel t;
    make_conv2_depthwise(t);
    const Network good = load_tfjs_model(t.write(dir));
    CHECK_THROWS_AS(good.geometry(2147483647, 257), ModelError);
    CHECK_THROWS_AS(good.geometry(257, 257, 2147483647), ModelError);
    CHECK_THROWS_AS(good.geometry(0, 257), ModelError);
    for (int Layer::*field : {&Layer::dilation_h, &Layer::stride_w, &Layer::kernel_h, &Layer::pad_top, &Layer::pad_right}) {
        Network bad = good;
        bad.layers[1].*field = 2147483647;
        CHECK_THROWS_AS(bad.validate(), ModelError);
        CHECK_THROWS_AS(bad.geometry(257, 257), ModelError);
    }
    Network bad = good;
    bad.layers[1].in_channels = 0;
    CHECK_THROWS_AS(bad.validate(), ModelError);
}

TEST_CASE("hostile blob: every single-byte mutation ends in a ModelError or a network that is consistent") {
    auto dir = scratch_dir("hostile-blob-sweep");
    const BlobBytes good(tiny_blob(dir));
    const fs::path file = dir / "mutant.pnb";
    good.write(file);
    const size_t weights_start = good.get<uint64_t>(32);
    int loaded = 0, refused = 0, ran = 0;
    const std::vector<float> input(size_t(17) * 17 * 3, 0.5f);

    // A loaded network must validate, and at each size either refuse or give consistent shapes; the
    // CPU executor then reads every offset and tap the loader let through.
    auto check_network = [&](const Network& net, size_t at, bool run_it) {
        CHECK_NOTHROW(net.validate());
        for (auto [h, w, n] : std::vector<std::array<int, 3>>{{1, 1, 1}, {17, 17, 1}, {33, 21, 2}}) {
            std::vector<LayerGeometry> geo;
            try {
                geo = net.geometry(h, w, n);
            } catch (const ModelError&) {
                continue;
            }
            bool consistent = geo.size() == net.layers.size();
            for (size_t i = 0; consistent && i < geo.size(); ++i) {
                const Layer& l = net.layers[i];
                consistent = geo[i].out.n == n && geo[i].out.h >= 1 && geo[i].out.w >= 1 && geo[i].out.c == l.out_channels &&
                             geo[i].in.c == l.in_channels && l.weight_offset <= net.weights.size() &&
                             l.weight_count <= net.weights.size() - l.weight_offset && l.bias_offset <= net.weights.size() &&
                             l.bias_count <= net.weights.size() - l.bias_offset;
            }
            if (!consistent) FAIL_CHECK("byte " << at << ": inconsistent geometry at " << n << "x" << h << "x" << w);
        }
        if (!run_it) return;
        CpuExecutor cpu(net);
        try {
            cpu.run(input, 17, 17, 1);
            ++ran;
        } catch (const ModelError&) {
        }
    };
    size_t last_run = ~size_t(0);  // the executor runs once per byte position (it is the slow part)
    auto try_load = [&](size_t at, bool check_it) {
        try {
            Network net = load_blob(file);
            ++loaded;
            if (check_it) check_network(net, at, last_run != at);
            if (check_it) last_run = at;
        } catch (const ModelError& e) {
            ++refused;
            std::string what = e.what();
            if (what.find("mutant.pnb") == std::string::npos) FAIL_CHECK("message without the file name at byte " << at << ": " << what);
        } catch (const std::exception& e) {
            FAIL_CHECK("byte " << at << ": not a ModelError: " << e.what());
        }
    };
    int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(fd >= 0);
    auto put = [&](size_t at, const void* p, size_t n) { REQUIRE(::pwrite(fd, p, n, off_t(at)) == ssize_t(n)); };
    BlobBytes mutant = good;
    for (size_t at = 0; at < good.bytes.size(); ++at) {
        const uint8_t original = uint8_t(good.bytes[at]);
        // Header and metadata: six values a byte, each as corrupted (the checksum refuses it) and
        // resealed (to reach the structural checks). The weights are only ever values: one flip
        // each (sign or exponent bits), resealed.
        const bool structure = at < weights_start;
        std::vector<uint8_t> values{uint8_t(original ^ 0x80)};
        if (structure) values.insert(values.end(), {uint8_t(original + 1), uint8_t(original - 1), uint8_t(original ^ 0x01), 0x00, 0xFF});
        for (uint8_t v : values) {
            if (v == original) continue;
            mutant.bytes[at] = char(v);
            put(at, &v, 1);
            if (structure) try_load(at, false);
            if (at < 48 || at >= 56) {  // (bytes 48..55 are the checksum itself)
                mutant.reseal();
                put(48, mutant.bytes.data() + 48, 8);
                try_load(at, structure);
                put(48, good.bytes.data() + 48, 8);
                mutant.bytes.replace(48, 8, good.bytes, 48, 8);
            }
        }
        mutant.bytes[at] = char(original);
        put(at, &original, 1);
    }
    ::close(fd);
    MESSAGE("mutants loaded: " << loaded << ", refused: " << refused << ", run: " << ran);
    CHECK(loaded > 0);
    CHECK(refused > 0);
}
