// Ports of pose-detection@2.1.3 dist/calculators/tracker.js, bounding_box_tracker.js,
// keypoint_tracker.js and tracker_utils.js; see tracking.h.
#include "posenet/tracking.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "posenet/errors.h"

namespace posenet {

namespace {

// Math.min / Math.max: NaN wins (std::min/std::max would depend on the argument order).
double js_min(double a, double b) { return std::isnan(a) || std::isnan(b) ? std::numeric_limits<double>::quiet_NaN() : (b < a ? b : a); }
double js_max(double a, double b) { return std::isnan(a) || std::isnan(b) ? std::numeric_limits<double>::quiet_NaN() : (b > a ? b : a); }

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

void validate_base(int max_tracks, double max_age_ms) {
    if (max_tracks < 1)
        throw ConfigError("tracker config: max_tracks must be at least 1, got " + std::to_string(max_tracks));
    if (max_age_ms <= 0)
        throw ConfigError("tracker config: max_age_ms must be positive, got " + number(max_age_ms));
}

void check_image_size(ImageSize size) {
    if (size.width <= 0 || size.height <= 0)
        throw ConfigError("image size must be positive, got " + std::to_string(size.height) + "x" +
                          std::to_string(size.width) + " (height x width)");
}

}  // namespace

BoundingBox pose_box(std::span<const TrackingKeypoint, kNumKeypoints> keypoints, double score_threshold) {
    bool any = false;
    for (const TrackingKeypoint& k : keypoints) any = any || k.score > score_threshold;
    BoundingBox box;
    bool first = true;
    for (const TrackingKeypoint& k : keypoints) {
        if (any && !(k.score > score_threshold)) continue;
        if (first) {
            box.x_min = box.x_max = k.x;
            box.y_min = box.y_max = k.y;
            first = false;
        } else {
            box.x_min = js_min(box.x_min, k.x);
            box.x_max = js_max(box.x_max, k.x);
            box.y_min = js_min(box.y_min, k.y);
            box.y_max = js_max(box.y_max, k.y);
        }
    }
    box.width = box.x_max - box.x_min;
    box.height = box.y_max - box.y_min;
    return box;
}

TrackingPose to_tracking_pose(const Pose& pose, ImageSize image_size, double box_score_threshold) {
    check_image_size(image_size);
    TrackingPose t;
    for (size_t k = 0; k < t.keypoints.size(); ++k) {
        const Keypoint& p = pose.keypoints[k];
        t.keypoints[k] = {double(p.x) / image_size.width, double(p.y) / image_size.height, double(p.score)};
    }
    t.box = pose_box(t.keypoints, box_score_threshold);
    t.score = pose.score;
    t.id = pose.id;
    return t;
}

std::vector<TrackingPose> to_tracking_poses(std::span<const Pose> poses, ImageSize image_size, double box_score_threshold) {
    std::vector<TrackingPose> out;
    out.reserve(poses.size());
    for (const Pose& p : poses) out.push_back(to_tracking_pose(p, image_size, box_score_threshold));
    return out;
}

void validate(const BoundingBoxTrackerConfig& config) { validate_base(config.max_tracks, config.max_age_ms); }

void validate(const KeypointTrackerConfig& config) {
    validate_base(config.max_tracks, config.max_age_ms);
    const KeypointTrackerParams& p = config.keypoint_tracker_params;
    if (p.keypoint_confidence_threshold < 0 || p.keypoint_confidence_threshold > 1)
        throw ConfigError("keypoint tracker config: keypoint_confidence_threshold must be in [0, 1], got " +
                          number(p.keypoint_confidence_threshold));
    if (p.min_number_of_keypoints < 1)
        throw ConfigError("keypoint tracker config: min_number_of_keypoints must be at least 1, got " +
                          std::to_string(p.min_number_of_keypoints));
    for (size_t k = 0; k < p.keypoint_falloff.size(); ++k)
        if (p.keypoint_falloff[k] <= 0.0)
            throw ConfigError("keypoint tracker config: keypoint_falloff[" + std::to_string(k) +
                              "] must be positive, got " + number(p.keypoint_falloff[k]));
}

// ---- Tracker (tracker.js) ----

PoseTracker::PoseTracker(int max_tracks, double max_age_ms, double min_similarity)
    : max_tracks_(max_tracks), max_age_us_(max_age_ms * 1000), min_similarity_(min_similarity) {
    validate_base(max_tracks, max_age_ms);
}

PoseTracker::~PoseTracker() = default;

void PoseTracker::apply(std::span<TrackingPose> poses, int64_t timestamp_us) {
    filter_old_tracks(timestamp_us);
    const auto similarity = compute_similarity(poses);
    assign_tracks(poses, similarity, timestamp_us);
    update_tracks();
}

std::vector<Pose> PoseTracker::apply(std::vector<Pose> poses, int64_t timestamp_us, ImageSize image_size,
                                     double box_score_threshold) {
    std::vector<TrackingPose> tracking = to_tracking_poses(poses, image_size, box_score_threshold);
    apply(tracking, timestamp_us);
    for (size_t i = 0; i < poses.size(); ++i) poses[i].id = tracking[i].id;
    return poses;
}

std::vector<Track> PoseTracker::tracks() const { return tracks_; }

std::vector<int> PoseTracker::track_ids() const {
    std::vector<int> ids;
    ids.reserve(tracks_.size());
    for (const Track& t : tracks_) ids.push_back(t.id);
    return ids;
}

void PoseTracker::remove(std::span<const int> ids) {
    std::erase_if(tracks_, [&](const Track& t) { return std::find(ids.begin(), ids.end(), t.id) != ids.end(); });
}

void PoseTracker::reset() { tracks_.clear(); }

// filterOldTracks: keep tracks with timestamp - lastTimestamp <= maxAge (in JS numbers: the integer
// difference is exact below 2^53, as it is here).
void PoseTracker::filter_old_tracks(int64_t timestamp_us) {
    std::erase_if(tracks_, [&](const Track& t) { return !(double(timestamp_us - t.last_timestamp_us) <= max_age_us_); });
}

// assignTracks: greedy, poses in order; each takes the free track of highest similarity (the first
// such on ties, by the strict >), if that similarity is >= minSimilarity.
void PoseTracker::assign_tracks(std::span<TrackingPose> poses, const std::vector<std::vector<double>>& similarity,
                                int64_t timestamp_us) {
    std::vector<size_t> unmatched_tracks(similarity.at(0).size());
    for (size_t t = 0; t < unmatched_tracks.size(); ++t) unmatched_tracks[t] = t;
    std::vector<size_t> unmatched_detections;
    for (size_t d = 0; d < poses.size(); ++d) {
        if (unmatched_tracks.empty()) {
            unmatched_detections.push_back(d);
            continue;
        }
        long best_track = -1;
        double best_similarity = -1;
        for (size_t t : unmatched_tracks) {
            const double s = similarity[d][t];
            if (s >= min_similarity_ && s > best_similarity) {
                best_track = long(t);
                best_similarity = s;
            }
        }
        if (best_track >= 0) {
            Track& linked = tracks_[size_t(best_track)];
            // Object.assign(track, createTrack(pose, timestamp, track.id)): a pose without a box
            // leaves the track's old box in place.
            Track updated = create_track(poses[d], timestamp_us, linked.id);
            linked.last_timestamp_us = updated.last_timestamp_us;
            linked.keypoints = updated.keypoints;
            if (updated.box) linked.box = updated.box;
            poses[d].id = linked.id;
            unmatched_tracks.erase(std::find(unmatched_tracks.begin(), unmatched_tracks.end(), size_t(best_track)));
        } else {
            unmatched_detections.push_back(d);
        }
    }
    for (size_t d : unmatched_detections) {
        Track track = create_track(poses[d], timestamp_us, 0);
        poses[d].id = track.id;
        tracks_.push_back(std::move(track));
    }
}

// updateTracks: Array.prototype.sort is stable (TimSort), so is this.
void PoseTracker::update_tracks() {
    std::stable_sort(tracks_.begin(), tracks_.end(),
                     [](const Track& a, const Track& b) { return a.last_timestamp_us > b.last_timestamp_us; });
    if (tracks_.size() > size_t(max_tracks_)) tracks_.resize(size_t(max_tracks_));
}

// createTrack: `trackID || nextTrackID()`; ids start at 1, so 0 means "a new one".
Track PoseTracker::create_track(const TrackingPose& pose, int64_t timestamp_us, int track_id) {
    Track track;
    track.id = track_id != 0 ? track_id : next_id_++;
    track.last_timestamp_us = timestamp_us;
    track.keypoints = pose.keypoints;
    track.box = pose.box;
    return track;
}

// ---- BoundingBoxTracker (bounding_box_tracker.js) ----

BoundingBoxTracker::BoundingBoxTracker(const BoundingBoxTrackerConfig& config)
    : PoseTracker(config.max_tracks, config.max_age_ms, config.min_similarity) {}

std::vector<std::vector<double>> BoundingBoxTracker::compute_similarity(std::span<const TrackingPose> poses) const {
    const auto& tracks = stored_tracks();
    if (poses.empty() || tracks.empty()) return {{}};
    std::vector<std::vector<double>> similarity(poses.size(), std::vector<double>(tracks.size()));
    for (size_t d = 0; d < poses.size(); ++d)
        for (size_t t = 0; t < tracks.size(); ++t) {
            if (!poses[d].box || !tracks[t].box)
                throw ConfigError("BoundingBoxTracker: pose " + std::to_string(d) +
                                  " or the track it is compared with has no box");
            similarity[d][t] = iou(*poses[d].box, *tracks[t].box);
        }
    return similarity;
}

double iou(const BoundingBox& a, const BoundingBox& b) {
    const double x_min = js_max(a.x_min, b.x_min);
    const double y_min = js_max(a.y_min, b.y_min);
    const double x_max = js_min(a.x_max, b.x_max);
    const double y_max = js_min(a.y_max, b.y_max);
    if (x_min >= x_max || y_min >= y_max) return 0.0;
    const double intersection = (x_max - x_min) * (y_max - y_min);
    const double area_a = a.width * a.height;
    const double area_b = b.width * b.height;
    return intersection / (area_a + area_b - intersection);
}

// ---- KeypointTracker (keypoint_tracker.js) ----

KeypointTracker::KeypointTracker(const KeypointTrackerConfig& config)
    : PoseTracker(config.max_tracks, config.max_age_ms, config.min_similarity), params_(config.keypoint_tracker_params) {
    validate(config);
}

std::vector<std::vector<double>> KeypointTracker::compute_similarity(std::span<const TrackingPose> poses) const {
    const auto& tracks = stored_tracks();
    if (poses.empty() || tracks.empty()) return {{}};
    std::vector<std::vector<double>> similarity(poses.size(), std::vector<double>(tracks.size()));
    for (size_t d = 0; d < poses.size(); ++d)
        for (size_t t = 0; t < tracks.size(); ++t) similarity[d][t] = oks(poses[d].keypoints, tracks[t].keypoints, params_);
    return similarity;
}

double keypoints_area(std::span<const TrackingKeypoint, kNumKeypoints> keypoints, double threshold) {
    // Math.min(1.0, ...xs) and friends, folded left to right as the spread call does.
    double min_x = 1.0, max_x = 0.0, min_y = 1.0, max_y = 0.0;
    for (const TrackingKeypoint& k : keypoints) {
        if (!(k.score > threshold)) continue;
        min_x = js_min(min_x, k.x);
        max_x = js_max(max_x, k.x);
        min_y = js_min(min_y, k.y);
        max_y = js_max(max_y, k.y);
    }
    return (max_x - min_x) * (max_y - min_y);
}

double oks(std::span<const TrackingKeypoint, kNumKeypoints> pose, std::span<const TrackingKeypoint, kNumKeypoints> track,
           const KeypointTrackerParams& params) {
    const double box_area = keypoints_area(track, params.keypoint_confidence_threshold) + 1e-6;
    double oks_total = 0;
    int valid = 0;
    for (size_t i = 0; i < pose.size(); ++i) {
        const TrackingKeypoint& p = pose[i];
        const TrackingKeypoint& t = track[i];
        if (p.score < params.keypoint_confidence_threshold || t.score < params.keypoint_confidence_threshold) continue;
        valid += 1;
        // Math.pow(d, 2): V8 gives d * d (the parity test compares every OKS value).
        const double dx = p.x - t.x, dy = p.y - t.y;
        const double d_squared = dx * dx + dy * dy;
        const double x = 2 * params.keypoint_falloff[i];
        oks_total += std::exp(-1 * d_squared / (2 * box_area * (x * x)));
    }
    if (valid < params.min_number_of_keypoints) return 0.0;
    return oks_total / valid;
}

}  // namespace posenet
