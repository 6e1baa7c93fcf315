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
 *       fprintf(stderr, "%s\n", posenet_last_error());
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
 *               printf("%s %.1f %.1f %.3f\n", kp->name, kp->x, kp->y, kp->score);
 *           }
 *       posenet_poses_destroy(poses);
 *   }
 *   posenet_image_destroy(photo);
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
 *   detectors run concurrently. posenet_last_error() is per thread.
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

/* Vulkan devices on this machine (0 where there is no loader or device) and the name of one (valid
 * until the next call on this thread; NULL for an index out of range). */
POSENET_API int32_t posenet_device_count(void);
POSENET_API const char* posenet_device_name(int32_t index);

#ifdef __cplusplus
}
#endif

#endif /* POSENET_POSENET_H */
