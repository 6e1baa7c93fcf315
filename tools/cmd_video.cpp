// `posenet video`: poses in every frame of a video file, a camera, a folder of images or raw frames on
// stdin, as JSON Lines and/or an MP4 with the poses drawn; optional tracking and smoothing.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <utility>

#include "posenet/overlay.h"
#include "posenet/smoothing.h"
#include "posenet/stream.h"
#include "tools/commands.h"
#include "tools/model_options.h"
#include "tools/video/frame_source.h"
#include "tools/video/interruption.h"
#include "tools/video/progress_line.h"
#include "tools/video/video_encoder.h"
#include "tools/write_file.h"

namespace posenet::cli {

static const std::string kHelp = std::string(
    "usage: posenet video INPUT... [model options] [--jsonl OUT|-] [--overlay OUT.mp4] [--track none|bbox|keypoint]\n"
    "                     [--smooth] [--max-poses N] [--score-threshold S] [--nms-radius R] [--flip]\n"
    "                     [--size WxH] [--rate FPS] [--start-frame S] [--max-frames N]\n"
    "                     [--overlay-codec auto|h264|mpeg4] [--frames-in-flight N] [--quiet]\n"
    "       posenet video INPUT... --count\n"
    "\n"
    "Estimates poses in every frame, as `posenet detect` does in one photo. INPUT is one of:\n"
    "  a video file            anything FFmpeg's libavformat/libavcodec decode (MP4, MKV, WebM, AVI, ...),\n"
    "                          YUV4MPEG2 (.y4m, recognised by its header), or one JPEG/PNG/PNM photo\n"
    "  /dev/videoN             a V4L2 camera; Ctrl-C (or --max-frames) ends the recording, outputs are kept\n"
    "  a folder                its JPEG/PNG/PNM files (by extension), in name order\n"
    "  IMAGE... or 'GLOB'      images in the order given, or a quoted glob's matches in name order\n"
    "  -                       stdin: YUV4MPEG2 (4:2:0, 4:2:2, 4:4:4, mono; recognised by its header), or\n"
    "                          raw RGB24 frames with --size WxH\n"
    "Named pipes (FIFOs) are refused: pipe into stdin instead. Outputs appear only when the run succeeds\n"
    "(a stdout output streams).\n"
    "  --jsonl OUT             JSON Lines, one line a frame: {frame, timestamp_us, width, height, poses}\n"
    "                          (poses as pose-detection's, with the track id as `id` when tracking); - = stdout\n"
    "  --overlay OUT.mp4       the frames with keypoints and skeletons drawn (track colours when tracking),\n"
    "                          at the input's size and frame rate\n"
    "  --overlay-codec C       auto (default: H.264 by libx264 where available, else MPEG-4) | h264 | mpeg4\n"
    "  --track T               none (default) | bbox (IoU) | keypoint (OKS): track ids, pose-detection's defaults\n"
    "  --smooth                One Euro keypoint smoothing, MoveNet's settings (with --max-poses > 1: needs --track)\n"
    "  --max-poses N           1 = single-pose decoder (default), >1 = multi-pose decoder\n"
    "  --score-threshold S     multi-pose root threshold (default 0.5)\n"
    "  --nms-radius R          multi-pose NMS radius in model-input pixels (default 20)\n"
    "  --flip                  flipHorizontal\n"
    "  --min-keypoint-score S  overlay: skip keypoints below S (default 0.3)\n"
    "  --size WxH              raw RGB24 frames on stdin: their size; a camera: the size to ask for\n"
    "  --rate FPS              images and frames on stdin: their rate (default 30; N, N.N or N/D); a camera:\n"
    "                          the rate to ask for. Video files keep their own timestamps\n"
    "  --start-frame S         begin at frame S (0 = the first): frames before it are decoded and dropped (exact,\n"
    "                          no seeking); the lines keep the input's frame indices and timestamps. With\n"
    "                          --max-frames N: frames [S, S+N). Tracking and smoothing start afresh at S\n"
    "  --max-frames N          stop after N frames\n"
    "  --count                 print the number of frames INPUT holds (every frame decoded: exact) and exit;\n"
    "                          no model is loaded, other options are refused\n"
    "  --frames-in-flight N    frames the network works on at once, 1..16 (default 3): the next frame's\n"
    "                          decoding and upload overlap the current one's network; outputs are the same\n"
    "  --quiet                 no progress line (it is shown only when stderr is a terminal)\n") +
    kModelOptionsHelp;

namespace {

using video::Frame;


// One JSON Lines record: pose-detection's Pose ({score, keypoints: [{x, y, score, name}], id}).
std::string frame_record(const Frame& frame, const std::vector<Pose>& poses, bool tracked) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const Pose& p : poses) {
        nlohmann::ordered_json kps = nlohmann::ordered_json::array();
        for (const auto& k : p.keypoints) kps.push_back({{"x", k.x}, {"y", k.y}, {"score", k.score}, {"name", k.name}});
        nlohmann::ordered_json pose;
        if (tracked) pose["id"] = p.id;
        pose["score"] = p.score;
        pose["keypoints"] = std::move(kps);
        list.push_back(std::move(pose));
    }
    nlohmann::ordered_json record{{"frame", frame.index},
                                  {"timestamp_us", frame.timestamp_us},
                                  {"width", frame.image.width},
                                  {"height", frame.image.height},
                                  {"poses", std::move(list)}};
    return record.dump() + "\n";
}

// JSON Lines to stdout (each line flushed as it is made) or to a staged temporary file.
class JsonLinesWriter {
public:
    JsonLinesWriter(const std::filesystem::path& path, std::string name) : name_(std::move(name)) {
        file_ = path.empty() ? stdout : std::fopen(path.c_str(), "wb");
        if (!file_) throw std::runtime_error(name_ + ": cannot write: " + std::strerror(errno));
    }
    ~JsonLinesWriter() {
        if (file_ && file_ != stdout) std::fclose(file_);
    }
    void write(const std::string& line) {
        if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || (file_ == stdout && std::fflush(file_) != 0))
            fail();
    }
    void close() {
        if (file_ == stdout) return;
        FILE* f = std::exchange(file_, nullptr);
        if (std::ferror(f) | std::fclose(f)) fail();
    }

private:
    [[noreturn]] void fail() const {
        throw std::runtime_error(name_ + ": cannot write: " + std::strerror(errno ? errno : EIO));
    }
    std::string name_;
    FILE* file_ = nullptr;
};

// "WxH" within the image limits, for --size.
void parse_frame_size(const std::string& s, int& width, int& height) {
    const auto x = s.find('x');
    if (x == std::string::npos) throw UsageError("--size must be WxH, got '" + s + "'");
    width = parse_int(s.substr(0, x), "--size width");
    height = parse_int(s.substr(x + 1), "--size height");
    if (width <= 0 || height <= 0 || uint64_t(width) > kMaxImageSide || uint64_t(height) > kMaxImageSide ||
        uint64_t(width) * uint64_t(height) > kMaxImagePixels)
        throw UsageError("--size " + s + " is out of range (sides 1.." + std::to_string(kMaxImageSide) + ", at most " +
                         std::to_string(kMaxImagePixels) + " pixels)");
}

// "30", "29.97" or "30000/1001", above 0 and at most 1000 frames a second.
video::FrameRate parse_frame_rate(const std::string& s) {
    video::FrameRate rate;
    if (const auto slash = s.find('/'); slash != std::string::npos) {
        rate = {parse_int(s.substr(0, slash), "--rate numerator"), parse_int(s.substr(slash + 1), "--rate denominator")};
    } else {
        const double fps = parse_double(s, "--rate");
        if (fps > 0 && fps <= 1000) rate = {int(std::lround(fps * 1000)), 1000};
    }
    if (!video::is_plausible(rate)) throw UsageError("--rate " + s + " is out of range (0.001..1000 frames/s)");
    const int common = std::gcd(rate.num, rate.den);
    return {rate.num / common, rate.den / common};
}

video::VideoCodec parse_codec(const std::string& s) {
    if (s == "auto") return video::VideoCodec::Auto;
    if (s == "h264") return video::VideoCodec::H264;
    if (s == "mpeg4") return video::VideoCodec::Mpeg4;
    throw UsageError("--overlay-codec must be auto, h264 or mpeg4, got '" + s + "'");
}

// The output file options: a file name (not a folder), distinct from each other.
void check_output_paths(const std::string& jsonl, const std::string& overlay) {
    if (!jsonl.empty() && jsonl != "-" && std::filesystem::is_directory(jsonl))
        throw UsageError("--jsonl " + jsonl + " is a directory; give a file name");
    if (overlay == "-") throw UsageError("--overlay needs a file name: an MP4 is finished by seeking back, stdout cannot");
    if (!overlay.empty() && std::filesystem::is_directory(overlay))
        throw UsageError("--overlay " + overlay + " is a directory; give a file name (OUT.mp4)");
    if (!jsonl.empty() && !overlay.empty() &&
        std::filesystem::weakly_canonical(jsonl) == std::filesystem::weakly_canonical(overlay))
        throw UsageError("--jsonl and --overlay name the same file");
}

// `posenet video INPUT... --count`: decodes every frame and prints how many there are. No model.
int count_frames(Args& args) {
    const auto inputs = args.positional();  // any option left is refused: --count takes the input alone
    if (inputs.empty()) throw UsageError("--count expects an input (a video file, a folder, images or -)");
    const video::InputKind kind = video::classify_inputs(inputs);
    if (kind == video::InputKind::Camera) throw UsageError("--count: a camera has no end, its frames cannot be counted");
    video::install_interrupt_handlers();
    auto source = video::open_frame_source(inputs, {});
    Frame frame;
    int64_t frames = 0;
    while (!video::interrupted() && source->next(frame)) ++frames;
    if (video::interrupted()) throw std::runtime_error("interrupted; frames not counted");
    std::printf("%lld\n", static_cast<long long>(frames));
    if (std::fflush(stdout) != 0) throw std::runtime_error(std::string("stdout: cannot write: ") + std::strerror(errno));
    return 0;
}

}  // namespace

int cmd_video(int argc, char** argv) {
    Args args(argc, argv);
    if (args.help(kHelp)) return 0;
    if (args.flag("--count")) return count_frames(args);
    ModelConfig config;
    DetectorOptions options;
    take_model_options(args, config, options);
    EstimationConfig est;
    take_estimation_options(args, est);
    const std::string jsonl = args.option("--jsonl");
    const std::string overlay = args.option("--overlay");
    const video::VideoCodec codec = parse_codec(args.option("--overlay-codec", "auto"));
    const float min_kp = float(parse_double(args.option("--min-keypoint-score", "0.3"), "--min-keypoint-score"));
    const std::string track = args.option("--track", "none");
    const bool smooth = args.flag("--smooth");
    const std::string size = args.option("--size");
    const std::string rate = args.option("--rate");
    const std::string max_frames_text = args.option("--max-frames");
    const std::string start_frame_text = args.option("--start-frame");
    const std::string in_flight_text = args.option("--frames-in-flight");
    const bool quiet = args.flag("--quiet");
    const auto inputs = args.positional();

    if (inputs.empty()) throw UsageError("expects an input (a video file, /dev/videoN, a folder, images or -)");
    validate(est);
    if (track != "none" && track != "bbox" && track != "keypoint")
        throw UsageError("--track must be none, bbox or keypoint, got '" + track + "'");
    if (smooth && track == "none" && est.max_poses > 1)
        throw UsageError("--smooth with --max-poses > 1 needs --track (one filter per track)");
    if (jsonl.empty() && overlay.empty()) throw UsageError("nothing to write: give --jsonl and/or --overlay");
    check_output_paths(jsonl, overlay);
    int64_t max_frames = 0;
    if (!max_frames_text.empty() && (max_frames = parse_int(max_frames_text, "--max-frames")) < 1)
        throw UsageError("--max-frames must be at least 1, got '" + max_frames_text + "'");
    int64_t start_frame = 0;
    if (!start_frame_text.empty() && (start_frame = parse_int(start_frame_text, "--start-frame")) < 0)
        throw UsageError("--start-frame must be a frame index >= 0, got '" + start_frame_text + "'");
    StreamOptions stream_options;
    stream_options.estimation = est;
    if (!in_flight_text.empty()) {
        stream_options.frames_in_flight = parse_int(in_flight_text, "--frames-in-flight");
        if (stream_options.frames_in_flight < 1 || stream_options.frames_in_flight > kMaxFramesInFlight)
            throw UsageError("--frames-in-flight must be 1.." + std::to_string(kMaxFramesInFlight) + ", got '" +
                             in_flight_text + "'");
    }
    // Tracking and smoothing in MoveNet's order (track, then smooth each track with its own filter), by
    // the stream, with pose-detection's default tracker configs and MoveNet's One Euro settings.
    if (track == "bbox") stream_options.tracker = StreamTracker::BoundingBox;
    else if (track == "keypoint") stream_options.tracker = StreamTracker::Keypoint;
    if (smooth) stream_options.smoothing = PoseSmootherConfig{};
    const bool tracking = stream_options.tracker != StreamTracker::None;
    video::SourceOptions source_options;
    if (!size.empty()) parse_frame_size(size, source_options.width, source_options.height);
    if (!rate.empty()) source_options.rate = parse_frame_rate(rate);

    const video::InputKind kind = video::classify_inputs(inputs);
    if (!size.empty() && kind != video::InputKind::Stdin && kind != video::InputKind::Camera)
        throw UsageError(std::string("--size applies to raw RGB24 frames on stdin and to cameras, not to a ") + to_string(kind));
    if (!rate.empty() && kind == video::InputKind::VideoFile)
        throw UsageError("--rate applies to images, frames on stdin and cameras; a video file has its own timing");

    video::install_interrupt_handlers();
    auto source = video::open_frame_source(inputs, source_options);
    PoseDetector detector(config, options);
    // The progress line's total: the frames this run writes, where the input's length is known.
    std::optional<int64_t> to_write = source->expected_frames();
    if (to_write) to_write = std::max<int64_t>(0, *to_write - start_frame);
    if (to_write && max_frames > 0) to_write = std::min(*to_write, max_frames);
    video::ProgressLine progress(!quiet, "frame", to_write);
    if (progress.shown()) {
        const ModelInfo& info = detector.model_info();
        std::fprintf(stderr, "%s (%s) -> model %s: %s %.2f, output stride %d, input %dx%d, backend %s\n",
                     source->name().c_str(), to_string(kind), config.model.string().c_str(), to_string(info.architecture),
                     info.multiplier, info.output_stride, info.input_resolution.width, info.input_resolution.height,
                     detector.backend_name());
    }

    // Outputs: staged beside their targets, renamed into place at the end; declared before their
    // writers, so the writers close their files before a failed run removes them.
    StagedOutputs staged;
    std::optional<JsonLinesWriter> lines;
    if (jsonl == "-") lines.emplace(std::filesystem::path(), "stdout");
    else if (!jsonl.empty()) lines.emplace(staged.stage(jsonl), jsonl);
    const std::filesystem::path overlay_tmp = overlay.empty() ? std::filesystem::path() : staged.stage(overlay);
    std::unique_ptr<video::VideoEncoder> encoder;  // made at the first frame: its size

    // Frames run through a PoseStream, several at once; their results come back in push order. The
    // frames in flight wait in `in_flight` (oldest first) for their results: the overlay draws on
    // their pixels. Written frames go to `spare`, so the source decodes into buffers it had before.
    PoseStream stream(detector, stream_options);
    std::deque<Frame> in_flight;
    std::vector<Frame> spare;
    int64_t written = 0;
    auto write_result = [&](FrameResult&& result) {
        if (!result.ok()) std::rethrow_exception(result.error);
        Frame& frame = in_flight.front();
        if (lines) lines->write(frame_record(frame, result.poses, tracking));
        if (!overlay.empty()) {
            if (!encoder)
                encoder = std::make_unique<video::VideoEncoder>(overlay_tmp, overlay, frame.image.width, frame.image.height,
                                                                source->frame_rate(), codec);
            Image drawn = frame.image;
            draw_poses(drawn, result.poses, min_kp);
            encoder->write(drawn, frame.timestamp_us);
        }
        spare.push_back(std::move(frame));
        in_flight.pop_front();
        progress.update(++written);
    };

    // --start-frame: the frames before it are decoded (the only exact way to know where frame S is in
    // every container) and dropped, before the stream sees any.
    int64_t skipped = 0;
    if (start_frame > 0) {
        Frame frame;
        while (skipped < start_frame && !video::interrupted() && source->next(frame)) ++skipped;
        if (video::interrupted()) throw std::runtime_error("interrupted before --start-frame; no output written");
        if (skipped < start_frame)
            throw video::VideoError(source->name(), "--start-frame " + std::to_string(start_frame) +
                                                        " is past the end: the input has " + std::to_string(skipped) +
                                                        " frames");
    }

    int64_t frames = 0;
    for (; max_frames == 0 || frames < max_frames; ++frames) {
        Frame frame;
        if (!spare.empty()) frame = std::move(spare.back()), spare.pop_back();
        const bool got = !video::interrupted() && source->next(frame);
        if (const int signal_number = video::interrupted()) {
            // A camera has no end but Ctrl-C: that ends the recording. Anything else is a failed run.
            if (source->is_live() && signal_number == SIGINT) break;
            throw std::runtime_error(std::string("interrupted (") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
                                     "); no output written");
        }
        if (!got) break;
        stream.push(frame.image.view(), frame.timestamp_us);
        in_flight.push_back(std::move(frame));
        while (auto result = stream.try_next()) write_result(std::move(*result));
    }
    for (FrameResult& result : stream.flush()) write_result(std::move(result));
    if (frames == 0 && start_frame > 0)
        throw video::VideoError(source->name(), "--start-frame " + std::to_string(start_frame) +
                                                    " is past the end: the input has " + std::to_string(skipped) + " frames");
    if (frames == 0) throw video::VideoError(source->name(), "no frames");
    if (encoder) encoder->finish();
    if (lines) lines->close();
    staged.commit();
    progress.finish(frames);
    return 0;
}

}  // namespace posenet::cli
