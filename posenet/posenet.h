/* The C API of libposenet: PoseNet pose estimation (TF.js @tensorflow-models/pose-detection's PoseNet)
 * without an ML framework. C99; also usable from C++ and through any FFI.
 *
 * Usage:
 *
 *   #include <posenet/posenet.h>
 *
 *   posenet_detector_config config;
 *   posenet_detector_config_init(&config);
 *   config.model_path = "mobilenet-float-075-stride16.pnb";   // or a TF.js model.json
 *   posenet_detector* detector = NULL;
 *   if (posenet_detector_create(&config, &detector) != POSENET_OK) {
 *       show_error(posenet_last_error());                       // your code: the library never prints
 *       return 1;
 *   }
 *   posenet_loaded_image* photo = NULL;
 *   posenet_image_load("photo.jpg", &photo);                  // or fill a posenet_image yourself
 *   posenet_estimation_config estimation;
 *   posenet_estimation_config_init(&estimation);
 *   estimation.max_poses = 5;
 *   posenet_poses* poses = NULL;
 *   if (posenet_estimate_poses(detector, &photo->image, &estimation, &poses) == POSENET_OK) {
 *       for (size_t i = 0; i < poses->count; ++i)
 *           for (int k = 0; k < POSENET_NUM_KEYPOINTS; ++k) {
 *               const posenet_keypoint* kp = &poses->poses[i].keypoints[k];
 *               draw_keypoint(i, kp->name, kp->x, kp->y, kp->score);  // your code
 *           }
 *       posenet_poses_destroy(poses);
 *   }
 *   posenet_image_destroy(photo);
 *
 *   // Video: frames in flight, results in push order (posenet_stream_* below).
 *   posenet_stream_options so;
 *   posenet_stream_options_init(&so);
 *   so.estimation = &estimation;
 *   so.tracker = POSENET_TRACKER_KEYPOINT;                     // track ids in result->track_ids
 *   posenet_stream* stream = NULL;
 *   posenet_stream_create(detector, &so, &stream);
 *   posenet_frame_result* result = NULL;
 *   while (next_frame(&frame, &t_us)) {                       // frame: a posenet_image; reusable once push returns
 *       if (posenet_stream_push(stream, &frame, t_us) != POSENET_OK) break;
 *       while (posenet_stream_try_next(stream, &result) == POSENET_OK && result) {
 *           show(result);                                     // result->poses, ->index, ->timestamp_us, ->status
 *           posenet_frame_result_destroy(result);
 *       }
 *   }
 *   posenet_frame_result_list* rest = NULL;
 *   if (posenet_stream_flush(stream, &rest) == POSENET_OK) {  // waits for the frames still in flight
 *       for (size_t i = 0; i < rest->count; ++i) show(rest->results[i]);
 *       posenet_frame_result_list_destroy(rest);
 *   }
 *   posenet_stream_destroy(stream);                           // before its detector
 *   posenet_detector_destroy(detector);
 *
 * Conventions:
 * - Every function that can fail returns a posenet_status; POSENET_OK is 0. posenet_last_error()
 *   then gives the message (the same text the C++ API throws: it names the file and the node, field or
 *   value at fault). No C++ exception ever crosses this API.
 * - Objects are opaque handles made by a _create/_load function and released by its _destroy
 *   function; _destroy accepts NULL. Out-parameters are written only on success (NULL on failure).
 * - Config structs start with struct_size: call the _init function (it sets struct_size and the
 *   defaults), then change fields. A library built later accepts an older, smaller struct (the fields
 *   it lacks keep their defaults), so the ABI can grow.
 * - Sizes are height before width. Pixels are 8-bit; rows are row_stride_bytes apart (0: packed).
 * - Threads: one detector may be used from several threads (calls are serialized); separate
 *   detectors run concurrently. posenet_last_error() is per thread. A stream: see posenet_stream.
 */
#ifndef POSENET_POSENET_H
#define POSENET_POSENET_H

#include <stddef.h>
#include <stdint.h>

#include "posenet/export.h"
#include "posenet/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POSENET_NUM_KEYPOINTS 17

typedef enum posenet_status {
    POSENET_OK = 0,
    POSENET_ERROR_INVALID_ARGUMENT = 1, /* a NULL pointer, a bad struct_size, an image view that cannot be read */
    POSENET_ERROR_CONFIG = 2,           /* a config value not allowed, or one the model file contradicts */
    POSENET_ERROR_MODEL = 3,            /* a model file that cannot be read, converted or validated */
    POSENET_ERROR_IMAGE = 4,            /* an image file that cannot be read or decoded */
    POSENET_ERROR_DEVICE = 5,           /* no Vulkan device, a device index that does not exist, a lost device... */
    POSENET_ERROR_OUT_OF_MEMORY = 6,
    POSENET_ERROR_INTERNAL = 7          /* a bug: please report the message */
} posenet_status;

typedef enum posenet_architecture {
    POSENET_ARCHITECTURE_FROM_MODEL = 0, /* take it from the model file */
    POSENET_ARCHITECTURE_MOBILENET_V1 = 1,
    POSENET_ARCHITECTURE_RESNET50 = 2
} posenet_architecture;

typedef enum posenet_backend {
    POSENET_BACKEND_AUTO = 0, /* Vulkan on a GPU; the CPU where there is none or only a software device */
    POSENET_BACKEND_CPU = 1,
    POSENET_BACKEND_VULKAN = 2
} posenet_backend;

typedef enum posenet_precision {
    POSENET_PRECISION_FLOAT32 = 0, /* the TF.js-parity path */
    POSENET_PRECISION_FLOAT16 = 1  /* convolutions on tensor cores; Vulkan devices with cooperative matrices only */
} posenet_precision;

typedef enum posenet_pixel_format {
    POSENET_PIXEL_RGB8 = 0,
    POSENET_PIXEL_RGBA8 = 1,
    POSENET_PIXEL_BGR8 = 2,
    POSENET_PIXEL_BGRA8 = 3,
    POSENET_PIXEL_GRAY8 = 4
} posenet_pixel_format;

typedef enum posenet_log_level {
    POSENET_LOG_DEBUG = 0,
    POSENET_LOG_INFO = 1,
    POSENET_LOG_WARNING = 2,
    POSENET_LOG_ERROR = 3
} posenet_log_level;

/* Receives the library's messages; `message` is valid during the call only. */
typedef void (*posenet_log_callback)(void* user_data, posenet_log_level level, const char* message);

typedef struct posenet_detector posenet_detector;

typedef struct posenet_detector_config {
    uint32_t struct_size; /* sizeof(posenet_detector_config), set by posenet_detector_config_init */
    /* The model: a blob (`posenet convert`) or a TF.js model.json / a folder holding one; recognised by
     * its content. Or model_data/model_size: a blob in memory (copied during posenet_detector_create;
     * model_path, when also set, names it in messages). Strings are copied. */
    const char* model_path;
    const void* model_data;
    size_t model_size;
    /* 0 (or POSENET_ARCHITECTURE_FROM_MODEL): taken from the model file; set: checked against it. */
    int32_t architecture;   /* posenet_architecture */
    int32_t output_stride;  /* 8, 16, 32 */
    float multiplier;       /* MobileNetV1: 0.5, 0.75, 1.0 */
    int32_t quant_bytes;    /* 1, 2, 4 */
    int32_t input_height;   /* default 257; rounded as TF.js does for the output stride */
    int32_t input_width;    /* default 257 */
    int32_t backend;        /* posenet_backend, default POSENET_BACKEND_AUTO */
    int32_t device;         /* Vulkan device index (posenet_device_count); -1 (default): the best */
    int32_t cpu_fallback;   /* auto backend: 1 (default) uses the CPU where Vulkan cannot start */
    int32_t precision;      /* posenet_precision, default POSENET_PRECISION_FLOAT32 */
    /* Folder for the Vulkan pipeline cache; NULL (default): nothing is written to disk. */
    const char* pipeline_cache_dir;
    posenet_log_callback log; /* NULL (default): messages are dropped */
    void* log_user_data;
} posenet_detector_config;

typedef struct posenet_estimation_config {
    uint32_t struct_size;  /* set by posenet_estimation_config_init */
    int32_t max_poses;     /* 1 (default): the single-pose decoder; more: the multi-pose decoder */
    int32_t flip_horizontal;
    float score_threshold; /* multi-pose, [0, 1], default 0.5 */
    float nms_radius;      /* multi-pose, > 0, model-input pixels, default 20 */
} posenet_estimation_config;

/* A view of 8-bit pixels owned by the caller. */
typedef struct posenet_image {
    const uint8_t* data;
    int32_t height, width;
    int32_t row_stride_bytes; /* >= width * bytes per pixel; 0: packed */
    int32_t format;           /* posenet_pixel_format */
} posenet_image;

/* A view of height x width x 3 float32 RGB values (0..255) owned by the caller. */
typedef struct posenet_float_image {
    const float* data;
    int32_t height, width;
    int32_t row_stride_floats; /* >= width * 3; 0: packed */
} posenet_float_image;

typedef struct posenet_keypoint {
    int32_t id;       /* 0..16, COCO order */
    const char* name; /* "nose", "left_eye", ... (static storage) */
    float x, y;       /* source-image pixels */
    float score;      /* 0..1 */
} posenet_keypoint;

typedef struct posenet_pose {
    float score;
    posenet_keypoint keypoints[POSENET_NUM_KEYPOINTS];
} posenet_pose;

/* Poses for one image, in decode order. Made by the library; release with posenet_poses_destroy. */
typedef struct posenet_poses {
    size_t count;
    posenet_pose* poses;
} posenet_poses;

/* An RGB8 image decoded by the library; `image` views its pixels. Release with posenet_image_destroy. */
typedef struct posenet_loaded_image {
    posenet_image image;
} posenet_loaded_image;

typedef struct posenet_model_info {
    uint32_t struct_size; /* set by the caller to sizeof(posenet_model_info) */
    int32_t architecture; /* posenet_architecture */
    int32_t output_stride;
    float multiplier;
    int32_t quant_bytes;
    int32_t input_height, input_width; /* as rounded for the output stride */
    const char* backend;               /* "cpu" | "vulkan"; valid while the detector lives */
    const char* device_name;           /* valid while the detector lives */
    int32_t device_index;              /* -1 on the CPU */
} posenet_model_info;

/* "MAJOR.MINOR.PATCH" of the library linked at run time (POSENET_VERSION_STRING: compiled against). */
POSENET_API const char* posenet_version(void);
/* The message of the last call on this thread that failed ("" when none has); valid until the next
 * call into the library on this thread. */
POSENET_API const char* posenet_last_error(void);
/* "ok", "invalid argument", "config error", ... (static storage). */
POSENET_API const char* posenet_status_string(posenet_status status);
/* COCO keypoint name of id 0..16, NULL otherwise (static storage). */
POSENET_API const char* posenet_keypoint_name(int32_t id);

POSENET_API void posenet_detector_config_init(posenet_detector_config* config);
POSENET_API void posenet_estimation_config_init(posenet_estimation_config* config);

/* Loads the model and starts the backend. On success *out owns a detector (posenet_detector_destroy). */
POSENET_API posenet_status posenet_detector_create(const posenet_detector_config* config, posenet_detector** out);
POSENET_API void posenet_detector_destroy(posenet_detector* detector);
/* Fills *info (set info->struct_size first). */
POSENET_API posenet_status posenet_detector_info(const posenet_detector* detector, posenet_model_info* info);

/* Poses of one image. config NULL: the defaults. On success *out is owned by the caller. */
POSENET_API posenet_status posenet_estimate_poses(posenet_detector* detector, const posenet_image* image,
                                                  const posenet_estimation_config* config, posenet_poses** out);
POSENET_API posenet_status posenet_estimate_poses_float(posenet_detector* detector, const posenet_float_image* image,
                                                        const posenet_estimation_config* config, posenet_poses** out);
/* Many images in one run of the network; sizes may differ. out is the caller's array of `count`
 * pointers; on success out[i] holds image i's poses (each owned by the caller), on failure all are NULL. */
POSENET_API posenet_status posenet_estimate_poses_batch(posenet_detector* detector, const posenet_image* images,
                                                        size_t count, const posenet_estimation_config* config,
                                                        posenet_poses** out);
POSENET_API void posenet_poses_destroy(posenet_poses* poses);

/* Decodes a PNG, JPEG or PNM file into RGB8. On success *out is owned by the caller. */
POSENET_API posenet_status posenet_image_load(const char* path, posenet_loaded_image** out);
POSENET_API void posenet_image_destroy(posenet_loaded_image* image);

/* ---------------------------------------------------------------------------------------------
 * Streams (video): frames through a detector with several in flight at once, results in the order
 * the frames were pushed, with optional track ids and keypoint smoothing as pose-detection gives them
 * to MoveNet's poses. The C face of posenet::PoseStream (posenet/stream.h), which says how it runs.
 *
 * Threads: push from one thread at a time (concurrent pushes are serialized, in no defined order);
 * next, try_next, flush and pending from any thread, each result going to exactly one caller. Or
 * callback mode (posenet_stream_options.on_result): the stream's own thread hands every result over,
 * in order, and next/try_next are refused.
 * Errors: a bad frame is refused by posenet_stream_push (POSENET_ERROR_INVALID_ARGUMENT) and takes no
 * index. A frame that fails while it runs (a lost device...) comes back as its result with `status`
 * and `error` set; the stream stops there: every later frame in flight comes back with the same
 * error, and posenet_stream_push returns it from then on. */

typedef struct posenet_stream posenet_stream;

typedef enum posenet_tracker {
    POSENET_TRACKER_NONE = 0,
    POSENET_TRACKER_BOUNDING_BOX = 1, /* IoU of the boxes around the keypoints; pose-detection's defaults */
    POSENET_TRACKER_KEYPOINT = 2      /* OKS of the keypoints; pose-detection's defaults */
} posenet_tracker;

/* One frame's result. Made by the library; release with posenet_frame_result_destroy. */
typedef struct posenet_frame_result {
    uint32_t struct_size;     /* sizeof the library's struct: fields past it are absent (a library older than the header) */
    uint64_t index;           /* 0, 1, 2, ... in push order */
    int64_t timestamp_us;     /* as pushed */
    int32_t height, width;    /* of the frame */
    int32_t status;           /* posenet_status: POSENET_OK, or why the frame failed */
    const char* error;        /* "" when status is POSENET_OK, else the message; valid while the result lives */
    posenet_poses poses;      /* as posenet_estimate_poses gives them (frame pixels); count 0 on error */
    const int32_t* track_ids; /* poses.count track ids (from 1, never reused) when the stream tracks; NULL otherwise */
} posenet_frame_result;

/* Results of posenet_stream_flush, in order. Release with posenet_frame_result_list_destroy (which
 * releases every result in it). */
typedef struct posenet_frame_result_list {
    size_t count;
    posenet_frame_result** results;
} posenet_frame_result_list;

/* Callback mode: called on the stream's thread with every result, in order. `result` is valid during
 * the call only. It must not call posenet_stream_push, _next, _try_next or _flush of this stream
 * (they return POSENET_ERROR_CONFIG there), and should return quickly: the next result waits for it. */
typedef void (*posenet_stream_callback)(void* user_data, const posenet_frame_result* result);

typedef struct posenet_stream_options {
    uint32_t struct_size;                          /* set by posenet_stream_options_init */
    const posenet_estimation_config* estimation;   /* NULL (default): the defaults; read by posenet_stream_create only */
    int32_t frames_in_flight;                      /* 1..POSENET_STREAM_MAX_FRAMES_IN_FLIGHT, default 3 */
    int32_t tracker;                               /* posenet_tracker, default POSENET_TRACKER_NONE */
    /* 1: keypoint smoothing after tracking, MoveNet's One Euro settings, a filter per track id (untracked
     * poses share one: meant for one pose a frame); default 0 */
    int32_t smoothing;
    posenet_stream_callback on_result;             /* NULL (default): pull mode (next, try_next, flush) */
    void* on_result_user_data;
} posenet_stream_options;

#define POSENET_STREAM_MAX_FRAMES_IN_FLIGHT 16

POSENET_API void posenet_stream_options_init(posenet_stream_options* options);

/* Starts a stream over `detector` (options NULL: the defaults), one slot per frame in flight. On
 * success *out owns the stream (posenet_stream_destroy). The detector must outlive the stream; its
 * own calls still work meanwhile. POSENET_ERROR_CONFIG for options out of range. */
POSENET_API posenet_status posenet_stream_create(posenet_detector* detector, const posenet_stream_options* options,
                                                 posenet_stream** out);
/* Waits for the frames in flight and drops their results (posenet_stream_flush first to keep them). */
POSENET_API void posenet_stream_destroy(posenet_stream* stream);

/* Copies the frame and starts it; blocks only while every slot is busy. The pixels may be reused
 * as soon as it returns. POSENET_ERROR_INVALID_ARGUMENT for a frame that cannot be read (nothing is
 * taken); the failed frame's status (e.g. POSENET_ERROR_DEVICE) once the stream has stopped. */
POSENET_API posenet_status posenet_stream_push(posenet_stream* stream, const posenet_image* frame, int64_t timestamp_us);
/* The next result in order, waiting for it. On success *out is owned by the caller (check its
 * status: a failed frame is a result too). POSENET_ERROR_CONFIG when no frame is pending, or in
 * callback mode. */
POSENET_API posenet_status posenet_stream_next(posenet_stream* stream, posenet_frame_result** out);
/* The next result in order if it is done, without waiting: POSENET_OK with *out set (owned by the
 * caller) or NULL (none ready). POSENET_ERROR_CONFIG in callback mode. */
POSENET_API posenet_status posenet_stream_try_next(posenet_stream* stream, posenet_frame_result** out);
/* Waits until every frame pushed so far is done; on success *out holds the results not taken yet,
 * in order (owned by the caller; count may be 0). Callback mode: waits until the callback had them
 * all, *out is empty. */
POSENET_API posenet_status posenet_stream_flush(posenet_stream* stream, posenet_frame_result_list** out);
/* Frames pushed whose results were not taken (or not yet given to the callback); 0 for NULL. */
POSENET_API size_t posenet_stream_pending(const posenet_stream* stream);
POSENET_API void posenet_frame_result_destroy(posenet_frame_result* result);
POSENET_API void posenet_frame_result_list_destroy(posenet_frame_result_list* list);

/* Vulkan devices on this machine (0 where there is no loader or device) and the name of one (valid
 * until the next call on this thread; NULL for an index out of range). */
POSENET_API int32_t posenet_device_count(void);
POSENET_API const char* posenet_device_name(int32_t index);

#ifdef __cplusplus
}
#endif

#endif /* POSENET_POSENET_H */
