// See test_model_generator.h. Graph facts mirrored here (checked against the official files with
// compare_topology, see make_test_model.cpp --compare-topology):
//
// MobileNetV1 (official converter output, TF.js Converter v1.1.2):
//  - nodes: Placeholder `sub_2` [1,-1,-1,3]; the 62 Consts in manifest order; then per layer
//    Conv2D|DepthwiseConv2dNative `.../BatchNorm/batchnorm/add_1/conv`, BiasAdd `.../add_1`,
//    Relu6; then the four head Conv2Ds (offset, heatmap, fwd, bwd) and their BiasAdds.
//  - Const/manifest order: offset_2, Conv2d_13..1 (pointwise, depthwise), Conv2d_0, heatmap_2,
//    displacement_fwd_2, displacement_bwd_2; bias before weights in each pair.
//  - depths: MobileNetV1 depths x multiplier, except that the 0.75 and 0.50 networks keep
//    512 x multiplier for Conv2d_12/13 (PoseNet's mobileNet75/50Architecture: Conv2d_12 has
//    stride 1, so their native output stride is 16 and stride 32 exists only at 1.0).
//  - output stride: PoseNet's toOutputStridedLayers. Once the running stride equals the target
//    a layer's stride becomes 1 and later depthwise convs get the accumulated rate. The rate r
//    is stored as dilations [r, r, 1, 1] (what the official stride-8 graph has; TF.js reads
//    (attr[1], attr[2]) = (r, 1)). Pointwise convs keep [1,1,1,1].
// ResNet50 (resnet_v1_50, official topology files for strides 16 and 32):
//  - stem Pad [[0,0],[3,3],[3,3],[0,0]] -> conv1 7x7/2 VALID -> Relu -> Pad_1
//    [[0,0],[1,1],[1,1],[0,0]] -> pool1 MaxPool 3x3/2 VALID.
//  - blocks of bottleneck units (depth 64/128/256/512, 3/4/6/3 units); unit_1 of a block has a
//    1x1 conv shortcut, the last unit of blocks 1-3 subsamples (shortcut MaxPool 1x1/s SAME,
//    conv2 = Pad (reusing Pad_1/paddings) + 3x3/s VALID). slim's output-stride rule: at stride 16
//    block3/unit_6 runs with s = 1 (same Pad + VALID form) and block4's conv2 get rate 2,
//    stored as [2,2,1,1].
//  - Add inputs: (conv3, shortcut) in units with a shortcut op, (previous Relu, conv3) otherwise.
//  - outputs: float_heatmaps, float_short_offsets, resnet_v1_50/displacement_{fwd,bwd}_2/BiasAdd.
//  - the Const/manifest order is the converter's traversal order, reproduced by rule in
//    resnet50_const_order() below.
// Quantization is tfjs-converter's (python/tensorflowjs/quantization.py): range nudged so that 0
// is exact, q = round((clip(x) - min) / scale) evaluated in float32 as numpy 1.x does for float32
// data (this reproduces the official quant2 MobileNet shard bit for bit from the float one).
// int32 weights (the ResNet paddings) are quantized too in quantized models (the official
// quant2 ResNet manifest has them as uint16 with "dtype": "int32"; TF.js rounds them back).
#include "tools/test_model_generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <type_traits>

namespace posenet::testmodel {
namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

constexpr size_t kShardBytes = 4194304;

// ---------------------------------------------------------------------------------------------
// Small helpers

std::string base64(const std::string& s) {
    static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < s.size(); i += 3) {
        uint32_t v = uint32_t(uint8_t(s[i])) << 16 | uint32_t(uint8_t(s[i + 1])) << 8 | uint8_t(s[i + 2]);
        out += tbl[v >> 18 & 63];
        out += tbl[v >> 12 & 63];
        out += tbl[v >> 6 & 63];
        out += tbl[v & 63];
    }
    if (i + 1 == s.size()) {
        uint32_t v = uint32_t(uint8_t(s[i])) << 16;
        out += tbl[v >> 18 & 63];
        out += tbl[v >> 12 & 63];
        out += "==";
    } else if (i + 2 == s.size()) {
        uint32_t v = uint32_t(uint8_t(s[i])) << 16 | uint32_t(uint8_t(s[i + 1])) << 8;
        out += tbl[v >> 18 & 63];
        out += tbl[v >> 12 & 63];
        out += tbl[v >> 6 & 63];
        out += '=';
    }
    return out;
}

uint64_t fnv1a64(const std::string& s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

// N(0, 1) approximated by the Irwin-Hall sum of 12 uniforms (16-bit each, four per draw of
// mt19937_64; tails bounded at +-6). Exact integer arithmetic, so the samples are the same on
// every platform. Each tensor gets its own stream seeded from (seed, name): a weight's values
// do not depend on which graph (stride, fused or not, quantization) it is written for, like the
// official folders whose stride-8 and stride-16 graphs share one set of shards.
class Normal {
public:
    Normal(uint64_t seed, const std::string& name) {
        uint64_t h = fnv1a64(name);
        std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(h), uint32_t(h >> 32)};
        gen_.seed(seq);
    }
    double next() {
        uint64_t s = 0;
        for (int i = 0; i < 3; ++i) {
            uint64_t v = gen_();
            s += (v & 0xffff) + (v >> 16 & 0xffff) + (v >> 32 & 0xffff) + (v >> 48);
        }
        // Sum of (k + 1/2) / 2^16 over the 12 uniforms, minus the mean 6.
        return (double(s) + 6.0) * 0x1p-16 - 6.0;
    }

private:
    std::mt19937_64 gen_;
};

struct Tensor {
    std::string name;
    std::vector<int> shape;
    bool is_int = false;
    std::vector<float> f;
    std::vector<int32_t> i;
};

size_t element_count(const std::vector<int>& shape) {
    size_t n = 1;
    for (int d : shape) n *= size_t(d);
    return n;
}

Tensor random_tensor(uint64_t seed, const std::string& name, std::vector<int> shape, double mean, double stddev) {
    Tensor t;
    t.name = name;
    t.shape = std::move(shape);
    size_t n = element_count(t.shape);
    t.f.resize(n);
    Normal rng(seed, name);
    for (size_t k = 0; k < n; ++k) t.f[k] = float(mean + stddev * rng.next());
    return t;
}

Tensor paddings_tensor(const std::string& name, int p) {
    Tensor t;
    t.name = name;
    t.shape = {4, 2};
    t.is_int = true;
    t.i = {0, 0, p, p, p, p, 0, 0};
    return t;
}

// ---------------------------------------------------------------------------------------------
// Weight scales. Trained PoseNet weights have BatchNorm folded in, which keeps activations O(1);
// He-style scaling (std = sqrt(2 / fan_in)) does the same for random weights. Heads are scaled
// so that heatmap logits are mostly in [-6, 3] (sigmoid scores spread over (0, 1)), offsets are
// a few pixels and displacements some tens of pixels. The constants were tuned by running the
// generated models through TF.js (tools/reference) on photos.

constexpr double kBiasStd = 0.1;
constexpr double kMobileFirstStd = 0.33;  // Conv2d_0 on inputs in [-1, 1]
constexpr double kResNetStemStd = 0.117 / 64;  // sqrt(2/147) / 64: inputs are pixels - mean, std ~64
constexpr double kResNetConv3Gain = 0.2;  // residual branch output scale: keeps the stream bounded

struct HeadScale {
    double weight_gain;  // std = weight_gain / sqrt(fan_in)
    double bias_mean, bias_std;
};

HeadScale head_scale(Architecture arch, const std::string& head) {
    bool resnet = arch == Architecture::ResNet50;
    // With weight_gain 1 the head outputs vary over the image with a std of ~0.09-0.18
    // (MobileNetV1, any multiplier/stride/seed) or ~0.75 (ResNet50), and their per-channel means
    // spread ~2.3x as much. Targets for that spatial std: heatmap logits 0.7, offsets 1.5 px,
    // displacements 5 px.
    if (head == "heatmap_2") return resnet ? HeadScale{0.9, -2.0, 0.3} : HeadScale{5.5, -2.0, 0.3};
    if (head == "offset_2") return resnet ? HeadScale{2.0, 0.0, 1.0} : HeadScale{11.5, 0.0, 1.0};
    return resnet ? HeadScale{7.0, 0.0, 3.0} : HeadScale{38.0, 0.0, 3.0};  // displacement_fwd/bwd_2
}

// ---------------------------------------------------------------------------------------------
// JSON pieces

ojson type_attr(const char* t) { return ojson{{"type", t}}; }
ojson s_attr(const std::string& s) { return ojson{{"s", base64(s)}}; }
ojson ints_attr(std::array<int, 4> v) {
    ojson l = ojson::array();
    for (int x : v) l.push_back(std::to_string(x));
    return ojson{{"list", ojson{{"i", l}}}};
}
ojson empty_list_attr() { return ojson{{"list", ojson::object()}}; }
ojson dilation_attr(int rate) { return rate > 1 ? ints_attr({rate, rate, 1, 1}) : ints_attr({1, 1, 1, 1}); }
ojson stride_attr(int s) { return ints_attr({1, s, s, 1}); }
ojson fused_ops_attr(bool relu6) {
    ojson l = ojson::array();
    l.push_back(base64("BiasAdd"));
    if (relu6) l.push_back(base64("Relu6"));
    return ojson{{"list", ojson{{"s", l}}}};
}

ojson tensor_shape(const std::vector<int>& shape) {
    ojson dims = ojson::array();
    for (int d : shape) dims.push_back(ojson{{"size", std::to_string(d)}});
    return ojson{{"dim", dims}};
}

ojson make_node(const std::string& name, const char* op, const std::vector<std::string>& inputs, ojson attr,
                const char* device = nullptr) {
    ojson n = ojson::object();
    n["name"] = name;
    n["op"] = op;
    if (!inputs.empty()) n["input"] = inputs;
    if (device) n["device"] = device;
    n["attr"] = std::move(attr);
    return n;
}

ojson const_node(const Tensor& t) {
    const char* dt = t.is_int ? "DT_INT32" : "DT_FLOAT";
    ojson attr = ojson::object();
    attr["value"] = ojson{{"tensor", ojson{{"dtype", dt}, {"tensorShape", tensor_shape(t.shape)}}}};
    attr["dtype"] = type_attr(dt);
    return make_node(t.name, "Const", {}, std::move(attr));
}

ojson placeholder_node(const std::string& name, const std::vector<int>& shape) {
    ojson attr = ojson::object();
    attr["dtype"] = type_attr("DT_FLOAT");
    attr["shape"] = ojson{{"shape", tensor_shape(shape)}};
    return make_node(name, "Placeholder", {}, std::move(attr));
}

ojson conv2d_node(const std::string& name, const std::string& in, const std::string& w, int stride, int rate,
                  const char* padding) {
    ojson a = ojson::object();
    a["T"] = type_attr("DT_FLOAT");
    a["data_format"] = s_attr("NHWC");
    a["dilations"] = dilation_attr(rate);
    a["explicit_paddings"] = empty_list_attr();
    a["padding"] = s_attr(padding);
    a["strides"] = stride_attr(stride);
    a["use_cudnn_on_gpu"] = ojson{{"b", true}};
    return make_node(name, "Conv2D", {in, w}, std::move(a));
}

ojson depthwise_node(const std::string& name, const std::string& in, const std::string& w, int stride, int rate) {
    ojson a = ojson::object();
    a["T"] = type_attr("DT_FLOAT");
    a["data_format"] = s_attr("NHWC");
    a["dilations"] = dilation_attr(rate);
    a["padding"] = s_attr("SAME");
    a["strides"] = stride_attr(stride);
    return make_node(name, "DepthwiseConv2dNative", {in, w}, std::move(a));
}

ojson fused_conv2d_node(const std::string& name, const std::string& in, const std::string& w, const std::string& b,
                        int stride, int rate, bool relu6) {
    ojson a = ojson::object();
    a["T"] = type_attr("DT_FLOAT");
    a["data_format"] = s_attr("NHWC");
    a["dilations"] = dilation_attr(rate);
    a["epsilon"] = ojson{{"f", 0}};
    a["explicit_paddings"] = empty_list_attr();
    a["fused_ops"] = fused_ops_attr(relu6);
    a["num_args"] = ojson{{"i", "1"}};
    a["padding"] = s_attr("SAME");
    a["strides"] = stride_attr(stride);
    a["use_cudnn_on_gpu"] = ojson{{"b", true}};
    return make_node(name, "_FusedConv2D", {in, w, b}, std::move(a), "/device:CPU:0");
}

ojson fused_depthwise_node(const std::string& name, const std::string& in, const std::string& w,
                           const std::string& b, int stride, int rate) {
    ojson a = ojson::object();
    a["T"] = type_attr("DT_FLOAT");
    a["data_format"] = s_attr("NHWC");
    a["dilations"] = dilation_attr(rate);
    a["explicit_paddings"] = empty_list_attr();
    a["fused_ops"] = fused_ops_attr(true);
    a["num_args"] = ojson{{"i", "1"}};
    a["padding"] = s_attr("SAME");
    a["strides"] = stride_attr(stride);
    return make_node(name, "FusedDepthwiseConv2dNative", {in, w, b}, std::move(a));
}

ojson bias_add_node(const std::string& name, const std::string& in, const std::string& b) {
    ojson a = ojson::object();
    a["T"] = type_attr("DT_FLOAT");
    a["data_format"] = s_attr("NHWC");
    return make_node(name, "BiasAdd", {in, b}, std::move(a));
}

ojson unary_node(const std::string& name, const char* op, const std::string& in) {
    return make_node(name, op, {in}, ojson{{"T", type_attr("DT_FLOAT")}});
}

ojson add_node(const std::string& name, const std::string& a, const std::string& b) {
    return make_node(name, "Add", {a, b}, ojson{{"T", type_attr("DT_FLOAT")}});
}

ojson pad_node(const std::string& name, const std::string& in, const std::string& paddings) {
    ojson a = ojson::object();
    a["T"] = type_attr("DT_FLOAT");
    a["Tpaddings"] = type_attr("DT_INT32");
    return make_node(name, "Pad", {in, paddings}, std::move(a));
}

ojson max_pool_node(const std::string& name, const std::string& in, int k, int stride, const char* padding) {
    ojson a = ojson::object();
    a["T"] = type_attr("DT_FLOAT");
    a["data_format"] = s_attr("NHWC");
    a["ksize"] = ints_attr({1, k, k, 1});
    a["padding"] = s_attr(padding);
    a["strides"] = stride_attr(stride);
    return make_node(name, "MaxPool", {in}, std::move(a));
}

// A graph under construction: Const tensors in manifest order, and the other nodes in order.
struct Graph {
    std::vector<Tensor> weights;
    ojson ops = ojson::array();
};

// ---------------------------------------------------------------------------------------------
// Quantization and shards

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
    uint8_t b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
    out.insert(out.end(), b, b + 4);
}

// tfjs-converter's quantize_weights for float32 or int32 data: appends the uint8/uint16 values
// (little-endian) to `out` and sets min and scale.
template <class T>
void quantize_into(const T* data, size_t n, int quant_bytes, std::vector<uint8_t>& out, double& min_out,
                   double& scale_out) {
    const double qmax = quant_bytes == 1 ? 255.0 : 65535.0;
    double mn = 0, mx = 0;
    if (n > 0) {
        auto [a, b] = std::minmax_element(data, data + n);
        mn = double(*a), mx = double(*b);
    }
    auto put = [&](uint32_t v) {
        out.push_back(uint8_t(v));
        if (quant_bytes == 2) out.push_back(uint8_t(v >> 8));
    };
    if (mn == mx) {
        // A single value: stored as all zeros with scale 1 and min = the value.
        min_out = mn;
        scale_out = 1.0;
        for (size_t k = 0; k < n; ++k) put(0);
        return;
    }
    double scale = (mx - mn) / qmax, nmin = mn, nmax = mx;
    if (mn <= 0 && 0 <= mx) {
        // Nudge the range so that 0 is exactly representable (half to even, like np.round).
        double zero_point = std::nearbyint((0 - mn) / scale);
        nmin = -zero_point * scale;
        nmax = qmax * scale + nmin;
    }
    if constexpr (std::is_integral_v<T>) {
        for (size_t k = 0; k < n; ++k) {
            double c = std::min(std::max(double(data[k]), nmin), nmax);
            double r = std::nearbyint((c - nmin) / scale);
            put(uint32_t(std::min(std::max(r, 0.0), qmax)));
        }
    } else {
        // numpy 1.x keeps float32 data float32 against float64 scalars: every step is float32.
        const float lo = float(nmin), hi = float(nmax), fscale = float(scale);
        for (size_t k = 0; k < n; ++k) {
            float c = std::min(std::max(data[k], lo), hi);
            float d = (c - lo) / fscale;
            float r = std::nearbyint(d);
            put(uint32_t(std::min(std::max(double(r), 0.0), qmax)));
        }
    }
    min_out = nmin;
    scale_out = scale;
}

// Appends the tensor's stored bytes; returns the manifest's "quantization" object (null if none).
ojson append_weight(const Tensor& t, int quant_bytes, std::vector<uint8_t>& out) {
    if (quant_bytes == 4) {
        if (t.is_int)
            for (int32_t v : t.i) put_u32(out, uint32_t(v));
        else
            for (float v : t.f) {
                uint32_t u;
                std::memcpy(&u, &v, 4);
                put_u32(out, u);
            }
        return nullptr;
    }
    double mn = 0, scale = 1;
    if (t.is_int)
        quantize_into(t.i.data(), t.i.size(), quant_bytes, out, mn, scale);
    else
        quantize_into(t.f.data(), t.f.size(), quant_bytes, out, mn, scale);
    ojson qj = ojson::object();
    qj["min"] = mn;
    qj["scale"] = scale;
    qj["dtype"] = quant_bytes == 1 ? "uint8" : "uint16";
    return qj;
}

// The weights manifest (one group) and the shards.
void build_weights(const std::vector<Tensor>& weights, int quant_bytes, ojson& manifest, std::vector<Shard>& shards) {
    std::vector<uint8_t> all;
    size_t total = 0;
    for (const Tensor& t : weights) total += (t.is_int ? t.i.size() : t.f.size()) * size_t(quant_bytes);
    all.reserve(total);
    ojson entries = ojson::array();
    for (const Tensor& t : weights) {
        ojson q = append_weight(t, quant_bytes, all);
        ojson e = ojson::object();
        e["name"] = t.name;
        e["shape"] = t.shape;
        e["dtype"] = t.is_int ? "int32" : "float32";
        if (!q.is_null()) e["quantization"] = std::move(q);
        entries.push_back(std::move(e));
    }
    size_t count = std::max<size_t>(1, (all.size() + kShardBytes - 1) / kShardBytes);
    ojson paths = ojson::array();
    shards.clear();
    for (size_t k = 0; k < count; ++k) {
        Shard s;
        s.file_name = "group1-shard" + std::to_string(k + 1) + "of" + std::to_string(count) + ".bin";
        size_t begin = k * kShardBytes, end = std::min(all.size(), begin + kShardBytes);
        s.bytes.assign(all.begin() + long(begin), all.begin() + long(end));
        paths.push_back(s.file_name);
        shards.push_back(std::move(s));
    }
    ojson group = ojson::object();
    group["paths"] = paths;
    group["weights"] = entries;
    manifest = ojson::array({group});
}

std::string generated_by(const Options& o) {
    return std::string("posenet-make-test-model: random weights, ") +
           (o.architecture == Architecture::ResNet50 ? "ResNet50" : "MobileNetV1") + " multiplier " +
           (o.multiplier_percent == 100 ? "1.00" : o.multiplier_percent == 75 ? "0.75" : "0.50") + " stride " +
           std::to_string(o.output_stride) + " quantBytes " + std::to_string(o.quant_bytes) + " seed " +
           std::to_string(o.seed) + (o.fused ? " fused" : "");
}

// ---------------------------------------------------------------------------------------------
// MobileNetV1

struct MobileLayer {
    int in, out, stride, rate;
};

std::vector<MobileLayer> mobilenet_layers(int multiplier_percent, int output_stride) {
    static const int kDepth[14] = {32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
    int nominal[14] = {2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};
    bool full = multiplier_percent == 100;
    if (!full) nominal[12] = 1;  // mobileNet75Architecture / mobileNet50Architecture
    std::vector<MobileLayer> layers;
    int current = 1, rate = 1, in = 3;
    for (int i = 0; i < 14; ++i) {
        int base = (!full && i >= 12) ? 512 : kDepth[i];
        MobileLayer l;
        l.in = in;
        l.out = base * multiplier_percent / 100;
        if (current == output_stride) {
            l.stride = 1;
            l.rate = rate;
            rate *= nominal[i];
        } else {
            l.stride = nominal[i];
            l.rate = 1;
            current *= nominal[i];
        }
        in = l.out;
        layers.push_back(l);
    }
    if (current != output_stride) throw std::invalid_argument("output stride not reachable");
    return layers;
}

const char* const kMobileHeads[4] = {"offset_2", "heatmap_2", "displacement_fwd_2", "displacement_bwd_2"};
int head_channels(const std::string& h) { return h == "heatmap_2" ? 17 : h == "offset_2" ? 34 : 32; }

// The model.json header and the weight shards, common to both architectures; the weights manifest
// is parked in json["weightsManifest"] and moved back last, where the official files have it.
Model start_model(const Options& o, const std::vector<Tensor>& w) {
    Model m;
    m.json_file_name = "model-stride" + std::to_string(o.output_stride) + ".json";
    ojson manifest;
    build_weights(w, o.quant_bytes, manifest, m.shards);
    m.json = ojson::object();
    m.json["format"] = "graph-model";
    m.json["generatedBy"] = generated_by(o);
    m.json["convertedBy"] = "posenet-make-test-model";
    m.json["weightsManifest"] = std::move(manifest);
    return m;
}

Model generate_mobilenet(const Options& o) {
    const auto layers = mobilenet_layers(o.multiplier_percent, o.output_stride);
    const std::string M = "MobilenetV1/", P = "MobilenetV1/MobilenetV1/";
    const int C = layers.back().out;
    auto dw_name = [&](int i) { return "Conv2d_" + std::to_string(i) + "_depthwise"; };
    auto pw_name = [&](int i) { return "Conv2d_" + std::to_string(i) + "_pointwise"; };

    // Weights in the official manifest order.
    std::vector<Tensor> w;
    auto add_head = [&](const std::string& h) {
        HeadScale s = head_scale(o.architecture, h);
        w.push_back(random_tensor(o.seed, M + h + "/Conv2D_bias", {head_channels(h)}, s.bias_mean, s.bias_std));
        w.push_back(random_tensor(o.seed, M + h + "/weights", {1, 1, C, head_channels(h)}, 0.0,
                                  s.weight_gain / std::sqrt(double(C))));
    };
    add_head("offset_2");
    for (int i = 13; i >= 1; --i) {
        const MobileLayer& l = layers[size_t(i)];
        w.push_back(random_tensor(o.seed, P + pw_name(i) + "/Conv2D_bias", {l.out}, 0.0, kBiasStd));
        w.push_back(random_tensor(o.seed, M + pw_name(i) + "/weights", {1, 1, l.in, l.out}, 0.0,
                                  std::sqrt(2.0 / l.in)));
        w.push_back(random_tensor(o.seed, P + dw_name(i) + "/depthwise_bias", {l.in}, 0.0, kBiasStd));
        w.push_back(random_tensor(o.seed, M + dw_name(i) + "/depthwise_weights", {3, 3, l.in, 1}, 0.0,
                                  std::sqrt(2.0 / 9.0)));
    }
    w.push_back(random_tensor(o.seed, P + "Conv2d_0/Conv2D_bias", {layers[0].out}, 0.0, kBiasStd));
    w.push_back(random_tensor(o.seed, M + "Conv2d_0/weights", {3, 3, 3, layers[0].out}, 0.0, kMobileFirstStd));
    add_head("heatmap_2");
    add_head("displacement_fwd_2");
    add_head("displacement_bwd_2");

    ojson nodes = ojson::array();
    if (!o.fused) {
        nodes.push_back(placeholder_node("sub_2", {1, -1, -1, 3}));
        for (const Tensor& t : w) nodes.push_back(const_node(t));
        auto unit = [&](const std::string& layer, const std::string& in, bool depthwise, const std::string& weights,
                        const std::string& bias, int stride, int rate) {
            std::string base = P + layer + "/BatchNorm/batchnorm/add_1";
            nodes.push_back(depthwise ? depthwise_node(base + "/conv", in, weights, stride, rate)
                                      : conv2d_node(base + "/conv", in, weights, stride, 1, "SAME"));
            nodes.push_back(bias_add_node(base, base + "/conv", bias));
            nodes.push_back(unary_node(P + layer + "/Relu6", "Relu6", base));
            return P + layer + "/Relu6";
        };
        std::string x = unit("Conv2d_0", "sub_2", false, M + "Conv2d_0/weights", P + "Conv2d_0/Conv2D_bias",
                             layers[0].stride, 1);
        for (int i = 1; i <= 13; ++i) {
            const MobileLayer& l = layers[size_t(i)];
            x = unit(dw_name(i), x, true, M + dw_name(i) + "/depthwise_weights", P + dw_name(i) + "/depthwise_bias",
                     l.stride, l.rate);
            x = unit(pw_name(i), x, false, M + pw_name(i) + "/weights", P + pw_name(i) + "/Conv2D_bias", 1, 1);
        }
        for (const char* h : kMobileHeads)
            nodes.push_back(conv2d_node(M + h + "/BiasAdd/conv", x, M + h + "/weights", 1, 1, "SAME"));
        for (const char* h : kMobileHeads)
            nodes.push_back(bias_add_node(M + h + "/BiasAdd", M + h + "/BiasAdd/conv", M + h + "/Conv2D_bias"));
    } else {
        // human-models layout: weights renamed Const, Const_1, .. in the official order, listed
        // (and stored) last to first; input `image` [1,385,385,3].
        std::map<std::string, std::string> renamed;
        for (size_t k = 0; k < w.size(); ++k) {
            std::string nn = k == 0 ? "Const" : "Const_" + std::to_string(k);
            renamed[w[k].name] = nn;
            w[k].name = nn;
        }
        std::reverse(w.begin(), w.end());
        for (const Tensor& t : w) nodes.push_back(const_node(t));
        const int side = o.fused_input_size > 0 ? o.fused_input_size : -1;
        nodes.push_back(placeholder_node("image", {1, side, side, 3}));
        auto R = [&](const std::string& original) { return renamed.at(original); };
        std::string x = P + "Conv2d_0/Relu6";
        nodes.push_back(fused_conv2d_node(x, "image", R(M + "Conv2d_0/weights"), R(P + "Conv2d_0/Conv2D_bias"),
                                          layers[0].stride, 1, true));
        for (int i = 1; i <= 13; ++i) {
            const MobileLayer& l = layers[size_t(i)];
            std::string dw = P + dw_name(i) + "/BatchNorm/batchnorm/add_1/conv";
            nodes.push_back(fused_depthwise_node(dw, x, R(M + dw_name(i) + "/depthwise_weights"),
                                                 R(P + dw_name(i) + "/depthwise_bias"), l.stride, l.rate));
            x = P + pw_name(i) + "/Relu6";
            nodes.push_back(fused_conv2d_node(x, dw, R(M + pw_name(i) + "/weights"), R(P + pw_name(i) + "/Conv2D_bias"),
                                              1, 1, true));
        }
        for (const char* h : {"heatmap_2", "displacement_fwd_2", "offset_2", "displacement_bwd_2"})
            nodes.push_back(fused_conv2d_node(M + h + "/BiasAdd", x, R(M + h + "/weights"), R(M + h + "/Conv2D_bias"),
                                              1, 1, false));
    }

    Model m = start_model(o, w);
    ojson manifest = std::move(m.json["weightsManifest"]);
    m.json.erase("weightsManifest");
    ojson& j = m.json;
    if (o.fused) {
        auto sig_entry = [](const std::string& name, const std::vector<int>& shape) {
            return ojson{{"name", name}, {"dtype", "DT_FLOAT"}, {"tensorShape", tensor_shape(shape)}};
        };
        const int side = o.fused_input_size > 0 ? o.fused_input_size : -1;
        const int g = side > 0 ? (side - 1) / o.output_stride + 1 : -1;
        ojson inputs = ojson::object(), outputs = ojson::object();
        inputs["image:0"] = sig_entry("image:0", {1, side, side, 3});
        // TF.js takes a graph's outputs in signature order and pose-detection reads them by
        // position. The human-models order (fwd, heatmap, bwd, offset) is kept for the fixed-size
        // layout; the dynamic one lists them in the order pose-detection expects.
        static const char* const kHumanOrder[4] = {"displacement_fwd_2", "heatmap_2", "displacement_bwd_2",
                                                   "offset_2"};
        for (const char* h : side > 0 ? kHumanOrder : kMobileHeads) {
            std::string n = M + h + "/BiasAdd:0";
            outputs[n] = sig_entry(n, {1, g, g, head_channels(h)});
        }
        j["signature"] = ojson{{"inputs", inputs}, {"outputs", outputs}};
    }
    j["modelTopology"] = ojson::object();
    j["modelTopology"]["node"] = std::move(nodes);
    j["modelTopology"]["library"] = ojson::object();
    j["modelTopology"]["versions"] = o.fused ? ojson::object() : ojson{{"producer", 54}};
    j["weightsManifest"] = std::move(manifest);
    return m;
}

// ---------------------------------------------------------------------------------------------
// ResNet50

struct ResUnit {
    int block, unit;
    int in, depth;        // bottleneck depth; output channels 4 * depth
    bool projection;      // unit_1: 1x1 conv shortcut
    bool subsampling;     // last unit of blocks 1-3: MaxPool shortcut, Pad + VALID conv2
    int stride, rate;     // actual stride (1 or 2) and conv2 rate
    std::string prefix() const {
        return "resnet_v1_50/block" + std::to_string(block) + "/unit_" + std::to_string(unit) + "/bottleneck_v1/";
    }
};

std::vector<ResUnit> resnet50_units(int output_stride) {
    struct Block {
        int depth, units, stride;
    };
    const Block blocks[4] = {{64, 3, 2}, {128, 4, 2}, {256, 6, 2}, {512, 3, 1}};
    std::vector<ResUnit> units;
    int current = 4, rate = 1, in = 64;  // conv1 /2, pool1 /2
    for (int b = 0; b < 4; ++b) {
        for (int u = 1; u <= blocks[b].units; ++u) {
            int nominal = u == blocks[b].units ? blocks[b].stride : 1;
            ResUnit r;
            r.block = b + 1;
            r.unit = u;
            r.in = in;
            r.depth = blocks[b].depth;
            r.projection = u == 1;
            r.subsampling = nominal == 2;
            if (current == output_stride) {
                r.stride = 1;
                r.rate = rate;
                rate *= nominal;
            } else {
                r.stride = nominal;
                r.rate = 1;
                current *= nominal;
            }
            in = 4 * r.depth;
            units.push_back(r);
        }
    }
    if (current != output_stride) throw std::invalid_argument("output stride not reachable");
    return units;
}

Model generate_resnet50(const Options& o) {
    const auto units = resnet50_units(o.output_stride);
    const std::string R = "resnet_v1_50/";
    const int C = 2048;

    std::map<std::string, Tensor> made;  // by name; ordered below
    std::vector<std::string> order;
    auto conv_weights = [&](const std::string& base, std::vector<int> shape, double stddev) {
        made[base + "/Conv2D_bias"] = random_tensor(o.seed, base + "/Conv2D_bias", {shape[3]}, 0.0, kBiasStd);
        made[base + "/weights"] = random_tensor(o.seed, base + "/weights", shape, 0.0, stddev);
        order.push_back(base + "/Conv2D_bias");
        order.push_back(base + "/weights");
    };
    auto head = [&](const std::string& h) {
        HeadScale s = head_scale(o.architecture, h);
        int k = head_channels(h);
        made[R + h + "/Conv2D_bias"] = random_tensor(o.seed, R + h + "/Conv2D_bias", {k}, s.bias_mean, s.bias_std);
        made[R + h + "/weights"] =
            random_tensor(o.seed, R + h + "/weights", {1, 1, C, k}, 0.0, s.weight_gain / std::sqrt(double(C)));
        order.push_back(R + h + "/Conv2D_bias");
        order.push_back(R + h + "/weights");
    };
    auto unit_convs = [&](const ResUnit& u) {  // conv3, conv2, conv1
        conv_weights(u.prefix() + "conv3", {1, 1, u.depth, 4 * u.depth},
                     kResNetConv3Gain * std::sqrt(2.0 / u.depth));
        conv_weights(u.prefix() + "conv2", {3, 3, u.depth, u.depth}, std::sqrt(2.0 / (9.0 * u.depth)));
        conv_weights(u.prefix() + "conv1", {1, 1, u.in, u.depth}, std::sqrt(2.0 / u.in));
    };
    // The converter's order: the fwd head; blocks 4..1 with their plain units last to first,
    // then unit_1's shortcut; the stem (Pad_1 paddings, conv1, Pad paddings); blocks 1..4 with
    // unit_1 then the subsampling unit; the bwd, offset and heatmap heads.
    head("displacement_fwd_2");
    for (int b = 4; b >= 1; --b) {
        for (auto it = units.rbegin(); it != units.rend(); ++it)
            if (it->block == b && !it->projection && !it->subsampling) unit_convs(*it);
        for (const ResUnit& u : units)
            if (u.block == b && u.projection)
                conv_weights(u.prefix() + "shortcut", {1, 1, u.in, 4 * u.depth}, std::sqrt(2.0 / u.in));
    }
    made[R + "Pad_1/paddings"] = paddings_tensor(R + "Pad_1/paddings", 1);
    order.push_back(R + "Pad_1/paddings");
    conv_weights(R + "conv1", {7, 7, 3, 64}, kResNetStemStd);
    made[R + "Pad/paddings"] = paddings_tensor(R + "Pad/paddings", 3);
    order.push_back(R + "Pad/paddings");
    for (int b = 1; b <= 4; ++b) {
        for (const ResUnit& u : units)
            if (u.block == b && u.projection) unit_convs(u);
        for (const ResUnit& u : units)
            if (u.block == b && u.subsampling) unit_convs(u);
    }
    head("displacement_bwd_2");
    head("offset_2");
    head("heatmap_2");

    std::vector<Tensor> w;
    for (const std::string& n : order) w.push_back(std::move(made.at(n)));

    ojson nodes = ojson::array();
    nodes.push_back(placeholder_node("sub_2", {1, -1, -1, 3}));
    for (const Tensor& t : w) nodes.push_back(const_node(t));
    auto conv = [&](const std::string& base, const std::string& in, int stride, int rate, const char* padding) {
        std::string n = base + "/BatchNorm/batchnorm_1/add_1";
        nodes.push_back(conv2d_node(n + "/conv", in, base + "/weights", stride, rate, padding));
        return n;
    };
    auto bias = [&](const std::string& base) {
        std::string n = base + "/BatchNorm/batchnorm_1/add_1";
        nodes.push_back(bias_add_node(n, n + "/conv", base + "/Conv2D_bias"));
        return n;
    };
    nodes.push_back(pad_node(R + "Pad", "sub_2", R + "Pad/paddings"));
    conv(R + "conv1", R + "Pad", 2, 1, "VALID");
    std::string x = bias(R + "conv1");
    nodes.push_back(unary_node(R + "conv1/Relu", "Relu", x));
    nodes.push_back(pad_node(R + "Pad_1", R + "conv1/Relu", R + "Pad_1/paddings"));
    nodes.push_back(max_pool_node(R + "pool1/MaxPool", R + "Pad_1", 3, 2, "VALID"));
    x = R + "pool1/MaxPool";
    for (const ResUnit& u : units) {
        const std::string U = u.prefix();
        std::string shortcut;
        if (u.projection) {
            conv(U + "shortcut", x, 1, 1, "SAME");
            conv(U + "conv1", x, 1, 1, "SAME");
            shortcut = bias(U + "shortcut");
        } else if (u.subsampling) {
            shortcut = U + "shortcut/MaxPool";
            nodes.push_back(max_pool_node(shortcut, x, 1, u.stride, "SAME"));
            conv(U + "conv1", x, 1, 1, "SAME");
        } else {
            conv(U + "conv1", x, 1, 1, "SAME");
        }
        nodes.push_back(unary_node(U + "conv1/Relu", "Relu", bias(U + "conv1")));
        if (u.subsampling) {
            nodes.push_back(pad_node(U + "Pad", U + "conv1/Relu", R + "Pad_1/paddings"));
            conv(U + "conv2", U + "Pad", u.stride, u.rate, "VALID");
        } else {
            conv(U + "conv2", U + "conv1/Relu", 1, u.rate, "SAME");
        }
        nodes.push_back(unary_node(U + "conv2/Relu", "Relu", bias(U + "conv2")));
        conv(U + "conv3", U + "conv2/Relu", 1, 1, "SAME");
        std::string residual = bias(U + "conv3");
        if (shortcut.empty())
            nodes.push_back(add_node(U + "add", x, residual));
        else
            nodes.push_back(add_node(U + "add", residual, shortcut));
        nodes.push_back(unary_node(U + "Relu", "Relu", U + "add"));
        x = U + "Relu";
    }
    struct Out {
        std::string name, head;
    };
    const Out outs[4] = {{R + "displacement_fwd_2/BiasAdd", "displacement_fwd_2"},
                         {R + "displacement_bwd_2/BiasAdd", "displacement_bwd_2"},
                         {"float_short_offsets", "offset_2"},
                         {"float_heatmaps", "heatmap_2"}};
    for (const Out& out : outs)
        nodes.push_back(conv2d_node(out.name + "/conv", x, R + out.head + "/weights", 1, 1, "SAME"));
    for (const Out& out : outs)
        nodes.push_back(bias_add_node(out.name, out.name + "/conv", R + out.head + "/Conv2D_bias"));

    Model m = start_model(o, w);
    ojson manifest = std::move(m.json["weightsManifest"]);
    m.json.erase("weightsManifest");
    ojson& j = m.json;
    j["modelTopology"] = ojson::object();
    j["modelTopology"]["node"] = std::move(nodes);
    j["modelTopology"]["library"] = ojson::object();
    j["modelTopology"]["versions"] = ojson{{"producer", 54}};
    j["weightsManifest"] = std::move(manifest);
    return m;
}

// ---------------------------------------------------------------------------------------------
// Topology comparison

std::string short_dump(const json& j, size_t limit = 300) {
    std::string s = j.dump();
    if (s.size() > limit) s = s.substr(0, limit) + "...";
    return s;
}

size_t bytes_per_element(const std::string& dtype) {
    if (dtype == "uint8") return 1;
    if (dtype == "uint16" || dtype == "float16") return 2;
    return 4;
}

}  // namespace

std::string validate(const Options& o) {
    if (o.quant_bytes != 1 && o.quant_bytes != 2 && o.quant_bytes != 4)
        return "quant-bytes must be 4, 2 or 1, got " + std::to_string(o.quant_bytes);
    if (o.multiplier_percent != 50 && o.multiplier_percent != 75 && o.multiplier_percent != 100)
        return "multiplier must be 0.5, 0.75 or 1.0";
    if (o.architecture == Architecture::ResNet50) {
        if (o.multiplier_percent != 100) return "ResNet50 has no multiplier other than 1.0";
        if (o.output_stride != 16 && o.output_stride != 32)
            return "ResNet50 supports output stride 16 or 32, got " + std::to_string(o.output_stride);
        if (o.fused) return "--fused exists only for MobileNetV1";
        return "";
    }
    if (o.output_stride != 8 && o.output_stride != 16 && o.output_stride != 32)
        return "MobileNetV1 supports output stride 8, 16 or 32, got " + std::to_string(o.output_stride);
    if (o.output_stride == 32 && o.multiplier_percent != 100)
        return "MobileNetV1 output stride 32 exists only with multiplier 1.0 (the 0.75 and 0.50 networks "
               "stop at stride 16)";
    if (o.fused && (o.fused_input_size < 0 || o.fused_input_size > 4096 ||
                    (o.fused_input_size > 0 && (o.fused_input_size - 1) % o.output_stride != 0)))
        return "fused input size must be 0 (dynamic) or N with (N - 1) % stride == 0, up to 4096";
    return "";
}

Model generate(const Options& options) {
    std::string err = validate(options);
    if (!err.empty()) throw std::invalid_argument(err);
    return options.architecture == Architecture::ResNet50 ? generate_resnet50(options) : generate_mobilenet(options);
}

Quantized quantize(const std::vector<float>& values, int quant_bytes) {
    if (quant_bytes != 1 && quant_bytes != 2) throw std::invalid_argument("quantize: quant_bytes must be 1 or 2");
    Quantized q;
    q.bytes.reserve(values.size() * size_t(quant_bytes));
    quantize_into(values.data(), values.size(), quant_bytes, q.bytes, q.min, q.scale);
    return q;
}

std::string serialize(const Model& model) { return model.json.dump(); }

void write(const Model& model, const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create directory " + dir + ": " + ec.message());
    std::vector<std::pair<fs::path, std::string>> files;  // (final path, temporary path)
    auto write_file = [&](const std::string& name, const char* data, size_t size) {
        fs::path final_path = fs::path(dir) / name;
        fs::path tmp = final_path;
        tmp += ".tmp-make-test-model";
        files.emplace_back(final_path, tmp.string());
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) throw std::runtime_error("cannot open " + tmp.string() + " for writing");
        f.write(data, std::streamsize(size));
        f.close();
        if (!f) throw std::runtime_error("cannot write " + tmp.string());
    };
    try {
        std::string text = serialize(model);
        write_file(model.json_file_name, text.data(), text.size());
        for (const Shard& s : model.shards)
            write_file(s.file_name, reinterpret_cast<const char*>(s.bytes.data()), s.bytes.size());
        for (const auto& [final_path, tmp] : files) {
            fs::rename(tmp, final_path, ec);
            if (ec) throw std::runtime_error("cannot rename " + tmp + " to " + final_path.string() + ": " + ec.message());
        }
    } catch (...) {
        for (const auto& f : files) fs::remove(f.second, ec);
        throw;
    }
}

std::vector<std::string> compare_topology(const json& expected, const json& actual, size_t max_diffs) {
    std::vector<std::string> diffs;
    auto add = [&](const std::string& s) {
        if (diffs.size() < max_diffs) diffs.push_back(s);
    };
    auto get = [](const json& j, const char* key) { return j.contains(key) ? j[key] : json(); };
    if (get(expected, "format") != get(actual, "format"))
        add("format: " + short_dump(get(expected, "format")) + " vs " + short_dump(get(actual, "format")));
    if (get(expected, "signature") != get(actual, "signature"))
        add("signature: " + short_dump(get(expected, "signature")) + " vs " + short_dump(get(actual, "signature")));

    json et = get(expected, "modelTopology"), at = get(actual, "modelTopology");
    json en = et.is_object() ? get(et, "node") : json(), an = at.is_object() ? get(at, "node") : json();
    if (et.is_object()) et.erase("node");
    if (at.is_object()) at.erase("node");
    if (et != at) add("modelTopology (apart from node): " + short_dump(et) + " vs " + short_dump(at));
    if (!en.is_array() || !an.is_array()) {
        add("modelTopology.node missing or not an array");
    } else {
        if (en.size() != an.size())
            add("node count: " + std::to_string(en.size()) + " vs " + std::to_string(an.size()));
        for (size_t k = 0; k < std::min(en.size(), an.size()); ++k) {
            const json &e = en[k], &a = an[k];
            std::string where = "node " + std::to_string(k) + " (" + get(e, "name").dump() + ")";
            for (const char* key : {"name", "op", "input", "device", "attr"}) {
                json ev = get(e, key), av = get(a, key);
                if (std::string(key) == "input") {
                    if (ev.is_null()) ev = json::array();
                    if (av.is_null()) av = json::array();
                }
                if (ev != av) add(where + " " + key + ": " + short_dump(ev) + " vs " + short_dump(av));
            }
            for (auto it = a.begin(); it != a.end(); ++it)
                if (!e.contains(it.key())) add(where + ": unexpected key " + it.key());
            for (auto it = e.begin(); it != e.end(); ++it)
                if (!a.contains(it.key())) add(where + ": missing key " + it.key());
        }
    }

    json em = get(expected, "weightsManifest"), am = get(actual, "weightsManifest");
    if (!em.is_array() || !am.is_array() || em.size() != am.size()) {
        add("weightsManifest group count differs");
    } else {
        for (size_t g = 0; g < em.size(); ++g) {
            json ew = get(em[g], "weights"), aw = get(am[g], "weights");
            if (!ew.is_array() || !aw.is_array()) {
                add("weightsManifest[" + std::to_string(g) + "].weights missing");
                continue;
            }
            if (ew.size() != aw.size())
                add("weight count: " + std::to_string(ew.size()) + " vs " + std::to_string(aw.size()));
            size_t ebytes = 0, abytes = 0;
            auto bytes_of = [](const json& w) {
                size_t n = 1;
                for (const auto& d : w.at("shape")) n *= d.get<size_t>();
                std::string dt = w.contains("quantization") ? w["quantization"].at("dtype").get<std::string>()
                                                            : w.at("dtype").get<std::string>();
                return n * bytes_per_element(dt);
            };
            for (size_t k = 0; k < std::min(ew.size(), aw.size()); ++k) {
                json e = ew[k], a = aw[k];
                std::string where = "weight " + std::to_string(k) + " (" + get(e, "name").dump() + ")";
                for (const char* key : {"name", "shape", "dtype"})
                    if (get(e, key) != get(a, key))
                        add(where + " " + key + ": " + short_dump(get(e, key)) + " vs " + short_dump(get(a, key)));
                json eq = e.contains("quantization") ? get(e["quantization"], "dtype") : json();
                json aq = a.contains("quantization") ? get(a["quantization"], "dtype") : json();
                if (eq != aq) add(where + " quantization dtype: " + short_dump(eq) + " vs " + short_dump(aq));
            }
            try {
                for (const auto& w : ew) ebytes += bytes_of(w);
                for (const auto& w : aw) abytes += bytes_of(w);
                if (ebytes != abytes)
                    add("weight bytes: " + std::to_string(ebytes) + " vs " + std::to_string(abytes));
            } catch (const std::exception& ex) {
                add(std::string("weights manifest malformed: ") + ex.what());
            }
        }
    }
    return diffs;
}

}  // namespace posenet::testmodel
