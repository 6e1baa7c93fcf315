// `posenet video` and its frame sources: test videos are made here at run time (our MP4 encoder,
// YUV4MPEG2 and RGB24 written by hand), nothing binary is committed. The CLI's poses are checked
// against `posenet detect` on the very pixels the video source decodes.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/blob.h"
#include "engine/tfjs_model.h"
#include "posenet/overlay.h"
#include "tests/test_support.h"
#include "tests/tiny_model.h"
#include "tools/video/frame_source.h"
#include "tools/video/video_encoder.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/display.h>
}

using namespace posenet;
using namespace posenet::test;
using nlohmann::json;

namespace {

// A moving pattern: diagonal stripes drifting right, a bright square moving down.
Image pattern_frame(int width, int height, int t) {
    Image im;
    im.width = width;
    im.height = height;
    im.pixels.resize(size_t(width) * size_t(height) * 3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            uint8_t* p = &im.pixels[(size_t(y) * size_t(width) + size_t(x)) * 3];
            const bool square = x >= width / 3 && x < width / 3 + width / 4 && y >= t * 2 % height && y < t * 2 % height + height / 4;
            p[0] = square ? 250 : uint8_t((x + y + 3 * t) * 5);
            p[1] = square ? 240 : uint8_t(y * 4);
            p[2] = square ? 30 : uint8_t(128 + (x - t) * 3);
        }
    return im;
}

void write_mp4(const fs::path& path, int width, int height, int count, video::FrameRate rate,
               video::VideoCodec codec = video::VideoCodec::Auto) {
    video::VideoEncoder encoder(path, path.string(), width, height, rate, codec);
    for (int i = 0; i < count; ++i) encoder.write(pattern_frame(width, height, i), video::frame_time_us(i, rate));
    encoder.finish();
}

// Every frame of an input, decoded by the CLI's own frame sources.
std::vector<video::Frame> decode_all(const std::vector<std::string>& inputs, const video::SourceOptions& options = {}) {
    auto source = video::open_frame_source(inputs, options);
    std::vector<video::Frame> frames;
    video::Frame frame;
    while (source->next(frame)) frames.push_back(frame);
    return frames;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// JSON Lines: one object a line; the text must end with a newline.
std::vector<json> parse_lines(const std::string& text) {
    std::vector<json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] == '{') out.push_back(json::parse(line));
    return out;
}

// Poses from the CLI (video's per frame, detect's per image): the same decoder on the same pixels,
// so every number must be equal.
void check_same_poses(const json& video_poses, const json& detect_poses) {
    REQUIRE(video_poses.size() == detect_poses.size());
    for (size_t p = 0; p < video_poses.size(); ++p) {
        CHECK(video_poses[p]["score"].get<double>() == detect_poses[p]["score"].get<double>());
        const auto& a = video_poses[p]["keypoints"];
        const auto& b = detect_poses[p]["keypoints"];
        REQUIRE(a.size() == 17);
        REQUIRE(b.size() == 17);
        for (size_t k = 0; k < 17; ++k) {
            CHECK(a[k]["name"] == b[k]["name"]);
            CHECK(a[k]["x"].get<double>() == b[k]["x"].get<double>());
            CHECK(a[k]["y"].get<double>() == b[k]["y"].get<double>());
            CHECK(a[k]["score"].get<double>() == b[k]["score"].get<double>());
        }
    }
}

struct YuvPlanes {
    std::vector<uint8_t> y, u, v;
};

// A YUV4MPEG2 stream: `header_tail` after "YUV4MPEG2 " (W, H, F, C, ...), each frame "FRAME\n" + planes.
std::string y4m_stream(const std::string& header_tail, const std::vector<YuvPlanes>& frames) {
    std::string out = "YUV4MPEG2 " + header_tail + "\n";
    for (const auto& f : frames) {
        out += "FRAME\n";
        out.append(f.y.begin(), f.y.end());
        out.append(f.u.begin(), f.u.end());
        out.append(f.v.begin(), f.v.end());
    }
    return out;
}

// Frames of a moving YUV pattern with chroma planes of chroma_w x chroma_h (0: mono).
std::vector<YuvPlanes> yuv_frames(int width, int height, int chroma_w, int chroma_h, int count) {
    std::vector<YuvPlanes> frames;
    for (int t = 0; t < count; ++t) {
        YuvPlanes f;
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x) f.y.push_back(uint8_t(16 + (x * 5 + y * 3 + t * 11) % 220));
        for (int y = 0; y < chroma_h; ++y)
            for (int x = 0; x < chroma_w; ++x) {
                f.u.push_back(uint8_t(64 + (x * 7 + t * 5) % 128));
                f.v.push_back(uint8_t(64 + (y * 9 + t * 3) % 128));
            }
        frames.push_back(std::move(f));
    }
    return frames;
}

struct Fixture {
    fs::path dir, blob;
    std::string model_args;
    explicit Fixture(const std::string& name) : dir(scratch_dir(name)) {
        TinyModel t;
        blob = dir / "tiny.pnb";
        engine::save_blob(engine::load_tfjs_model(t.write(dir / "tfjs")), blob);
        model_args = " --backend cpu --model " + blob.string() + " --input-resolution 33 ";
    }
    std::string video(const std::string& args) const { return posenet_cli() + " video" + model_args + args; }
    std::string detect(const std::string& args) const { return posenet_cli() + " detect" + model_args + args; }
    fs::path path(const std::string& rel) const { return dir / rel; }

    // `posenet detect --json` on `frames` written as PNGs (their exact pixels).
    json detect_frames(const std::vector<video::Frame>& frames, const std::string& extra = "") const {
        fs::create_directories(dir / "frames");
        std::string files;
        for (const auto& f : frames) {
            char name[32];
            std::snprintf(name, sizeof name, "frame-%05lld.png", static_cast<long long>(f.index));
            write_png(dir / "frames" / name, f.image.view());
            files += " " + (dir / "frames" / name).string();
        }
        auto r = run_command(detect(extra + " --json " + (dir / "detect.json").string() + files));
        REQUIRE_MESSAGE(r.exit_code == 0, r.output);
        fs::remove_all(dir / "frames");
        return json::parse(read_text(dir / "detect.json"));
    }

    // Every file under `sub` (relative names), to see that nothing (not even a temporary) was left.
    std::vector<std::string> files(const std::string& sub) const {
        std::vector<std::string> out;
        if (!fs::exists(dir / sub)) return out;
        for (auto& e : fs::recursive_directory_iterator(dir / sub)) out.push_back(fs::relative(e.path(), dir / sub).string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

// A copy of the MP4 `from` whose video stream carries a display matrix turning it `degrees` clockwise
// for display (av_display_rotation_set's angle is clockwise), as phones write it (packets copied,
// nothing re-encoded).
void remux_with_rotation(const fs::path& from, const fs::path& to, double degrees) {
    AVFormatContext* in = nullptr;
    REQUIRE(avformat_open_input(&in, from.c_str(), nullptr, nullptr) == 0);
    REQUIRE(avformat_find_stream_info(in, nullptr) >= 0);
    AVFormatContext* out = nullptr;
    REQUIRE(avformat_alloc_output_context2(&out, nullptr, "mp4", to.c_str()) >= 0);
    AVStream* stream = avformat_new_stream(out, nullptr);
    REQUIRE(avcodec_parameters_copy(stream->codecpar, in->streams[0]->codecpar) >= 0);
    stream->codecpar->codec_tag = 0;
    stream->time_base = in->streams[0]->time_base;
    auto* matrix = reinterpret_cast<int32_t*>(av_stream_new_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t)));
    REQUIRE(matrix);
    av_display_rotation_set(matrix, degrees);
    REQUIRE(avio_open(&out->pb, to.c_str(), AVIO_FLAG_WRITE) >= 0);
    REQUIRE(avformat_write_header(out, nullptr) >= 0);
    AVPacket* packet = av_packet_alloc();
    while (av_read_frame(in, packet) >= 0) {
        av_packet_rescale_ts(packet, in->streams[0]->time_base, stream->time_base);
        packet->stream_index = 0;
        REQUIRE(av_interleaved_write_frame(out, packet) >= 0);
    }
    REQUIRE(av_write_trailer(out) >= 0);
    avio_closep(&out->pb);
    avformat_free_context(out);
    avformat_close_input(&in);
    av_packet_free(&packet);
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("video CLI: an MP4 gives one JSON line per frame with its timestamp, and the poses detect finds in the decoded frames") {
    Fixture f("video-mp4");
    fs::create_directories(f.path("out"));
    write_mp4(f.path("clip.mp4"), 64, 48, 12, {25, 1});
    const auto frames = decode_all({f.path("clip.mp4").string()});
    REQUIRE(frames.size() == 12);
    for (const std::string poses : {"3", "1"}) {  // the single-pose file is kept for below
        CAPTURE(poses);
        auto r = run_command(f.video("--max-poses " + poses + " " + f.path("clip.mp4").string() + " --jsonl " +
                                     f.path("out/poses.jsonl").string()));
        REQUIRE_MESSAGE(r.exit_code == 0, r.output);
        CHECK(r.output.empty());  // not a terminal: no progress line, nothing else
        const std::string text = read_text(f.path("out/poses.jsonl"));
        CHECK(text.back() == '\n');
        const auto lines = parse_lines(text);
        REQUIRE(lines.size() == 12);
        const json detected = f.detect_frames(frames, "--max-poses " + poses);
        for (size_t i = 0; i < lines.size(); ++i) {
            CAPTURE(i);
            CHECK(lines[i]["frame"] == i);
            CHECK(lines[i]["timestamp_us"] == int64_t(i) * 40000);  // 25 fps
            CHECK(lines[i]["width"] == 64);
            CHECK(lines[i]["height"] == 48);
            CHECK(lines[i]["poses"].size() >= 1);
            for (const auto& pose : lines[i]["poses"]) CHECK_FALSE(pose.contains("id"));  // no tracking asked
            check_same_poses(lines[i]["poses"], detected[i]["poses"]);
        }
    }
    // --jsonl - streams the same lines to stdout; --max-frames stops early.
    auto r = run_command(f.video(f.path("clip.mp4").string() + " --jsonl - --max-frames 5"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const auto lines = parse_lines(r.output);
    CHECK(lines.size() == 5);
    CHECK((r.output == read_text(f.path("out/poses.jsonl")).substr(0, r.output.size())));
}

TEST_CASE("video CLI: --start-frame S --max-frames N gives the lines [S, S+N) of a full run; --count is the full run's line count") {
    Fixture f("video-range");
    write_mp4(f.path("clip.mp4"), 64, 48, 13, {25, 1});
    write_file(f.path("clip.y4m"), y4m_stream("W40 H30 F5:1 C420jpeg", yuv_frames(40, 30, 20, 15, 7)));
    for (const std::string name : {"clip.mp4", "clip.y4m"}) {
        CAPTURE(name);
        const std::string input = f.path(name).string();
        for (const std::string args : {"", "--max-poses 3"}) {
            CAPTURE(args);
            auto full = run_command(f.video(input + " " + args + " --jsonl -"));
            REQUIRE_MESSAGE(full.exit_code == 0, full.output);
            std::vector<std::string> full_lines;
            {
                std::istringstream in(full.output);
                for (std::string line; std::getline(in, line);) full_lines.push_back(line + "\n");
            }
            const int64_t total = int64_t(full_lines.size());
            REQUIRE(total >= 7);
            auto counted = run_command(posenet_cli() + " video " + input + " --count");
            REQUIRE_MESSAGE(counted.exit_code == 0, counted.output);
            CHECK(counted.output == std::to_string(total) + "\n");
            // Ranges cut as a client would: every frame exactly once, the input's indices and timestamps.
            for (const int64_t step : {int64_t(1), int64_t(3), int64_t(5), total}) {
                CAPTURE(step);
                std::string joined;
                for (int64_t start = 0; start < total; start += step) {
                    auto r = run_command(f.video(input + " " + args + " --start-frame " + std::to_string(start) +
                                                 " --max-frames " + std::to_string(step) + " --jsonl -"));
                    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
                    const auto lines = parse_lines(r.output);
                    REQUIRE(lines.size() == size_t(std::min(step, total - start)));
                    CHECK(lines.front()["frame"] == start);
                    joined += r.output;
                }
                std::string expected;
                for (const auto& line : full_lines) expected += line;
                CHECK(joined == expected);
            }
            // Without --max-frames: to the end.
            auto tail = run_command(f.video(input + " " + args + " --start-frame " + std::to_string(total - 2) + " --jsonl -"));
            REQUIRE_MESSAGE(tail.exit_code == 0, tail.output);
            CHECK(tail.output == full_lines[size_t(total - 2)] + full_lines[size_t(total - 1)]);
        }
    }
    // Bad values are usage errors (exit 2) naming the option; a start past the end fails naming the input.
    const std::string input = f.path("clip.mp4").string();
    for (const std::string bad : {"-1", "many", "1.5"}) {
        auto r = run_command(f.video(input + " --start-frame " + bad + " --jsonl -"));
        CHECK(r.exit_code == 2);
        CHECK_MESSAGE(r.output.find("--start-frame") != std::string::npos, r.output);
    }
    auto past = run_command(f.video(input + " --start-frame 13 --jsonl " + f.path("past.jsonl").string()));
    CHECK(past.exit_code == 1);
    CHECK_MESSAGE(past.output.find("clip.mp4: --start-frame 13 is past the end: the input has 13 frames") != std::string::npos,
                  past.output);
    CHECK_FALSE(fs::exists(f.path("past.jsonl")));
    // --count takes the input alone; a file that is not a video fails naming it.
    auto extra = run_command(posenet_cli() + " video " + input + " --count --max-poses 2");
    CHECK(extra.exit_code == 2);
    CHECK_MESSAGE(extra.output.find("unknown option --max-poses") != std::string::npos, extra.output);
    write_file(f.path("garbage.mp4"), std::string(5000, '\x42'));
    auto garbage = run_command(posenet_cli() + " video " + f.path("garbage.mp4").string() + " --count");
    CHECK(garbage.exit_code == 1);
    CHECK_MESSAGE(garbage.output.find("garbage.mp4: not a video") != std::string::npos, garbage.output);
}

TEST_CASE("video CLI: the overlay MP4 decodes back at the input's size, frame count, rate and timestamps") {
    Fixture f("video-overlay");
    struct Case {
        int width, height;
        video::FrameRate rate;
        std::string codec;
    };
    for (const Case& c : {Case{64, 48, {25, 1}, "auto"}, Case{33, 25, {30000, 1001}, "h264"}, Case{48, 32, {10, 1}, "mpeg4"}}) {
        CAPTURE(c.width);
        CAPTURE(c.codec);
        write_mp4(f.path("in.mp4"), c.width, c.height, 7, c.rate);
        const auto input = decode_all({f.path("in.mp4").string()});
        fs::remove_all(f.path("out"));
        fs::create_directories(f.path("out"));
        auto r = run_command(f.video(f.path("in.mp4").string() + " --track bbox --max-poses 2 --overlay-codec " + c.codec +
                                     " --overlay " + f.path("out/overlay.mp4").string()));
        REQUIRE_MESSAGE(r.exit_code == 0, r.output);
        CHECK(f.files("out") == std::vector<std::string>{"overlay.mp4"});
        auto source = video::open_frame_source({f.path("out/overlay.mp4").string()}, {});
        CHECK(source->frame_rate().num == c.rate.num);
        CHECK(source->frame_rate().den == c.rate.den);
        CHECK(source->expected_frames() == 7);
        video::Frame frame;
        size_t count = 0;
        for (; source->next(frame); ++count) {
            REQUIRE(count < input.size());
            CHECK(frame.image.width == c.width);
            CHECK(frame.image.height == c.height);
            CHECK(frame.timestamp_us == input[count].timestamp_us);
        }
        CHECK(count == input.size());
    }
    // The odd size is H.264 4:4:4; the MPEG-4 fallback cannot take it, and says so.
    write_mp4(f.path("odd.mp4"), 33, 25, 2, {25, 1});
    fs::create_directories(f.path("out2"));
    auto r = run_command(f.video(f.path("odd.mp4").string() + " --overlay-codec mpeg4 --overlay " + f.path("out2/o.mp4").string()));
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("even sizes") != std::string::npos);
    CHECK(f.files("out2").empty());
}

TEST_CASE("video CLI: a video recorded sideways is turned upright, as players show it; a single photo is one frame") {
    Fixture f("video-rotation");
    write_mp4(f.path("flat.mp4"), 64, 48, 3, {25, 1});
    // A phone's portrait video: ffprobe says "rotation of -90.00 degrees", players turn it clockwise.
    remux_with_rotation(f.path("flat.mp4"), f.path("portrait.mp4"), 90);
    const auto flat = decode_all({f.path("flat.mp4").string()});
    const auto upright = decode_all({f.path("portrait.mp4").string()});
    REQUIRE(upright.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        REQUIRE(upright[i].image.width == 48);
        REQUIRE(upright[i].image.height == 64);
        // Clockwise: the flat frame's pixel (x, y) lands at (47 - y, x).
        bool same = true;
        for (int y = 0; y < 48; ++y)
            for (int x = 0; x < 64; ++x)
                for (int c = 0; c < 3; ++c)
                    same &= flat[i].image.pixels[(size_t(y) * 64 + size_t(x)) * 3 + size_t(c)] ==
                            upright[i].image.pixels[(size_t(x) * 48 + size_t(47 - y)) * 3 + size_t(c)];
        CHECK(same);
    }
    fs::create_directories(f.path("out"));
    auto r = run_command(f.video(f.path("portrait.mp4").string() + " --jsonl - --overlay " + f.path("out/o.mp4").string()));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const auto lines = parse_lines(r.output);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0]["width"] == 48);
    CHECK(lines[0]["height"] == 64);
    const json detected = f.detect_frames(upright);
    for (size_t i = 0; i < 3; ++i) check_same_poses(lines[i]["poses"], detected[i]["poses"]);
    const auto overlay = decode_all({f.path("out/o.mp4").string()});
    REQUIRE(overlay.size() == 3);
    CHECK(overlay[0].image.width == 48);
    CHECK(overlay[0].image.height == 64);

    // A photo given as INPUT: one frame at time 0, decoded as detect decodes it.
    write_png(f.path("photo.png"), pattern_frame(40, 30, 2).view());
    r = run_command(f.video(f.path("photo.png").string() + " --jsonl -"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const auto one = parse_lines(r.output);
    REQUIRE(one.size() == 1);
    CHECK(one[0]["timestamp_us"] == 0);
    r = run_command(f.detect(f.path("photo.png").string() + " --json -"));
    check_same_poses(one[0]["poses"], json::parse(r.output)[0]["poses"]);
}

TEST_CASE("video CLI: YUV4MPEG2 through a pipe on stdin and from a file, in every supported colourspace") {
    Fixture f("video-y4m");
    struct Case {
        std::string colourspace;
        int chroma_w, chroma_h;
    };
    const int w = 40, h = 30;
    for (const Case& c : {Case{"C420jpeg", 20, 15}, Case{"C420", 20, 15}, Case{"C420mpeg2", 20, 15}, Case{"C420paldv", 20, 15},
                          Case{"C422", 20, 30}, Case{"C444", 40, 30}, Case{"Cmono", 0, 0}, Case{"", 20, 15}}) {
        CAPTURE(c.colourspace);
        write_file(f.path("in.y4m"), y4m_stream("W40 H30 F5:1 Ip A1:1 " + c.colourspace + " XYSCSS=420JPEG",
                                                yuv_frames(w, h, c.chroma_w, c.chroma_h, 4)));
        const auto frames = decode_all({f.path("in.y4m").string()});
        REQUIRE(frames.size() == 4);
        auto r = run_command("cat " + f.path("in.y4m").string() + " | " + f.video("- --jsonl -"));
        REQUIRE_MESSAGE(r.exit_code == 0, r.output);
        const auto lines = parse_lines(r.output);
        REQUIRE(lines.size() == 4);
        const json detected = f.detect_frames(frames);
        for (size_t i = 0; i < 4; ++i) {
            CHECK(lines[i]["frame"] == i);
            CHECK(lines[i]["timestamp_us"] == int64_t(i) * 200000);  // F5:1
            CHECK(lines[i]["width"] == w);
            check_same_poses(lines[i]["poses"], detected[i]["poses"]);
        }
        // The file as INPUT gives the same lines.
        auto from_file = run_command(f.video(f.path("in.y4m").string() + " --jsonl -"));
        CHECK(from_file.output == r.output);
    }
    // --rate replaces the stream's own rate on stdin.
    auto r = run_command("cat " + f.path("in.y4m").string() + " | " + f.video("- --rate 30000/1001 --jsonl -"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(parse_lines(r.output)[3]["timestamp_us"] == 100100);  // 3 * 1001 / 30 ms
}

TEST_CASE("video sources: YUV4MPEG2 colours are BT.601 (limited range unless XCOLORRANGE=FULL), grey full range") {
    Fixture f("video-y4m-colours");
    struct Case {
        std::string header;
        uint8_t y, u, v;
        int r, g, b;
    };
    // BT.601 limited-range primaries, and the full-range and grey cases.
    for (const Case& c : {Case{"C444", 81, 90, 240, 255, 0, 0}, Case{"C444", 145, 54, 34, 0, 255, 0},
                          Case{"C420jpeg", 41, 240, 110, 0, 0, 255}, Case{"C422", 235, 128, 128, 255, 255, 255},
                          Case{"C444", 16, 128, 128, 0, 0, 0}, Case{"C444 XCOLORRANGE=FULL", 128, 128, 128, 128, 128, 128},
                          Case{"Cmono", 77, 0, 0, 77, 77, 77}, Case{"Cmono XCOLORRANGE=LIMITED", 235, 0, 0, 255, 255, 255}}) {
        CAPTURE(c.header);
        CAPTURE(int(c.y));
        const int w = 8, h = 6;
        const bool mono = c.header.find("mono") != std::string::npos;
        const int cw = mono ? 0 : c.header.find("444") != std::string::npos ? w : w / 2;
        const int ch = mono ? 0 : c.header.find("420") != std::string::npos ? h / 2 : h;
        YuvPlanes p{std::vector<uint8_t>(size_t(w * h), c.y), std::vector<uint8_t>(size_t(cw * ch), c.u),
                    std::vector<uint8_t>(size_t(cw * ch), c.v)};
        write_file(f.path("flat.y4m"), y4m_stream("W8 H6 F25:1 " + c.header, {p}));
        const auto frames = decode_all({f.path("flat.y4m").string()});
        REQUIRE(frames.size() == 1);
        const auto& px = frames[0].image.pixels;
        for (size_t i = 0; i < px.size(); i += 3) {
            CHECK(std::abs(px[i] - c.r) <= 2);
            CHECK(std::abs(px[i + 1] - c.g) <= 2);
            CHECK(std::abs(px[i + 2] - c.b) <= 2);
        }
    }
}

TEST_CASE("video CLI: RGB24 frames through a pipe with --size and --rate") {
    Fixture f("video-rgb24");
    std::string raw;
    std::vector<video::Frame> frames;
    for (int i = 0; i < 5; ++i) {
        video::Frame frame{pattern_frame(40, 30, i), i, 0};
        raw.append(frame.image.pixels.begin(), frame.image.pixels.end());
        frames.push_back(std::move(frame));
    }
    write_file(f.path("frames.rgb"), raw);
    auto r = run_command("cat " + f.path("frames.rgb").string() + " | " + f.video("- --size 40x30 --rate 12.5 --jsonl -"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const auto lines = parse_lines(r.output);
    REQUIRE(lines.size() == 5);
    const json detected = f.detect_frames(frames);
    for (size_t i = 0; i < 5; ++i) {
        CHECK(lines[i]["frame"] == i);
        CHECK(lines[i]["timestamp_us"] == int64_t(i) * 80000);  // 12.5 fps
        CHECK(lines[i]["width"] == 40);
        CHECK(lines[i]["height"] == 30);
        check_same_poses(lines[i]["poses"], detected[i]["poses"]);
    }
    // Without --rate: 30 fps.
    r = run_command("cat " + f.path("frames.rgb").string() + " | " + f.video("- --size 40x30 --jsonl -"));
    CHECK(parse_lines(r.output)[1]["timestamp_us"] == 33333);
}

TEST_CASE("video CLI: a folder, a glob and a list of images; detect takes the folder too, in the same order") {
    Fixture f("video-folder");
    fs::create_directories(f.path("photos/sub"));
    const std::vector<std::string> names = {"b-002.png", "a-001.PNG", "c-003.ppm", "B-000.png"};  // byte order: B, a, b, c
    for (size_t i = 0; i < names.size(); ++i) write_png(f.path("photos/" + names[i]), pattern_frame(36 + int(i) * 4, 28, int(i)).view());
    write_file(f.path("photos/notes.txt"), "not an image");
    write_png(f.path("photos/sub/ignored.png"), pattern_frame(20, 20, 0).view());
    const std::vector<std::string> order = {"B-000.png", "a-001.PNG", "b-002.png", "c-003.ppm"};

    auto r = run_command(f.detect(f.path("photos").string() + " --json " + f.path("detect.json").string()));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const json detected = json::parse(read_text(f.path("detect.json")));
    REQUIRE(detected.size() == 4);
    for (size_t i = 0; i < 4; ++i) CHECK(fs::path(detected[i]["image"].get<std::string>()).filename() == order[i]);

    // The folder, and a quoted glob (matched by the CLI, in byte order) naming the same images.
    for (const std::string& input : {f.path("photos").string(), "'" + f.path("photos").string() + "/[aBbc]-*'"}) {
        CAPTURE(input);
        r = run_command(f.video(input + " --rate 4 --jsonl -"));
        REQUIRE_MESSAGE(r.exit_code == 0, r.output);
        const auto lines = parse_lines(r.output);
        REQUIRE(lines.size() == 4);
        for (size_t i = 0; i < 4; ++i) {
            CHECK(lines[i]["frame"] == i);
            CHECK(lines[i]["timestamp_us"] == int64_t(i) * 250000);
            CHECK(lines[i]["width"] == detected[i]["width"]);
            check_same_poses(lines[i]["poses"], detected[i]["poses"]);
        }
    }
    // A glob takes what it matches, as the shell would: notes.txt is not an image, and that is an error.
    r = run_command(f.video("'" + f.path("photos").string() + "/*' --jsonl -"));
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("notes.txt") != std::string::npos);
    // An explicit list (a glob the shell expanded): in the order given.
    r = run_command(f.video(f.path("photos/c-003.ppm").string() + " " + f.path("photos/B-000.png").string() + " --jsonl -"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    auto lines = parse_lines(r.output);
    REQUIRE(lines.size() == 2);
    check_same_poses(lines[0]["poses"], detected[3]["poses"]);
    check_same_poses(lines[1]["poses"], detected[0]["poses"]);
    // An overlay of images of different sizes is refused (one video, one size), leaving nothing.
    fs::create_directories(f.path("out"));
    r = run_command(f.video(f.path("photos").string() + " --overlay " + f.path("out/o.mp4").string()));
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("the first frame's size") != std::string::npos);
    CHECK(f.files("out").empty());
}

TEST_CASE("video CLI: track ids are present and stable in a static scene; --smooth leaves a static scene alone") {
    Fixture f("video-tracking");
    {
        video::VideoEncoder encoder(f.path("static.mp4"), "static.mp4", 64, 48, {10, 1});
        for (int i = 0; i < 8; ++i) encoder.write(pattern_frame(64, 48, 3), video::frame_time_us(i, {10, 1}));
        encoder.finish();
    }
    const std::string input = f.path("static.mp4").string();
    auto plain = parse_lines(run_command(f.video(input + " --jsonl -")).output);
    REQUIRE(plain.size() == 8);
    for (const std::string args : {"--track bbox", "--track bbox --smooth", "--smooth", "--track bbox --max-poses 3"}) {
        CAPTURE(args);
        auto r = run_command(f.video(input + " " + args + " --jsonl -"));
        REQUIRE_MESSAGE(r.exit_code == 0, r.output);
        const auto lines = parse_lines(r.output);
        REQUIRE(lines.size() == 8);
        const bool tracked = args.find("--track") != std::string::npos;
        std::vector<int> first_ids;
        for (size_t i = 0; i < lines.size(); ++i) {
            std::vector<int> ids;
            for (const auto& pose : lines[i]["poses"]) {
                CHECK(pose.contains("id") == tracked);
                if (tracked) ids.push_back(pose["id"].get<int>());
            }
            if (i == 0) first_ids = ids;
            CHECK(ids == first_ids);  // the same people keep their ids
            if (args.find("max-poses") != std::string::npos) continue;
            // One pose a frame, identical frames: smoothing a constant gives the constant back.
            for (size_t k = 0; k < 17; ++k) {
                CHECK(lines[i]["poses"][0]["keypoints"][k]["x"].get<double>() ==
                      doctest::Approx(plain[i]["poses"][0]["keypoints"][k]["x"].get<double>()).epsilon(1e-5));
                CHECK(lines[i]["poses"][0]["keypoints"][k]["y"].get<double>() ==
                      doctest::Approx(plain[i]["poses"][0]["keypoints"][k]["y"].get<double>()).epsilon(1e-5));
            }
        }
        if (tracked) {
            REQUIRE_FALSE(first_ids.empty());
            CHECK(first_ids[0] == 1);
        }
    }
    // Smoothing a moving scene changes the keypoints (it filters).
    write_mp4(f.path("moving.mp4"), 64, 48, 8, {10, 1});
    auto raw = parse_lines(run_command(f.video(f.path("moving.mp4").string() + " --jsonl -")).output);
    auto smooth = parse_lines(run_command(f.video(f.path("moving.mp4").string() + " --smooth --jsonl -")).output);
    REQUIRE(raw.size() == 8);
    REQUIRE(smooth.size() == 8);
    CHECK(raw.front()["poses"] == smooth.front()["poses"]);  // the first frame passes unfiltered
    CHECK(raw != smooth);
    // Several poses smoothed without tracking would share one filter: refused.
    auto r = run_command(f.video(f.path("moving.mp4").string() + " --smooth --max-poses 3 --jsonl -"));
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("needs --track") != std::string::npos);
}

TEST_CASE("video CLI: --frames-in-flight 1, 3 and 16 give identical JSON Lines and overlays") {
    Fixture f("video-in-flight");
    write_mp4(f.path("moving.mp4"), 64, 48, 10, {10, 1});
    fs::create_directories(f.path("out"));
    for (const std::string args : {"", "--max-poses 3 --track bbox --smooth", "--track keypoint --smooth"}) {
        CAPTURE(args);
        std::string first_lines;
        std::vector<video::Frame> first_overlay;
        for (const std::string in_flight : {"1", "3", "16"}) {
            CAPTURE(in_flight);
            const fs::path overlay = f.path("out/o-" + in_flight + ".mp4");
            auto r = run_command(f.video(f.path("moving.mp4").string() + " " + args + " --frames-in-flight " + in_flight +
                                         " --jsonl - --overlay " + overlay.string()));
            REQUIRE_MESSAGE(r.exit_code == 0, r.output);
            REQUIRE(parse_lines(r.output).size() == 10);
            const auto frames = decode_all({overlay.string()});
            REQUIRE(frames.size() == 10);
            if (in_flight == "1") {
                first_lines = r.output;
                first_overlay = frames;
                continue;
            }
            CHECK(r.output == first_lines);
            for (size_t i = 0; i < frames.size(); ++i) {
                CHECK(frames[i].timestamp_us == first_overlay[i].timestamp_us);
                CHECK(frames[i].image.pixels == first_overlay[i].image.pixels);
            }
        }
        // The default (3) too, and the lines are the frames' own, in order.
        auto r = run_command(f.video(f.path("moving.mp4").string() + " " + args + " --jsonl -"));
        REQUIRE_MESSAGE(r.exit_code == 0, r.output);
        CHECK(r.output == first_lines);
        const auto lines = parse_lines(r.output);
        for (size_t i = 0; i < lines.size(); ++i) CHECK(lines[i]["frame"] == i);
    }
    for (const std::string bad : {"0", "17", "-2", "many"}) {
        auto r = run_command(f.video(f.path("moving.mp4").string() + " --frames-in-flight " + bad + " --jsonl -"));
        CHECK(r.exit_code == 2);
        CHECK_MESSAGE(r.output.find("--frames-in-flight") != std::string::npos, r.output);
    }
}

TEST_CASE("overlay: track colours are distinct, stable, and drawn for tracked poses") {
    CHECK(track_colour(1) == track_colour(13));
    for (int a = 0; a < 12; ++a)
        for (int b = a + 1; b < 12; ++b) CHECK_FALSE(track_colour(a) == track_colour(b));
    Pose pose;
    for (int k = 0; k < kNumKeypoints; ++k) pose.keypoints[size_t(k)] = {10.0f + float(k), 20.0f + float(k), 0.9f, kKeypointNames[size_t(k)]};
    Image untracked = pattern_frame(64, 64, 0), tracked = untracked;
    draw_poses(untracked, std::span(&pose, 1));
    pose.id = 4;
    draw_poses(tracked, std::span(&pose, 1));
    CHECK(untracked.pixels != tracked.pixels);
    // The bone from left_shoulder (5) to right_shoulder (6) runs through (15.5, 25.5): the track's colour.
    const uint8_t* p = &tracked.pixels[(size_t(25) * 64 + 15) * 3];
    const OverlayColour c = track_colour(4);
    CHECK(((p[0] == c.r && p[1] == c.g && p[2] == c.b) || (p[0] == 255 && p[1] == 255 && p[2] == 255)));
}

TEST_CASE("video CLI: hostile inputs fail with one clear error naming the input, and leave nothing behind") {
    Fixture f("video-hostile");
    write_mp4(f.path("good.mp4"), 96, 64, 20, {25, 1});
    const std::string good = read_text(f.path("good.mp4"));
    const std::string out = " --jsonl " + f.path("out/p.jsonl").string() + " --overlay " + f.path("out/o.mp4").string();
    fs::create_directories(f.path("out"));
    auto expect_failure = [&](const std::string& command, int code, const std::string& says) {
        CAPTURE(command);
        auto r = run_command("timeout 60 " + command);
        CHECK(r.exit_code == code);
        CHECK_MESSAGE(r.output.find(says) != std::string::npos, r.output);
        CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);  // one line
        CHECK(f.files("out").empty());
    };

    // Truncated MP4s (the index is at the front: cut frames show): at several cuts.
    for (size_t cut : {size_t(100), good.size() / 3, good.size() / 2, good.size() - 200, good.size() - 1}) {
        write_file(f.path("cut.mp4"), good.substr(0, cut));
        expect_failure(f.video(f.path("cut.mp4").string() + out), 1, "cut.mp4: ");
    }
    // Corrupt data in the frames: decoded strictly, any damage the decoder sees is an error (a flipped
    // byte it cannot see may pass, as in any video); never a crash.
    for (int seed = 0; seed < 8; ++seed) {
        std::string bad = good;
        for (int i = 0; i < 6; ++i) bad[2000 + size_t((seed * 7919 + i * 104729) % int(good.size() - 2000))] ^= char(0x5a);
        write_file(f.path("corrupt.mp4"), bad);
        auto r = run_command("timeout 60 " + f.video(f.path("corrupt.mp4").string() + out));
        CAPTURE(r.output);
        CHECK((r.exit_code == 0 || r.exit_code == 1));
        if (r.exit_code == 1) {
            CHECK(r.output.find("corrupt.mp4: ") != std::string::npos);
            CHECK(f.files("out").empty());
        }
        fs::remove_all(f.path("out"));
        fs::create_directories(f.path("out"));
    }
    write_file(f.path("garbage.mp4"), std::string(5000, '\x42'));
    expect_failure(f.video(f.path("garbage.mp4").string() + out), 1, "garbage.mp4: not a video");
    write_file(f.path("empty.mp4"), "");
    expect_failure(f.video(f.path("empty.mp4").string() + out), 1, "empty.mp4: empty file");
    expect_failure(f.video(f.path("missing.mp4").string() + out), 1, "missing.mp4: no such file");

    // A FIFO is refused at once, whether or not anyone writes to it.
    REQUIRE(::mkfifo(f.path("fifo").c_str(), 0600) == 0);
    expect_failure(f.video(f.path("fifo").string() + out), 1, "fifo: is a FIFO");
    // Devices that are not cameras, and a camera that is not there.
    expect_failure(f.video("/dev/null" + out), 1, "/dev/null: is a character device");
    expect_failure(f.video("/dev/video97" + out), 1, "/dev/video97: no such camera");
    // Empty folders, folders without images, a broken image among good ones.
    fs::create_directories(f.path("none"));
    expect_failure(f.video(f.path("none").string() + out), 1, "none: no JPEG, PNG or PNM files");
    fs::create_directories(f.path("photos"));
    write_png(f.path("photos/a.png"), pattern_frame(40, 30, 0).view());
    write_file(f.path("photos/b.png"), "not a png");
    expect_failure(f.video(f.path("photos").string() + out), 1, "b.png");
    expect_failure(f.video("'" + f.path("nothing").string() + "/*.png'" + out), 1, "no file matches");

    // Sizes: absurd --size, headers claiming absurd frames, unsupported colourspaces.
    expect_failure(f.video("- --size 100000x100000" + out + " < /dev/null"), 2, "--size 100000x100000 is out of range");
    expect_failure(f.video("- --size 20000x20000" + out + " < /dev/null"), 2, "out of range");
    expect_failure(f.video(f.path("good.mp4").string() + " --size 40x30" + out), 2, "--size applies to");
    expect_failure(f.video(f.path("good.mp4").string() + " --rate 5" + out), 2, "own timing");
    write_file(f.path("huge.y4m"), "YUV4MPEG2 W100000 H100000 F25:1 C420jpeg\nFRAME\n");
    expect_failure("cat " + f.path("huge.y4m").string() + " | " + f.video("-" + out), 1, "stdin: frames are 100000x100000");
    write_file(f.path("huge.y4m"), "YUV4MPEG2 W30000 H30000 F25:1\nFRAME\n");
    expect_failure(f.video(f.path("huge.y4m").string() + out), 1, "more than the limit of 268435456 pixels");
    write_file(f.path("wide.y4m"), "YUV4MPEG2 W99999999999 H2\n");
    expect_failure(f.video(f.path("wide.y4m").string() + out), 1, "bad width");
    write_file(f.path("deep.y4m"), y4m_stream("W40 H30 F25:1 C420p10", yuv_frames(40, 30, 20, 15, 1)));
    expect_failure(f.video(f.path("deep.y4m").string() + out), 1, "colourspace C420p10 is not supported");
    write_file(f.path("fast.y4m"), "YUV4MPEG2 W40 H30 F999999999:1\n");
    expect_failure(f.video(f.path("fast.y4m").string() + out), 1, "frame rate F999999999:1 is out of range");
    write_file(f.path("noh.y4m"), "YUV4MPEG2 W40 F25:1\n");
    expect_failure(f.video(f.path("noh.y4m").string() + out), 1, "without H");
    std::string y4m = y4m_stream("W40 H30 F25:1", yuv_frames(40, 30, 20, 15, 3));
    write_file(f.path("cut.y4m"), y4m.substr(0, y4m.size() - 100));
    expect_failure("cat " + f.path("cut.y4m").string() + " | " + f.video("-" + out), 1, "stdin: truncated: frame 2 ends after");
    write_file(f.path("cut.y4m"), y4m.substr(0, y4m.size() - 1800 - 3));  // inside the third FRAME line
    expect_failure(f.video(f.path("cut.y4m").string() + out), 1, "truncated: the header of frame 2");
    std::string bad_frame = y4m;
    bad_frame.replace(bad_frame.find("FRAME", 30), 5, "FRAMX");
    write_file(f.path("badframe.y4m"), bad_frame);
    expect_failure(f.video(f.path("badframe.y4m").string() + out), 1, "is not a FRAME line");
    write_file(f.path("line.y4m"), "YUV4MPEG2 W40 H30 " + std::string(10000, 'X'));
    expect_failure(f.video(f.path("line.y4m").string() + out), 1, "no end of line within");

    // Raw RGB24: a last frame cut short; stdin that is neither.
    write_file(f.path("short.rgb"), std::string(40 * 30 * 3 * 2 + 7, '\x10'));
    expect_failure("cat " + f.path("short.rgb").string() + " | " + f.video("- --size 40x30" + out), 1,
                   "stdin: truncated: frame 2 ends after 7 of its 3600 bytes");
    expect_failure("cat " + f.path("good.mp4").string() + " | " + f.video("-" + out), 1, "stdin: not a YUV4MPEG2 stream");
    expect_failure(f.video("-" + out + " < /dev/null"), 1, "stdin: no input");
    expect_failure(f.video("-" + out + " --size 40x30 < /dev/null"), 1, "stdin: no frames");

    // Output options that cannot work are refused before any work.
    expect_failure(f.video(f.path("good.mp4").string() + " --overlay -"), 2, "--overlay needs a file name");
    expect_failure(f.video(f.path("good.mp4").string() + " --jsonl " + f.path("out").string()), 2, "is a directory");
    expect_failure(f.video(f.path("good.mp4").string()), 2, "nothing to write");
    expect_failure(f.video(f.path("good.mp4").string() + " --track maybe --jsonl -"), 2, "--track must be");
    expect_failure(f.video(f.path("good.mp4").string() + " --rate 0" + out), 2, "--rate");
}

TEST_CASE("video CLI: a run killed while it waits for frames removes its staged outputs") {
    Fixture f("video-killed");
    write_file(f.path("in.y4m"), y4m_stream("W40 H30 F25:1", yuv_frames(40, 30, 20, 15, 3)));
    fs::create_directories(f.path("out"));
    // The writer keeps stdin open; SIGTERM arrives once the run has staged its outputs (its temporaries
    // show), while it works on the frames or waits for a fourth.
    const std::string out = f.path("out").string();
    auto r = run_command("{ (cat " + f.path("in.y4m").string() + "; sleep 10) 2>/dev/null | " +
                         f.video("- --jsonl " + out + "/p.jsonl --overlay " + out + "/o.mp4") + " & pid=$!; " +
                         "for i in $(seq 200); do ls -A " + out + " | grep -q tmp && break; sleep 0.1; done; " +
                         "kill -TERM $pid; wait $pid; echo \"exit $?\"; }");
    CHECK(r.output.find("interrupted (SIGTERM)") != std::string::npos);
    CHECK(r.output.find("exit 1") != std::string::npos);
    CHECK(f.files("out").empty());
}

TEST_CASE("video CLI and detect CLI: the progress line shows on a terminal only") {
    Fixture f("video-progress");
    write_mp4(f.path("clip.mp4"), 40, 30, 6, {25, 1});
    write_png(f.path("a.png"), pattern_frame(40, 30, 0).view());
    const std::string video = f.video(f.path("clip.mp4").string() + " --jsonl " + f.path("p.jsonl").string());
    const std::string detect = f.detect(f.path("a.png").string() + " --json " + f.path("p.json").string());
    // Not a terminal (run_command reads a pipe): nothing but the outputs asked for.
    auto r = run_command(video);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.empty());
    r = run_command(detect);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("images/s") == std::string::npos);
    CHECK(r.output.find('\r') == std::string::npos);
    // On a terminal (script(1) gives the command a pseudo-terminal).
    if (run_command("command -v script").exit_code != 0) {
        std::printf("SKIP progress on a terminal: script(1) is not installed\n");
        return;
    }
    r = run_command("script -qec '" + video + "' /dev/null");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("frames: 6 in ") != std::string::npos);
    CHECK(r.output.find("frames/s") != std::string::npos);
    CHECK(r.output.find('\r') != std::string::npos);
    r = run_command("script -qec '" + video + " --quiet' /dev/null");
    CHECK(r.output.find("frames/s") == std::string::npos);
    r = run_command("script -qec '" + detect + "' /dev/null");
    CHECK(r.output.find("images: 1 in ") != std::string::npos);
    r = run_command("script -qec '" + detect + " --quiet' /dev/null");
    CHECK(r.output.find("images/s") == std::string::npos);
}

TEST_CASE("video CLI: the default model follows a person through an MP4, as detect does frame by frame") {
    const fs::path model = source_root() / ".cache" / "models" / "mobilenet-float-075-stride16.pnb";
    const fs::path photo = source_root() / ".cache" / "images" / "astronaut.png";
    if (!fs::exists(model) || !fs::exists(photo)) {
        std::printf("SKIP video with the default model: %s or %s is absent (./run.sh demo puts them there)\n",
                    model.string().c_str(), photo.string().c_str());
        return;
    }
    const fs::path dir = scratch_dir("video-real");
    const Image astronaut = load_image(photo);
    // The photo sliding right by 6 pixels a frame (the left edge repeated), 10 fps.
    const int shift = 6, count = 6;
    {
        video::VideoEncoder encoder(dir / "walk.mp4", "walk.mp4", astronaut.width, astronaut.height, {10, 1});
        for (int t = 0; t < count; ++t) {
            Image frame = astronaut;
            for (int y = 0; y < frame.height; ++y)
                for (int x = 0; x < frame.width; ++x)
                    for (int c = 0; c < 3; ++c)
                        frame.pixels[(size_t(y) * size_t(frame.width) + size_t(x)) * 3 + size_t(c)] =
                            astronaut.pixels[(size_t(y) * size_t(frame.width) + size_t(std::max(0, x - shift * t))) * 3 + size_t(c)];
            encoder.write(frame, video::frame_time_us(t, {10, 1}));
        }
        encoder.finish();
    }
    const std::string model_args = " --backend cpu --model " + model.string() + " ";
    auto r = run_command(posenet_cli() + " video" + model_args + (dir / "walk.mp4").string() +
                         " --track keypoint --jsonl - --overlay " + (dir / "walk-overlay.mp4").string());
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const auto lines = parse_lines(r.output);
    REQUIRE(lines.size() == size_t(count));
    // detect on the decoded frames: the same poses.
    const auto frames = decode_all({(dir / "walk.mp4").string()});
    std::string files;
    for (const auto& fr : frames) {
        const fs::path png = dir / ("frame-" + std::to_string(fr.index) + ".png");
        write_png(png, fr.image.view());
        files += " " + png.string();
    }
    r = run_command(posenet_cli() + " detect" + model_args + "--json " + (dir / "detect.json").string() + files);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const json detected = json::parse(read_text(dir / "detect.json"));
    // detect on the original photo: the first frame's pose within the video compression's reach.
    r = run_command(posenet_cli() + " detect" + model_args + "--json " + (dir / "photo.json").string() + " " + photo.string());
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const json original = json::parse(read_text(dir / "photo.json"))[0]["poses"][0];
    for (size_t i = 0; i < lines.size(); ++i) {
        CAPTURE(i);
        REQUIRE(lines[i]["poses"].size() == 1);
        const json& pose = lines[i]["poses"][0];
        CHECK(pose["id"] == 1);  // one person, one track, from the first frame to the last
        check_same_poses(lines[i]["poses"], detected[i]["poses"]);
        // Confident keypoints follow the slide: x moves by shift * i (within 4 px: H.264 at CRF 18,
        // the network's 16-pixel stride), y stays.
        std::vector<double> errors;
        for (size_t k = 0; k < 17; ++k) {
            if (original["keypoints"][k]["score"].get<double>() < 0.7) continue;
            errors.push_back(std::hypot(pose["keypoints"][k]["x"].get<double>() - original["keypoints"][k]["x"].get<double>() -
                                            double(shift) * double(i),
                                        pose["keypoints"][k]["y"].get<double>() - original["keypoints"][k]["y"].get<double>()));
        }
        std::sort(errors.begin(), errors.end());
        REQUIRE(errors.size() >= 5);
        // Frame 0 differs from the photo by the compression only. The slid frames also move the person
        // against the network's output grid (a cell is 16 * 512 / 257 = 32 photo pixels): measured
        // medians 1.5-7 px, maxima 3.5-14 px; bounds: a quarter and a half of a cell.
        CHECK(errors[errors.size() / 2] <= (i == 0 ? 2.0 : 8.0));
        CHECK(errors.back() <= (i == 0 ? 4.0 : 16.0));
    }
}
