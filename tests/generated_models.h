// Test models for every PoseNet variant, written by tools/posenet-make-test-model (deterministic,
// so TF.js reference outputs cached for them stay valid).
#pragma once

#include <string>

#include "tests/test_support.h"

namespace posenet::test {

struct Variant {
    std::string architecture;  // MobileNetV1 | ResNet50
    std::string multiplier;    // "0.5" "0.75" "1.0"
    int stride;
    int quant_bytes;
    std::string dir_name() const {
        std::string arch = architecture == "ResNet50" ? "resnet50" : "mobilenet";
        std::string q = quant_bytes == 4 ? "float" : quant_bytes == 2 ? "quant2" : "quant1";
        std::string m = multiplier == "0.5" ? "050" : multiplier == "0.75" ? "075" : "100";
        return arch + "/" + q + "/" + m;
    }
};

// Writes the variant (once per test run) in the official layout; returns its model.json path.
inline fs::path generated_model(const Variant& v, const std::string& extra = "") {
    const fs::path dir = build_root() / "test-scratch" / "generated" / v.dir_name();
    const fs::path json = dir / ("model-stride" + std::to_string(v.stride) + ".json");
    if (fs::exists(json) && extra.empty()) return json;
    fs::create_directories(dir);
    std::string cmd = (build_root() / "tools" / "posenet-make-test-model").string() + " --architecture " + v.architecture +
                      " --multiplier " + v.multiplier + " --output-stride " + std::to_string(v.stride) + " --quant-bytes " +
                      std::to_string(v.quant_bytes) + " -o " + dir.string() + " " + extra;
    auto r = run_command(cmd);
    if (r.exit_code != 0) throw std::runtime_error("test model generator failed: " + cmd + "\n" + r.output);
    return json;
}

}  // namespace posenet::test
