// A tiny TF.js graph model written by hand (three stride-2 convs + the four heads), for converter tests
// that need a model to break in one specific way.
#pragma once

#include <cstring>
#include <filesystem>
#include <fstream>
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

}  // namespace posenet::test
