#include "tests/tfjs_reference.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/blob.h"
#include "tests/test_support.h"

namespace posenet::test {

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    return std::string(std::istreambuf_iterator<char>(in), {});
}

template <class T>
std::vector<T> read_raw(const fs::path& p) {
    std::string b = slurp(p);
    std::vector<T> v(b.size() / sizeof(T));
    std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
    return v;
}

uint64_t hash_file(const fs::path& p, uint64_t h) {
    std::string b = slurp(p);
    return engine::fnv1a64(b.data(), b.size(), h);
}

fs::path cache_root() {
    if (const char* c = std::getenv("POSENET_REFERENCE_CACHE")) return c;
    if (const char* x = std::getenv("XDG_CACHE_HOME")) return fs::path(x) / "posenet" / "reference";
    if (const char* home = std::getenv("HOME")) return fs::path(home) / ".cache" / "posenet" / "reference";
    return build_root() / "reference-cache";
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace

std::optional<std::vector<ReferenceImage>> tfjs_reference(const ReferenceConfig& c, const std::vector<fs::path>& images) {
    const fs::path tool = source_root() / "tools" / "reference";
    if (!fs::is_directory(tool / "node_modules") || run_command("node --version").exit_code != 0) {
        std::printf("SKIP TF.js comparison: node or tools/reference/node_modules is missing (run ./run.sh test)\n");
        return std::nullopt;
    }
    std::ostringstream cfg;
    cfg << c.architecture << ' ' << c.output_stride << ' ' << c.input_width << 'x' << c.input_height << ' ' << c.multiplier
        << ' ' << c.quant_bytes << ' ' << c.max_poses << ' ' << c.score_threshold << ' ' << c.nms_radius << ' ' << c.flip;
    uint64_t key = engine::fnv1a64(cfg.str().data(), cfg.str().size());
    key = hash_file(tool / "package-lock.json", key);
    key = hash_file(tool / "posenet_reference.mjs", key);
    key = hash_file(c.model_json, key);
    {
        auto manifest = nlohmann::json::parse(slurp(c.model_json))["weightsManifest"];
        for (const auto& g : manifest)
            for (const auto& p : g["paths"]) key = hash_file(c.model_json.parent_path() / p.get<std::string>(), key);
    }
    for (const auto& img : images) key = hash_file(img, key);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key));
    const fs::path dir = cache_root() / hex;

    if (!fs::exists(dir / "summary.json")) {
        // Unique per process: two test runs may fill the same entry at once.
        fs::path tmp = cache_root() / (std::string(hex) + ".partial" + std::to_string(::getpid()));
        fs::remove_all(tmp);
        fs::create_directories(tmp);
        std::ostringstream cmd;
        cmd << "node " << quote((tool / "posenet_reference.mjs").string()) << " --model " << quote(c.model_json.string())
            << " --architecture " << c.architecture << " --output-stride " << c.output_stride << " --input-resolution "
            << c.input_width << 'x' << c.input_height << " --multiplier " << c.multiplier << " --quant-bytes "
            << c.quant_bytes << " --max-poses " << c.max_poses << " --score-threshold " << c.score_threshold
            << " --nms-radius " << c.nms_radius << (c.flip ? " --flip" : "") << " --backend cpu --allow-unlisted-stride"
            << " --out " << quote(tmp.string());
        for (const auto& img : images) cmd << ' ' << quote(img.string());
        auto r = run_command(cmd.str());
        if (r.exit_code != 0) throw std::runtime_error("TF.js reference tool failed:\n" + cmd.str() + "\n" + r.output);
        std::error_code ec;
        fs::rename(tmp, dir, ec);  // a concurrent run may have won; its entry is equally good
        fs::remove_all(tmp, ec);
    }

    std::vector<ReferenceImage> out;
    for (size_t i = 0; i < images.size(); ++i) {
        fs::path d = dir / std::to_string(i);
        ReferenceImage ri;
        ri.image = images[i];
        ri.result = nlohmann::json::parse(slurp(d / "result.json"));
        ri.width = ri.result["width"];
        ri.height = ri.result["height"];
        ri.rgb = read_raw<uint8_t>(d / "rgb.u8");
        ri.input = read_raw<float>(d / "input.f32");
        ri.heatmap = read_raw<float>(d / "heatmap.f32");
        ri.heatmap_logits = read_raw<float>(d / "heatmap_logits.f32");
        ri.offsets = read_raw<float>(d / "offsets.f32");
        ri.displacement_fwd = read_raw<float>(d / "displacement_fwd.f32");
        ri.displacement_bwd = read_raw<float>(d / "displacement_bwd.f32");
        auto shape = ri.result["files"]["heatmap.f32"]["shape"];
        ri.grid_h = shape[shape.size() - 3];
        ri.grid_w = shape[shape.size() - 2];
        out.push_back(std::move(ri));
    }
    return out;
}

}  // namespace posenet::test
