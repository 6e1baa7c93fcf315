// Video: frames through a PoseDetector with several in flight at once, results in frame order, with
// optional tracking and smoothing as pose-detection applies them to MoveNet's poses.
//
//   posenet::PoseDetector detector(config);
//   posenet::PoseStream stream(detector, {.estimation = {.max_poses = 5},
//                                         .tracker = posenet::StreamTracker::Keypoint});
//   while (decode_next_frame(frame, t_us)) {           // frame: an ImageView, valid only until the next decode
//       stream.push(frame, t_us);                       // copies the frame; blocks while every slot is busy
//       while (auto r = stream.try_next()) show(*r);    // results come in push order
//   }
//   for (auto& r : stream.flush()) show(r);             // the rest
//
// How it runs: each frame in flight has a slot of its own (a backend lane: on Vulkan its upload,
// parameter and readback buffers, command buffers and fence; on the CPU a worker thread). push()
// copies the frame into its slot and starts it; a thread of the stream waits for the frames in
// order, decodes them (and tracks and smooths), then frees the slot. So the upload of the next frame
// and the decoding of the previous one overlap the network's work on the current one. The
// network's own work is one frame at a time (one GPU queue, or the CPU executor's threads).
//
// Threads: push() from one producer thread at a time (concurrent pushes are serialized, in no
// defined order between them). Results from any thread: next(), try_next(), flush() and pending()
// may be called from threads other than the producer's, each result going to exactly one caller;
// or, with StreamOptions::on_result, the stream's own thread calls it for each result in order
// (it must not call push(), next() or flush() of this stream, and should return quickly: the
// slot is already free, but the next result waits for it). The detector's own calls still work
// while a stream runs; they are serialized with the stream's frames on the device.
//
// Errors: a bad frame (no pixels, bad sizes or stride) is a ConfigError from push(), and the
// frame is not taken (no index used). A failure while starting a frame (e.g. device memory
// exhausted) is thrown from push() likewise. A failure while a frame runs (a lost device, a
// timeout) comes back as that frame's result with `error` set, and the stream stops there: every
// later frame in flight comes back with the same error, and push() throws it from then on.
//
// The detector must outlive the stream (it may be moved meanwhile). Destroying the stream waits
// for the frames in flight and drops their results: flush() first to keep them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "posenet/config.h"
#include "posenet/detector.h"
#include "posenet/export.h"
#include "posenet/image.h"
#include "posenet/pose.h"
#include "posenet/smoothing.h"
#include "posenet/tracking.h"

namespace posenet {

// Which tracker gives the stream's poses their ids (posenet/tracking.h).
enum class StreamTracker { None, BoundingBox, Keypoint };

struct FrameResult {
    uint64_t index = 0;         // 0, 1, 2, ... in push order
    int64_t timestamp_us = 0;   // as pushed
    int height = 0, width = 0;  // of the frame
    std::vector<Pose> poses;    // in frame pixels, as estimate_poses; ids set when tracking; empty on error
    std::exception_ptr error;   // set when the frame failed (a DeviceError, see the top of this file)
    std::string error_message;  // what() of `error`
    bool ok() const { return !error; }
};

using FrameCallback = std::function<void(FrameResult&&)>;

// The most frames a stream keeps in flight (StreamOptions::frames_in_flight).
inline constexpr int kMaxFramesInFlight = 16;

struct StreamOptions {
    EstimationConfig estimation{};
    // Frames between push() and their result at once, 1..kMaxFramesInFlight (16). 1: no overlap; 3:
    // the next frame's upload and the previous frame's decoding overlap the current frame's network.
    int frames_in_flight = 3;
    // Track ids, as MoveNet's multi-pose detector does (posenet/tracking.h), from each frame's
    // timestamp and size; the config of the tracker chosen is used.
    StreamTracker tracker = StreamTracker::None;
    BoundingBoxTrackerConfig bounding_box_tracker{};
    KeypointTrackerConfig keypoint_tracker{};
    // Keypoint smoothing after tracking (PoseSmoother, one filter per track id; untracked poses share
    // one), with the tracker's live ids; none when unset.
    std::optional<PoseSmootherConfig> smoothing;
    // Empty: pull mode (next, try_next, flush). Set: called on the stream's thread with every result
    // in order, and next() and try_next() are not available. It must not throw: an exception it
    // throws stops the stream like a failed frame (later results carry it; push() and flush() throw it).
    FrameCallback on_result;
};

class POSENET_API PoseStream {
public:
    // Starts the stream's thread and one slot per frame in flight. Throws ConfigError for bad options
    // (frames_in_flight outside 1..16, estimation, tracker configs).
    PoseStream(PoseDetector& detector, StreamOptions options);
    ~PoseStream();
    PoseStream(PoseStream&&) noexcept;
    PoseStream& operator=(PoseStream&&) noexcept;
    PoseStream(const PoseStream&) = delete;
    PoseStream& operator=(const PoseStream&) = delete;

    // Copies the frame into the next slot and starts it; blocks only while every slot is busy. The
    // frame's memory may be reused as soon as push() returns. Throws ConfigError for a bad frame, or
    // when called from on_result; DeviceError when the frame cannot start or the stream failed.
    void push(const ImageView& frame, int64_t timestamp_us);
    // The next result in order, if it is done; nullopt otherwise. ConfigError in callback mode.
    std::optional<FrameResult> try_next();
    // The next result in order, waiting for it. ConfigError in callback mode or when no frame is
    // pending (every pushed frame's result was taken).
    FrameResult next();
    // Waits until every frame pushed so far is done; returns the results not taken yet, in order
    // (callback mode: waits until the callback had them all, returns nothing; rethrows what the
    // callback threw).
    std::vector<FrameResult> flush();
    // Frames pushed whose results were not taken (pull) or not yet given to on_result.
    size_t pending() const;
    int frames_in_flight() const;

private:
    struct POSENET_LOCAL Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace posenet
