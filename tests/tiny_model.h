// A tiny TF.js graph model written by hand (three stride-2 convs + the four heads), for converter tests
// that need a model to break in one specific way.
#pragma once

#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace posenet::test {

struct TinyModel {
    nlohmann::json model;
    std::vector<float> weights;  // every weight back to back, manifest order

    TinyModel() {
        using nlohmann::json;
        auto conv_attr = [](const char* padding_b64, int stride) {
            std::string s = std::to_string(stride);
            return json{{"padding", {{"s", padding_b64}}},
                        {"strides", {{"list", {{"i", {"1", s, s, "1"}}}}}},
                        {"dilations", {{"list", {{"i", {"1", "1", "1", "1"}}}}}},
                        {"data_format", {{"s", "TkhXQw=="}}}};
        };
        const char* same = "U0FNRQ==";
        json nodes = json::array();
        json manifest = json::array();
        auto add_const = [&](const std::string& name, std::vector<int> shape) {
            nodes.push_back({{"name", name}, {"op", "Const"}, {"attr", json::object()}});
            manifest.push_back({{"name", name}, {"shape", shape}, {"dtype", "float32"}});
            size_t n = 1;
            for (int d : shape) n *= size_t(d);
            for (size_t i = 0; i < n; ++i) weights.push_back(0.01f * float((i * 7919 + weights.size()) % 200) - 1.0f);
        };
        nodes.push_back({{"name", "sub_2"}, {"op", "Placeholder"}, {"attr", json::object()}});
        // Three stride-2 convs (output stride 8) of 16 channels (multiplier 0.5): a valid PoseNet config.
        std::string prev = "sub_2";
        int channels = 3;
        for (const char* layer : {"stem", "conv2", "conv3"}) {
            std::string n = std::string("Tiny/") + layer;
            add_const(n + "/weights", {3, 3, channels, 16});
            add_const(n + "/bias", {16});
            nodes.push_back({{"name", n + "/conv"}, {"op", "Conv2D"}, {"input", {prev, n + "/weights"}}, {"attr", conv_attr(same, 2)}});
            nodes.push_back({{"name", n + "/BiasAdd"}, {"op", "BiasAdd"}, {"input", {n + "/conv", n + "/bias"}}});
            nodes.push_back({{"name", n + "/Relu6"}, {"op", "Relu6"}, {"input", {n + "/BiasAdd"}}});
            prev = n + "/Relu6";
            channels = 16;
        }
        for (auto [head, ch] : std::vector<std::pair<std::string, int>>{
                 {"heatmap_2", 17}, {"offset_2", 34}, {"displacement_fwd_2", 32}, {"displacement_bwd_2", 32}}) {
            add_const("Tiny/" + head + "/weights", {1, 1, 16, ch});
            add_const("Tiny/" + head + "/bias", {ch});
            nodes.push_back({{"name", "Tiny/" + head + "/conv"}, {"op", "Conv2D"},
                             {"input", {prev, "Tiny/" + head + "/weights"}}, {"attr", conv_attr(same, 1)}});
            nodes.push_back({{"name", "Tiny/" + head + "/BiasAdd"}, {"op", "BiasAdd"},
                             {"input", {"Tiny/" + head + "/conv", "Tiny/" + head + "/bias"}}});
        }
        model = {{"format", "graph-model"},
                 {"modelTopology", {{"node", nodes}}},
                 {"weightsManifest", {{{"paths", {"group1-shard1of1.bin"}}, {"weights", manifest}}}}};
    }

    nlohmann::json& node(const std::string& name) {
        for (auto& n : model["modelTopology"]["node"])
            if (n["name"] == name) return n;
        throw std::runtime_error("no node " + name);
    }

    // Writes model.json and the shard into dir; returns the model.json path.
    std::filesystem::path write(const std::filesystem::path& dir) const {
        std::filesystem::create_directories(dir);
        std::ofstream(dir / "model.json") << model.dump();
        std::ofstream shard(dir / "group1-shard1of1.bin", std::ios::binary);
        shard.write(reinterpret_cast<const char*>(weights.data()), std::streamsize(weights.size() * sizeof(float)));
        return dir / "model.json";
    }
};

// ---- Surgery: variants of the tiny model (the hostile-model tests, the fuzz seeds) ------------

inline nlohmann::json ints_attr(std::initializer_list<const char*> values) {
    nlohmann::json list = nlohmann::json::array();
    for (const char* v : values) list.push_back(v);
    return {{"list", {{"i", list}}}};
}

inline size_t element_count(const nlohmann::json& weight) {
    size_t n = 1;
    for (const auto& d : weight["shape"]) n *= d.get<size_t>();
    return n;
}

inline nlohmann::json& manifest_entry(TinyModel& t, const std::string& name) {
    for (auto& w : t.model["weightsManifest"][0]["weights"])
        if (w["name"] == name) return w;
    throw std::runtime_error("no weight " + name);
}

// Gives weight `name` a new shape and data (int32 data as float bit patterns).
inline void replace_weight(TinyModel& t, const std::string& name, nlohmann::json shape, const std::vector<float>& values) {
    size_t at = 0;
    for (auto& w : t.model["weightsManifest"][0]["weights"]) {
        const size_t n = element_count(w);
        if (w["name"] == name) {
            t.weights.erase(t.weights.begin() + long(at), t.weights.begin() + long(at + n));
            t.weights.insert(t.weights.begin() + long(at), values.begin(), values.end());
            w["shape"] = std::move(shape);
            return;
        }
        at += n;
    }
    throw std::runtime_error("no weight " + name);
}

inline void add_int32_weight(TinyModel& t, const std::string& name, nlohmann::json shape, const std::vector<int32_t>& values) {
    t.model["modelTopology"]["node"].push_back({{"name", name}, {"op", "Const"}, {"attr", nlohmann::json::object()}});
    t.model["weightsManifest"][0]["weights"].push_back({{"name", name}, {"shape", std::move(shape)}, {"dtype", "int32"}});
    for (int32_t v : values) {
        float f;
        std::memcpy(&f, &v, 4);
        t.weights.push_back(f);
    }
}

inline void erase_node(TinyModel& t, const std::string& name) {
    auto& nodes = t.model["modelTopology"]["node"];
    for (size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i]["name"] == name) {
            nodes.erase(i);
            return;
        }
    throw std::runtime_error("no node " + name);
}

// conv2 as a 3x3 depthwise conv (multiplier 1), as in MobileNetV1.
inline void make_conv2_depthwise(TinyModel& t) {
    t.node("Tiny/conv2/conv")["op"] = "DepthwiseConv2dNative";
    replace_weight(t, "Tiny/conv2/weights", {3, 3, 16, 1}, std::vector<float>(144, 0.125f));
}

// A 3x3 stride-1 SAME max pool "Tiny/pool" between the stem and conv2.
inline void insert_maxpool(TinyModel& t) {
    t.model["modelTopology"]["node"].push_back(
        {{"name", "Tiny/pool"},
         {"op", "MaxPool"},
         {"input", {"Tiny/stem/Relu6"}},
         {"attr", {{"ksize", ints_attr({"1", "3", "3", "1"})}, {"strides", ints_attr({"1", "1", "1", "1"})},
                   {"padding", {{"s", "U0FNRQ=="}}}, {"data_format", {{"s", "TkhXQw=="}}}}}});
    t.node("Tiny/conv2/conv")["input"][0] = "Tiny/pool";
}

// A Pad "Tiny/pad" (paddings [[0,0],[top,bottom],[left,right],[0,0]]) folded into conv2.
inline void insert_pad(TinyModel& t, int32_t top, int32_t bottom, int32_t left, int32_t right) {
    add_int32_weight(t, "Tiny/pad/paddings", {4, 2}, {0, 0, top, bottom, left, right, 0, 0});
    t.model["modelTopology"]["node"].push_back(
        {{"name", "Tiny/pad"}, {"op", "Pad"}, {"input", {"Tiny/stem/Relu6", "Tiny/pad/paddings"}}, {"attr", nlohmann::json::object()}});
    t.node("Tiny/conv2/conv")["input"][0] = "Tiny/pad";
}

// The stem as one _FusedConv2D with BiasAdd + Relu6, as in re-converted graphs.
inline void fuse_stem(TinyModel& t) {
    nlohmann::json& n = t.node("Tiny/stem/conv");
    n["op"] = "_FusedConv2D";
    n["input"] = {"sub_2", "Tiny/stem/weights", "Tiny/stem/bias"};
    n["attr"]["fused_ops"] = {{"list", {{"s", {"Qmlhc0FkZA==", "UmVsdTY="}}}}};
    n["attr"]["num_args"] = {{"i", "1"}};
    erase_node(t, "Tiny/stem/BiasAdd");
    erase_node(t, "Tiny/stem/Relu6");
    t.node("Tiny/conv2/conv")["input"][0] = "Tiny/stem/conv";
}

// `length` Identity nodes between the stem and conv2.
inline void insert_identity_chain(TinyModel& t, int length) {
    auto& nodes = t.model["modelTopology"]["node"];
    std::string prev = "Tiny/stem/Relu6";
    for (int i = 0; i < length; ++i) {
        std::string name = "Tiny/id/" + std::to_string(i);
        nodes.push_back({{"name", name}, {"op", "Identity"}, {"input", {prev}}});
        prev = name;
    }
    t.node("Tiny/conv2/conv")["input"][0] = prev;
}

}  // namespace posenet::test
