#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/coco_eval.h"
#include "engine/file_io.h"
#include "tools/commands.h"
#include "tools/model_options.h"
#include "tools/write_file.h"

namespace posenet::cli {

static const std::string kHelp = std::string(
    "usage: posenet eval --annotations FILE --images DIR [model options] [--max-poses N]\n"
    "                    [--score-threshold S] [--nms-radius R] [--json OUT] [--reference RESULTS]\n"
    "\n"
    "COCO keypoint AP (pycocotools' COCOeval, iouType keypoints) of the model on every image of a\n"
    "COCO annotations file; prints AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl.\n"
    "  --annotations FILE      COCO person_keypoints JSON\n"
    "  --images DIR            folder holding each image's file_name\n"
    "  --max-poses N           multi-pose decoder, at most N poses (default 20, COCO's maxDets)\n"
    "  --score-threshold S     root threshold (default 0.1)\n"
    "  --nms-radius R          NMS radius in model-input pixels (default 20)\n"
    "  --json OUT              write the detections as a COCO results file\n"
    "  --reference RESULTS     also evaluate an existing COCO results file (e.g. TF.js's poses)\n") +
    kModelOptionsHelp;

namespace {

constexpr uint64_t kMaxJsonBytes = uint64_t(4) << 30;

// nlohmann's messages start with "[json.exception.parse_error.101] "; keep what follows.
std::string json_reason(const nlohmann::json::exception& e) {
    std::string what = e.what();
    if (auto end = what.find("] "); what.rfind("[json.exception", 0) == 0 && end != std::string::npos) what = what.substr(end + 2);
    return what;
}

nlohmann::json read_json(const std::filesystem::path& path) {
    std::string why;
    auto bytes = engine::read_regular_file(path, kMaxJsonBytes, why);
    if (!bytes) throw std::runtime_error(path.string() + ": cannot read: " + why);
    try {
        return nlohmann::json::parse(bytes->begin(), bytes->end());
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(path.string() + ": not valid JSON: " + json_reason(e));
    }
}

std::array<double, 10> evaluate(const nlohmann::json& annotations, const std::vector<CocoDetection>& dets,
                                const std::string& what) {
    try {
        return evaluate_coco_keypoints(annotations, dets);
    } catch (const std::exception& e) {
        throw std::runtime_error(what + ": " + e.what());
    }
}

void print_row(const char* name, const std::array<double, 10>& s) {
    std::printf("%-10s", name);
    for (double v : s) std::printf(" %6.3f", v);
    std::printf("\n");
}

}  // namespace

int cmd_eval(int argc, char** argv) {
    Args args(argc, argv);
    if (args.help(kHelp)) return 0;
    EstimationConfig est;
    est.max_poses = 20;  // COCO's maxDets
    est.score_threshold = 0.1f;
    take_estimation_options(args, est);
    std::string annotations_path = args.option("--annotations");
    std::string images_dir = args.option("--images");
    std::string json_out = args.option("--json");
    std::string reference_path = args.option("--reference");
    if (annotations_path.empty()) throw UsageError("needs --annotations");
    if (images_dir.empty()) throw UsageError("needs --images");
    ModelConfig config;
    DetectorOptions options;
    take_model_options(args, config, options);
    if (!args.positional().empty()) throw UsageError("takes no positional arguments");
    validate(est);

    // Everything that can be checked is, before the model runs: the annotations, every image on disk,
    // and the reference results.
    const auto annotations = read_json(annotations_path);
    if (!annotations.is_object() || !annotations.contains("images") || !annotations["images"].is_array())
        throw std::runtime_error(annotations_path + ": not a COCO annotations file (no images list)");
    std::vector<std::pair<int64_t, std::filesystem::path>> images;
    const auto& listed = annotations["images"];
    for (size_t i = 0; i < listed.size(); ++i) {
        const auto& im = listed[i];
        const std::string entry = annotations_path + ": images[" + std::to_string(i) + "]";
        if (!im.is_object() || !im.contains("file_name") || !im["file_name"].is_string())
            throw std::runtime_error(entry + ": no file_name string");
        if (!im.contains("id") || !im["id"].is_number_integer()) throw std::runtime_error(entry + ": no integer id");
        auto path = std::filesystem::path(images_dir) / im["file_name"].get<std::string>();
        if (auto problem = engine::regular_file_problem(path))
            throw std::runtime_error(path.string() + " (" + entry + "): " + *problem);
        images.emplace_back(im["id"].get<int64_t>(), path);
    }
    // The annotations themselves (keypoints, boxes, areas): an evaluation with no detections reads
    // every entry, so a malformed one stops the run here, before the detector runs on every image.
    evaluate(annotations, {}, annotations_path);
    std::vector<CocoDetection> reference;
    if (!reference_path.empty()) {
        try {
            reference = parse_coco_results(read_json(reference_path));
        } catch (const std::exception& e) {
            throw std::runtime_error(reference_path + ": " + e.what());
        }
    }

    PoseDetector detector(config, options);
    const ModelInfo& info = detector.model_info();
    std::printf("model %s: %s %.2f, output stride %d, input %dx%d, backend %s\n", config.model.string().c_str(),
                to_string(info.architecture), info.multiplier, info.output_stride, info.input_resolution.width,
                info.input_resolution.height, detector.backend_name());
    std::vector<CocoDetection> detections;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& [id, path] : images) {
        const Image image = load_image(path);
        for (const auto& pose : detector.estimate_poses(image.view(), est)) detections.push_back(to_coco_detection(id, pose));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%zu images, %zu poses, %.1f s\n", images.size(), detections.size(), seconds);

    const auto stats = evaluate(annotations, detections, annotations_path);
    std::printf("%-10s", "");
    for (auto name : kCocoStatNames) std::printf(" %6s", std::string(name).c_str());
    std::printf("\n");
    print_row("posenet", stats);
    if (!reference_path.empty()) print_row("reference", evaluate(annotations, reference, reference_path));

    if (!json_out.empty()) {
        write_atomically(json_out, to_coco_results(detections).dump());
    }
    return 0;
}

}  // namespace posenet::cli
