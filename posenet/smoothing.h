// Keypoint smoothing over video frames, exactly as @tensorflow-models/pose-detection@2.1.3 does it:
// its KeypointsSmoothingFilter (dist/shared/filters/keypoints_smoothing.js) over the One Euro filter
// (keypoints_one_euro_filter.js, one_euro_filter.js) or the relative velocity filter
// (keypoints_velocity_filter.js, relative_velocity_filter.js), both on low_pass_filter.js;
// object scale from dist/shared/calculators/get_object_scale.js. Every value is a JS number, i.e. a
// double; timestamps are in microseconds (the package truncates them to integers; we take integers).
//
// The package's configs, by name (none of its detectors uses the velocity filter, so it has none):
//   kMoveNetKeypointFilterConfig                 KEYPOINT_FILTER_CONFIG (dist/movenet/constants.js):
//                                                MoveNet's per-track filter, on normalized keypoints
//   kBlazePoseLandmarksSmoothingConfigActual     BLAZEPOSE_LANDMARKS_SMOOTHING_CONFIG_ACTUAL
//   kBlazePoseLandmarksSmoothingConfigAuxiliary  BLAZEPOSE_LANDMARKS_SMOOTHING_CONFIG_AUXILIARY
//   kBlazePoseWorldLandmarksSmoothingConfigActual BLAZEPOSE_WORLD_LANDMARKS_SMOOTHING_CONFIG_ACTUAL
//                                                (dist/blazepose_tfjs/constants.js; BlazePose filters
//                                                image pixels scaled by an object-scale ROI)
//
// PoseSmoother is MoveNet's multi-pose smoothing (dist/movenet/detector.js estimateMultiplePoses): one
// filter per track id, created on the id's first pose, dropped once the tracker no longer holds the
// id; it runs after a PoseTracker. Not thread-safe: one smoother per video stream.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "posenet/export.h"
#include "posenet/pose.h"
#include "posenet/tracking.h"

namespace posenet {

// OneEuroFilterConfig (shared/calculators/interfaces/config_interfaces). A field the package leaves
// undefined is nullopt here where that changes what the filter does (thresholdCutOff: no asinh
// threshold; minAllowedObjectScale: never skip). The member defaults are KEYPOINT_FILTER_CONFIG.
struct OneEuroFilterConfig {
    double frequency = 30;         // Hz until two timestamps give the real one
    double min_cut_off = 2.5;
    double beta = 300.0;
    double derivate_cut_off = 2.5;
    std::optional<double> threshold_cut_off = 0.5;
    double threshold_beta = 5.0;   // used only with threshold_cut_off
    std::optional<double> min_allowed_object_scale = std::nullopt;  // below it keypoints pass unfiltered
    bool disable_value_scaling = true;               // true: object scale unused (value scale 1)
};

// VelocityFilterConfig. The package defines no default; the member defaults are MediaPipe's
// (landmarks_smoothing_calculator.proto VelocityFilter), which the package's filter ports.
struct VelocityFilterConfig {
    int window_size = 5;
    double velocity_scale = 10.0;
    std::optional<double> min_allowed_object_scale = 1e-6;
    bool disable_value_scaling = false;
};

// KeypointsSmoothingConfig: {oneEuroFilter} or {velocityFilter} (the package prefers velocityFilter
// when both are given; a variant holds one).
using KeypointsSmoothingConfig = std::variant<OneEuroFilterConfig, VelocityFilterConfig>;

inline constexpr OneEuroFilterConfig kMoveNetKeypointFilterConfig{};
inline constexpr OneEuroFilterConfig kBlazePoseLandmarksSmoothingConfigActual{
    .frequency = 30, .min_cut_off = 0.05, .beta = 80, .derivate_cut_off = 1.0, .threshold_cut_off = std::nullopt,
    .threshold_beta = 0, .min_allowed_object_scale = 1e-6, .disable_value_scaling = false};
inline constexpr OneEuroFilterConfig kBlazePoseLandmarksSmoothingConfigAuxiliary{
    .frequency = 30, .min_cut_off = 0.01, .beta = 10.0, .derivate_cut_off = 1.0, .threshold_cut_off = std::nullopt,
    .threshold_beta = 0, .min_allowed_object_scale = 1e-6, .disable_value_scaling = false};
inline constexpr OneEuroFilterConfig kBlazePoseWorldLandmarksSmoothingConfigActual{
    .frequency = 30, .min_cut_off = 0.1, .beta = 40, .derivate_cut_off = 1.0, .threshold_cut_off = std::nullopt,
    .threshold_beta = 0, .min_allowed_object_scale = 1e-6, .disable_value_scaling = true};

// LowPassFilter (low_pass_filter.js). With a threshold the step is compressed:
// stored + alpha * threshold * asinh((value - stored) / threshold).
class POSENET_API LowPassFilter {
public:
    explicit LowPassFilter(double alpha) : alpha_(alpha) {}
    double apply(double value, std::optional<double> threshold = std::nullopt);
    double apply_with_alpha(double value, double alpha, std::optional<double> threshold = std::nullopt);
    bool has_last_raw_value() const { return initialized_; }
    double last_raw_value() const { return raw_value_; }
    void reset() { initialized_ = false; }

private:
    double alpha_;
    double raw_value_ = 0, stored_value_ = 0;
    bool initialized_ = false;
};

// OneEuroFilter (one_euro_filter.js). A timestamp not after the last one (the first one included when
// it is <= 0) returns the value unfiltered and changes nothing.
class POSENET_API OneEuroFilter {
public:
    explicit OneEuroFilter(const OneEuroFilterConfig& config);
    double apply(double value, int64_t timestamp_us, double value_scale);

private:
    double alpha(double cut_off) const;  // getAlpha: 1 / (1 + frequency / (2 * pi * cut_off))
    double frequency_, min_cut_off_, beta_, derivate_cut_off_;
    std::optional<double> threshold_cut_off_;
    double threshold_beta_;
    LowPassFilter x_, dx_;
    int64_t last_timestamp_us_ = 0;
};

// RelativeVelocityFilter (relative_velocity_filter.js; MediaPipe's kLegacyTransition). Timestamps not
// after the last one return the value unfiltered.
class POSENET_API RelativeVelocityFilter {
public:
    explicit RelativeVelocityFilter(const VelocityFilterConfig& config);
    double apply(double value, int64_t timestamp_us, double value_scale);

private:
    struct WindowElement {
        double distance;
        int64_t duration_us;
    };
    VelocityFilterConfig config_;
    std::deque<WindowElement> window_;  // newest first
    LowPassFilter low_pass_{1.0};
    double last_value_ = 0, last_value_scale_ = 1;
    int64_t last_timestamp_us_ = -1;
};

// shape_interfaces Rect, normalized to the image.
struct Rect {
    double x_center = 0, y_center = 0, width = 0, height = 0, rotation = 0;
};

// getObjectScale: (roi.width * image width + roi.height * image height) / 2, in pixels.
POSENET_API double get_object_scale(const Rect& roi, ImageSize image_size);

// The Rect of a box (detection_to_rect.js rectFromBox): centre and size.
POSENET_API Rect rect_from_box(const BoundingBox& box);

// KeypointsSmoothingFilter (keypoints_smoothing.js) for 2D keypoints. apply: object scale =
// get_object_scale(object_scale_roi, image_size) with a ROI, else 1; normalized keypoints are taken to
// pixels (x * width, y * height) before filtering and back (/ width, / height) after. The keypoint
// filters (keypoints_one_euro_filter.js, keypoints_velocity_filter.js) filter x and y of every
// keypoint separately, with value scale 1 / object scale unless the config disables value scaling;
// an object scale below min_allowed_object_scale returns the keypoints unfiltered. Scores pass through.
// Filters are (re)made when the number of keypoints changes. Throws ConfigError when normalized or a
// ROI is given without an image size.
class POSENET_API KeypointsSmoothingFilter {
public:
    explicit KeypointsSmoothingFilter(const KeypointsSmoothingConfig& config = kMoveNetKeypointFilterConfig);
    std::vector<TrackingKeypoint> apply(std::span<const TrackingKeypoint> keypoints, int64_t timestamp_us,
                                        std::optional<ImageSize> image_size = std::nullopt, bool normalized = false,
                                        std::optional<Rect> object_scale_roi = std::nullopt);
    void reset();  // apply(null): forget every filter

private:
    std::vector<TrackingKeypoint> filter(std::span<const TrackingKeypoint> keypoints, int64_t timestamp_us,
                                         double object_scale);
    KeypointsSmoothingConfig config_;
    std::vector<OneEuroFilter> one_euro_x_, one_euro_y_;
    std::vector<RelativeVelocityFilter> velocity_x_, velocity_y_;
    bool filters_made_ = false;
};

// Where PoseSmoother filters.
enum class SmoothingSpace {
    // MoveNet's multi-pose path: filter.apply(normalized keypoints, t), object scale 1.
    Normalized,
    // BlazePose's path: filter.apply(normalized keypoints, t, image size, normalized = true,
    // rect_from_box(pose box)): the filter runs on pixels, value scale 1 / getObjectScale(box); a pose
    // without a box gets object scale 1.
    Image,
};

struct PoseSmootherConfig {
    KeypointsSmoothingConfig filter = kMoveNetKeypointFilterConfig;
    SmoothingSpace space = SmoothingSpace::Normalized;
};

// One KeypointsSmoothingFilter per track id (MoveNet's keypointFilterMap). Untracked poses (id -1)
// share the filter of id -1: meant for one pose per frame (MoveNet's single-pose path has one filter).
class POSENET_API PoseSmoother {
public:
    explicit PoseSmoother(const PoseSmootherConfig& config = {});

    // Smooths each pose's keypoints with its id's filter (made on first use). With live_track_ids
    // (the tracker's track_ids() after its apply), filters of other ids are then dropped, as MoveNet
    // drops those the tracker no longer holds; without, none is dropped.
    void apply(std::span<TrackingPose> poses, int64_t timestamp_us, ImageSize image_size);
    void apply(std::span<TrackingPose> poses, int64_t timestamp_us, ImageSize image_size,
               std::span<const int> live_track_ids);

    // PoseNet poses in pixels: to_tracking_pose, smooth, and x = float(smoothed x * width) (y with the
    // height), as MoveNet scales its normalized keypoints back; scores, names and ids unchanged.
    std::vector<Pose> apply(std::vector<Pose> poses, int64_t timestamp_us, ImageSize image_size,
                            double box_score_threshold = kPoseBoxScoreThreshold);
    std::vector<Pose> apply(std::vector<Pose> poses, int64_t timestamp_us, ImageSize image_size,
                            std::span<const int> live_track_ids, double box_score_threshold = kPoseBoxScoreThreshold);

    std::vector<int> filter_ids() const;  // ids holding a filter, ascending
    void reset();                         // drop every filter

private:
    void smooth(std::span<TrackingPose> poses, int64_t timestamp_us, ImageSize image_size);
    void drop_filters_except(std::span<const int> live_track_ids);
    PoseSmootherConfig config_;
    std::map<int, KeypointsSmoothingFilter> filters_;
};

}  // namespace posenet
