// Ports of pose-detection@2.1.3 dist/shared/filters/{low_pass_filter, one_euro_filter,
// relative_velocity_filter, keypoints_one_euro_filter, keypoints_velocity_filter, keypoints_smoothing}.js
// and shared/calculators/get_object_scale.js, and MoveNet's per-track filter map; see smoothing.h.
#include "posenet/smoothing.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "posenet/errors.h"

namespace posenet {

namespace {

constexpr double kMicroSecondsToSecond = 1e-6;  // MICRO_SECONDS_TO_SECOND (shared/calculators/constants.js)
constexpr double kSecondToMicroSeconds = 1e6;   // SECOND_TO_MICRO_SECONDS

// The keypoint filters' value scale: 1 with value scaling disabled, else 1 / object scale; nullopt
// (pass the keypoints through unfiltered) for an object smaller than the allowed minimum. Without a
// minimum nothing is passed through (`objectScale < undefined` is false in JS).
std::optional<double> value_scale(bool disable_value_scaling, const std::optional<double>& min_allowed_object_scale,
                                  double object_scale) {
    if (disable_value_scaling) return 1.0;
    if (min_allowed_object_scale && object_scale < *min_allowed_object_scale) return std::nullopt;
    return 1.0 / object_scale;
}

}  // namespace

// ---- LowPassFilter (low_pass_filter.js) ----

double LowPassFilter::apply(double value, std::optional<double> threshold) {
    double result;
    if (initialized_) {
        if (!threshold)
            result = stored_value_ + alpha_ * (value - stored_value_);
        else  // like sign(x) log(|x|) for large steps: caps extreme values
            result = stored_value_ + alpha_ * *threshold * std::asinh((value - stored_value_) / *threshold);
    } else {
        result = value;
        initialized_ = true;
    }
    raw_value_ = value;
    stored_value_ = result;
    return result;
}

double LowPassFilter::apply_with_alpha(double value, double alpha, std::optional<double> threshold) {
    alpha_ = alpha;
    return apply(value, threshold);
}

// ---- OneEuroFilter (one_euro_filter.js) ----

OneEuroFilter::OneEuroFilter(const OneEuroFilterConfig& config)
    : frequency_(config.frequency),
      min_cut_off_(config.min_cut_off),
      beta_(config.beta),
      derivate_cut_off_(config.derivate_cut_off),
      threshold_cut_off_(config.threshold_cut_off),
      threshold_beta_(config.threshold_beta),
      x_(alpha(config.min_cut_off)),
      dx_(alpha(config.derivate_cut_off)) {}

double OneEuroFilter::alpha(double cut_off) const {
    return 1.0 / (1.0 + (frequency_ / (2 * std::numbers::pi * cut_off)));
}

double OneEuroFilter::apply(double value, int64_t timestamp_us, double value_scale) {
    if (last_timestamp_us_ >= timestamp_us) return value;  // unpredictable: pass the value through
    // The sampling frequency from the timestamps (the configured one until there are two).
    if (last_timestamp_us_ != 0 && timestamp_us != 0)
        frequency_ = 1 / (double(timestamp_us - last_timestamp_us_) * kMicroSecondsToSecond);
    last_timestamp_us_ = timestamp_us;
    // The current variation per second.
    const double d_value = x_.has_last_raw_value() ? (value - x_.last_raw_value()) * value_scale * frequency_ : 0;
    const double ed_value = dx_.apply_with_alpha(d_value, alpha(derivate_cut_off_));
    const double cut_off = min_cut_off_ + beta_ * std::abs(ed_value);
    std::optional<double> threshold;
    if (threshold_cut_off_) threshold = *threshold_cut_off_ + threshold_beta_ * std::abs(ed_value);
    return x_.apply_with_alpha(value, alpha(cut_off), threshold);
}

// ---- RelativeVelocityFilter (relative_velocity_filter.js) ----

RelativeVelocityFilter::RelativeVelocityFilter(const VelocityFilterConfig& config) : config_(config) {}

double RelativeVelocityFilter::apply(double value, int64_t timestamp_us, double value_scale) {
    if (last_timestamp_us_ >= timestamp_us) return value;
    double alpha;
    if (last_timestamp_us_ == -1) {
        alpha = 1;
    } else {
        // DistanceEstimationMode.kLegacyTransition, as the package implements it.
        const double distance = value * value_scale - last_value_ * last_value_scale_;
        const int64_t duration = timestamp_us - last_timestamp_us_;
        double cumulative_distance = distance;
        double cumulative_duration = double(duration);
        // 30 values per second assumed a good rate: window elements older than that are left out.
        const double assumed_max_duration = kSecondToMicroSeconds / 30;
        const double max_cumulative_duration = double(1 + window_.size()) * assumed_max_duration;
        for (const WindowElement& el : window_) {
            if (cumulative_duration + double(el.duration_us) > max_cumulative_duration) break;
            cumulative_distance += el.distance;
            cumulative_duration += double(el.duration_us);
        }
        const double velocity = cumulative_distance / (cumulative_duration * kMicroSecondsToSecond);
        alpha = 1 - 1 / (1 + config_.velocity_scale * std::abs(velocity));
        window_.push_front({distance, duration});
        if (window_.size() > size_t(std::max(config_.window_size, 0))) window_.pop_back();
    }
    last_value_ = value;
    last_value_scale_ = value_scale;
    last_timestamp_us_ = timestamp_us;
    return low_pass_.apply_with_alpha(value, alpha);
}

// ---- get_object_scale.js, detection_to_rect.js rectFromBox ----

double get_object_scale(const Rect& roi, ImageSize image_size) {
    const double object_width = roi.width * image_size.width;
    const double object_height = roi.height * image_size.height;
    return (object_width + object_height) / 2;
}

Rect rect_from_box(const BoundingBox& box) {
    return {box.x_min + box.width / 2, box.y_min + box.height / 2, box.width, box.height, 0};
}

// ---- KeypointsSmoothingFilter (keypoints_smoothing.js) ----

KeypointsSmoothingFilter::KeypointsSmoothingFilter(const KeypointsSmoothingConfig& config) : config_(config) {}

void KeypointsSmoothingFilter::reset() {
    one_euro_x_.clear();
    one_euro_y_.clear();
    velocity_x_.clear();
    velocity_y_.clear();
    filters_made_ = false;
}

std::vector<TrackingKeypoint> KeypointsSmoothingFilter::apply(std::span<const TrackingKeypoint> keypoints,
                                                              int64_t timestamp_us, std::optional<ImageSize> image_size,
                                                              bool normalized, std::optional<Rect> object_scale_roi) {
    if ((normalized || object_scale_roi) && !image_size)
        throw ConfigError("KeypointsSmoothingFilter::apply: normalized keypoints and an object-scale ROI need the image size");
    const double object_scale = object_scale_roi ? get_object_scale(*object_scale_roi, *image_size) : 1;
    if (!normalized) return filter(keypoints, timestamp_us, object_scale);
    // normalizedKeypointsToKeypoints, filter, keypointsToNormalizedKeypoints.
    std::vector<TrackingKeypoint> scaled(keypoints.begin(), keypoints.end());
    for (TrackingKeypoint& k : scaled) {
        k.x = k.x * image_size->width;
        k.y = k.y * image_size->height;
    }
    std::vector<TrackingKeypoint> filtered = filter(scaled, timestamp_us, object_scale);
    for (TrackingKeypoint& k : filtered) {
        k.x = k.x / image_size->width;
        k.y = k.y / image_size->height;
    }
    return filtered;
}

// KeypointsOneEuroFilter.apply / KeypointsVelocityFilter.apply. The two differ in one place, kept: the
// One Euro one makes its filters before the object-scale check, the velocity one after it.
std::vector<TrackingKeypoint> KeypointsSmoothingFilter::filter(std::span<const TrackingKeypoint> keypoints,
                                                               int64_t timestamp_us, double object_scale) {
    std::vector<TrackingKeypoint> out(keypoints.begin(), keypoints.end());
    const size_t n = keypoints.size();
    if (const auto* one_euro = std::get_if<OneEuroFilterConfig>(&config_)) {
        if (!filters_made_ || one_euro_x_.size() != n) {
            one_euro_x_.assign(n, OneEuroFilter(*one_euro));
            one_euro_y_.assign(n, OneEuroFilter(*one_euro));
            filters_made_ = true;
        }
        const auto scale = value_scale(one_euro->disable_value_scaling, one_euro->min_allowed_object_scale, object_scale);
        if (!scale) return out;
        for (size_t i = 0; i < n; ++i) {
            out[i].x = one_euro_x_[i].apply(keypoints[i].x, timestamp_us, *scale);
            out[i].y = one_euro_y_[i].apply(keypoints[i].y, timestamp_us, *scale);
        }
    } else {
        const auto& velocity = std::get<VelocityFilterConfig>(config_);
        const auto scale = value_scale(velocity.disable_value_scaling, velocity.min_allowed_object_scale, object_scale);
        if (!scale) return out;
        if (!filters_made_ || velocity_x_.size() != n) {
            velocity_x_.assign(n, RelativeVelocityFilter(velocity));
            velocity_y_.assign(n, RelativeVelocityFilter(velocity));
            filters_made_ = true;
        }
        for (size_t i = 0; i < n; ++i) {
            out[i].x = velocity_x_[i].apply(keypoints[i].x, timestamp_us, *scale);
            out[i].y = velocity_y_[i].apply(keypoints[i].y, timestamp_us, *scale);
        }
    }
    return out;
}

// ---- PoseSmoother: MoveNet's keypointFilterMap (movenet/detector.js estimateMultiplePoses) ----

PoseSmoother::PoseSmoother(const PoseSmootherConfig& config) : config_(config) {}

void PoseSmoother::smooth(std::span<TrackingPose> poses, int64_t timestamp_us, ImageSize image_size) {
    for (TrackingPose& pose : poses) {
        auto it = filters_.find(pose.id);
        if (it == filters_.end()) it = filters_.emplace(pose.id, KeypointsSmoothingFilter(config_.filter)).first;
        std::vector<TrackingKeypoint> smoothed;
        if (config_.space == SmoothingSpace::Normalized) {
            smoothed = it->second.apply(pose.keypoints, timestamp_us);
        } else {
            std::optional<Rect> roi;
            if (pose.box) roi = rect_from_box(*pose.box);
            smoothed = it->second.apply(pose.keypoints, timestamp_us, image_size, true, roi);
        }
        std::copy(smoothed.begin(), smoothed.end(), pose.keypoints.begin());
    }
}

void PoseSmoother::drop_filters_except(std::span<const int> live_track_ids) {
    std::erase_if(filters_, [&](const auto& entry) {
        return std::find(live_track_ids.begin(), live_track_ids.end(), entry.first) == live_track_ids.end();
    });
}

void PoseSmoother::apply(std::span<TrackingPose> poses, int64_t timestamp_us, ImageSize image_size) {
    smooth(poses, timestamp_us, image_size);
}

void PoseSmoother::apply(std::span<TrackingPose> poses, int64_t timestamp_us, ImageSize image_size,
                         std::span<const int> live_track_ids) {
    smooth(poses, timestamp_us, image_size);
    drop_filters_except(live_track_ids);
}

namespace {

// MoveNet's keypoints[j].x *= imageSize.width (and y), then one rounding to float.
void write_back(std::vector<Pose>& poses, const std::vector<TrackingPose>& smoothed, ImageSize image_size) {
    for (size_t i = 0; i < poses.size(); ++i)
        for (size_t k = 0; k < poses[i].keypoints.size(); ++k) {
            poses[i].keypoints[k].x = float(smoothed[i].keypoints[k].x * image_size.width);
            poses[i].keypoints[k].y = float(smoothed[i].keypoints[k].y * image_size.height);
        }
}

}  // namespace

std::vector<Pose> PoseSmoother::apply(std::vector<Pose> poses, int64_t timestamp_us, ImageSize image_size,
                                      double box_score_threshold) {
    std::vector<TrackingPose> tracking = to_tracking_poses(poses, image_size, box_score_threshold);
    apply(tracking, timestamp_us, image_size);
    write_back(poses, tracking, image_size);
    return poses;
}

std::vector<Pose> PoseSmoother::apply(std::vector<Pose> poses, int64_t timestamp_us, ImageSize image_size,
                                      std::span<const int> live_track_ids, double box_score_threshold) {
    std::vector<TrackingPose> tracking = to_tracking_poses(poses, image_size, box_score_threshold);
    apply(tracking, timestamp_us, image_size, live_track_ids);
    write_back(poses, tracking, image_size);
    return poses;
}

std::vector<int> PoseSmoother::filter_ids() const {
    std::vector<int> ids;
    for (const auto& entry : filters_) ids.push_back(entry.first);
    return ids;
}

void PoseSmoother::reset() { filters_.clear(); }

}  // namespace posenet
