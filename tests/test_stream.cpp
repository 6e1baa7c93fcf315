// The streaming engine: PoseStream (results in order, equal to estimate_poses, tracking and smoothing
// as the classes give them, pull and callback modes, threads, errors; a failed frame through the C
// API, which tests/c_api/test_c_api.c cannot cause), the detector's memory over
// frames of many sizes and formats (one plan), plan eviction, lanes in flight, and a soak run. Vulkan
// runs on whatever device there is (lavapipe here) with the validation layer on where installed:
// any message fails.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "bench/measure.h"
#include "engine/blob.h"
#include "engine/tfjs_model.h"
#include "posenet/c_api_internal.h"
#include "posenet/detector.h"
#include "posenet/detector_internal.h"
#include "posenet/posenet.h"
#include "posenet/stream.h"
#include "tests/test_support.h"
#include "tests/test_vulkan_support.h"
#include "tests/tiny_model.h"

using namespace posenet;
using namespace posenet::test;

namespace {

fs::path tiny_blob() {
    static const fs::path blob = [] {
        auto dir = scratch_dir("stream-tiny");
        TinyModel m;
        engine::save_blob(engine::load_tfjs_model(m.write(dir / "tfjs")), dir / "tiny.pnb");
        return dir / "tiny.pnb";
    }();
    return blob;
}

ModelConfig tiny_config() {
    ModelConfig c;
    c.model = tiny_blob();
    c.input_resolution = {33, 33};
    return c;
}

// An RGB gradient with a bright blob that moves with `seed`.
Image gradient(int seed, int height = 30, int width = 40) {
    Image img;
    img.height = height, img.width = width;
    img.pixels.resize(size_t(height) * width * 3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            uint8_t* p = &img.pixels[(size_t(y) * width + x) * 3];
            const bool blob = std::abs(x - (seed * 7) % width) < 4 && std::abs(y - (seed * 5) % height) < 4;
            p[0] = uint8_t(x * 6 + seed), p[1] = uint8_t(y * 8), p[2] = blob ? 255 : uint8_t(seed * 40);
        }
    return img;
}

// An 8-bit frame in any format with `pad` spare bytes per row, made from an RGB image.
struct Frame {
    std::vector<uint8_t> bytes;
    ImageView view;
};

Frame convert(const Image& rgb, PixelFormat format, int pad) {
    Frame f;
    const int bpp = bytes_per_pixel(format);
    const int stride = rgb.width * bpp + pad;
    f.bytes.assign(size_t(stride) * rgb.height, 0x5a);
    for (int y = 0; y < rgb.height; ++y)
        for (int x = 0; x < rgb.width; ++x) {
            const uint8_t* s = &rgb.pixels[(size_t(y) * rgb.width + x) * 3];
            uint8_t* d = &f.bytes[size_t(y) * stride + size_t(x) * bpp];
            switch (format) {
                case PixelFormat::RGB8: d[0] = s[0], d[1] = s[1], d[2] = s[2]; break;
                case PixelFormat::BGR8: d[0] = s[2], d[1] = s[1], d[2] = s[0]; break;
                case PixelFormat::RGBA8: d[0] = s[0], d[1] = s[1], d[2] = s[2], d[3] = 7; break;
                case PixelFormat::BGRA8: d[0] = s[2], d[1] = s[1], d[2] = s[0], d[3] = 9; break;
                case PixelFormat::Gray8: d[0] = s[0]; break;
            }
        }
    f.view = {f.bytes.data(), rgb.height, rgb.width, stride, format};
    return f;
}

// Frames of many sizes (wide, tall, tiny, a camera frame), every format, padded and packed rows.
std::vector<Frame> assorted_frames(int count, int seed = 0) {
    static const int sizes[][2] = {{30, 40}, {50, 20}, {33, 33}, {7, 90}, {120, 160}, {1, 1}, {90, 7}, {61, 47}, {480, 640}, {17, 200}};
    static const PixelFormat formats[] = {PixelFormat::RGB8, PixelFormat::RGBA8, PixelFormat::BGR8, PixelFormat::BGRA8, PixelFormat::Gray8};
    std::vector<Frame> out;
    for (int i = 0; i < count; ++i) {
        const auto& s = sizes[size_t(i) % std::size(sizes)];
        out.push_back(convert(gradient(seed + i, s[0], s[1]), formats[size_t(i) % std::size(formats)], (i % 3) * 5));
    }
    return out;
}

void check_same(const std::vector<Pose>& a, const std::vector<Pose>& b) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].score == b[i].score);
        CHECK(a[i].id == b[i].id);
        for (int k = 0; k < kNumKeypoints; ++k) {
            CHECK(a[i].keypoints[k].x == b[i].keypoints[k].x);
            CHECK(a[i].keypoints[k].y == b[i].keypoints[k].y);
            CHECK(a[i].keypoints[k].score == b[i].keypoints[k].score);
        }
    }
}

// A detector on a backend whose validation-layer messages (Vulkan: the layer is turned on where it
// is installed, unless `validation` is false) are collected; empty (SKIP printed) where Vulkan cannot
// start. Some tests run Vulkan without the layer too: it wraps handles, so a driver's reuse of a
// destroyed object's handle value for a new one (lavapipe's) never shows under it.
struct Detector {
    std::shared_ptr<std::vector<std::string>> messages = std::make_shared<std::vector<std::string>>();
    std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
    std::optional<PoseDetector> d;
    Backend backend;

    explicit Detector(Backend b, bool validation_layer = true) : backend(b) {
#if defined(__SANITIZE_THREAD__)
        validation_layer = false;  // the layer is not instrumented: TSan reports its own locking as races
#endif
        ScopedEnv validation("POSENET_VULKAN_VALIDATION",
                             b == Backend::Vulkan && validation_layer && vk::validation_layer_available() ? "1" : "0");
        DetectorOptions o;
        o.backend = b;
        o.log = [m = messages, mx = mutex](LogLevel, std::string_view text) {
            std::lock_guard<std::mutex> lock(*mx);
            m->emplace_back(text);
        };
        try {
            d.emplace(tiny_config(), o);
        } catch (const DeviceError& e) {
            std::printf("SKIP the vulkan half: %s\n", e.what());
        }
    }
    ~Detector() {
        d.reset();  // validation messages from tearing down count too
        std::lock_guard<std::mutex> lock(*mutex);
        for (const auto& m : *messages) MESSAGE("logged: " << m);
        CHECK(messages->empty());
    }
    explicit operator bool() const { return d.has_value(); }
    PoseDetector* operator->() { return &*d; }
    PoseDetector& operator*() { return *d; }
};

const Backend kBackends[] = {Backend::Cpu, Backend::Vulkan};

const EstimationConfig kMulti{3, false, 0.1f, 10};

}  // namespace

TEST_CASE("stream: results in order with their timestamps, equal to estimate_poses, for 1, 2, 3 and 5 frames in flight") {
    const auto frames = assorted_frames(12);
    for (auto [backend, validation] : {std::pair{Backend::Cpu, true}, {Backend::Vulkan, true}, {Backend::Vulkan, false}}) {
        CAPTURE(to_string(backend));
        CAPTURE(validation);
        Detector d(backend, validation);
        if (!d) continue;
        for (const EstimationConfig& config : {EstimationConfig{}, kMulti}) {
            CAPTURE(config.max_poses);
            std::vector<std::vector<Pose>> want;
            for (const Frame& f : frames) want.push_back(d->estimate_poses(f.view, config));
            for (int in_flight : {1, 2, 3, 5}) {
                CAPTURE(in_flight);
                PoseStream stream(*d, {.estimation = config, .frames_in_flight = in_flight});
                CHECK(stream.frames_in_flight() == in_flight);
                std::vector<FrameResult> got;
                for (size_t i = 0; i < frames.size(); ++i) {
                    stream.push(frames[i].view, 1000 + int64_t(i) * 33333);
                    while (auto r = stream.try_next()) got.push_back(std::move(*r));
                }
                for (auto& r : stream.flush()) got.push_back(std::move(r));
                CHECK(stream.pending() == 0);
                REQUIRE(got.size() == frames.size());
                for (size_t i = 0; i < got.size(); ++i) {
                    CAPTURE(i);
                    CHECK(got[i].ok());
                    CHECK(got[i].index == i);
                    CHECK(got[i].timestamp_us == 1000 + int64_t(i) * 33333);
                    CHECK(got[i].height == frames[i].view.height);
                    CHECK(got[i].width == frames[i].view.width);
                    check_same(got[i].poses, want[i]);
                }
            }
        }
        // The detector's own memory did not grow with the streams: one plan (batch 1, 33x33).
        if (backend == Backend::Vulkan) CHECK(d->backend_memory().plans == 1);
    }
}

TEST_CASE("stream: tracking ids and smoothing equal the tracker and smoother fed the same poses in order") {
    std::vector<Image> frames;
    for (int i = 0; i < 16; ++i) frames.push_back(gradient(i, 48, 64));
    for (Backend backend : kBackends) {
        CAPTURE(to_string(backend));
        Detector d(backend);
        if (!d) continue;
        std::vector<std::vector<Pose>> raw;
        for (const Image& f : frames) raw.push_back(d->estimate_poses(f.view(), kMulti));
        auto ts = [](size_t i) { return int64_t(i) * 40000 + 5; };
        const ImageSize size{48, 64};
        SUBCASE("keypoint tracker, then smoothing") {
            KeypointTracker tracker;
            PoseSmoother smoother;
            PoseStream stream(*d, {.estimation = kMulti, .tracker = StreamTracker::Keypoint, .smoothing = PoseSmootherConfig{}});
            for (size_t i = 0; i < frames.size(); ++i) stream.push(frames[i].view(), ts(i));
            auto got = stream.flush();
            REQUIRE(got.size() == frames.size());
            int ids = 0;
            for (size_t i = 0; i < frames.size(); ++i) {
                auto want = tracker.apply(raw[i], ts(i), size);
                want = smoother.apply(std::move(want), ts(i), size, tracker.track_ids());
                check_same(got[i].poses, want);
                for (const Pose& p : got[i].poses) ids = std::max(ids, p.id);
            }
            CHECK(ids > 0);
        }
        SUBCASE("bounding-box tracker with its own config, no smoothing") {
            BoundingBoxTrackerConfig config{.max_tracks = 4, .max_age_ms = 50, .min_similarity = 0.3};
            BoundingBoxTracker tracker(config);
            PoseStream stream(*d, {.estimation = kMulti, .frames_in_flight = 2, .tracker = StreamTracker::BoundingBox,
                                   .bounding_box_tracker = config});
            for (size_t i = 0; i < frames.size(); ++i) stream.push(frames[i].view(), ts(i));
            auto got = stream.flush();
            REQUIRE(got.size() == frames.size());
            for (size_t i = 0; i < frames.size(); ++i) check_same(got[i].poses, tracker.apply(raw[i], ts(i), size));
        }
        SUBCASE("smoothing alone: untracked poses share one filter") {
            PoseSmoother smoother;
            PoseStream stream(*d, {.smoothing = PoseSmootherConfig{}});
            for (size_t i = 0; i < frames.size(); ++i) stream.push(frames[i].view(), ts(i));
            auto got = stream.flush();
            REQUIRE(got.size() == frames.size());
            for (size_t i = 0; i < frames.size(); ++i)
                check_same(got[i].poses, smoother.apply(d->estimate_poses(frames[i].view()), ts(i), size));
        }
    }
}

TEST_CASE("stream: flush after a partial pull, callback mode, and a consumer thread") {
    const auto frames = assorted_frames(30, 3);
    for (Backend backend : kBackends) {
        CAPTURE(to_string(backend));
        Detector d(backend);
        if (!d) continue;
        std::vector<std::vector<Pose>> want;
        for (const Frame& f : frames) want.push_back(d->estimate_poses(f.view, kMulti));
        {
            PoseStream stream(*d, {.estimation = kMulti});
            CHECK_THROWS_WITH_AS(stream.next(), doctest::Contains("no frame pending"), ConfigError);
            for (size_t i = 0; i < 6; ++i) stream.push(frames[i].view, int64_t(i));
            CHECK(stream.pending() == 6);
            for (uint64_t i = 0; i < 2; ++i) {
                FrameResult r = stream.next();
                CHECK(r.index == i);
                check_same(r.poses, want[i]);
            }
            CHECK(stream.pending() == 4);
            auto rest = stream.flush();
            REQUIRE(rest.size() == 4);
            for (size_t i = 0; i < rest.size(); ++i) {
                CHECK(rest[i].index == i + 2);
                check_same(rest[i].poses, want[i + 2]);
            }
            CHECK(stream.pending() == 0);
            CHECK_FALSE(stream.try_next());
            CHECK(stream.flush().empty());
            // The detector's synchronous calls work between (and during) stream frames.
            stream.push(frames[6].view, 6);
            check_same(d->estimate_poses(frames[7].view, kMulti), want[7]);
            check_same(stream.next().poses, want[6]);
        }
        {
            std::mutex m;
            std::vector<FrameResult> seen;
            std::string push_error;
            PoseStream* self = nullptr;
            PoseStream stream(*d, {.estimation = kMulti, .frames_in_flight = 2, .on_result = [&](FrameResult&& r) {
                                       if (r.index == 0) {
                                           try {
                                               self->push(frames[0].view, 0);
                                           } catch (const ConfigError& e) {
                                               push_error = e.what();
                                           }
                                       }
                                       std::lock_guard<std::mutex> lock(m);
                                       seen.push_back(std::move(r));
                                   }});
            self = &stream;
            for (size_t i = 0; i < 7; ++i) stream.push(frames[i].view, int64_t(i) * 10);
            CHECK(stream.flush().empty());
            CHECK(stream.pending() == 0);
            CHECK(push_error.find("from on_result") != std::string::npos);
            std::lock_guard<std::mutex> lock(m);
            REQUIRE(seen.size() == 7);
            for (size_t i = 0; i < seen.size(); ++i) {
                CHECK(seen[i].index == i);
                CHECK(seen[i].timestamp_us == int64_t(i) * 10);
                check_same(seen[i].poses, want[i]);
            }
            CHECK_THROWS_AS(stream.try_next(), ConfigError);
            CHECK_THROWS_AS(stream.next(), ConfigError);
        }
        {
            // One thread pushes while another pulls.
            PoseStream stream(*d, {.estimation = kMulti, .frames_in_flight = 3});
            std::vector<FrameResult> got;
            std::atomic<bool> producer_failed{false};
            std::thread producer([&] {
                try {
                    for (size_t i = 0; i < frames.size(); ++i) stream.push(frames[i].view, int64_t(i));
                } catch (...) {
                    producer_failed = true;
                }
            });
            while (got.size() < frames.size() && !producer_failed) {
                if (stream.pending() == 0) {
                    std::this_thread::yield();
                    continue;
                }
                got.push_back(stream.next());
            }
            producer.join();
            CHECK_FALSE(producer_failed);
            REQUIRE(got.size() == frames.size());
            for (size_t i = 0; i < got.size(); ++i) {
                CHECK(got[i].index == i);
                check_same(got[i].poses, want[i]);
            }
        }
    }
}

namespace {

// An executor whose lanes fail one run (the n-th submitted, counting from 0) as a lost device would:
// wait() throws DeviceError after the run.
struct FailingExecutor final : engine::Executor {
    struct Lane final : engine::Executor::Lane {
        std::unique_ptr<engine::Executor::Lane> inner;
        FailingExecutor& owner;
        bool fail = false;
        Lane(std::unique_ptr<engine::Executor::Lane> l, FailingExecutor& o) : inner(std::move(l)), owner(o) {}
        void submit(const engine::RunInput& in, engine::OutputSet outputs) override {
            inner->submit(in, outputs);
            fail = owner.runs++ == owner.fail_at;
        }
        engine::OutputViews wait() override {
            auto v = inner->wait();
            if (fail) throw DeviceError("injected: device lost");
            return v;
        }
        bool preprocessed_on_device() const override { return inner->preprocessed_on_device(); }
    };
    std::unique_ptr<engine::Executor> inner;
    std::atomic<int> runs{0};
    int fail_at;
    FailingExecutor(std::unique_ptr<engine::Executor> e, int n) : inner(std::move(e)), fail_at(n) {}
    engine::NetworkOutputs run(std::span<const float> input, int h, int w, int batch) override { return inner->run(input, h, w, batch); }
    const char* backend_name() const override { return inner->backend_name(); }
    std::string device_name() const override { return inner->device_name(); }
    std::unique_ptr<engine::Executor::Lane> make_lane(engine::LaneMode mode) override {
        return std::make_unique<Lane>(inner->make_lane(mode), *this);
    }
    engine::MemoryStats memory() const override { return inner->memory(); }
};

}  // namespace

TEST_CASE("stream: errors") {
    const auto frames = assorted_frames(8, 5);
    for (Backend backend : kBackends) {
        CAPTURE(to_string(backend));
        Detector d(backend);
        if (!d) continue;
        CHECK_THROWS_WITH_AS(PoseStream(*d, {.frames_in_flight = 0}), doctest::Contains("frames_in_flight must be 1..16, not 0"),
                             ConfigError);
        CHECK_THROWS_AS(PoseStream(*d, {.frames_in_flight = 17}), ConfigError);
        CHECK_THROWS_WITH_AS(PoseStream(*d, {.estimation = {.max_poses = 0}}), doctest::Contains("maxPoses"), ConfigError);
        CHECK_THROWS_WITH_AS(PoseStream(*d, {.tracker = StreamTracker::Keypoint, .keypoint_tracker = {.max_tracks = 0}}),
                             doctest::Contains("max"), ConfigError);
        {
            // A bad frame is refused by push() and takes no index.
            PoseStream stream(*d, {});
            ImageView bad = frames[0].view;
            bad.data = nullptr;
            CHECK_THROWS_AS(stream.push(bad, 1), ConfigError);
            bad = frames[0].view;
            bad.row_stride_bytes = 1;
            CHECK_THROWS_AS(stream.push(bad, 1), ConfigError);
            CHECK(stream.pending() == 0);
            stream.push(frames[1].view, 2);
            FrameResult r = stream.next();
            CHECK(r.index == 0);
            CHECK(r.timestamp_us == 2);
        }
        {
            // A frame that fails on the device: its result carries the error, so does every later one,
            // and push() refuses new frames.
            auto& impl = DetectorAccess::impl(*d);
            auto real = std::move(impl.executor);
            impl.executor = std::make_unique<FailingExecutor>(std::move(real), 3);
            {
                PoseStream stream(*d, {.estimation = kMulti, .frames_in_flight = 2});
                std::vector<FrameResult> got;
                bool push_failed = false;
                for (size_t i = 0; i < frames.size(); ++i) {
                    try {
                        stream.push(frames[i].view, int64_t(i));
                    } catch (const DeviceError& e) {
                        CHECK(std::string(e.what()) == "injected: device lost");
                        push_failed = true;
                        break;
                    }
                }
                for (auto& r : stream.flush()) got.push_back(std::move(r));
                CHECK_THROWS_WITH_AS(stream.push(frames[0].view, 99), "injected: device lost", DeviceError);
                CHECK(push_failed);
                REQUIRE(got.size() >= 4);
                for (size_t i = 0; i < got.size(); ++i) {
                    CAPTURE(i);
                    CHECK(got[i].index == i);
                    CHECK(got[i].ok() == (i < 3));
                    if (i >= 3) {
                        CHECK(got[i].poses.empty());
                        CHECK(got[i].error_message == "injected: device lost");
                        CHECK_THROWS_AS(std::rethrow_exception(got[i].error), DeviceError);
                    }
                }
            }
            impl.executor = std::move(static_cast<FailingExecutor&>(*impl.executor).inner);
            impl.lane.reset();  // made on the wrapper
        }
        {
            // A callback that throws stops the stream; flush() and push() report it.
            PoseStream stream(*d, {.on_result = [](FrameResult&& r) {
                                       if (r.index == 1) throw std::runtime_error("callback failed");
                                   }});
            for (size_t i = 0; i < 2; ++i) stream.push(frames[i].view, 0);
            CHECK_THROWS_WITH(stream.flush(), "callback failed");
            CHECK_THROWS_WITH(stream.push(frames[2].view, 0), "callback failed");
        }
    }
}

TEST_CASE("stream: the C API gives a failed frame's status and message as its result, then push returns it") {
    posenet_detector_config config;
    posenet_detector_config_init(&config);
    const std::string model = tiny_blob().string();
    config.model_path = model.c_str();
    config.input_height = config.input_width = 33;
    config.backend = POSENET_BACKEND_CPU;
    posenet_detector* detector = nullptr;
    REQUIRE(posenet_detector_create(&config, &detector) == POSENET_OK);
    auto& impl = DetectorAccess::impl(detector->detector);
    impl.executor = std::make_unique<FailingExecutor>(std::move(impl.executor), 2);  // frame 2 fails
    posenet_stream_options options;
    posenet_stream_options_init(&options);
    options.frames_in_flight = 2;
    posenet_stream* stream = nullptr;
    REQUIRE(posenet_stream_create(detector, &options, &stream) == POSENET_OK);
    std::vector<Frame> frames;
    for (int i = 0; i < 8; ++i) frames.push_back(convert(gradient(i), PixelFormat::RGB8, 0));
    auto c_image = [](const Frame& f) {
        return posenet_image{f.view.data, f.view.height, f.view.width, f.view.row_stride_bytes, POSENET_PIXEL_RGB8};
    };
    size_t pushed = 0;
    for (; pushed < frames.size(); ++pushed) {
        const posenet_image image = c_image(frames[pushed]);
        const posenet_status status = posenet_stream_push(stream, &image, int64_t(pushed) * 100);
        if (status == POSENET_OK) continue;
        CHECK(status == POSENET_ERROR_DEVICE);
        CHECK(std::string(posenet_last_error()) == "injected: device lost");
        break;
    }
    CHECK(pushed >= 3);
    CHECK(pushed < frames.size());  // the stream stopped taking frames
    posenet_frame_result_list* list = nullptr;
    REQUIRE(posenet_stream_flush(stream, &list) == POSENET_OK);
    REQUIRE(list != nullptr);
    REQUIRE(list->count == pushed);
    for (size_t i = 0; i < list->count; ++i) {
        CAPTURE(i);
        const posenet_frame_result& r = *list->results[i];
        CHECK(r.index == i);
        CHECK(r.timestamp_us == int64_t(i) * 100);
        CHECK(r.height == 30);
        CHECK(r.width == 40);
        CHECK(r.status == (i < 2 ? POSENET_OK : POSENET_ERROR_DEVICE));
        CHECK(std::string(r.error) == (i < 2 ? "" : "injected: device lost"));
        CHECK(r.poses.count == (i < 2 ? 1u : 0u));
        CHECK((r.poses.poses == nullptr) == (i >= 2));
        CHECK(r.track_ids == nullptr);
    }
    posenet_frame_result_list_destroy(list);
    const posenet_image image = c_image(frames[0]);
    CHECK(posenet_stream_push(stream, &image, 0) == POSENET_ERROR_DEVICE);
    CHECK(std::string(posenet_last_error()) == "injected: device lost");
    posenet_stream_destroy(stream);
    posenet_detector_destroy(detector);
}

TEST_CASE("detector memory: one plan and flat memory over frames of many sizes and formats; batches equal single frames") {
    const auto frames = assorted_frames(20, 11);
    for (auto [backend, validation] : {std::pair{Backend::Cpu, true}, {Backend::Vulkan, true}, {Backend::Vulkan, false}}) {
        CAPTURE(to_string(backend));
        CAPTURE(validation);
        Detector d(backend, validation);
        if (!d) continue;
        std::vector<std::vector<Pose>> first;
        for (const Frame& f : frames) first.push_back(d->estimate_poses(f.view, kMulti));
        // Each frame alone on a fresh lane (a new stream's buffers, sized for it alone) gives the same
        // poses as the detector's lane, whose buffers grew and were replaced along the way.
        for (size_t i = 0; i < frames.size(); ++i) {
            PoseStream alone(*d, {.estimation = kMulti, .frames_in_flight = 1});
            alone.push(frames[i].view, 0);
            check_same(alone.next().poses, first[i]);
        }
        // In reverse order (other growth steps) too.
        for (size_t i = frames.size(); i-- > 0;) check_same(d->estimate_poses(frames[i].view, kMulti), first[i]);
        const BackendMemory after_first = d->backend_memory();
        const uint64_t rss_first = bench::host_memory().rss_bytes;
        for (int round = 0; round < 3; ++round)
            for (size_t i = 0; i < frames.size(); ++i) check_same(d->estimate_poses(frames[i].view, kMulti), first[i]);
        const BackendMemory after = d->backend_memory();
        CHECK(after.plans == (backend == Backend::Vulkan ? 1u : 0u));
        CHECK(after.plan_bytes == after_first.plan_bytes);
        CHECK(after.buffer_bytes == after_first.buffer_bytes);
        const uint64_t rss = bench::host_memory().rss_bytes;
        if (kRssIsMeaningful) CHECK(rss <= rss_first + (8u << 20));
        else std::printf("NOTE detector memory: RSS not bounded under AddressSanitizer (quarantine)\n");
        std::printf("STREAM-MEMORY %s: %zu plans, %.2f MiB plans, %.2f MiB buffers; RSS %.1f -> %.1f MiB over 60 more frames\n",
                    to_string(backend), after.plans, after.plan_bytes / 1048576.0, after.buffer_bytes / 1048576.0,
                    rss_first / 1048576.0, rss / 1048576.0);
        // Every format gives the poses of its RGB copy (the kernel reads the channels where they are).
        for (size_t i = 0; i < frames.size(); ++i) check_same(d->estimate_poses(to_rgb(frames[i].view).view(), kMulti), first[i]);
        // A batch of all of them: each frame's own poses.
        std::vector<ImageView> views;
        for (const Frame& f : frames) views.push_back(f.view);
        const auto batch = d->estimate_poses(std::span<const ImageView>(views), kMulti);
        REQUIRE(batch.size() == frames.size());
        for (size_t i = 0; i < frames.size(); ++i) check_same(batch[i], first[i]);
        // Batch sizes make plans, at most four (the least recently used go); a plan evicted and
        // built again gives the same poses.
        for (size_t n = 2; n <= 7; ++n) {
            const auto b = d->estimate_poses(std::span<const ImageView>(views.data(), n), kMulti);
            for (size_t i = 0; i < n; ++i) check_same(b[i], first[i]);
            CHECK(d->backend_memory().plans <= (backend == Backend::Vulkan ? 4u : 0u));
        }
        check_same(d->estimate_poses(frames[3].view, kMulti), first[3]);
        if (backend == Backend::Vulkan) CHECK(d->backend_memory().plans == 4);
    }
}

TEST_CASE("vulkan executor: plans bounded, least recently used evicted and freed, rebuilt identically; pinned plans wait") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    NetBuilder b(3, 5);
    Layer l;
    l.kind = LayerKind::Conv2D, l.in_channels = 3, l.out_channels = 17, l.kernel_h = l.kernel_w = 3, l.padding = Padding::Same,
    l.bias_count = 1;
    const int h = b.add(l);
    b.net.heatmap = b.net.offsets = b.net.displacement_fwd = b.net.displacement_bwd = h;
    Network net = b.finish();
    VulkanOptions o;
    o.max_plans = 2;
    VulkanExecutor gpu(net, rt, o);
    auto input = [](int hh, int ww, uint32_t seed) { return random_input(size_t(hh) * ww * 3, seed); };
    const auto a = gpu.run(input(9, 9, 1), 9, 9);
    CHECK(gpu.plan_count() == 1);
    const uint64_t bytes_a = gpu.memory().plan_bytes;
    gpu.run(input(21, 17, 2), 21, 17);
    CHECK(gpu.plan_count() == 2);
    const uint64_t bytes_ab = gpu.memory().plan_bytes;
    CHECK(bytes_ab > bytes_a);
    gpu.run(input(5, 13, 3), 5, 13);  // evicts 9x9, the least recently used
    CHECK(gpu.plan_count() == 2);
    CHECK(gpu.memory().plan_bytes == bytes_ab - bytes_a + gpu.arena_bytes(5, 13));
    const auto again = gpu.run(input(9, 9, 1), 9, 9);  // rebuilt (evicting 21x17)
    CHECK(again.heatmap == a.heatmap);
    CHECK(gpu.plan_count() == 2);
    VulkanOptions none;
    none.max_plans = 0;
    CHECK_THROWS_AS(VulkanExecutor(net, rt, none), ConfigError);

    // A plan with a run in flight is never evicted; the bound holds again once it is done.
    VulkanOptions one;
    one.max_plans = 1;
    VulkanExecutor small(net, rt, one);
    auto lane = small.make_lane();
    const auto in_a = input(9, 9, 1);
    engine::RunInput ri;
    ri.height = 9, ri.width = 9, ri.floats = in_a;
    lane->submit(ri, engine::OutputSet::All);
    const auto b_out = small.run(input(21, 17, 2), 21, 17);  // 9x9 is pinned: two plans for a while
    CHECK(small.plan_count() == 1);                          // 21x17 went once its run was done
    const engine::OutputViews v = lane->wait();
    CHECK(std::vector<float>(v.heatmap.begin(), v.heatmap.end()) == a.heatmap);
    CHECK(small.plan_count() == 1);
    CHECK(small.run(input(21, 17, 2), 21, 17).heatmap == b_out.heatmap);
    check_no_validation_messages(*rt);
}

TEST_CASE("vulkan lanes: runs in flight on one plan each get their own outputs; read back only what is asked") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    NetBuilder b(3, 8);
    Layer l;
    l.kind = LayerKind::Conv2D, l.in_channels = 3, l.out_channels = 8, l.kernel_h = l.kernel_w = 3, l.stride_h = l.stride_w = 2,
    l.padding = Padding::Same, l.bias_count = 1, l.activation = Activation::Relu6;
    const int stem = b.add(l);
    int outs[4];
    const int channels[4] = {17, 34, 32, 32};
    for (int i = 0; i < 4; ++i) {
        Layer head;
        head.kind = LayerKind::Conv2D, head.input = stem, head.in_channels = 8, head.out_channels = channels[i], head.bias_count = 1;
        outs[i] = b.add(head);
    }
    b.net.heatmap = outs[0], b.net.offsets = outs[1], b.net.displacement_fwd = outs[2], b.net.displacement_bwd = outs[3];
    Network net = b.finish();
    VulkanExecutor gpu(net, rt);
    std::vector<Image> images = {gradient(1, 30, 40), gradient(2, 64, 20), gradient(3, 17, 17)};
    std::vector<Frame> frames;
    std::vector<engine::ImageInput> inputs;
    for (size_t i = 0; i < images.size(); ++i) {
        frames.push_back(convert(images[i], i == 1 ? PixelFormat::BGRA8 : PixelFormat::RGB8, int(i) * 3));
        inputs.push_back(detail::image_input(frames.back().view, compute_letterbox(images[i].height, images[i].width, 33, 25)));
    }
    std::vector<engine::NetworkOutputs> want;
    for (const auto& in : inputs) want.push_back(gpu.run_image(in, 33, 25));
    std::vector<std::unique_ptr<engine::Executor::Lane>> lanes;
    for (int round = 0; round < 2; ++round) {
        for (size_t i = 0; i < inputs.size(); ++i) {
            if (lanes.size() <= i) lanes.push_back(gpu.make_lane());
            engine::RunInput ri;
            ri.height = 33, ri.width = 25, ri.images = std::span(&inputs[i], 1);
            lanes[i]->submit(ri, i == 2 ? engine::OutputSet::HeatmapOffsets : engine::OutputSet::All);
        }
        for (size_t i = 0; i < inputs.size(); ++i) {
            const engine::OutputViews v = lanes[i]->wait();
            CHECK(lanes[i]->preprocessed_on_device() == gpu.supports_image_input());
            CHECK(std::vector<float>(v.heatmap.begin(), v.heatmap.end()) == want[i].heatmap);
            CHECK(std::vector<float>(v.offsets.begin(), v.offsets.end()) == want[i].offsets);
            if (i == 2) {
                CHECK(v.displacement_fwd.empty());
                CHECK(v.displacement_bwd.empty());
            } else {
                CHECK(std::vector<float>(v.displacement_bwd.begin(), v.displacement_bwd.end()) == want[i].displacement_bwd);
            }
        }
    }
    CHECK_THROWS_AS(lanes[0]->wait(), std::logic_error);
    // One lane through frames of growing sizes (its upload buffer replaced again and again; drivers
    // may give the new buffer the old one's handle) equals a fresh lane per frame.
    {
        auto grown = gpu.make_lane();
        for (int step = 0; step < 12; ++step) {
            const Image img = gradient(step, 100 + step * 40, 120 + step * 30);
            const Frame f = convert(img, step % 2 ? PixelFormat::RGBA8 : PixelFormat::RGB8, step);
            const engine::ImageInput in = detail::image_input(f.view, compute_letterbox(img.height, img.width, 33, 25));
            engine::RunInput ri;
            ri.height = 33, ri.width = 25, ri.images = std::span(&in, 1);
            grown->submit(ri, engine::OutputSet::All);
            const engine::OutputViews v = grown->wait();
            auto fresh = gpu.make_lane();
            fresh->submit(ri, engine::OutputSet::All);
            const engine::OutputViews w = fresh->wait();
            CAPTURE(step);
            CHECK(std::equal(v.heatmap.begin(), v.heatmap.end(), w.heatmap.begin(), w.heatmap.end()));
            CHECK(std::equal(v.displacement_bwd.begin(), v.displacement_bwd.end(), w.displacement_bwd.begin(), w.displacement_bwd.end()));
        }
    }
    CHECK(gpu.plan_count() == 1);
    CHECK(gpu.memory().lane_bytes > 0);
    lanes.clear();
    check_no_validation_messages(*rt);
}

// 2,000 frames through one stream: resident memory flat after warm-up, the backend's memory unchanged.
TEST_CASE("stream soak: 2000 frames, memory flat after warm-up") {
    std::vector<Frame> frames;
    for (int i = 0; i < 8; ++i)
        frames.push_back(convert(gradient(i, 120 + (i % 4) * 40, 160 + (i % 3) * 30), i % 2 ? PixelFormat::BGRA8 : PixelFormat::RGB8, i % 3));
    for (Backend backend : kBackends) {
        CAPTURE(to_string(backend));
        Detector d(backend);
        if (!d) continue;
        PoseStream stream(*d, {.estimation = kMulti, .frames_in_flight = 3, .tracker = StreamTracker::Keypoint,
                               .smoothing = PoseSmootherConfig{}});
        constexpr int kFrames = 2000, kWarmup = 300, kEvery = 100;
        uint64_t rss_min = ~0ull, rss_max = 0, taken = 0;
        BackendMemory warm{};
        for (int i = 0; i < kFrames; ++i) {
            stream.push(frames[size_t(i) % frames.size()].view, int64_t(i) * 33333);
            while (auto r = stream.try_next()) {
                CHECK(r->index == taken++);
                if (!r->ok()) FAIL(r->error_message);
            }
            if (i == kWarmup) warm = d->backend_memory();
            if (i >= kWarmup && i % kEvery == 0) {
                const uint64_t rss = bench::host_memory().rss_bytes;
                rss_min = std::min(rss_min, rss), rss_max = std::max(rss_max, rss);
            }
        }
        taken += stream.flush().size();
        CHECK(taken == kFrames);
        const BackendMemory end = d->backend_memory();
        CHECK(end.plans == warm.plans);
        CHECK(end.plan_bytes == warm.plan_bytes);
        CHECK(end.buffer_bytes == warm.buffer_bytes);
        std::printf("STREAM-SOAK %s: %d frames, RSS after warm-up %.1f..%.1f MiB\n", to_string(backend), kFrames, rss_min / 1048576.0,
                    rss_max / 1048576.0);
        if (kRssIsMeaningful) CHECK(rss_max - rss_min <= (16u << 20));
        else std::printf("NOTE stream soak: RSS not bounded under AddressSanitizer (quarantine)\n");
    }
}
