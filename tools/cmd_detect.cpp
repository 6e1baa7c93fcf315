#include <cstdio>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "posenet/overlay.h"
#include "posenet/stream.h"
#include "tools/commands.h"
#include "tools/model_options.h"
#include "tools/video/image_folder_source.h"
#include "tools/video/progress_line.h"
#include "tools/write_file.h"

namespace posenet::cli {

static const std::string kHelp = std::string(
    "usage: posenet detect IMAGE|DIR... [model options] [--max-poses N] [--score-threshold S]\n"
    "                      [--nms-radius R] [--flip] [--json OUT|-] [--overlay DIR] [--quiet]\n"
    "\n"
    "Estimates poses as pose-detection's PoseNet estimatePoses does and prints them; images are\n"
    "PNG, JPEG, PPM/PGM. A folder stands for its .jpg/.jpeg/.png/.ppm/.pgm/.pnm files, in name order.\n"
    "Outputs appear only when every image succeeded; overlays of images with the same file name get\n"
    "-2, -3, ... suffixes. A progress line is shown on stderr when it is a terminal.\n"
    "  --max-poses N           1 = single-pose decoder (default), >1 = multi-pose decoder\n"
    "  --score-threshold S     multi-pose root threshold (default 0.5)\n"
    "  --nms-radius R          multi-pose NMS radius in model-input pixels (default 20)\n"
    "  --flip                  flipHorizontal\n"
    "  --json OUT              write pose-detection-shaped JSON ([{image, poses}]) to OUT (- = stdout)\n"
    "  --overlay DIR           write each photo with its keypoints and skeleton drawn, as PNG\n"
    "  --min-keypoint-score S  overlay: skip keypoints below S (default 0.3)\n"
    "  --quiet                 no progress line\n") + kModelOptionsHelp;

namespace {

nlohmann::json pose_json(const Pose& p) {
    nlohmann::json kps = nlohmann::json::array();
    for (const auto& k : p.keypoints) kps.push_back({{"x", k.x}, {"y", k.y}, {"score", k.score}, {"name", k.name}});
    return {{"score", p.score}, {"keypoints", kps}};
}

}  // namespace

// Overlay file names: the image's stem, made unique within the run ("photo.png", "photo-2.png", ...).
std::vector<std::filesystem::path> overlay_names(const std::vector<std::string>& images, const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> out;
    std::set<std::string> taken;
    for (const auto& image : images) {
        const std::string stem = std::filesystem::path(image).stem().string();
        std::string name = stem + ".png";
        for (int n = 2; taken.count(name); ++n) name = stem + "-" + std::to_string(n) + ".png";
        taken.insert(name);
        out.push_back(dir / name);
    }
    return out;
}

int cmd_detect(int argc, char** argv) {
    Args args(argc, argv);
    if (args.help(kHelp)) return 0;
    ModelConfig config;
    DetectorOptions options;
    take_model_options(args, config, options);
    EstimationConfig est;
    take_estimation_options(args, est);
    std::string json_out = args.option("--json");
    std::string overlay = args.option("--overlay");
    float min_kp = float(parse_double(args.option("--min-keypoint-score", "0.3"), "--min-keypoint-score"));
    const bool show_progress = !args.flag("--quiet");
    std::vector<std::string> images;
    for (const auto& input : args.positional()) {
        if (!std::filesystem::is_directory(input)) {
            images.push_back(input);
            continue;
        }
        for (const auto& file : video::list_image_files(input)) images.push_back(file.string());
    }
    if (images.empty()) throw UsageError("expects at least one image");
    validate(est);
    if (!json_out.empty() && json_out != "-" && std::filesystem::is_directory(json_out))
        throw UsageError("--json " + json_out + " is a directory; give a file name");

    PoseDetector detector(config, options);
    const bool quiet = json_out == "-";
    const ModelInfo& info = detector.model_info();
    if (!quiet)
        std::printf("model %s: %s %.2f, output stride %d, input %dx%d, backend %s\n", config.model.string().c_str(),
                    to_string(info.architecture), info.multiplier, info.output_stride, info.input_resolution.width,
                    info.input_resolution.height, detector.backend_name());
    if (!overlay.empty()) std::filesystem::create_directories(overlay);
    const auto overlay_files = overlay.empty() ? std::vector<std::filesystem::path>() : overlay_names(images, overlay);

    // Images go through a PoseStream: the next one is decoded while the network works on this one.
    // Results come in order; the images whose results are pending wait in `in_flight` (their pixels
    // only when an overlay needs them). Outputs appear only once every image succeeded.
    StagedOutputs staged;
    nlohmann::json all = nlohmann::json::array();
    video::ProgressLine progress(show_progress, "image", int64_t(images.size()));
    StreamOptions stream_options;
    stream_options.estimation = est;
    PoseStream stream(detector, stream_options);
    std::deque<Image> in_flight;
    size_t done = 0;
    auto write_result = [&](FrameResult&& result) {
        if (!result.ok()) std::rethrow_exception(result.error);
        const size_t i = done;
        const Image& image = in_flight.front();
        const std::vector<Pose>& poses = result.poses;
        progress.clear();  // the lines below go to the same terminal
        nlohmann::json entry{{"image", images[i]}, {"width", image.width}, {"height", image.height},
                             {"poses", nlohmann::json::array()}};
        for (const auto& p : poses) entry["poses"].push_back(pose_json(p));
        all.push_back(entry);
        if (!quiet) {
            std::printf("%s (%dx%d): %zu pose(s)\n", images[i].c_str(), image.width, image.height, poses.size());
            for (size_t p = 0; p < poses.size(); ++p) {
                std::printf("  pose %zu score %.4f\n", p, poses[p].score);
                for (const auto& k : poses[p].keypoints)
                    std::printf("    %-15s x %8.2f  y %8.2f  score %.4f\n", std::string(k.name).c_str(), k.x, k.y, k.score);
            }
        }
        if (!overlay.empty()) {
            Image drawn = image;
            draw_poses(drawn, poses, min_kp);
            write_png(staged.stage(overlay_files[i]), drawn.view());
            if (!quiet) std::printf("  overlay: %s\n", overlay_files[i].string().c_str());
        }
        std::fflush(stdout);
        in_flight.pop_front();
        progress.update(int64_t(++done));
    };
    for (size_t i = 0; i < images.size(); ++i) {
        Image image;
        try {
            image = load_image(images[i]);
        } catch (...) {
            for (FrameResult& result : stream.flush()) write_result(std::move(result));  // the images before it, as before
            throw;
        }
        stream.push(image.view(), int64_t(i));
        if (overlay.empty()) image.pixels = {};  // only the size is needed from here
        in_flight.push_back(std::move(image));
        while (auto result = stream.try_next()) write_result(std::move(*result));
    }
    for (FrameResult& result : stream.flush()) write_result(std::move(result));
    if (!json_out.empty() && json_out != "-") write_atomically(json_out, all.dump(2));
    staged.commit();
    progress.finish(int64_t(images.size()));
    if (json_out == "-") std::printf("%s\n", all.dump(2).c_str());
    return 0;
}

}  // namespace posenet::cli
