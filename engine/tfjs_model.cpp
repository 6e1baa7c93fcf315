#include "engine/tfjs_model.h"

#include <array>
#include <cmath>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>
#include <set>
#include <unordered_map>

#include "engine/file_io.h"
#include "engine/json_fields.h"
#include "engine/model_limits.h"
#include "engine/tfjs_weights.h"

namespace posenet::engine {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace json_fields;

namespace {

// Standard base64 (TF's JSON encoding of string attributes); nullopt for anything else.
std::optional<std::string> base64_decode(const std::string& in) {
    static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    int val = 0, bits = -8;
    size_t end = in.size();
    while (end > 0 && in[end - 1] == '=' && in.size() - end < 2) --end;
    for (size_t i = 0; i < end; ++i) {
        auto pos = chars.find(in[i]);
        if (pos == std::string::npos) return std::nullopt;
        val = ((val << 6) + int(pos)) & 0xFFFFFF;
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

// Whether lists and objects nest deeper than `limit` (outside strings), checked before parsing: a
// file of 16 MiB of '[' would otherwise become 16 M nested lists. (A parser callback could check
// this too, but nlohmann's callback parser takes quadratic time over a long list of objects.)
bool json_nesting_exceeds(std::span<const uint8_t> text, int limit) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (uint8_t c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return true;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return false;
}

fs::path find_model_json(const fs::path& path) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) throw ModelError(path.string() + ": no such file or folder");
    if (!fs::is_directory(status)) return path;
    std::vector<fs::path> found;
    fs::directory_iterator it(path, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec))
        if (it->path().extension() == ".json") found.push_back(it->path());
    if (ec) throw ModelError(path.string() + ": cannot list the folder (" + ec.message() + ")");
    if (found.size() != 1)
        throw ModelError(path.string() + ": holds " + std::to_string(found.size()) +
                         " .json files; name the model.json to convert");
    return found[0];
}

struct Node {
    std::string name, op;
    std::vector<std::string> inputs;
    const json* attr = nullptr;  // the node's "attr" object in the parsed model.json, if any
};

// One entry of modelTopology.node, type-checked.
Node parse_node(const json& j, const std::string& file, size_t index) {
    const std::string where = file + ": node " + std::to_string(index + 1);
    if (!j.is_object()) fail(where, "expected an object, got " + describe(j));
    Node n;
    n.name = as_string(required(j, "name", where), where + ": name");
    if (n.name.empty() || n.name.size() > limits::kMaxNameBytes)
        fail(where, "the name is empty or longer than " + std::to_string(limits::kMaxNameBytes) + " bytes");
    const std::string named = file + ": node \"" + n.name + "\"";
    n.op = as_string(required(j, "op", named), named + ": op");
    if (const json* inputs = member(j, "input")) {
        as_array(*inputs, named + ": input", "input names");
        for (size_t k = 0; k < inputs->size(); ++k) {
            const std::string& in = as_string((*inputs)[k], named + ": input " + std::to_string(k + 1));
            if (!in.empty() && in[0] == '^') continue;  // control dependency
            n.inputs.push_back(strip_input_name(in));
        }
    }
    if (const json* attr = member(j, "attr")) {
        if (!attr->is_object()) fail(named + ": attr", "expected an object, got " + describe(*attr));
        n.attr = attr;
    }
    return n;
}

class GraphFolder {
public:
    GraphFolder(const fs::path& file, std::vector<Node> nodes, std::unordered_map<std::string, ConstTensor> weights,
                const ConvertOptions& options)
        : file_(file), nodes_(std::move(nodes)), weights_(std::move(weights)), options_(options) {}

    Network fold();

private:
    [[noreturn]] void fail(const Node& n, const std::string& what) const {
        throw ModelError(file_.string() + ": node \"" + n.name + "\" (" + n.op + "): " + what);
    }
    [[noreturn]] void fail_attr(const Node& n, const char* key, const std::string& what) const {
        fail(n, std::string("attribute ") + key + ": " + what);
    }
    size_t node_index(const std::string& name, const Node& user) const {
        auto it = index_.find(name);
        if (it == index_.end()) fail(user, "input '" + name + "' does not exist");
        return it->second;
    }
    const Node& node(const std::string& name, const Node& user) const { return nodes_[node_index(name, user)]; }
    const json* attr(const Node& n, const char* key) const { return n.attr ? member(*n.attr, key) : nullptr; }
    // A string attribute ({"s": base64}), or `fallback` where it is absent.
    std::string attr_string(const Node& n, const char* key, const char* fallback) const {
        const json* a = attr(n, key);
        if (!a) return fallback;
        const json* s = member(*a, "s");
        if (!s || !s->is_string())
            fail_attr(n, key, "expected a string ({\"s\": base64}), got " + (s ? "{\"s\": " + describe(*s) + "}" : describe(*a)));
        auto decoded = base64_decode(s->get_ref<const std::string&>());
        if (!decoded) fail_attr(n, key, value_text(*s) + " is not base64");
        return *decoded;
    }
    // A list of 4 integers ({"list": {"i": [...]}}), or nullopt where the attribute is absent.
    std::optional<std::array<int64_t, 4>> attr_ints4(const Node& n, const char* key) const {
        const json* a = attr(n, key);
        if (!a) return std::nullopt;
        const json* list = member(*a, "list");
        const json* values = list ? member(*list, "i") : nullptr;
        if (!values || !values->is_array() || values->size() != 4)
            fail_attr(n, key, "expected a list of 4 integers, got " +
                                  (values ? describe(*values)
                                   : list ? std::string("an empty list")
                                   : a->is_array() ? describe(*a) + " not in {\"list\": {\"i\": [...]}}"
                                                   : describe(*a)));
        std::array<int64_t, 4> r{};
        for (size_t k = 0; k < 4; ++k) {
            auto v = to_int64((*values)[k]);
            if (!v) fail_attr(n, key, "value " + std::to_string(k) + " is " + value_text((*values)[k]) + ", not a 64-bit integer");
            r[k] = *v;
        }
        return r;
    }
    // Checks one value of a list attribute against its range (engine/model_limits.h).
    void check_attr_range(const Node& n, const char* key, int64_t v, int64_t lo, int64_t hi) const {
        if (v < lo || v > hi)
            fail_attr(n, key, std::to_string(v) + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    // The fused ops of a _FusedConv2D / FusedDepthwiseConv2dNative ({"list": {"s": [base64...]}}).
    std::vector<std::string> attr_fused_ops(const Node& n) const {
        std::vector<std::string> fused;
        const json* a = attr(n, "fused_ops");
        if (!a) return fused;
        const json* list = member(*a, "list");
        if (!list || !list->is_object()) fail_attr(n, "fused_ops", "expected a list of strings, got " + describe(list ? *list : *a));
        const json* values = member(*list, "s");
        if (!values) return fused;  // an empty list
        if (!values->is_array()) fail_attr(n, "fused_ops", "expected a list of strings, got " + describe(*values));
        for (size_t k = 0; k < values->size(); ++k) {
            const json& v = (*values)[k];
            auto decoded = v.is_string() ? base64_decode(v.get_ref<const std::string&>()) : std::nullopt;
            if (!decoded) fail_attr(n, "fused_ops", "value " + std::to_string(k) + " is " + value_text(v) + ", not a base64 string");
            fused.push_back(*decoded);
        }
        return fused;
    }
    const ConstTensor& constant(const Node& user, size_t input_index) const;
    void check_nhwc(const Node& n) const {
        std::string f = attr_string(n, "data_format", "NHWC");
        if (f != "NHWC") fail(n, "data_format '" + f + "' is not supported (only NHWC)");
    }
    int tensor_of(const Node& user, size_t input_index);  // value id of an input, after folding
    uint64_t add_weights(const Node& n, const std::vector<float>& v) {
        const uint64_t at = weights_out_.size();
        if (v.size() > limits::kMaxWeightCount - at)
            fail(n, "the folded network holds more than " + std::to_string(limits::kMaxWeightCount) + " weights");
        weights_out_.insert(weights_out_.end(), v.begin(), v.end());
        return at;
    }
    void visit(const std::string& name, const Node& from);  // marks what the outputs need; finds cycles
    void emit_all();
    // One handler per op; each folds its node into the layers (or remembers it for its consumer).
    void emit(const Node& n);             // dispatches on n.op; Const, Placeholder, Identity inline
    void emit_pad(const Node& n);         // remembered, becomes its consumer's explicit pads
    void emit_window(const Node& n);      // Conv2D, DepthwiseConv2dNative, their fused forms, MaxPool
    void emit_add(const Node& n);         // BiasAdd/Add/AddV2: a bias, a residual or an add layer
    void emit_activation(const Node& n);  // Relu/Relu6 into the producer's epilogue
    Layer& new_layer(const Node& n, LayerKind kind, int input, int channels);
    // The layer that produced input i, if its epilogue may still absorb this node.
    Layer* fusable_producer(const Node& n, size_t i);
    void set_bias(const Node& n, Layer& l, const ConstTensor& b);
    void set_activation(const Node& n, Layer& l, const std::string& a);
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
    enum : uint8_t { kUnvisited, kVisiting, kNeeded };
    std::vector<uint8_t> state_;                          // by node index: the DFS of visit()
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

// Depth first without recursion (a graph may be a chain of a million nodes): an explicit stack of
// (node, next input to visit), in the order a recursive walk would take.
void GraphFolder::visit(const std::string& name, const Node& from) {
    std::vector<std::pair<size_t, size_t>> stack;
    auto enter = [&](const std::string& input, const Node& user) {
        const size_t i = node_index(input, user);
        if (state_[i] == kNeeded) return;
        if (state_[i] == kVisiting) fail(nodes_[i], "the graph has a cycle through this node");
        state_[i] = kVisiting;
        stack.emplace_back(i, 0);
    };
    enter(name, from);
    while (!stack.empty()) {
        const size_t i = stack.back().first;
        const size_t next = stack.back().second++;
        if (next < nodes_[i].inputs.size()) {
            enter(nodes_[i].inputs[next], nodes_[i]);
        } else {
            state_[i] = kNeeded;
            stack.pop_back();
        }
    }
}

// Emits the needed nodes in topological order, preferring the file's order among ready nodes:
// the official graphs list a shortcut before the branch it joins, which lets the Add fold into
// the branch's last conv as a residual.
void GraphFolder::emit_all() {
    std::vector<size_t> needed;
    for (size_t i = 0; i < nodes_.size(); ++i)
        if (state_[i] == kNeeded) needed.push_back(i);
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

Layer& GraphFolder::new_layer(const Node& n, LayerKind kind, int input, int channels) {
    if (net_.layers.size() >= size_t(limits::kMaxLayers))
        fail(n, "the graph folds into more than " + std::to_string(limits::kMaxLayers) + " layers");
    Layer l;
    l.kind = kind;
    l.name = n.name;
    l.input = input;
    l.output = int(net_.tensor_channels.size());
    l.in_channels = net_.tensor_channels[size_t(input)];
    l.out_channels = channels;
    net_.tensor_channels.push_back(channels);
    value_[n.name] = l.output;
    producer_[l.output] = int(net_.layers.size());
    net_.layers.push_back(l);
    return net_.layers.back();
}

Layer* GraphFolder::fusable_producer(const Node& n, size_t i) {
    int t = tensor_of(n, i);
    auto it = producer_.find(t);
    if (it == producer_.end() || consumers(n.inputs[i]) != 1) return nullptr;
    return &net_.layers[size_t(it->second)];
}

void GraphFolder::set_bias(const Node& n, Layer& l, const ConstTensor& b) {
    if (b.values.size() != size_t(l.out_channels))
        fail(n, "bias has " + std::to_string(b.values.size()) + " values for " + std::to_string(l.out_channels) + " channels");
    l.bias_offset = add_weights(n, b.values);
    l.bias_count = b.values.size();
}

void GraphFolder::set_activation(const Node& n, Layer& l, const std::string& a) {
    if (a == "Relu") l.activation = Activation::Relu;
    else if (a == "Relu6") l.activation = Activation::Relu6;
    else fail(n, "fused op '" + a + "' is not supported");
}

void GraphFolder::emit(const Node& n) {
    const std::string& op = n.op;
    if (op == "Const") return;  // read by its users through constant()
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
    if (op == "Pad") return emit_pad(n);
    if (op == "Conv2D" || op == "DepthwiseConv2dNative" || op == "_FusedConv2D" || op == "FusedDepthwiseConv2dNative" ||
        op == "MaxPool")
        return emit_window(n);
    if (op == "BiasAdd" || op == "Add" || op == "AddV2") return emit_add(n);
    if (op == "Relu" || op == "Relu6") return emit_activation(n);
    fail(n, "unknown op '" + op + "'");
}

void GraphFolder::emit_pad(const Node& n) {
    const ConstTensor& p = constant(n, 1);
    if (!p.is_int || p.ints.size() != 8) fail(n, "paddings must be an int32 [4,2] tensor");
    if (p.ints[0] || p.ints[1] || p.ints[6] || p.ints[7]) fail(n, "padding of the batch or channel axis is not supported");
    for (int v : p.ints)
        if (v < 0 || v > limits::kMaxExplicitPad)
            fail(n, "paddings: " + std::to_string(v) + " is out of range 0.." + std::to_string(limits::kMaxExplicitPad));
    tensor_of(n, 0);
    pads_[n.name] = {p.ints[2], p.ints[3], p.ints[4], p.ints[5]};
    pad_input_[n.name] = n.inputs[0];  // folded into its consumer
}

void GraphFolder::emit_window(const Node& n) {
    const std::string& op = n.op;
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
    const auto strides = attr_ints4(n, "strides").value_or(std::array<int64_t, 4>{1, 1, 1, 1});
    if (strides[0] != 1 || strides[3] != 1) fail(n, "strides over batch or channels are not supported");
    check_attr_range(n, "strides", strides[1], 1, limits::kMaxStride);
    check_attr_range(n, "strides", strides[2], 1, limits::kMaxStride);
    const auto dil = attr_ints4(n, "dilations").value_or(std::array<int64_t, 4>{1, 1, 1, 1});
    for (int64_t d : dil) check_attr_range(n, "dilations", d, 1, limits::kMaxDilation);
    int cin = net_.tensor_channels[size_t(input)];
    Layer* l;
    if (op == "MaxPool") {
        auto k = attr_ints4(n, "ksize");
        if (!k) fail(n, "ksize is missing");
        if ((*k)[0] != 1 || (*k)[3] != 1) fail(n, "pooling over batch or channels is not supported");
        check_attr_range(n, "ksize", (*k)[1], 1, limits::kMaxKernelSize);
        check_attr_range(n, "ksize", (*k)[2], 1, limits::kMaxKernelSize);
        l = &new_layer(n, LayerKind::MaxPool, input, cin);
        l->kernel_h = int((*k)[1]), l->kernel_w = int((*k)[2]);
    } else {
        const ConstTensor& w = constant(n, 1);
        const std::string filter = "filter '" + n.inputs[1] + "' ";
        if (w.is_int || w.shape.size() != 4) fail(n, "filter must be a float32 4-d tensor");
        // Each dimension is at most limits::kMaxWeightCount (2^28): the products below fit in 64 bits.
        if (w.shape[0] < 1 || w.shape[1] < 1 || w.shape[0] > limits::kMaxKernelSize || w.shape[1] > limits::kMaxKernelSize)
            fail(n, filter + "has a " + std::to_string(w.shape[0]) + "x" + std::to_string(w.shape[1]) +
                        " kernel (each side must be 1.." + std::to_string(limits::kMaxKernelSize) + ")");
        if (w.shape[2] != cin)
            fail(n, "filter expects " + std::to_string(w.shape[2]) + " input channels, its input has " + std::to_string(cin));
        bool depthwise = op.find("Depthwise") != std::string::npos;
        const int64_t cout = depthwise ? w.shape[2] * w.shape[3] : w.shape[3];
        if (cout < 1 || cout > limits::kMaxChannels)
            fail(n, filter + "gives " + std::to_string(cout) + " output channels (must be 1.." +
                        std::to_string(limits::kMaxChannels) + ")");
        l = &new_layer(n, depthwise ? LayerKind::DepthwiseConv2D : LayerKind::Conv2D, input, int(cout));
        l->kernel_h = int(w.shape[0]), l->kernel_w = int(w.shape[1]);
        l->weight_offset = add_weights(n, w.values);
        l->weight_count = w.values.size();
        // TF.js reads (attr[1], attr[2]); the official atrous graphs store [r,r,1,1].
        if (options_.dilation_reading == DilationReading::Trained && (dil[0] != 1 || dil[3] != 1))
            l->dilation_h = int(dil[0]), l->dilation_w = int(dil[1]);
        else
            l->dilation_h = int(dil[1]), l->dilation_w = int(dil[2]);
    }
    l->stride_h = int(strides[1]), l->stride_w = int(strides[2]);
    l->padding = padding == "SAME" ? Padding::Same : Padding::Valid;
    l->pad_top = pad[0], l->pad_bottom = pad[1], l->pad_left = pad[2], l->pad_right = pad[3];
    if (op == "_FusedConv2D" || op == "FusedDepthwiseConv2dNative") {
        size_t next_arg = 2;
        for (const auto& f : attr_fused_ops(n)) {
            if (f == "BiasAdd") {
                const ConstTensor& b = constant(n, next_arg++);
                if (b.is_int) fail(n, "bias must be float32");
                set_bias(n, *l, b);
            } else if (f == "Relu" || f == "Relu6") set_activation(n, *l, f);
            else fail(n, "fused op '" + f + "' is not supported");
        }
    }
}

void GraphFolder::emit_add(const Node& n) {
    // A bias: the second operand is a constant.
    if (n.inputs.size() == 2 && node(n.inputs[1], n).op == "Const") {
        const ConstTensor& b = constant(n, 1);
        Layer* l = fusable_producer(n, 0);
        if (!l || l->bias_count || l->input2 >= 0 || l->activation != Activation::None || l->kind == LayerKind::MaxPool ||
            l->kind == LayerKind::Add)
            fail(n, "a bias is only supported directly after a convolution");
        if (b.is_int || b.shape.size() != 1) fail(n, "bias must be a 1-d float32 tensor");
        set_bias(n, *l, b);
        l->name = n.name;
        value_[n.name] = l->output;
        return;
    }
    if (n.op == "BiasAdd") fail(n, "bias must be a constant");
    if (n.inputs.size() != 2) fail(n, "Add needs exactly two inputs");
    int a = tensor_of(n, 0), b = tensor_of(n, 1);
    // Fuse as a residual into whichever operand's conv came last (the other is then ready).
    Layer* la = fusable_producer(n, 0);
    Layer* lb = fusable_producer(n, 1);
    auto absorbs = [](const Layer* l) {
        return l && l->kind == LayerKind::Conv2D && l->input2 < 0 && l->activation == Activation::None;
    };
    Layer* target = nullptr;
    int other = -1;
    if (absorbs(la) && (!absorbs(lb) || a > b)) target = la, other = b;
    else if (absorbs(lb)) target = lb, other = a;
    if (target && other < target->output && net_.tensor_channels[size_t(other)] == target->out_channels) {
        target->input2 = other;
        target->name = n.name;
        value_[n.name] = target->output;
        return;
    }
    if (net_.tensor_channels[size_t(a)] != net_.tensor_channels[size_t(b)]) fail(n, "operands have different channel counts");
    Layer& l = new_layer(n, LayerKind::Add, a, net_.tensor_channels[size_t(a)]);
    l.input2 = b;
}

void GraphFolder::emit_activation(const Node& n) {
    Layer* l = fusable_producer(n, 0);
    if (!l || l->activation != Activation::None || l->kind == LayerKind::MaxPool)
        fail(n, "an activation is only supported directly after a convolution or an Add");
    set_activation(n, *l, n.op);
    l->name = n.name;
    value_[n.name] = l->output;
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
    Node root{"(outputs)", "", {}, nullptr};
    state_.assign(nodes_.size(), kUnvisited);
    for (const auto& [role, name] : outputs) visit(name, root);
    emit_all();
    if (net_.tensor_channels.empty()) throw ModelError(file_.string() + ": the graph has no input Placeholder");

    auto output_tensor = [&](const char* role) {
        const std::string& name = outputs[role];
        auto it = value_.find(name);
        if (it == value_.end())
            fail(nodes_[index_.at(name)], std::string("the ") + role + " output is not a tensor this converter can compute");
        return it->second;
    };
    net_.heatmap = output_tensor("heatmap");
    net_.offsets = output_tensor("offsets");
    net_.displacement_fwd = output_tensor("displacement_fwd");
    net_.displacement_bwd = output_tensor("displacement_bwd");
    net_.dilation_reading = options_.dilation_reading;

    auto storage = std::make_shared<std::vector<float>>(std::move(weights_out_));
    net_.weights = std::span<const float>(*storage);
    net_.weight_storage = storage;
    return std::move(net_);
}

}  // namespace

namespace {

// Converts model.json's bytes (at most limits::kMaxModelJsonBytes); `file` names it, shards come from `shards`.
Network convert(std::span<const uint8_t> text, const fs::path& file, ShardSource& shards, const ConvertOptions& options) {
    const std::string name = file.string();
    if (json_nesting_exceeds(text, limits::kMaxJsonDepth))
        throw ModelError(name + ": JSON nested deeper than " + std::to_string(limits::kMaxJsonDepth) + " levels");
    json model;
    try {
        model = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {
        throw ModelError(name + ": not valid JSON (" + e.what() + ")");
    }
    if (!model.is_object()) fail(name, "expected a JSON object, got " + describe(model));
    if (const json* format = member(model, "format"))
        if (!format->is_string() || format->get_ref<const std::string&>() != "graph-model")
            fail(name, "format " + value_text(*format) + " is not a TF.js graph-model");
    const json* topology = member(model, "modelTopology");
    const json* node_list = topology ? member(*topology, "node") : nullptr;
    if (!node_list) fail(name, "modelTopology.node is missing");
    if (!node_list->is_array()) fail(name, "modelTopology.node: expected a list of nodes, got " + describe(*node_list));
    if (node_list->size() > limits::kMaxGraphNodes)
        fail(name, "modelTopology.node lists " + std::to_string(node_list->size()) + " nodes, more than the limit of " +
                       std::to_string(limits::kMaxGraphNodes));
    std::vector<Node> nodes;
    nodes.reserve(node_list->size());
    for (size_t i = 0; i < node_list->size(); ++i) nodes.push_back(parse_node((*node_list)[i], name, i));
    TfjsWeights weights = read_tfjs_weights(member(model, "weightsManifest"), name, shards);
    GraphFolder folder(file, std::move(nodes), std::move(weights.tensors), options);
    Network net = folder.fold();
    net.quant_bytes = weights.quant_bytes;

    // Architecture from the node names; multiplier from the stem's width; stride from the layers.
    bool resnet = false;
    for (const Layer& l : net.layers)
        if (l.name.find("resnet_v1_50") != std::string::npos) resnet = true;
    net.architecture = resnet ? Architecture::ResNet50 : Architecture::MobileNetV1;
    net.input_transform = resnet ? InputTransform::ResNetMeanShift : InputTransform::MobileNetScale;
    net.multiplier = 1.0f;
    if (!resnet) {
        if (net.layers.empty()) throw ModelError(name + ": the graph has no layers");
        int stem = net.layers.front().out_channels;
        net.multiplier = float(stem) / 32.0f;
    }
    std::string src = name;
    for (const char* top : {"mobilenet/", "resnet50/"})
        if (auto p = src.rfind(top); p != std::string::npos) src = src.substr(p);
    net.source_name = src.size() > 200 ? file.filename().string().substr(0, 200) : src;

    try {
        net.validate();
        net.output_stride = net.implied_output_stride();
        net.check_output_stride();
    } catch (const ModelError& e) {
        throw ModelError(name + ": " + e.what());
    }
    return net;
}

}  // namespace

namespace {

// Runs `convert` and reports everything as a ModelError naming the file: whatever else escapes the
// library (out of memory, a file system error) is rethrown as one here, never as bare std:: text.
template <class F>
Network guarded(const fs::path& shown, F&& convert) {
    try {
        return convert();
    } catch (const ModelError&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw ModelError(shown.string() + ": out of memory while converting the model");
    } catch (const fs::filesystem_error& e) {
        throw ModelError(shown.string() + ": " + e.code().message());
    } catch (const std::exception& e) {
        throw ModelError(shown.string() + ": cannot convert the model (" + e.what() + ")");
    }
}

}  // namespace

Network load_tfjs_model(const fs::path& path, const ConvertOptions& options) {
    fs::path file;
    return guarded(path, [&] {
        file = find_model_json(path);
        return guarded(file, [&] {
            std::string why;
            auto bytes = read_regular_file(file, limits::kMaxModelJsonBytes, why);
            if (!bytes) throw ModelError(file.string() + ": cannot read the model: it " + why);
            ShardFiles shards(file.parent_path(), file.string());
            return convert(*bytes, file, shards, options);
        });
    });
}

Network load_tfjs_model(std::span<const uint8_t> model_json, const std::map<std::string, std::vector<uint8_t>>& shards,
                        const std::string& name, const ConvertOptions& options) {
    const fs::path file(name);
    return guarded(file, [&] {
        if (model_json.size() > limits::kMaxModelJsonBytes)
            throw ModelError(name + ": cannot read the model: it is " + std::to_string(model_json.size()) +
                             " bytes, more than the limit of " + std::to_string(limits::kMaxModelJsonBytes));
        ShardMemory source(shards, file.parent_path(), name);
        return convert(model_json, file, source, options);
    });
}

}  // namespace posenet::engine
