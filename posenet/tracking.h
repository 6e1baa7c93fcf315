// Track ids across video frames, exactly as @tensorflow-models/pose-detection@2.1.3's trackers give
// them (dist/calculators/tracker.js, bounding_box_tracker.js, keypoint_tracker.js, tracker_utils.js;
// defaults from dist/movenet/constants.js, where MoveNet's multi-pose detector uses them).
//
// How MoveNet uses them (dist/movenet/detector.js estimateMultiplePoses), and so how we do: keypoints
// in coordinates normalized to the image (x / width, y / height), the pose's box in the same
// normalized coordinates, timestamps in microseconds (integers here); tracker.apply(poses, timestamp)
// writes an id into every pose (new ids for poses no track claims, so poses beyond maxTracks get ids
// too).
//
// PoseNet poses have no box; the bounding-box tracker needs one. Ours (pose_box, our decision, not
// the package's): the box around the pose's normalized keypoints whose score is > box_score_threshold
// (default 0.3, the keypoint tracker's keypointConfidenceThreshold; the same strict `>` as
// KeypointTracker.area), or around all 17 keypoints when none passes, so every pose has a box.
//
// Two levels:
//   TrackingPose (doubles, normalized) + PoseTracker::apply(span<TrackingPose>, t): the package's
//     apply(poses, timestamp), number for number (JS numbers are doubles; its Math.exp may differ
//     from ours in the last bit, see tests/test_temporal.cpp).
//   Pose (float pixels) + PoseTracker::apply(vector<Pose>, t, image size): normalizes each pose
//     (to_tracking_pose), applies, and returns the poses with `id` set; keypoints are not changed.
// Not thread-safe: one tracker per video stream, called from one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "posenet/export.h"
#include "posenet/pose.h"

namespace posenet {

// Of the source image, in pixels (height before width, as everywhere in the public API).
struct ImageSize {
    int height = 0, width = 0;
};

// shape_interfaces BoundingBox: width = x_max - x_min, height = y_max - y_min.
struct BoundingBox {
    double x_min = 0, y_min = 0, x_max = 0, y_max = 0, width = 0, height = 0;
};

// A keypoint as the trackers and the smoothing filters see it: JS numbers, i.e. doubles.
struct TrackingKeypoint {
    double x = 0, y = 0;
    double score = 0;
};

// A pose as the trackers see it (the package's Pose, less names): keypoints normalized to the image.
struct TrackingPose {
    std::array<TrackingKeypoint, kNumKeypoints> keypoints{};
    std::optional<BoundingBox> box = std::nullopt;  // the bounding-box tracker needs one; the keypoint tracker ignores it
    double score = 0;
    int id = -1;  // set by PoseTracker::apply
};

// KeypointTracker's keypointConfidenceThreshold default, used for our PoseNet pose boxes.
inline constexpr double kPoseBoxScoreThreshold = 0.3;

// The box around the keypoints with score > score_threshold, or around all of them when none
// passes (our rule for PoseNet poses, see above). Coordinates as given.
POSENET_API BoundingBox pose_box(std::span<const TrackingKeypoint, kNumKeypoints> keypoints,
                                 double score_threshold = kPoseBoxScoreThreshold);

// A PoseNet pose (pixels of an image of image_size) as the trackers take it: x / width, y / height in
// double, score and id copied, box = pose_box of the normalized keypoints. Throws ConfigError for an
// image size that is not positive.
POSENET_API TrackingPose to_tracking_pose(const Pose& pose, ImageSize image_size,
                                          double box_score_threshold = kPoseBoxScoreThreshold);
POSENET_API std::vector<TrackingPose> to_tracking_poses(std::span<const Pose> poses, ImageSize image_size,
                                                        double box_score_threshold = kPoseBoxScoreThreshold);

// The package's defaults (dist/movenet/constants.js DEFAULT_BOUNDING_BOX_TRACKER_CONFIG and
// DEFAULT_KEYPOINT_TRACKER_CONFIG; detector_utils.js merges user fields over them field by field, as
// designated initializers do here). max_age_ms is in milliseconds, as the package's maxAge.
struct BoundingBoxTrackerConfig {
    int max_tracks = 18;
    double max_age_ms = 1000;
    double min_similarity = 0.15;
};

struct KeypointTrackerParams {
    double keypoint_confidence_threshold = 0.3;
    // COCO's per-keypoint falloffs (https://cocodataset.org/#keypoints-eval), in keypoint order.
    std::array<double, kNumKeypoints> keypoint_falloff = {0.026, 0.025, 0.025, 0.035, 0.035, 0.079,
                                                          0.079, 0.072, 0.072, 0.062, 0.062, 0.107,
                                                          0.107, 0.087, 0.087, 0.089, 0.089};
    int min_number_of_keypoints = 4;
};

struct KeypointTrackerConfig {
    int max_tracks = 18;
    double max_age_ms = 1000;
    double min_similarity = 0.2;
    KeypointTrackerParams keypoint_tracker_params{};
};

inline constexpr BoundingBoxTrackerConfig kDefaultBoundingBoxTrackerConfig{};  // DEFAULT_BOUNDING_BOX_TRACKER_CONFIG
inline constexpr KeypointTrackerConfig kDefaultKeypointTrackerConfig{};        // DEFAULT_KEYPOINT_TRACKER_CONFIG

// validateTrackerConfig: max_tracks >= 1, max_age_ms > 0; for the keypoint tracker also
// keypoint_confidence_threshold in [0, 1], min_number_of_keypoints >= 1, every falloff > 0.
// Throws ConfigError naming the field. The trackers' constructors call these.
POSENET_API void validate(const BoundingBoxTrackerConfig& config);
POSENET_API void validate(const KeypointTrackerConfig& config);

// A stored track (calculators/interfaces/common_interfaces Track): the pose that last joined it.
struct Track {
    int id = 0;
    int64_t last_timestamp_us = 0;
    std::array<TrackingKeypoint, kNumKeypoints> keypoints{};
    std::optional<BoundingBox> box = std::nullopt;
};

// Tracker (tracker.js): the greedy assignment shared by both trackers. Ids start at 1 and are never
// reused (reset() keeps the counter, as the package's does).
class POSENET_API PoseTracker {
public:
    virtual ~PoseTracker();

    // apply(poses, timestamp): drops tracks older than max_age (timestamp - last > max_age_ms * 1000),
    // links each pose in order (the package assumes most confident first) to the free track of highest
    // similarity >= min_similarity (first one on ties), starts tracks for the others, then keeps the
    // max_tracks freshest tracks (stable sort by last timestamp, newest first). Sets poses[i].id.
    void apply(std::span<TrackingPose> poses, int64_t timestamp_us);

    // PoseNet poses in pixels of an image of image_size: to_tracking_pose, apply, and the poses come
    // back with id set (everything else unchanged). Throws ConfigError for a bad image size.
    std::vector<Pose> apply(std::vector<Pose> poses, int64_t timestamp_us, ImageSize image_size,
                            double box_score_threshold = kPoseBoxScoreThreshold);

    std::vector<Track> tracks() const;  // getTracks, freshest first
    std::vector<int> track_ids() const; // getTrackIDs, in the same order
    void remove(std::span<const int> ids);  // remove(...ids)
    void reset();                           // reset: no tracks; ids keep counting

    // computeSimilarity: [poses.size()][tracks().size()]; {{}} (one empty row) when either is empty.
    virtual std::vector<std::vector<double>> compute_similarity(std::span<const TrackingPose> poses) const = 0;

protected:
    PoseTracker(int max_tracks, double max_age_ms, double min_similarity);
    const std::vector<Track>& stored_tracks() const { return tracks_; }

private:
    void filter_old_tracks(int64_t timestamp_us);
    void assign_tracks(std::span<TrackingPose> poses, const std::vector<std::vector<double>>& similarity,
                       int64_t timestamp_us);
    void update_tracks();
    Track create_track(const TrackingPose& pose, int64_t timestamp_us, int track_id);

    std::vector<Track> tracks_;
    int max_tracks_;
    double max_age_us_;  // maxAge * 1000, as the package converts it
    double min_similarity_;
    int next_id_ = 1;
};

// BoundingBoxTracker (bounding_box_tracker.js): similarity = IoU of the pose's box and the track's.
// Poses must have a box (ConfigError otherwise; the package would throw a TypeError).
class POSENET_API BoundingBoxTracker : public PoseTracker {
public:
    explicit BoundingBoxTracker(const BoundingBoxTrackerConfig& config = {});
    std::vector<std::vector<double>> compute_similarity(std::span<const TrackingPose> poses) const override;
};

// KeypointTracker (keypoint_tracker.js): similarity = OKS of the pose's keypoints against the track's.
class POSENET_API KeypointTracker : public PoseTracker {
public:
    explicit KeypointTracker(const KeypointTrackerConfig& config = {});
    std::vector<std::vector<double>> compute_similarity(std::span<const TrackingPose> poses) const override;

private:
    KeypointTrackerParams params_;
};

// BoundingBoxTracker.iou: 0 when the boxes do not overlap; else intersection / union, the areas
// taken from width * height.
POSENET_API double iou(const BoundingBox& a, const BoundingBox& b);

// KeypointTracker.area: the box around the keypoints with score > threshold, its corners seeded with
// min 1.0 and max 0.0 (so 1 when no keypoint passes): (maxX - minX) * (maxY - minY).
POSENET_API double keypoints_area(std::span<const TrackingKeypoint, kNumKeypoints> keypoints, double threshold);

// KeypointTracker.oks: over keypoints with score >= threshold in both (valid), the mean of
// exp(-d^2 / (2 * (area(track) + 1e-6) * (2 * falloff_i)^2)); 0 when fewer than
// min_number_of_keypoints are valid.
POSENET_API double oks(std::span<const TrackingKeypoint, kNumKeypoints> pose,
                       std::span<const TrackingKeypoint, kNumKeypoints> track, const KeypointTrackerParams& params);

}  // namespace posenet
