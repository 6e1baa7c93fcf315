#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "posenet/overlay.h"
#include "tools/commands.h"
#include "tools/model_options.h"
#include "tools/write_file.h"

namespace posenet::cli {

static const std::string kHelp = std::string(
    "usage: posenet detect IMAGE... [model options] [--max-poses N] [--score-threshold S]\n"
    "                      [--nms-radius R] [--flip] [--json OUT|-] [--overlay DIR]\n"
    "\n"
    "Estimates poses as pose-detection's PoseNet estimatePoses does and prints them; images are\n"
    "PNG, JPEG, PPM/PGM (and whatever else stb_image reads).\n"
    "  --max-poses N           1 = single-pose decoder (default), >1 = multi-pose decoder\n"
    "  --score-threshold S     multi-pose root threshold (default 0.5)\n"
    "  --nms-radius R          multi-pose NMS radius in model-input pixels (default 20)\n"
    "  --flip                  flipHorizontal\n"
    "  --json OUT              write pose-detection-shaped JSON ([{image, poses}]) to OUT (- = stdout)\n"
    "  --overlay DIR           write each photo with its keypoints and skeleton drawn, as PNG\n"
    "  --min-keypoint-score S  overlay: skip keypoints below S (default 0.3)\n") + kModelOptionsHelp;

namespace {

nlohmann::json pose_json(const Pose& p) {
    nlohmann::json kps = nlohmann::json::array();
    for (const auto& k : p.keypoints) kps.push_back({{"x", k.x}, {"y", k.y}, {"score", k.score}, {"name", k.name}});
    return {{"score", p.score}, {"keypoints", kps}};
}

}  // namespace

int cmd_detect(int argc, char** argv) {
    Args args(argc, argv);
    if (args.help(kHelp)) return 0;
    ModelConfig config;
    DetectorOptions options;
    take_model_options(args, config, options);
    EstimationConfig est;
    est.max_poses = parse_int(args.option("--max-poses", "1"), "--max-poses");
    est.score_threshold = float(parse_double(args.option("--score-threshold", "0.5"), "--score-threshold"));
    est.nms_radius = float(parse_double(args.option("--nms-radius", "20"), "--nms-radius"));
    est.flip_horizontal = args.flag("--flip");
    std::string json_out = args.option("--json");
    std::string overlay = args.option("--overlay");
    float min_kp = float(parse_double(args.option("--min-keypoint-score", "0.3"), "--min-keypoint-score"));
    auto images = args.positional();
    if (images.empty()) throw UsageError("expects at least one image");
    validate(est);

    PoseDetector detector(config, options);
    const bool quiet = json_out == "-";
    if (!quiet)
        std::printf("model %s: %s %.2f, output stride %d, input %dx%d, backend %s\n", config.model.string().c_str(),
                    engine::to_string(detector.network().architecture), detector.network().multiplier,
                    detector.network().output_stride, detector.input_resolution().width, detector.input_resolution().height,
                    detector.backend_name());
    // Decode every photo first: a bad one fails the run before anything is written.
    std::vector<Image> decoded;
    for (const auto& path : images) decoded.push_back(load_image(path));
    if (!overlay.empty()) std::filesystem::create_directories(overlay);

    nlohmann::json all = nlohmann::json::array();
    for (size_t i = 0; i < images.size(); ++i) {
        auto poses = detector.estimate_poses(decoded[i].view(), est);
        nlohmann::json entry{{"image", images[i]}, {"width", decoded[i].width}, {"height", decoded[i].height},
                             {"poses", nlohmann::json::array()}};
        for (const auto& p : poses) entry["poses"].push_back(pose_json(p));
        all.push_back(entry);
        if (!quiet) {
            std::printf("%s (%dx%d): %zu pose(s)\n", images[i].c_str(), decoded[i].width, decoded[i].height, poses.size());
            for (size_t p = 0; p < poses.size(); ++p) {
                std::printf("  pose %zu score %.4f\n", p, poses[p].score);
                for (const auto& k : poses[p].keypoints)
                    std::printf("    %-15s x %8.2f  y %8.2f  score %.4f\n", std::string(k.name).c_str(), k.x, k.y, k.score);
            }
        }
        if (!overlay.empty()) {
            Image drawn = decoded[i];
            draw_poses(drawn, poses, min_kp);
            auto out = std::filesystem::path(overlay) / (std::filesystem::path(images[i]).stem().string() + ".png");
            write_png(out, drawn.view());
            if (!quiet) std::printf("  overlay: %s\n", out.string().c_str());
        }
    }
    if (json_out == "-") std::printf("%s\n", all.dump(2).c_str());
    else if (!json_out.empty()) write_atomically(json_out, all.dump(2));
    return 0;
}

}  // namespace posenet::cli
