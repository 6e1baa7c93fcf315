#include "engine/tfjs_model.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <queue>
#include <set>
#include <unordered_map>

namespace posenet::engine {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct ConstTensor {
    std::vector<int64_t> shape;
    std::vector<float> values;    // float32 weights (dequantized)
    std::vector<int32_t> ints;    // int32 weights (paddings)
    bool is_int = false;
};

std::string base64_decode(const std::string& in) {
    static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    int val = 0, bits = -8;
    for (char c : in) {
        if (c == '=') break;
        auto pos = chars.find(c);
        if (pos == std::string::npos) continue;
        val = (val << 6) + int(pos);
        bits += 6;
        if (bits >= 0) {
            out.push_back(char((val >> bits) & 0xFF));
            bits -= 8;
        }
    }
    return out;
}

std::string strip_input_name(const std::string& s) {
    std::string r = s;
    if (!r.empty() && r[0] == '^') r.erase(0, 1);
    auto colon = r.rfind(':');
    if (colon != std::string::npos && colon + 1 < r.size() &&
        r.find_first_not_of("0123456789", colon + 1) == std::string::npos)
        r.erase(colon);
    return r;
}

fs::path find_model_json(const fs::path& path) {
    if (!fs::exists(path)) throw ModelError(path.string() + ": no such file or folder");
    if (!fs::is_directory(path)) return path;
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(path))
        if (e.path().extension() == ".json") found.push_back(e.path());
    if (found.size() != 1)
        throw ModelError(path.string() + ": holds " + std::to_string(found.size()) +
                         " .json files; name the model.json to convert");
    return found[0];
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw ModelError(p.string() + ": cannot open");
    return std::string(std::istreambuf_iterator<char>(in), {});
}

size_t element_bytes(const std::string& dtype, const fs::path& file, const std::string& weight) {
    if (dtype == "float32" || dtype == "int32") return 4;
    if (dtype == "uint16" || dtype == "float16") return 2;
    if (dtype == "uint8") return 1;
    throw ModelError(file.string() + ": weight '" + weight + "' has unsupported dtype '" + dtype + "'");
}

// Reads every weight group's shards and decodes each weight (dequantizing like tfjs-core's
// decodeWeights: value = q * scale + min in double, then stored as float32; int32 rounds).
std::unordered_map<std::string, ConstTensor> read_weights(const json& manifest, const fs::path& model_file) {
    std::unordered_map<std::string, ConstTensor> out;
    const fs::path dir = model_file.parent_path();
    if (!manifest.is_array()) throw ModelError(model_file.string() + ": weightsManifest is missing or not a list");
    for (size_t g = 0; g < manifest.size(); ++g) {
        const json& group = manifest[g];
        std::string data;
        for (const auto& p : group.at("paths")) {
            fs::path shard = dir / p.get<std::string>();
            if (!fs::exists(shard)) throw ModelError(shard.string() + ": weight shard is missing (listed in " + model_file.string() + ")");
            data += read_file(shard);
        }
        size_t needed = 0;
        for (const auto& w : group.at("weights")) {
            std::string name = w.at("name");
            std::string dtype = w.at("dtype");
            if (w.contains("quantization")) dtype = w["quantization"].at("dtype");
            size_t count = 1;
            for (const auto& d : w.at("shape")) count *= d.get<size_t>();
            needed += count * element_bytes(dtype, model_file, name);
        }
        if (needed != data.size())
            throw ModelError(model_file.string() + ": weight group " + std::to_string(g + 1) + " needs " + std::to_string(needed) +
                             " bytes but its shards (" + group.at("paths").dump() + ") hold " + std::to_string(data.size()) +
                             (data.size() < needed ? " (truncated shard?)" : ""));
        size_t pos = 0;
        for (const auto& w : group.at("weights")) {
            ConstTensor t;
            std::string name = w.at("name");
            std::string dtype = w.at("dtype");
            for (const auto& d : w.at("shape")) t.shape.push_back(d.get<int64_t>());
            size_t count = 1;
            for (auto d : t.shape) count *= size_t(d);
            t.is_int = dtype == "int32";
            if (dtype != "float32" && dtype != "int32")
                throw ModelError(model_file.string() + ": weight '" + name + "' has unsupported dtype '" + dtype + "'");
            const char* src = data.data() + pos;
            if (w.contains("quantization")) {
                const json& q = w["quantization"];
                std::string qd = q.at("dtype");
                if (qd == "float16") throw ModelError(model_file.string() + ": weight '" + name + "': float16 quantization is not supported");
                double scale = q.at("scale").get<double>(), min = q.at("min").get<double>();
                size_t eb = element_bytes(qd, model_file, name);
                for (size_t i = 0; i < count; ++i) {
                    uint32_t v = eb == 1 ? uint8_t(src[i]) : uint32_t(uint8_t(src[2 * i])) | uint32_t(uint8_t(src[2 * i + 1])) << 8;
                    double x = double(v) * scale + min;
                    if (t.is_int) t.ints.push_back(int32_t(std::lround(x)));
                    else t.values.push_back(float(x));
                }
                pos += count * eb;
            } else {
                if (t.is_int) {
                    t.ints.resize(count);
                    std::memcpy(t.ints.data(), src, count * 4);
                } else {
                    t.values.resize(count);
                    std::memcpy(t.values.data(), src, count * 4);
                }
                pos += count * 4;
            }
            for (float v : t.values)
                if (!std::isfinite(v)) throw ModelError(model_file.string() + ": weight '" + name + "' holds NaN or Inf");
            out[name] = std::move(t);
        }
    }
    return out;
}

struct Node {
    std::string name, op;
    std::vector<std::string> inputs;
    json attr;
};

class GraphFolder {
public:
    GraphFolder(const fs::path& file, std::vector<Node> nodes, std::unordered_map<std::string, ConstTensor> weights,
                const ConvertOptions& options)
        : file_(file), nodes_(std::move(nodes)), weights_(std::move(weights)), options_(options) {}

    Network fold();

private:
    [[noreturn]] void fail(const Node& n, const std::string& what) const {
        throw ModelError(file_.string() + ": node '" + n.name + "' (" + n.op + "): " + what);
    }
    const Node& node(const std::string& name, const Node& user) const {
        auto it = index_.find(name);
        if (it == index_.end()) fail(user, "input '" + name + "' does not exist");
        return nodes_[it->second];
    }
    std::string attr_string(const Node& n, const char* key, const char* fallback) const {
        if (!n.attr.contains(key)) return fallback;
        return base64_decode(n.attr[key].value("s", ""));
    }
    std::vector<int> attr_ints(const Node& n, const char* key, std::vector<int> fallback) const {
        if (!n.attr.contains(key)) return fallback;
        const json& l = n.attr[key]["list"];
        if (!l.contains("i")) return fallback;
        std::vector<int> r;
        for (const auto& v : l["i"]) r.push_back(v.is_string() ? std::stoi(v.get<std::string>()) : v.get<int>());
        if (r.size() != 4) fail(n, std::string("attribute ") + key + " must have 4 values");
        return r;
    }
    const ConstTensor& constant(const Node& user, size_t input_index) const;
    void check_nhwc(const Node& n) const {
        std::string f = attr_string(n, "data_format", "NHWC");
        if (f != "NHWC") fail(n, "data_format '" + f + "' is not supported (only NHWC)");
    }
    int tensor_of(const Node& user, size_t input_index);  // value id of an input, after folding
    int add_weights(const std::vector<float>& v) {
        uint64_t at = weights_out_.size();
        weights_out_.insert(weights_out_.end(), v.begin(), v.end());
        return int(at);
    }
    void visit(const std::string& name, const Node& from);  // marks what the outputs need; finds cycles
    void emit_all();
    void emit(const Node& n);
    int consumers(const std::string& name) const {
        auto it = consumer_count_.find(name);
        return it == consumer_count_.end() ? 0 : it->second;
    }

    fs::path file_;
    std::vector<Node> nodes_;
    std::unordered_map<std::string, ConstTensor> weights_;
    ConvertOptions options_;
    std::unordered_map<std::string, size_t> index_;
    std::unordered_map<std::string, int> consumer_count_;
    std::unordered_map<std::string, int> value_;          // node name -> tensor id
    std::unordered_map<int, int> producer_;               // tensor id -> layer index
    std::unordered_map<std::string, int> state_;          // DFS: 1 visiting, 2 done
    std::unordered_map<std::string, std::array<int, 4>> pads_;  // Pad node -> top,bottom,left,right
    std::unordered_map<std::string, std::string> pad_input_;    // Pad node -> its data input
    Network net_;
    std::vector<float> weights_out_;
};

const ConstTensor& GraphFolder::constant(const Node& user, size_t input_index) const {
    if (input_index >= user.inputs.size()) fail(user, "has too few inputs");
    const Node& c = node(user.inputs[input_index], user);
    if (c.op != "Const") fail(user, "input '" + c.name + "' must be a constant (weight)");
    auto it = weights_.find(c.name);
    if (it == weights_.end()) fail(user, "weight '" + c.name + "' is not in the weights manifest");
    return it->second;
}

void GraphFolder::visit(const std::string& name, const Node& from) {
    int& s = state_[name];
    if (s == 2) return;
    const Node& n = node(name, from);
    if (s == 1) fail(n, "the graph has a cycle through this node");
    s = 1;
    for (const auto& in : n.inputs) visit(in, n);
    state_[name] = 2;
}

// Emits the needed nodes in topological order, preferring the file's order among ready nodes:
// the official graphs list a shortcut before the branch it joins, which lets the Add fold into
// the branch's last conv as a residual.
void GraphFolder::emit_all() {
    std::vector<size_t> needed;
    for (const auto& [name, s] : state_)
        if (s == 2) needed.push_back(index_.at(name));
    std::unordered_map<size_t, int> pending;  // node -> inputs not yet emitted
    std::unordered_map<std::string, std::vector<size_t>> users;
    for (size_t i : needed) {
        std::set<std::string> distinct(nodes_[i].inputs.begin(), nodes_[i].inputs.end());
        pending[i] = int(distinct.size());
        for (const auto& in : distinct) users[in].push_back(i);
    }
    std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
    for (size_t i : needed)
        if (pending[i] == 0) ready.push(i);
    while (!ready.empty()) {
        size_t i = ready.top();
        ready.pop();
        emit(nodes_[i]);
        for (size_t u : users[nodes_[i].name])
            if (--pending[u] == 0) ready.push(u);
    }
}

int GraphFolder::tensor_of(const Node& user, size_t i) {
    if (i >= user.inputs.size()) fail(user, "has too few inputs");
    auto it = value_.find(user.inputs[i]);
    if (it == value_.end()) fail(user, "input '" + user.inputs[i] + "' is not a tensor this converter can compute");
    return it->second;
}

void GraphFolder::emit(const Node& n) {
    const std::string& op = n.op;
    auto new_layer = [&](LayerKind kind, int input, int channels) -> Layer& {
        Layer l;
        l.kind = kind;
        l.name = n.name;
        l.input = input;
        l.output = int(net_.tensor_channels.size());
        l.in_channels = net_.tensor_channels.at(input);
        l.out_channels = channels;
        net_.tensor_channels.push_back(channels);
        value_[n.name] = l.output;
        producer_[l.output] = int(net_.layers.size());
        net_.layers.push_back(l);
        return net_.layers.back();
    };
    // The layer that produced input i, if its epilogue may still absorb this node.
    auto fusable_producer = [&](size_t i) -> Layer* {
        int t = tensor_of(n, i);
        auto it = producer_.find(t);
        if (it == producer_.end() || consumers(n.inputs[i]) != 1) return nullptr;
        return &net_.layers[it->second];
    };
    auto set_bias = [&](Layer& l, const ConstTensor& b) {
        if (b.values.size() != size_t(l.out_channels))
            fail(n, "bias has " + std::to_string(b.values.size()) + " values for " + std::to_string(l.out_channels) + " channels");
        l.bias_offset = add_weights(b.values);
        l.bias_count = b.values.size();
    };
    auto set_activation = [&](Layer& l, const std::string& a) {
        if (a == "Relu") l.activation = Activation::Relu;
        else if (a == "Relu6") l.activation = Activation::Relu6;
        else fail(n, "fused op '" + a + "' is not supported");
    };

    if (op == "Const") return;
    if (op == "Placeholder") {
        if (!net_.tensor_channels.empty()) fail(n, "a second input placeholder is not supported");
        net_.tensor_channels.push_back(3);
        value_[n.name] = 0;
        return;
    }
    if (op == "Identity") {
        value_[n.name] = tensor_of(n, 0);
        return;
    }
    if (op == "Pad") {
        const ConstTensor& p = constant(n, 1);
        if (!p.is_int || p.ints.size() != 8) fail(n, "paddings must be an int32 [4,2] tensor");
        if (p.ints[0] || p.ints[1] || p.ints[6] || p.ints[7]) fail(n, "padding of the batch or channel axis is not supported");
        for (int v : p.ints)
            if (v < 0) fail(n, "negative padding");
        tensor_of(n, 0);
        pads_[n.name] = {p.ints[2], p.ints[3], p.ints[4], p.ints[5]};
        pad_input_[n.name] = n.inputs[0];
        return;  // folded into its consumer
    }
    if (op == "Conv2D" || op == "DepthwiseConv2dNative" || op == "_FusedConv2D" || op == "FusedDepthwiseConv2dNative" ||
        op == "MaxPool") {
        check_nhwc(n);
        if (n.inputs.empty()) fail(n, "has no input");
        std::array<int, 4> pad{0, 0, 0, 0};
        std::string data = n.inputs[0];
        if (auto it = pads_.find(data); it != pads_.end()) {
            if (consumers(data) != 1) fail(n, "its Pad input has other consumers too");
            pad = it->second;
            data = pad_input_[data];
        }
        auto vit = value_.find(data);
        if (vit == value_.end()) fail(n, "input '" + data + "' is not a tensor this converter can compute");
        int input = vit->second;
        std::string padding = attr_string(n, "padding", "");
        if (padding != "SAME" && padding != "VALID") fail(n, "padding '" + padding + "' is not supported");
        auto strides = attr_ints(n, "strides", {1, 1, 1, 1});
        auto dil = attr_ints(n, "dilations", {1, 1, 1, 1});
        int cin = net_.tensor_channels[input];
        Layer* l;
        if (op == "MaxPool") {
            auto k = attr_ints(n, "ksize", {});
            if (k.empty()) fail(n, "ksize is missing");
            if (k[0] != 1 || k[3] != 1) fail(n, "pooling over batch or channels is not supported");
            l = &new_layer(LayerKind::MaxPool, input, cin);
            l->kernel_h = k[1], l->kernel_w = k[2];
        } else {
            const ConstTensor& w = constant(n, 1);
            if (w.is_int || w.shape.size() != 4) fail(n, "filter must be a float32 4-d tensor");
            if (w.shape[2] != cin)
                fail(n, "filter expects " + std::to_string(w.shape[2]) + " input channels, its input has " + std::to_string(cin));
            bool depthwise = op.find("Depthwise") != std::string::npos;
            int cout = int(depthwise ? w.shape[2] * w.shape[3] : w.shape[3]);
            l = &new_layer(depthwise ? LayerKind::DepthwiseConv2D : LayerKind::Conv2D, input, cout);
            l->kernel_h = int(w.shape[0]), l->kernel_w = int(w.shape[1]);
            l->weight_offset = add_weights(w.values);
            l->weight_count = w.values.size();
            // TF.js reads (attr[1], attr[2]); the official atrous graphs store [r,r,1,1].
            if (options_.dilation_reading == DilationReading::Trained && (dil[0] != 1 || dil[3] != 1))
                l->dilation_h = dil[0], l->dilation_w = dil[1];
            else
                l->dilation_h = dil[1], l->dilation_w = dil[2];
        }
        if (strides[0] != 1 || strides[3] != 1) fail(n, "strides over batch or channels are not supported");
        l->stride_h = strides[1], l->stride_w = strides[2];
        l->padding = padding == "SAME" ? Padding::Same : Padding::Valid;
        l->pad_top = pad[0], l->pad_bottom = pad[1], l->pad_left = pad[2], l->pad_right = pad[3];
        if (l->stride_h < 1 || l->stride_w < 1 || l->dilation_h < 1 || l->dilation_w < 1)
            fail(n, "strides and dilations must be positive");
        if (op == "_FusedConv2D" || op == "FusedDepthwiseConv2dNative") {
            std::vector<std::string> fused;
            if (n.attr.contains("fused_ops"))
                for (const auto& s : n.attr["fused_ops"]["list"].value("s", json::array())) fused.push_back(base64_decode(s));
            size_t next_arg = 2;
            for (const auto& f : fused) {
                if (f == "BiasAdd") {
                    const ConstTensor& b = constant(n, next_arg++);
                    if (b.is_int) fail(n, "bias must be float32");
                    set_bias(*l, b);
                } else if (f == "Relu" || f == "Relu6") set_activation(*l, f);
                else fail(n, "fused op '" + f + "' is not supported");
            }
        }
        return;
    }
    if (op == "BiasAdd" || op == "Add" || op == "AddV2") {
        // A bias: the second operand is a constant.
        if (n.inputs.size() == 2 && node(n.inputs[1], n).op == "Const") {
            const ConstTensor& b = constant(n, 1);
            Layer* l = fusable_producer(0);
            if (!l || l->bias_count || l->input2 >= 0 || l->activation != Activation::None || l->kind == LayerKind::MaxPool ||
                l->kind == LayerKind::Add)
                fail(n, "a bias is only supported directly after a convolution");
            if (b.is_int || b.shape.size() != 1) fail(n, "bias must be a 1-d float32 tensor");
            set_bias(*l, b);
            l->name = n.name;
            value_[n.name] = l->output;
            return;
        }
        if (op == "BiasAdd") fail(n, "bias must be a constant");
        if (n.inputs.size() != 2) fail(n, "Add needs exactly two inputs");
        int a = tensor_of(n, 0), b = tensor_of(n, 1);
        // Fuse as a residual into whichever operand's conv came last (the other is then ready).
        Layer* la = fusable_producer(0);
        Layer* lb = fusable_producer(1);
        auto absorbs = [](const Layer* l) {
            return l && l->kind == LayerKind::Conv2D && l->input2 < 0 && l->activation == Activation::None;
        };
        Layer* target = nullptr;
        int other = -1;
        if (absorbs(la) && (!absorbs(lb) || a > b)) target = la, other = b;
        else if (absorbs(lb)) target = lb, other = a;
        if (target && other < target->output && net_.tensor_channels[other] == target->out_channels) {
            target->input2 = other;
            target->name = n.name;
            value_[n.name] = target->output;
            return;
        }
        if (net_.tensor_channels[a] != net_.tensor_channels[b]) fail(n, "operands have different channel counts");
        Layer& l = new_layer(LayerKind::Add, a, net_.tensor_channels[a]);
        l.input2 = b;
        return;
    }
    if (op == "Relu" || op == "Relu6") {
        Layer* l = fusable_producer(0);
        if (!l || l->activation != Activation::None || l->kind == LayerKind::MaxPool)
            fail(n, "an activation is only supported directly after a convolution or an Add");
        set_activation(*l, op);
        l->name = n.name;
        value_[n.name] = l->output;
        return;
    }
    fail(n, "unknown op '" + op + "'");
}

Network GraphFolder::fold() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
        if (!index_.emplace(nodes_[i].name, i).second)
            throw ModelError(file_.string() + ": node name '" + nodes_[i].name + "' appears twice");
    }
    std::set<std::string> has_consumer;
    for (const Node& n : nodes_)
        for (const auto& in : n.inputs) {
            consumer_count_[in]++;
            has_consumer.insert(in);
        }
    // Outputs are found by name among the graph's sinks, never by position.
    std::map<std::string, std::string> outputs;  // role -> node
    for (const Node& n : nodes_) {
        if (n.op == "Const" || has_consumer.count(n.name)) continue;
        std::string role;
        if (n.name.find("heatmap") != std::string::npos) role = "heatmap";
        else if (n.name.find("displacement_fwd") != std::string::npos) role = "displacement_fwd";
        else if (n.name.find("displacement_bwd") != std::string::npos) role = "displacement_bwd";
        else if (n.name.find("offset") != std::string::npos) role = "offsets";
        else continue;
        if (outputs.count(role)) fail(n, "a second " + role + " output ('" + outputs[role] + "' is the first)");
        outputs[role] = n.name;
    }
    for (const char* role : {"heatmap", "offsets", "displacement_fwd", "displacement_bwd"})
        if (!outputs.count(role))
            throw ModelError(file_.string() + ": the graph has no " + role + " output (looked for a sink node named *" + role + "*)");
    Node root{"(outputs)", "", {}, {}};
    for (const auto& [role, name] : outputs) visit(name, root);
    emit_all();
    if (net_.tensor_channels.empty()) throw ModelError(file_.string() + ": the graph has no input Placeholder");

    net_.heatmap = value_.at(outputs["heatmap"]);
    net_.offsets = value_.at(outputs["offsets"]);
    net_.displacement_fwd = value_.at(outputs["displacement_fwd"]);
    net_.displacement_bwd = value_.at(outputs["displacement_bwd"]);
    net_.dilation_reading = options_.dilation_reading;

    auto storage = std::make_shared<std::vector<float>>(std::move(weights_out_));
    net_.weights = std::span<const float>(*storage);
    net_.weight_storage = storage;
    return std::move(net_);
}

}  // namespace

Network load_tfjs_model(const fs::path& path, const ConvertOptions& options) {
    const fs::path file = find_model_json(path);
    json model;
    try {
        model = json::parse(read_file(file));
    } catch (const json::exception& e) {
        throw ModelError(file.string() + ": not valid JSON (" + e.what() + ")");
    }
    Network net;
    try {
        if (model.value("format", "graph-model") != "graph-model")
            throw ModelError(file.string() + ": format '" + model.value("format", "") + "' is not a TF.js graph-model");
        if (!model.contains("modelTopology") || !model["modelTopology"].contains("node"))
            throw ModelError(file.string() + ": modelTopology.node is missing");
        std::vector<Node> nodes;
        for (const auto& j : model["modelTopology"]["node"]) {
            Node n;
            n.name = j.at("name");
            n.op = j.at("op");
            if (j.contains("input"))
                for (const auto& in : j["input"]) {
                    std::string s = in.get<std::string>();
                    if (!s.empty() && s[0] == '^') continue;  // control dependency
                    n.inputs.push_back(strip_input_name(s));
                }
            n.attr = j.value("attr", json::object());
            nodes.push_back(std::move(n));
        }
        auto weights = read_weights(model.value("weightsManifest", json()), file);
        GraphFolder folder(file, std::move(nodes), std::move(weights), options);
        net = folder.fold();
        // Quantization of the source.
        net.quant_bytes = 4;
        for (const auto& g : model["weightsManifest"])
            for (const auto& w : g["weights"])
                if (w.contains("quantization")) net.quant_bytes = w["quantization"].value("dtype", "") == "uint8" ? 1 : 2;
    } catch (const json::exception& e) {
        throw ModelError(file.string() + ": malformed model.json (" + e.what() + ")");
    }

    // Architecture from the node names; multiplier from the stem's width; stride from the shapes.
    bool resnet = false;
    for (const Layer& l : net.layers)
        if (l.name.find("resnet_v1_50") != std::string::npos) resnet = true;
    net.architecture = resnet ? Architecture::ResNet50 : Architecture::MobileNetV1;
    net.input_transform = resnet ? InputTransform::ResNetMeanShift : InputTransform::MobileNetScale;
    net.multiplier = 1.0f;
    if (!resnet) {
        if (net.layers.empty()) throw ModelError(file.string() + ": the graph has no layers");
        int stem = net.layers.front().out_channels;
        net.multiplier = float(stem) / 32.0f;
    }
    std::string src = file.string();
    for (const char* top : {"mobilenet/", "resnet50/"})
        if (auto p = src.rfind(top); p != std::string::npos) src = src.substr(p);
    net.source_name = src.size() > 200 ? file.filename().string() : src;

    try {
        net.validate();
        const int probe = 513;  // valid at strides 8, 16, 32
        auto shapes = net.tensor_shapes(probe, probe);
        const auto& hm = shapes[net.heatmap];
        if (hm.h < 2) throw ModelError("heatmap is " + std::to_string(hm.h) + " cells high");
        net.output_stride = (probe - 1) / (hm.h - 1);
        for (int id : {net.offsets, net.displacement_fwd, net.displacement_bwd})
            if (shapes[id].h != hm.h || shapes[id].w != hm.w) throw ModelError("the four outputs differ in size");
    } catch (const ModelError& e) {
        throw ModelError(file.string() + ": " + e.what());
    }
    return net;
}

}  // namespace posenet::engine
