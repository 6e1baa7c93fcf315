/* The C API from C99 (-std=c99 -Wall -Wextra -Werror -pedantic), every status path:
 *   test_c_api MODEL.pnb MODEL.json PHOTO.ppm CORRUPT.png SCRATCH_DIR
 * MODEL.pnb is a small MobileNetV1 0.5 stride-8 blob (tests/tiny_model.h), MODEL.json the TF.js model it
 * was converted from. Prints one line per failed check and "c api: N checks, N failed"; exits 1 on
 * any failure. */
#include <posenet/posenet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks = 0, failures = 0;

static void check(int ok, const char* what, int line) {
    ++checks;
    if (!ok) {
        ++failures;
        printf("FAILED line %d: %s (last error: %s)\n", line, what, posenet_last_error());
    }
}
#define CHECK(expr) check((expr) != 0, #expr, __LINE__)
/* A status and a message that contains `part`. */
#define CHECK_FAILS(call, status, part)                                             \
    do {                                                                            \
        posenet_status got_ = (call);                                               \
        check(got_ == (status), #call " returns " #status, __LINE__);              \
        check(strstr(posenet_last_error(), (part)) != NULL, #call " names what is wrong", __LINE__); \
    } while (0)

static unsigned char* read_file(const char* path, size_t* size) {
    FILE* f = fopen(path, "rb");
    unsigned char* data;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = (unsigned char*)malloc((size_t)n);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return data;
}

static int log_calls = 0;
static void on_log(void* user, posenet_log_level level, const char* message) {
    (void)level;
    (void)message;
    ++*(int*)user;
}

static posenet_detector* make(const char* model, int backend) {
    posenet_detector_config c;
    posenet_detector* d = NULL;
    posenet_detector_config_init(&c);
    c.model_path = model;
    c.input_height = c.input_width = 33;
    c.backend = backend;
    c.log = on_log;
    c.log_user_data = &log_calls;
    if (posenet_detector_create(&c, &d) != POSENET_OK) printf("cannot create a detector: %s\n", posenet_last_error());
    return d;
}

int main(int argc, char** argv) {
    const char *blob, *json, *photo_path, *corrupt;
    posenet_detector_config config;
    posenet_estimation_config est;
    posenet_detector* detector = NULL;
    posenet_detector* other = NULL;
    posenet_loaded_image* photo = NULL;
    posenet_poses* poses = NULL;
    posenet_poses* batch[3] = {NULL, NULL, NULL};
    posenet_image images[3];
    posenet_model_info info;
    unsigned char* bytes;
    size_t size = 0;
    float* floats;
    int i, k;

    if (argc != 6) {
        fprintf(stderr, "usage: test_c_api MODEL.pnb MODEL.json PHOTO.ppm CORRUPT.png SCRATCH_DIR\n");
        return 2;
    }
    blob = argv[1], json = argv[2], photo_path = argv[3], corrupt = argv[4];

    /* Version and static strings. */
    CHECK(strcmp(posenet_version(), POSENET_VERSION_STRING) == 0);
    CHECK(strcmp(posenet_status_string(POSENET_ERROR_MODEL), "model error") == 0);
    CHECK(strcmp(posenet_keypoint_name(0), "nose") == 0);
    CHECK(strcmp(posenet_keypoint_name(16), "right_ankle") == 0);
    CHECK(posenet_keypoint_name(17) == NULL);
    CHECK(posenet_keypoint_name(-1) == NULL);
    CHECK(posenet_device_count() >= 0);

    /* NULL arguments. */
    CHECK_FAILS(posenet_detector_create(NULL, &detector), POSENET_ERROR_INVALID_ARGUMENT, "config is NULL");
    posenet_detector_config_init(&config);
    CHECK_FAILS(posenet_detector_create(&config, NULL), POSENET_ERROR_INVALID_ARGUMENT, "out is NULL");
    CHECK_FAILS(posenet_estimate_poses(NULL, NULL, NULL, &poses), POSENET_ERROR_INVALID_ARGUMENT, "detector is NULL");
    CHECK(poses == NULL);
    CHECK_FAILS(posenet_image_load(NULL, &photo), POSENET_ERROR_INVALID_ARGUMENT, "path is NULL");
    posenet_detector_destroy(NULL);
    posenet_poses_destroy(NULL);
    posenet_image_destroy(NULL);

    /* Bad models. */
    posenet_detector_config_init(&config);
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_CONFIG, "no model file given");
    config.model_path = "/nonexistent/model.pnb";
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_MODEL, "/nonexistent/model.pnb");
    CHECK(detector == NULL);
    config.model_path = corrupt; /* not a model at all */
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_MODEL, "not a model");
    config.model_path = NULL;
    config.model_data = "PNETBLOB but no more";
    config.model_size = 20;
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_MODEL, "model in memory");
    config.model_size = 0;
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_INVALID_ARGUMENT, "go together");

    /* Bad configs. */
    posenet_detector_config_init(&config);
    config.model_path = blob;
    config.input_height = config.input_width = 33;
    config.output_stride = 16; /* the model is stride 8 */
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_CONFIG, "outputStride: the config says 16");
    config.output_stride = 0;
    config.architecture = POSENET_ARCHITECTURE_RESNET50;
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_CONFIG, "architecture: the config says ResNet50");
    config.architecture = 7;
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_CONFIG, "architecture 7");
    config.architecture = 0;
    config.backend = 9;
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_CONFIG, "backend 9");
    config.backend = POSENET_BACKEND_CPU;
    config.device = -5;
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_CONFIG, "device -5");
    config.device = -1;
    config.precision = POSENET_PRECISION_FLOAT16; /* tensor cores: never on the CPU executor */
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_DEVICE, "float16");
    config.precision = POSENET_PRECISION_FLOAT32;
    config.input_height = 5000;
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_CONFIG, "inputResolution");
    config.input_height = 33;
    config.struct_size = 3;
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_INVALID_ARGUMENT, "struct_size 3");
    config.struct_size = sizeof config + 64;
    CHECK_FAILS(posenet_detector_create(&config, &detector), POSENET_ERROR_INVALID_ARGUMENT, "struct_size");
    CHECK(detector == NULL);

    /* A good detector from a path, one from memory, one from the TF.js model. */
    detector = make(blob, POSENET_BACKEND_CPU);
    CHECK(detector != NULL);
    if (!detector) return 1;
    info.struct_size = sizeof info;
    CHECK(posenet_detector_info(detector, &info) == POSENET_OK);
    CHECK(info.architecture == POSENET_ARCHITECTURE_MOBILENET_V1);
    CHECK(info.output_stride == 8);
    CHECK(info.multiplier == 0.5f);
    CHECK(info.input_height == 33 && info.input_width == 33);
    CHECK(strcmp(info.backend, "cpu") == 0);
    CHECK(info.device_index == -1);
    CHECK(strncmp(info.device_name, "cpu", 3) == 0);
    info.struct_size = 1;
    CHECK_FAILS(posenet_detector_info(detector, &info), POSENET_ERROR_INVALID_ARGUMENT, "struct_size");

    /* Bad images. */
    CHECK_FAILS(posenet_image_load("/nonexistent/photo.png", &photo), POSENET_ERROR_IMAGE, "/nonexistent/photo.png");
    CHECK_FAILS(posenet_image_load(corrupt, &photo), POSENET_ERROR_IMAGE, corrupt);
    CHECK(photo == NULL);
    CHECK(posenet_image_load(photo_path, &photo) == POSENET_OK);
    if (!photo) return 1;
    CHECK(photo->image.width == 40 && photo->image.height == 30);
    CHECK(strcmp(posenet_last_error(), "") == 0); /* cleared by a call that succeeded */

    images[0] = photo->image;
    images[0].data = NULL;
    CHECK_FAILS(posenet_estimate_poses(detector, &images[0], NULL, &poses), POSENET_ERROR_INVALID_ARGUMENT, "data is null");
    images[0] = photo->image;
    images[0].width = 0;
    CHECK_FAILS(posenet_estimate_poses(detector, &images[0], NULL, &poses), POSENET_ERROR_INVALID_ARGUMENT, "must be positive");
    images[0] = photo->image;
    images[0].row_stride_bytes = 10;
    CHECK_FAILS(posenet_estimate_poses(detector, &images[0], NULL, &poses), POSENET_ERROR_INVALID_ARGUMENT, "row stride 10");
    images[0] = photo->image;
    images[0].format = 9;
    CHECK_FAILS(posenet_estimate_poses(detector, &images[0], NULL, &poses), POSENET_ERROR_INVALID_ARGUMENT, "format 9");
    CHECK(poses == NULL);

    /* Bad estimation configs. */
    posenet_estimation_config_init(&est);
    est.max_poses = 0;
    CHECK_FAILS(posenet_estimate_poses(detector, &photo->image, &est, &poses), POSENET_ERROR_CONFIG, "maxPoses 0");
    posenet_estimation_config_init(&est);
    est.max_poses = 3;
    est.score_threshold = 2.0f;
    CHECK_FAILS(posenet_estimate_poses(detector, &photo->image, &est, &poses), POSENET_ERROR_CONFIG, "scoreThreshold 2");
    est.struct_size = 2;
    CHECK_FAILS(posenet_estimate_poses(detector, &photo->image, &est, &poses), POSENET_ERROR_INVALID_ARGUMENT, "struct_size");

    /* Poses. */
    posenet_estimation_config_init(&est);
    CHECK(est.max_poses == 1 && est.score_threshold == 0.5f && est.nms_radius == 20.0f);
    CHECK(posenet_estimate_poses(detector, &photo->image, &est, &poses) == POSENET_OK);
    CHECK(poses != NULL && poses->count == 1);
    if (poses && poses->count == 1) {
        for (k = 0; k < POSENET_NUM_KEYPOINTS; ++k) {
            const posenet_keypoint* kp = &poses->poses[0].keypoints[k];
            CHECK(kp->id == k);
            CHECK(strcmp(kp->name, posenet_keypoint_name(k)) == 0);
            CHECK(kp->score >= 0.0f && kp->score <= 1.0f);
        }
    }

    /* The same pixels as floats give the same poses. */
    floats = (float*)malloc(sizeof(float) * 30 * 40 * 3);
    for (i = 0; i < 30 * 40 * 3; ++i) floats[i] = (float)photo->image.data[i];
    {
        posenet_float_image fimg;
        posenet_poses* fposes = NULL;
        fimg.data = floats;
        fimg.height = 30;
        fimg.width = 40;
        fimg.row_stride_floats = 0;
        CHECK(posenet_estimate_poses_float(detector, &fimg, NULL, &fposes) == POSENET_OK);
        CHECK(fposes && poses && fposes->count == poses->count &&
              fposes->poses[0].keypoints[0].x == poses->poses[0].keypoints[0].x);
        fimg.row_stride_floats = 7;
        posenet_poses_destroy(fposes);
        fposes = NULL;
        CHECK_FAILS(posenet_estimate_poses_float(detector, &fimg, NULL, &fposes), POSENET_ERROR_INVALID_ARGUMENT, "row stride 7");
    }
    free(floats);

    /* A batch of three: the same poses as one at a time; a bad image fails the whole batch. */
    images[0] = images[1] = images[2] = photo->image;
    images[1].height = 20; /* a crop: another size in the same batch */
    CHECK(posenet_estimate_poses_batch(detector, images, 3, &est, batch) == POSENET_OK);
    CHECK(batch[0] && batch[2] && poses && batch[0]->poses[0].keypoints[5].y == poses->poses[0].keypoints[5].y);
    CHECK(batch[2] && poses && batch[2]->poses[0].score == poses->poses[0].score);
    for (i = 0; i < 3; ++i) posenet_poses_destroy(batch[i]);
    images[2].format = 42;
    CHECK_FAILS(posenet_estimate_poses_batch(detector, images, 3, &est, batch), POSENET_ERROR_INVALID_ARGUMENT, "image 2");
    CHECK(batch[0] == NULL && batch[1] == NULL && batch[2] == NULL);
    CHECK(posenet_estimate_poses_batch(detector, images, 0, &est, NULL) == POSENET_OK);

    /* From memory, and from the TF.js model: the same poses. */
    bytes = read_file(blob, &size);
    CHECK(bytes != NULL);
    posenet_detector_config_init(&config);
    config.model_data = bytes;
    config.model_size = size;
    config.input_height = config.input_width = 33;
    config.backend = POSENET_BACKEND_CPU;
    CHECK(posenet_detector_create(&config, &other) == POSENET_OK);
    free(bytes); /* copied by create */
    if (other) {
        posenet_poses* again = NULL;
        CHECK(posenet_estimate_poses(other, &photo->image, &est, &again) == POSENET_OK);
        CHECK(again && poses && again->poses[0].keypoints[3].x == poses->poses[0].keypoints[3].x);
        posenet_poses_destroy(again);
        posenet_detector_destroy(other);
        other = NULL;
    }
    other = make(json, POSENET_BACKEND_CPU);
    CHECK(other != NULL);
    if (other) {
        posenet_poses* again = NULL;
        CHECK(posenet_estimate_poses(other, &photo->image, &est, &again) == POSENET_OK);
        CHECK(again && poses && again->poses[0].score == poses->poses[0].score);
        posenet_poses_destroy(again);
        posenet_detector_destroy(other);
    }

    posenet_poses_destroy(poses);
    posenet_image_destroy(photo);
    posenet_detector_destroy(detector);
    printf("c api: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
