// COCO keypoint evaluation on hand-made cases whose answers follow from pycocotools' rules, and
// `posenet eval` end to end on a tiny model.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/blob.h"
#include "engine/tfjs_model.h"
#include "bench/coco_eval.h"
#include "tests/test_support.h"
#include "tests/tiny_model.h"

using namespace posenet;
using namespace posenet::test;
using nlohmann::json;

namespace {

using Kps = std::array<double, 3 * kNumKeypoints>;
enum Stat { AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl };

// 17 labelled keypoints on a line from (x, y), `step` apart in x and step/2 in y.
Kps person_at(double x, double y, double step = 10) {
    Kps k{};
    for (size_t i = 0; i < size_t(kNumKeypoints); ++i) k[3 * i] = x + step * double(i), k[3 * i + 1] = y + step / 2 * double(i), k[3 * i + 2] = 2;
    return k;
}

json gt(int64_t id, int64_t image, const Kps& k, double area, int iscrowd = 0) {
    double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    int labelled = 0;
    for (size_t i = 0; i < size_t(kNumKeypoints); ++i) {
        if (k[3 * i + 2] <= 0) continue;
        ++labelled;
        x0 = std::min(x0, k[3 * i]), x1 = std::max(x1, k[3 * i]), y0 = std::min(y0, k[3 * i + 1]), y1 = std::max(y1, k[3 * i + 1]);
    }
    return {{"id", id}, {"image_id", image}, {"category_id", 1}, {"keypoints", k}, {"num_keypoints", labelled},
            {"area", area}, {"iscrowd", iscrowd}, {"bbox", {x0, y0, x1 - x0, y1 - y0}}};
}

json coco(std::vector<json> annotations, int images = 1) {
    json j{{"images", json::array()}, {"annotations", annotations}, {"categories", {{{"id", 1}, {"name", "person"}}}}};
    for (int i = 1; i <= images; ++i) j["images"].push_back({{"id", i}, {"file_name", std::to_string(i) + ".ppm"}});
    return j;
}

CocoDetection det(int64_t image, double score, const Kps& k) {
    CocoDetection d;
    d.image_id = image;
    d.score = score;
    d.keypoints = k;
    return d;
}

// The same person with keypoint i moved right by c * sigma_i: every keypoint's term is c^2 / (8 area),
// so OKS = exp(-c^2 / (8 area)) exactly; this returns the shift that gives `oks`.
Kps shifted_to_oks(const Kps& k, double area, double oks) {
    const double c = std::sqrt(-8 * area * std::log(oks));
    Kps s = k;
    for (size_t i = 0; i < size_t(kNumKeypoints); ++i) s[3 * i] += c * kCocoSigmas[i];
    return s;
}

void check_stats(const std::array<double, 10>& got, const std::array<double, 10>& want) {
    for (size_t i = 0; i < 10; ++i) {
        INFO(kCocoStatNames[i]);
        CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
    }
}

const double kLarge = 10000;  // > 96^2; person_at's keypoint extent (160 x 80) is large too

}  // namespace

TEST_CASE("coco eval: a perfect detection scores 1, and medium is -1 with no medium person") {
    auto p = person_at(100, 200);
    check_stats(evaluate_coco_keypoints(coco({gt(1, 1, p, kLarge)}), {det(1, 0.9, p)}), {1, 1, 1, -1, 1, 1, 1, 1, -1, 1});
    // No detections at all: AP and AR 0, not -1 (there is ground truth to miss).
    check_stats(evaluate_coco_keypoints(coco({gt(1, 1, p, kLarge)}), {}), {0, 0, 0, -1, 0, 0, 0, 0, -1, 0});
}

TEST_CASE("coco eval: OKS of a shifted detection is exp(-c^2 / 8 area), and lands between thresholds") {
    auto p = person_at(100, 200);
    auto g = gt(1, 1, p, kLarge);
    auto off = shifted_to_oks(p, kLarge, 0.62);
    CHECK(coco_oks(g, det(1, 1, off)) == doctest::Approx(0.62).epsilon(1e-9));
    // Matched at 0.50, 0.55, 0.60 only: 3 of the 10 thresholds.
    check_stats(evaluate_coco_keypoints(coco({g}), {det(1, 0.9, off)}), {0.3, 1, 0, -1, 0.3, 0.3, 1, 0, -1, 0.3});
    // Only labelled keypoints count: an unlabelled one may be anywhere.
    auto partial = p;
    partial[2] = 0;
    auto far = p;
    far[0] += 1000;
    CHECK(coco_oks(gt(1, 1, partial, kLarge), det(1, 1, far)) == doctest::Approx(1.0));
    CHECK(coco_oks(g, det(1, 1, far)) < 0.95);
}

TEST_CASE("coco eval: a gt with no labelled keypoints is measured against its bbox grown 2x") {
    Kps none{};
    auto g = gt(1, 1, none, 2500);
    g["bbox"] = {100, 100, 50, 50};  // grown: x in [50, 200], y in [50, 200]
    Kps inside{}, left{};
    for (size_t i = 0; i < size_t(kNumKeypoints); ++i) inside[3 * i] = 60, inside[3 * i + 1] = 190, left[3 * i] = 40, left[3 * i + 1] = 120;
    CHECK(coco_oks(g, det(1, 1, inside)) == 1.0);
    double want = 0;  // 10 px left of the grown box: e = 100 / (2 sigma)^2 / area / 2
    for (double s : kCocoSigmas) want += std::exp(-100 / (4 * s * s) / 2500 / 2);
    CHECK(coco_oks(g, det(1, 1, left)) == doctest::Approx(want / kNumKeypoints).epsilon(1e-12));
}

TEST_CASE("coco eval: two people, one detection: recall 0.5, precision 1 up to it") {
    auto a = person_at(100, 200), b = person_at(400, 200);
    auto stats = evaluate_coco_keypoints(coco({gt(1, 1, a, kLarge), gt(2, 1, b, kLarge)}), {det(1, 0.9, a)});
    // 51 of the 101 recall points (0 .. 0.50) have precision 1.
    check_stats(stats, {51.0 / 101, 51.0 / 101, 51.0 / 101, -1, 51.0 / 101, 0.5, 0.5, 0.5, -1, 0.5});
}

TEST_CASE("coco eval: a false positive ranked above a true positive costs the interpolated precision") {
    auto a = person_at(100, 200), b = person_at(400, 200), nowhere = person_at(100, 600);
    auto gts = coco({gt(1, 1, a, kLarge), gt(2, 1, b, kLarge)});
    // Ranked TP, FP, TP: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1; the envelope is 1 up to recall 0.5
    // (51 points) and 2/3 above it (50 points).
    auto stats = evaluate_coco_keypoints(gts, {det(1, 0.9, a), det(1, 0.8, nowhere), det(1, 0.7, b)});
    const double ap = (51 + 50 * 2.0 / 3) / 101;
    check_stats(stats, {ap, ap, ap, -1, ap, 1, 1, 1, -1, 1});
    // Ranked last, the same false positive costs nothing.
    stats = evaluate_coco_keypoints(gts, {det(1, 0.9, a), det(1, 0.1, nowhere), det(1, 0.7, b)});
    check_stats(stats, {1, 1, 1, -1, 1, 1, 1, 1, -1, 1});
}

TEST_CASE("coco eval: crowd and keypoint-less people are ignored, and detections on them are no false positives") {
    auto a = person_at(100, 200), crowd = person_at(400, 200);
    Kps none{};
    auto empty = gt(3, 1, none, kLarge);
    empty["bbox"] = {100, 500, 160, 80};
    auto on_empty = person_at(110, 510);  // inside the bbox: OKS 1 with it
    auto gts = coco({gt(1, 1, a, kLarge), gt(2, 1, crowd, kLarge, 1), empty});
    auto stats = evaluate_coco_keypoints(gts, {det(1, 0.9, crowd), det(1, 0.8, on_empty), det(1, 0.7, a)});
    check_stats(stats, {1, 1, 1, -1, 1, 1, 1, 1, -1, 1});
    // With only ignored people there is nothing to measure.
    stats = evaluate_coco_keypoints(coco({gt(2, 1, crowd, kLarge, 1), empty}), {det(1, 0.9, crowd)});
    check_stats(stats, {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1});
}

TEST_CASE("coco eval: area ranges route small and medium people") {
    auto small = person_at(10, 10, 1), medium = person_at(100, 100, 4);
    // A small person (area < 32^2) counts in `all` only.
    check_stats(evaluate_coco_keypoints(coco({gt(1, 1, small, 500)}), {det(1, 0.9, small)}), {1, 1, 1, -1, -1, 1, 1, 1, -1, -1});
    // Add a medium one on a second image, missed: all has recall 1/2, medium 0, large nobody.
    auto stats = evaluate_coco_keypoints(coco({gt(1, 1, small, 500), gt(2, 2, medium, 5000)}, 2), {det(1, 0.9, small)});
    check_stats(stats, {51.0 / 101, 51.0 / 101, 51.0 / 101, 0, -1, 0.5, 0.5, 0.5, 0, -1});
}

TEST_CASE("coco eval: at most 20 detections an image, by score; unknown images are an error") {
    auto a = person_at(100, 200);
    std::vector<CocoDetection> dets;
    for (int i = 0; i < 20; ++i) dets.push_back(det(1, 0.9, person_at(100, 600 + 100 * i)));
    dets.push_back(det(1, 0.5, a));  // the 21st: never seen
    check_stats(evaluate_coco_keypoints(coco({gt(1, 1, a, kLarge)}), dets), {0, 0, 0, -1, 0, 0, 0, 0, -1, 0});
    CHECK_THROWS_WITH(evaluate_coco_keypoints(coco({gt(1, 1, a, kLarge)}), {det(7, 0.9, a)}), doctest::Contains("image_id 7"));
    auto bad = coco({gt(1, 1, a, kLarge)});
    bad["annotations"][0].erase("num_keypoints");
    CHECK_THROWS_WITH(evaluate_coco_keypoints(bad, {}), doctest::Contains("annotation id 1"));
    // Results JSON round trip.
    auto back = parse_coco_results(to_coco_results({det(1, 0.5, a)}));
    REQUIRE(back.size() == 1);
    CHECK(back[0].keypoints == a);
    CHECK(back[0].category_id == 1);
}

TEST_CASE("coco eval CLI: runs on a tiny model, evaluates a reference, and names a missing image") {
    auto dir = scratch_dir("coco-eval-cli");
    TinyModel t;
    engine::save_blob(engine::load_tfjs_model(t.write(dir)), dir / "tiny.pnb");
    {
        std::ofstream ppm(dir / "photo.ppm", std::ios::binary);
        ppm << "P6\n40 30\n255\n";
        for (int y = 0; y < 30; ++y)
            for (int x = 0; x < 40; ++x) ppm << char(x * 6) << char(y * 8) << char(128);
    }
    auto p = person_at(5, 5, 2);
    auto annotations = coco({gt(1, 1, p, 1500)});
    annotations["images"][0]["file_name"] = "photo.ppm";
    std::ofstream(dir / "ann.json") << annotations.dump();
    std::ofstream(dir / "ref.json") << to_coco_results({det(1, 0.9, p)}).dump();

    std::string cli = posenet_cli() + " eval --model " + (dir / "tiny.pnb").string() +
                      " --input-resolution 33 --backend cpu --images " + dir.string() + " --annotations ";
    auto r = run_command(cli + (dir / "ann.json").string() + " --json " + (dir / "out.json").string() + " --reference " +
                         (dir / "ref.json").string());
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("AP50") != std::string::npos);
    // The reference is a perfect detection of the one (medium) person.
    CHECK(r.output.find("reference   1.000  1.000  1.000  1.000 -1.000") != std::string::npos);
    std::ifstream in(dir / "out.json");
    auto out = json::parse(in);
    REQUIRE(out.is_array());
    for (const auto& d : out) {
        CHECK(d["image_id"] == 1);
        CHECK(d["category_id"] == 1);
        CHECK(d["keypoints"].size() == 51);
    }

    annotations["images"].push_back({{"id", 2}, {"file_name", "absent.ppm"}});
    std::ofstream(dir / "missing.json") << annotations.dump();
    r = run_command(cli + (dir / "missing.json").string() + " --json " + (dir / "bad.json").string());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("absent.ppm") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "bad.json"));
    r = run_command(posenet_cli() + " eval --images " + dir.string());
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("--annotations") != std::string::npos);
}
