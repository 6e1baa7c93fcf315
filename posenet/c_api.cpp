// The C API (posenet/posenet.h) over the C++ API: every exception becomes a status and a message.
#include "posenet/posenet.h"

#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "posenet/c_api_internal.h"
#include "posenet/detector.h"
#include "posenet/stream.h"

struct posenet_stream {
    posenet::PoseStream stream;
    bool tracking;  // results carry track ids
};

static_assert(POSENET_STREAM_MAX_FRAMES_IN_FLIGHT == posenet::kMaxFramesInFlight);

namespace {

using namespace posenet;

thread_local std::string last_error;

posenet_status fail(posenet_status status, std::string message) {
    last_error = std::move(message);
    return status;
}

// The status of an exception, and its message.
posenet_status classify(const std::exception_ptr& error, std::string& message) {
    try {
        std::rethrow_exception(error);
    } catch (const ConfigError& e) {
        message = e.what();
        return POSENET_ERROR_CONFIG;
    } catch (const ModelError& e) {
        message = e.what();
        return POSENET_ERROR_MODEL;
    } catch (const ImageError& e) {
        message = e.what();
        return POSENET_ERROR_IMAGE;
    } catch (const DeviceError& e) {
        message = e.what();
        return POSENET_ERROR_DEVICE;
    } catch (const std::bad_alloc&) {
        message = "out of memory";
        return POSENET_ERROR_OUT_OF_MEMORY;
    } catch (const std::invalid_argument& e) {
        message = e.what();
        return POSENET_ERROR_INVALID_ARGUMENT;
    } catch (const std::exception& e) {
        message = e.what();
        return POSENET_ERROR_INTERNAL;
    } catch (...) {
        message = "unknown exception";
        return POSENET_ERROR_INTERNAL;
    }
}

// Runs `body`, turning every exception into a status and the message posenet_last_error() returns.
template <typename Body>
posenet_status guarded(Body&& body) {
    last_error.clear();
    try {
        body();
        return POSENET_OK;
    } catch (...) {
        std::string message;
        const posenet_status status = classify(std::current_exception(), message);
        return fail(status, std::move(message));
    }
}

struct ArgumentError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

void require(bool ok, const char* message) {
    if (!ok) throw ArgumentError(message);
}

// A versioned struct from the caller: the fields its struct_size covers over our defaults. Older (smaller)
// structs are fine; a size below the first version's or above ours is an error.
template <typename T>
T versioned(const T* given, const T& defaults, size_t first_version_size, const char* what) {
    T out = defaults;
    if (!given) return out;
    if (given->struct_size < first_version_size || given->struct_size > sizeof(T))
        throw ArgumentError(std::string(what) + ": struct_size " + std::to_string(given->struct_size) +
                            " is not one this library knows (call the _init function first)");
    std::memcpy(static_cast<void*>(&out), given, given->struct_size);
    return out;
}

constexpr size_t kDetectorConfigV1 = sizeof(posenet_detector_config);
constexpr size_t kEstimationConfigV1 = sizeof(posenet_estimation_config);
constexpr size_t kModelInfoV1 = sizeof(posenet_model_info);
constexpr size_t kStreamOptionsV1 = sizeof(posenet_stream_options);

PixelFormat pixel_format(int32_t f) {
    switch (f) {
        case POSENET_PIXEL_RGB8: return PixelFormat::RGB8;
        case POSENET_PIXEL_RGBA8: return PixelFormat::RGBA8;
        case POSENET_PIXEL_BGR8: return PixelFormat::BGR8;
        case POSENET_PIXEL_BGRA8: return PixelFormat::BGRA8;
        case POSENET_PIXEL_GRAY8: return PixelFormat::Gray8;
    }
    throw ArgumentError("image: format " + std::to_string(f) + " is not a posenet_pixel_format (0..4)");
}

ImageView image_view(const posenet_image& image) {
    ImageView v{image.data, image.height, image.width, image.row_stride_bytes, pixel_format(image.format)};
    try {
        validate(v);
    } catch (const ConfigError& e) {
        throw ArgumentError(e.what());
    }
    return v;
}

FloatImageView float_image_view(const posenet_float_image& image) {
    FloatImageView v{image.data, image.height, image.width, image.row_stride_floats};
    try {
        validate(v);
    } catch (const ConfigError& e) {
        throw ArgumentError(e.what());
    }
    return v;
}

EstimationConfig estimation_config(const posenet_estimation_config* given) {
    posenet_estimation_config defaults;
    posenet_estimation_config_init(&defaults);
    const posenet_estimation_config c = versioned(given, defaults, kEstimationConfigV1, "estimation config");
    EstimationConfig e;
    e.max_poses = c.max_poses;
    e.flip_horizontal = c.flip_horizontal != 0;
    e.score_threshold = c.score_threshold;
    e.nms_radius = c.nms_radius;
    return e;
}

posenet_pose to_c(const Pose& pose) {
    posenet_pose out;
    out.score = pose.score;
    for (int k = 0; k < kNumKeypoints; ++k) {
        const Keypoint& kp = pose.keypoints[size_t(k)];
        out.keypoints[k] = {k, kKeypointNames[size_t(k)].data(), kp.x, kp.y, kp.score};
    }
    return out;
}

posenet_poses* to_c(const std::vector<Pose>& poses) {
    auto* out = new posenet_poses{};
    out->count = poses.size();
    out->poses = poses.empty() ? nullptr : new posenet_pose[poses.size()];
    for (size_t i = 0; i < poses.size(); ++i) out->poses[i] = to_c(poses[i]);
    return out;
}

// A frame result with the storage its pointers point into.
struct FrameResultC : posenet_frame_result {
    std::string message;
    std::vector<posenet_pose> pose_storage;
    std::vector<int32_t> ids;
};

std::unique_ptr<FrameResultC> to_c(const FrameResult& r, bool tracking) {
    auto out = std::make_unique<FrameResultC>();
    out->struct_size = sizeof(posenet_frame_result);
    out->index = r.index;
    out->timestamp_us = r.timestamp_us;
    out->height = r.height, out->width = r.width;
    out->status = r.error ? classify(r.error, out->message) : POSENET_OK;
    out->error = out->message.c_str();
    for (const Pose& p : r.poses) {
        out->pose_storage.push_back(to_c(p));
        if (tracking) out->ids.push_back(p.id);
    }
    out->poses = {out->pose_storage.size(), out->pose_storage.empty() ? nullptr : out->pose_storage.data()};
    out->track_ids = tracking && !out->ids.empty() ? out->ids.data() : nullptr;
    return out;
}

}  // namespace

extern "C" {

const char* posenet_version(void) { return posenet::version(); }

const char* posenet_last_error(void) { return last_error.c_str(); }

const char* posenet_status_string(posenet_status status) {
    switch (status) {
        case POSENET_OK: return "ok";
        case POSENET_ERROR_INVALID_ARGUMENT: return "invalid argument";
        case POSENET_ERROR_CONFIG: return "config error";
        case POSENET_ERROR_MODEL: return "model error";
        case POSENET_ERROR_IMAGE: return "image error";
        case POSENET_ERROR_DEVICE: return "device error";
        case POSENET_ERROR_OUT_OF_MEMORY: return "out of memory";
        case POSENET_ERROR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char* posenet_keypoint_name(int32_t id) {
    return id >= 0 && id < kNumKeypoints ? kKeypointNames[size_t(id)].data() : nullptr;
}

void posenet_detector_config_init(posenet_detector_config* config) {
    if (!config) return;
    *config = {};
    config->struct_size = sizeof *config;
    config->input_height = config->input_width = 257;
    config->backend = POSENET_BACKEND_AUTO;
    config->device = -1;
    config->cpu_fallback = 1;
    config->precision = POSENET_PRECISION_FLOAT32;
}

void posenet_estimation_config_init(posenet_estimation_config* config) {
    if (!config) return;
    const EstimationConfig d;
    *config = {};
    config->struct_size = sizeof *config;
    config->max_poses = d.max_poses;
    config->flip_horizontal = d.flip_horizontal;
    config->score_threshold = d.score_threshold;
    config->nms_radius = d.nms_radius;
}

posenet_status posenet_detector_create(const posenet_detector_config* given, posenet_detector** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(given != nullptr, "posenet_detector_create: config is NULL");
        require(out != nullptr, "posenet_detector_create: out is NULL");
        posenet_detector_config defaults;
        posenet_detector_config_init(&defaults);
        const posenet_detector_config c = versioned(given, defaults, kDetectorConfigV1, "detector config");
        ModelConfig mc;
        if (c.model_path) mc.model = c.model_path;
        if (c.model_data || c.model_size) {
            require(c.model_data != nullptr && c.model_size > 0, "detector config: model_data and model_size go together");
            mc.model_data = std::span(static_cast<const uint8_t*>(c.model_data), c.model_size);
        }
        if (c.architecture == POSENET_ARCHITECTURE_MOBILENET_V1) mc.architecture = Architecture::MobileNetV1;
        else if (c.architecture == POSENET_ARCHITECTURE_RESNET50) mc.architecture = Architecture::ResNet50;
        else if (c.architecture != POSENET_ARCHITECTURE_FROM_MODEL)
            throw ConfigError("architecture " + std::to_string(c.architecture) + ": should be 0 (from the model), 1 or 2");
        if (c.output_stride != 0) mc.output_stride = c.output_stride;
        if (c.multiplier != 0) mc.multiplier = c.multiplier;
        if (c.quant_bytes != 0) mc.quant_bytes = c.quant_bytes;
        mc.input_resolution = {c.input_height, c.input_width};
        DetectorOptions o;
        if (c.backend == POSENET_BACKEND_AUTO) o.backend = Backend::Auto;
        else if (c.backend == POSENET_BACKEND_CPU) o.backend = Backend::Cpu;
        else if (c.backend == POSENET_BACKEND_VULKAN) o.backend = Backend::Vulkan;
        else throw ConfigError("backend " + std::to_string(c.backend) + ": should be 0 (auto), 1 (cpu) or 2 (vulkan)");
        o.device = c.device;
        o.cpu_fallback = c.cpu_fallback != 0;
        if (c.precision == POSENET_PRECISION_FLOAT32) o.precision = Precision::Float32;
        else if (c.precision == POSENET_PRECISION_FLOAT16) o.precision = Precision::Float16;
        else throw ConfigError("precision " + std::to_string(c.precision) + ": should be 0 (float32) or 1 (float16)");
        if (c.pipeline_cache_dir) o.pipeline_cache_dir = c.pipeline_cache_dir;
        if (c.log) {
            posenet_log_callback log = c.log;
            void* user = c.log_user_data;
            o.log = [log, user](LogLevel level, std::string_view message) {
                const std::string text(message);
                log(user, posenet_log_level(int(level)), text.c_str());
            };
        }
        auto* d = new posenet_detector{PoseDetector(mc, o), {}, {}};
        d->backend = d->detector.backend_name();
        d->device_name = d->detector.device_name();
        *out = d;
    });
}

void posenet_detector_destroy(posenet_detector* detector) { delete detector; }

posenet_status posenet_detector_info(const posenet_detector* detector, posenet_model_info* info) {
    return guarded([&] {
        require(detector != nullptr, "posenet_detector_info: detector is NULL");
        require(info != nullptr, "posenet_detector_info: info is NULL");
        require(info->struct_size >= kModelInfoV1 && info->struct_size <= sizeof *info,
                "posenet_detector_info: info->struct_size must be sizeof(posenet_model_info)");
        const ModelInfo& m = detector->detector.model_info();
        posenet_model_info out{};
        out.struct_size = info->struct_size;
        out.architecture = m.architecture == Architecture::ResNet50 ? POSENET_ARCHITECTURE_RESNET50 : POSENET_ARCHITECTURE_MOBILENET_V1;
        out.output_stride = m.output_stride;
        out.multiplier = m.multiplier;
        out.quant_bytes = m.quant_bytes;
        out.input_height = m.input_resolution.height;
        out.input_width = m.input_resolution.width;
        out.backend = detector->backend.c_str();
        out.device_name = detector->device_name.c_str();
        out.device_index = detector->detector.device_index();
        std::memcpy(static_cast<void*>(info), &out, info->struct_size);
    });
}

posenet_status posenet_estimate_poses(posenet_detector* detector, const posenet_image* image,
                                      const posenet_estimation_config* config, posenet_poses** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(detector != nullptr, "posenet_estimate_poses: detector is NULL");
        require(image != nullptr, "posenet_estimate_poses: image is NULL");
        require(out != nullptr, "posenet_estimate_poses: out is NULL");
        const ImageView view = image_view(*image);
        *out = to_c(detector->detector.estimate_poses(view, estimation_config(config)));
    });
}

posenet_status posenet_estimate_poses_float(posenet_detector* detector, const posenet_float_image* image,
                                            const posenet_estimation_config* config, posenet_poses** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(detector != nullptr, "posenet_estimate_poses_float: detector is NULL");
        require(image != nullptr, "posenet_estimate_poses_float: image is NULL");
        require(out != nullptr, "posenet_estimate_poses_float: out is NULL");
        const FloatImageView view = float_image_view(*image);
        *out = to_c(detector->detector.estimate_poses(view, estimation_config(config)));
    });
}

posenet_status posenet_estimate_poses_batch(posenet_detector* detector, const posenet_image* images, size_t count,
                                            const posenet_estimation_config* config, posenet_poses** out) {
    if (out)
        for (size_t i = 0; i < count; ++i) out[i] = nullptr;
    std::vector<posenet_poses*> made;
    posenet_status status = guarded([&] {
        require(detector != nullptr, "posenet_estimate_poses_batch: detector is NULL");
        require(images != nullptr || count == 0, "posenet_estimate_poses_batch: images is NULL");
        require(out != nullptr || count == 0, "posenet_estimate_poses_batch: out is NULL");
        std::vector<ImageView> views;
        views.reserve(count);
        for (size_t i = 0; i < count; ++i) {
            try {
                views.push_back(image_view(images[i]));
            } catch (const ArgumentError& e) {
                throw ArgumentError("image " + std::to_string(i) + ": " + e.what());
            }
        }
        auto poses = detector->detector.estimate_poses(std::span<const ImageView>(views), estimation_config(config));
        for (const auto& p : poses) made.push_back(to_c(p));
    });
    if (status != POSENET_OK) {
        for (posenet_poses* p : made) posenet_poses_destroy(p);
        return status;
    }
    for (size_t i = 0; i < count; ++i) out[i] = made[i];
    return status;
}

void posenet_poses_destroy(posenet_poses* poses) {
    if (!poses) return;
    delete[] poses->poses;
    delete poses;
}

namespace {
struct LoadedImage : posenet_loaded_image {
    Image rgb;
};
}  // namespace

posenet_status posenet_image_load(const char* path, posenet_loaded_image** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(path != nullptr, "posenet_image_load: path is NULL");
        require(out != nullptr, "posenet_image_load: out is NULL");
        auto* img = new LoadedImage{};
        try {
            img->rgb = load_image(path);
        } catch (...) {
            delete img;
            throw;
        }
        img->image = {img->rgb.pixels.data(), img->rgb.height, img->rgb.width, img->rgb.width * 3, POSENET_PIXEL_RGB8};
        *out = img;
    });
}

void posenet_image_destroy(posenet_loaded_image* image) { delete static_cast<LoadedImage*>(image); }

void posenet_stream_options_init(posenet_stream_options* options) {
    if (!options) return;
    const StreamOptions d;
    *options = {};
    options->struct_size = sizeof *options;
    options->estimation = nullptr;
    options->frames_in_flight = d.frames_in_flight;
    options->tracker = POSENET_TRACKER_NONE;
    options->smoothing = 0;
    options->on_result = nullptr;
    options->on_result_user_data = nullptr;
}

posenet_status posenet_stream_create(posenet_detector* detector, const posenet_stream_options* given, posenet_stream** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(detector != nullptr, "posenet_stream_create: detector is NULL");
        require(out != nullptr, "posenet_stream_create: out is NULL");
        posenet_stream_options defaults;
        posenet_stream_options_init(&defaults);
        const posenet_stream_options c = versioned(given, defaults, kStreamOptionsV1, "stream options");
        StreamOptions o;
        o.estimation = estimation_config(c.estimation);
        o.frames_in_flight = c.frames_in_flight;
        if (c.tracker == POSENET_TRACKER_NONE) o.tracker = StreamTracker::None;
        else if (c.tracker == POSENET_TRACKER_BOUNDING_BOX) o.tracker = StreamTracker::BoundingBox;
        else if (c.tracker == POSENET_TRACKER_KEYPOINT) o.tracker = StreamTracker::Keypoint;
        else
            throw ConfigError("stream options: tracker " + std::to_string(c.tracker) +
                              ": should be 0 (none), 1 (bounding box) or 2 (keypoint)");
        if (c.smoothing) o.smoothing = PoseSmootherConfig{};  // kMoveNetKeypointFilterConfig, normalized
        const bool tracking = o.tracker != StreamTracker::None;
        if (c.on_result) {
            const posenet_stream_callback callback = c.on_result;
            void* user = c.on_result_user_data;
            // Runs on the stream's thread; an exception here (no memory for the copy) stops the
            // stream as a failed frame would, and flush() reports it.
            o.on_result = [callback, user, tracking](FrameResult&& r) { callback(user, to_c(r, tracking).get()); };
        }
        *out = new posenet_stream{PoseStream(detector->detector, std::move(o)), tracking};
    });
}

void posenet_stream_destroy(posenet_stream* stream) { delete stream; }

posenet_status posenet_stream_push(posenet_stream* stream, const posenet_image* frame, int64_t timestamp_us) {
    return guarded([&] {
        require(stream != nullptr, "posenet_stream_push: stream is NULL");
        require(frame != nullptr, "posenet_stream_push: frame is NULL");
        stream->stream.push(image_view(*frame), timestamp_us);
    });
}

posenet_status posenet_stream_next(posenet_stream* stream, posenet_frame_result** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(stream != nullptr, "posenet_stream_next: stream is NULL");
        require(out != nullptr, "posenet_stream_next: out is NULL");
        *out = to_c(stream->stream.next(), stream->tracking).release();
    });
}

posenet_status posenet_stream_try_next(posenet_stream* stream, posenet_frame_result** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(stream != nullptr, "posenet_stream_try_next: stream is NULL");
        require(out != nullptr, "posenet_stream_try_next: out is NULL");
        if (auto r = stream->stream.try_next()) *out = to_c(*r, stream->tracking).release();
    });
}

posenet_status posenet_stream_flush(posenet_stream* stream, posenet_frame_result_list** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(stream != nullptr, "posenet_stream_flush: stream is NULL");
        require(out != nullptr, "posenet_stream_flush: out is NULL");
        // Out of memory while copying: these results are lost (POSENET_ERROR_OUT_OF_MEMORY).
        std::vector<FrameResult> results = stream->stream.flush();
        std::vector<std::unique_ptr<FrameResultC>> made;
        made.reserve(results.size());
        for (const FrameResult& r : results) made.push_back(to_c(r, stream->tracking));
        auto list = std::make_unique<posenet_frame_result_list>();
        list->count = made.size();
        list->results = made.empty() ? nullptr : new posenet_frame_result*[made.size()];
        for (size_t i = 0; i < made.size(); ++i) list->results[i] = made[i].release();
        *out = list.release();
    });
}

size_t posenet_stream_pending(const posenet_stream* stream) {
    last_error.clear();
    return stream ? stream->stream.pending() : 0;
}

void posenet_frame_result_destroy(posenet_frame_result* result) { delete static_cast<FrameResultC*>(result); }

void posenet_frame_result_list_destroy(posenet_frame_result_list* list) {
    if (!list) return;
    for (size_t i = 0; i < list->count; ++i) posenet_frame_result_destroy(list->results[i]);
    delete[] list->results;
    delete list;
}

int32_t posenet_device_count(void) {
    last_error.clear();
    try {
        return int32_t(list_devices().size());
    } catch (...) {
        return 0;
    }
}

const char* posenet_device_name(int32_t index) {
    thread_local std::string name;
    last_error.clear();
    try {
        auto devices = list_devices();
        if (index < 0 || size_t(index) >= devices.size()) return nullptr;
        name = devices[size_t(index)].name;
        return name.c_str();
    } catch (...) {
        return nullptr;
    }
}

}  // extern "C"
