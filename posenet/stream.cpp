#include "posenet/stream.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/executor.h"
#include "posenet/detector_internal.h"

namespace posenet {

namespace {

std::string message_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "unknown error";
    }
}

}  // namespace

struct PoseStream::Impl {
    // Frame i runs in slot i % slots.size(): results are taken in order, so the slot a push needs
    // next is always the one whose frame completes first.
    struct Slot {
        std::unique_ptr<engine::Executor::Lane> lane;
        bool busy = false;  // from push() until the stream's thread has decoded its frame
        uint64_t index = 0;
        int64_t timestamp_us = 0;
        int height = 0, width = 0;
        Letterbox letterbox;
    };

    DetectorAccess::Impl& detector;
    StreamOptions options;
    engine::OutputSet outputs;
    std::vector<Slot> slots;
    std::unique_ptr<PoseTracker> tracker;    // the stream's thread only
    std::optional<PoseSmoother> smoother;    // the stream's thread only
    std::vector<float> scores;               // the stream's thread only

    std::mutex push_mutex;  // one push at a time
    mutable std::mutex mutex;
    std::condition_variable slot_freed, frame_pushed, result_ready;
    uint64_t pushed = 0;     // frames started
    uint64_t completed = 0;  // frames the stream's thread is done with (slot free)
    uint64_t delivered = 0;  // results taken or given to on_result
    int waiting = 0;         // next() calls waiting: the first results are theirs
    std::deque<FrameResult> results;
    std::exception_ptr failure;           // the first failure; later frames and push() report it
    std::exception_ptr callback_failure;  // what on_result threw, for flush()
    bool stopping = false;
    std::thread thread;

    Impl(DetectorAccess::Impl& d, StreamOptions o) : detector(d), options(std::move(o)) {
        if (options.frames_in_flight < 1 || options.frames_in_flight > kMaxFramesInFlight)
            throw ConfigError("frames_in_flight must be 1.." + std::to_string(kMaxFramesInFlight) + ", not " +
                              std::to_string(options.frames_in_flight));
        validate(options.estimation);
        switch (options.tracker) {
            case StreamTracker::None: break;
            case StreamTracker::BoundingBox: tracker = std::make_unique<BoundingBoxTracker>(options.bounding_box_tracker); break;
            case StreamTracker::Keypoint: tracker = std::make_unique<KeypointTracker>(options.keypoint_tracker); break;
        }
        if (options.smoothing) smoother.emplace(*options.smoothing);
        outputs = detail::outputs_for(options.estimation, false);
        slots.resize(size_t(options.frames_in_flight));
        for (Slot& s : slots) s.lane = detector.executor->make_lane(engine::LaneMode::Background);
        thread = std::thread([this] { run(); });
    }

    ~Impl() {
        {
            std::lock_guard<std::mutex> lock(mutex);
            stopping = true;
        }
        frame_pushed.notify_all();
        if (thread.joinable()) thread.join();
    }

    void push(const ImageView& frame, int64_t timestamp_us) {
        if (std::this_thread::get_id() == thread.get_id())
            throw ConfigError("PoseStream::push() called from on_result (the stream's thread would wait for itself)");
        validate(frame);
        std::lock_guard<std::mutex> one_push(push_mutex);
        std::unique_lock<std::mutex> lock(mutex);
        slot_freed.wait(lock, [&] { return failure || !slots[pushed % slots.size()].busy; });
        if (failure) std::rethrow_exception(failure);
        Slot& slot = slots[pushed % slots.size()];
        const uint64_t index = pushed;
        lock.unlock();
        // The slot is free and only this push touches it until it is marked busy.
        const InputResolution r = detector.resolution();
        const Letterbox letterbox = compute_letterbox(frame.height, frame.width, r.height, r.width);
        const engine::ImageInput image = detail::image_input(frame, letterbox);
        engine::RunInput input;
        input.height = r.height, input.width = r.width, input.images = std::span(&image, 1);
        slot.lane->submit(input, outputs);  // copies the frame; throws with nothing started
        lock.lock();
        slot.busy = true;
        slot.index = index;
        slot.timestamp_us = timestamp_us;
        slot.height = frame.height, slot.width = frame.width;
        slot.letterbox = letterbox;
        ++pushed;
        frame_pushed.notify_all();
    }

    // The stream's thread: waits for each frame in order, decodes, tracks, smooths, frees its slot,
    // then hands the result over.
    void run() {
        std::unique_lock<std::mutex> lock(mutex);
        for (;;) {
            frame_pushed.wait(lock, [&] { return stopping || completed < pushed; });
            if (completed == pushed) return;  // stopping, nothing in flight
            Slot& slot = slots[completed % slots.size()];
            const bool discard = stopping;
            const bool failed_before = failure != nullptr;
            lock.unlock();
            FrameResult r;
            r.index = slot.index;
            r.timestamp_us = slot.timestamp_us;
            r.height = slot.height, r.width = slot.width;
            try {
                const engine::OutputViews out = slot.lane->wait();
                if (!discard && !failed_before) r.poses = finish(out, slot);
            } catch (...) {
                r.error = std::current_exception();
            }
            lock.lock();
            if (r.error && !failure) failure = r.error;
            if (!r.error && failure) r.error = failure;  // after a failure, every frame reports it
            if (r.error) r.poses.clear(), r.error_message = message_of(r.error);
            slot.busy = false;
            ++completed;
            slot_freed.notify_all();
            if (discard || stopping) continue;
            if (options.on_result) {
                lock.unlock();
                try {
                    options.on_result(std::move(r));
                } catch (...) {
                    lock.lock();
                    if (!callback_failure) callback_failure = std::current_exception();
                    if (!failure) failure = callback_failure;
                    lock.unlock();
                }
                lock.lock();
                ++delivered;
            } else {
                results.push_back(std::move(r));
            }
            result_ready.notify_all();
        }
    }

    std::vector<Pose> finish(const engine::OutputViews& out, const Slot& slot) {
        std::vector<Pose> poses =
            detail::decode(detail::slice(out, 0), detector.network.output_stride, slot.letterbox, options.estimation, scores);
        const ImageSize size{slot.height, slot.width};
        // pose-detection's order (MoveNet's estimateMultiplePoses): the tracker, then the smoother
        // with the ids the tracker still holds.
        if (tracker) poses = tracker->apply(std::move(poses), slot.timestamp_us, size);
        if (smoother) {
            if (tracker) {
                const std::vector<int> live = tracker->track_ids();
                poses = smoother->apply(std::move(poses), slot.timestamp_us, size, live);
            } else {
                poses = smoother->apply(std::move(poses), slot.timestamp_us, size);
            }
        }
        return poses;
    }

    void check_pull_mode(const char* what) const {
        if (options.on_result)
            throw ConfigError(std::string("PoseStream::") + what + ": the stream hands results to on_result (callback mode)");
    }

    std::optional<FrameResult> try_next() {
        check_pull_mode("try_next()");
        std::lock_guard<std::mutex> lock(mutex);
        if (results.size() <= size_t(waiting)) return std::nullopt;  // the first results belong to waiting next() calls
        FrameResult r = std::move(results.front());
        results.pop_front();
        ++delivered;
        return r;
    }

    FrameResult next() {
        check_pull_mode("next()");
        std::unique_lock<std::mutex> lock(mutex);
        if (pushed - delivered <= uint64_t(waiting)) throw ConfigError("PoseStream::next(): no frame pending");
        ++waiting;
        result_ready.wait(lock, [&] { return !results.empty(); });
        --waiting;
        FrameResult r = std::move(results.front());
        results.pop_front();
        ++delivered;
        return r;
    }

    std::vector<FrameResult> flush() {
        if (std::this_thread::get_id() == thread.get_id())
            throw ConfigError("PoseStream::flush() called from on_result (the stream's thread would wait for itself)");
        std::unique_lock<std::mutex> lock(mutex);
        const uint64_t target = pushed;
        std::vector<FrameResult> out;
        if (options.on_result) {
            result_ready.wait(lock, [&] { return delivered >= target; });
            if (callback_failure) std::rethrow_exception(callback_failure);
            return out;
        }
        result_ready.wait(lock, [&] { return completed >= target; });
        // What waiting next() calls will take stays for them.
        while (results.size() > size_t(waiting)) {
            out.push_back(std::move(results.front()));
            results.pop_front();
            ++delivered;
        }
        return out;
    }

    size_t pending() const {
        std::lock_guard<std::mutex> lock(mutex);
        return size_t(pushed - delivered);
    }
};

PoseStream::PoseStream(PoseDetector& detector, StreamOptions options)
    : impl_(std::make_unique<Impl>(DetectorAccess::impl(detector), std::move(options))) {}

PoseStream::~PoseStream() = default;
PoseStream::PoseStream(PoseStream&&) noexcept = default;
PoseStream& PoseStream::operator=(PoseStream&&) noexcept = default;

void PoseStream::push(const ImageView& frame, int64_t timestamp_us) { impl_->push(frame, timestamp_us); }
std::optional<FrameResult> PoseStream::try_next() { return impl_->try_next(); }
FrameResult PoseStream::next() { return impl_->next(); }
std::vector<FrameResult> PoseStream::flush() { return impl_->flush(); }
size_t PoseStream::pending() const { return impl_->pending(); }
int PoseStream::frames_in_flight() const { return int(impl_->slots.size()); }

}  // namespace posenet
