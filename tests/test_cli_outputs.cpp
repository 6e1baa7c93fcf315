// The CLI's outputs appear whole or not at all, never clobber a user's file, never collide; its errors
// name the file and the field or value.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/blob.h"
#include "engine/tfjs_model.h"
#include "tests/test_support.h"
#include "tests/tiny_model.h"

using namespace posenet;
using namespace posenet::test;

namespace {

struct Fixture {
    fs::path dir, blob;
    std::string cli;
    explicit Fixture(const std::string& name) : dir(scratch_dir(name)) {
        TinyModel t;
        blob = dir / "tiny.pnb";
        engine::save_blob(engine::load_tfjs_model(t.write(dir / "tfjs")), blob);
        cli = posenet_cli() + " detect --backend cpu --model " + blob.string() + " --input-resolution 33 ";
    }
    fs::path photo(const std::string& rel, int shade = 128) const {
        fs::create_directories((dir / rel).parent_path());
        std::ofstream ppm(dir / rel, std::ios::binary);
        ppm << "P6\n40 30\n255\n";
        for (int y = 0; y < 30; ++y)
            for (int x = 0; x < 40; ++x) ppm << char(x * 6) << char(y * 8) << char(shade);
        return dir / rel;
    }
    // Every file under `sub`, recursively (relative names).
    std::vector<std::string> files(const std::string& sub) const {
        std::vector<std::string> out;
        if (!fs::exists(dir / sub)) return out;
        for (auto& e : fs::recursive_directory_iterator(dir / sub))
            if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir / sub).string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

}  // namespace

TEST_CASE("detect CLI: a failed run leaves no output and no temporary behind") {
    Fixture f("cli-all-or-nothing");
    auto a = f.photo("a.ppm"), b = f.photo("b.ppm");
    std::ofstream(f.dir / "broken.ppm", std::ios::binary) << "not an image at all";
    auto r = run_command(f.cli + a.string() + " " + b.string() + " " + (f.dir / "broken.ppm").string() + " --json " +
                         (f.dir / "out" / "poses.json").string() + " --overlay " + (f.dir / "out").string());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("broken.ppm") != std::string::npos);
    CHECK(f.files("out").empty());  // neither a.png nor b.png nor any .tmp
    // The same run without the broken photo writes everything.
    r = run_command(f.cli + a.string() + " " + b.string() + " --json " + (f.dir / "out" / "poses.json").string() +
                    " --overlay " + (f.dir / "out").string());
    CHECK(r.exit_code == 0);
    CHECK(f.files("out") == std::vector<std::string>{"a.png", "b.png", "poses.json"});
}

TEST_CASE("detect CLI: same-named inputs get distinct overlays; a user's .tmp file is never touched") {
    Fixture f("cli-names");
    auto one = f.photo("x/photo.ppm", 10), two = f.photo("y/photo.ppm", 200), three = f.photo("z/photo.png.ppm", 90);
    fs::create_directories(f.dir / "out");
    std::ofstream(f.dir / "out" / "poses.json.tmp") << "mine";
    auto r = run_command(f.cli + one.string() + " " + two.string() + " " + three.string() + " --overlay " + (f.dir / "out").string() +
                         " --json " + (f.dir / "out" / "poses.json").string());
    CHECK(r.exit_code == 0);
    CHECK(f.files("out") == std::vector<std::string>{"photo-2.png", "photo.png", "photo.png.png", "poses.json", "poses.json.tmp"});
    std::ifstream mine(f.dir / "out" / "poses.json.tmp");
    std::string text((std::istreambuf_iterator<char>(mine)), {});
    CHECK(text == "mine");
    // The two overlays differ (each photo has its own), so neither overwrote the other.
    std::ifstream p1(f.dir / "out" / "photo.png", std::ios::binary), p2(f.dir / "out" / "photo-2.png", std::ios::binary);
    std::string b1((std::istreambuf_iterator<char>(p1)), {}), b2((std::istreambuf_iterator<char>(p2)), {});
    CHECK(b1 != b2);
}

TEST_CASE("detect CLI: --json naming a directory is refused before any work") {
    Fixture f("cli-json-dir");
    fs::create_directories(f.dir / "out");
    auto r = run_command(f.cli + f.photo("a.ppm").string() + " --json " + (f.dir / "out").string());
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("is a directory") != std::string::npos);
    CHECK(f.files("out").empty());
}

TEST_CASE("CLI: numbers that are not numbers name the option and the value") {
    Fixture f("cli-numbers");
    for (const std::string& bad : {"--max-poses abc", "--max-poses 99999999999999999999", "--nms-radius 1e999x",
                                   "--input-resolution 12x", "--device 1.5"}) {
        CAPTURE(bad);
        auto r = run_command(f.cli + f.photo("a.ppm").string() + " " + bad);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find(bad.substr(0, bad.find(' '))) != std::string::npos);
        CHECK(r.output.find("stoi") == std::string::npos);
        CHECK(r.output.find("stod") == std::string::npos);
    }
}

TEST_CASE("eval CLI: malformed annotations are refused before the detector runs, naming the entry") {
    Fixture f("cli-eval");
    f.photo("images/a.ppm");
    auto eval = posenet_cli() + " eval --backend cpu --model " + f.blob.string() + " --input-resolution 33 --images " +
                (f.dir / "images").string() + " --annotations ";
    std::ofstream(f.dir / "bad.json") << "{\"images\": [";
    auto r = run_command(eval + (f.dir / "bad.json").string());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("bad.json: not valid JSON") != std::string::npos);
    CHECK(r.output.find("[json.exception") == std::string::npos);
    nlohmann::json ann = {{"images", {{{"id", 1}, {"file_name", "a.ppm"}, {"width", 40}, {"height", 30}}}},
                          {"annotations", {{{"id", 1}, {"image_id", 1}, {"category_id", 1}, {"keypoints", "oops"}}}},
                          {"categories", {{{"id", 1}, {"name", "person"}}}}};
    std::ofstream(f.dir / "ann.json") << ann.dump();
    r = run_command(eval + (f.dir / "ann.json").string());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("ann.json") != std::string::npos);
    CHECK(r.output.find("images, ") == std::string::npos);  // the detector never ran ("N images, N poses")
    ann["images"][0]["file_name"] = "missing.ppm";
    std::ofstream(f.dir / "ann2.json") << ann.dump();
    r = run_command(eval + (f.dir / "ann2.json").string());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("missing.ppm (") != std::string::npos);
    CHECK(r.output.find("images[0]") != std::string::npos);
}
