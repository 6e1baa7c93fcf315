/* The C API from C99 (-std=c99 -Wall -Wextra -Werror -pedantic), every status path, and streams:
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

/* Streams ------------------------------------------------------------------------------------ */

#define STREAM_FRAMES 8

/* Frames made from the photo: each with other pixels, some cropped, some BGR, one with padded rows. */
typedef struct frames {
    unsigned char* bytes[STREAM_FRAMES];
    posenet_image image[STREAM_FRAMES];
} frames;

static void make_frames(frames* f, const posenet_image* photo) {
    int i, y, x, c;
    for (i = 0; i < STREAM_FRAMES; ++i) {
        const int pad = i == 3 ? 8 : 0;
        const int stride = photo->width * 3 + pad;
        const int bgr = i % 2;
        f->bytes[i] = (unsigned char*)malloc((size_t)stride * (size_t)photo->height);
        for (y = 0; y < photo->height; ++y)
            for (x = 0; x < photo->width * 3 + pad; ++x) {
                c = x % 3;
                f->bytes[i][y * stride + x] =
                    x >= photo->width * 3 ? 0x5a
                                          : (unsigned char)(photo->data[y * photo->width * 3 + x - c + (bgr ? 2 - c : c)] + i * 29);
            }
        f->image[i].data = f->bytes[i];
        f->image[i].height = photo->height - (i % 3) * 5;
        f->image[i].width = photo->width;
        f->image[i].row_stride_bytes = pad ? stride : 0;
        f->image[i].format = bgr ? POSENET_PIXEL_BGR8 : POSENET_PIXEL_RGB8;
    }
}

static void free_frames(frames* f) {
    int i;
    for (i = 0; i < STREAM_FRAMES; ++i) free(f->bytes[i]);
}

static int same_poses(const posenet_poses* a, const posenet_poses* b) {
    size_t i;
    int k;
    if (a->count != b->count) return 0;
    for (i = 0; i < a->count; ++i) {
        if (a->poses[i].score != b->poses[i].score) return 0;
        for (k = 0; k < POSENET_NUM_KEYPOINTS; ++k) {
            const posenet_keypoint* p = &a->poses[i].keypoints[k];
            const posenet_keypoint* q = &b->poses[i].keypoints[k];
            if (p->id != q->id || strcmp(p->name, q->name) != 0 || p->x != q->x || p->y != q->y || p->score != q->score)
                return 0;
        }
    }
    return 1;
}

/* A result as a stream without tracking must give it for frame `i` pushed at `timestamp`. */
static int result_is(const posenet_frame_result* r, size_t i, int64_t timestamp, const frames* f, posenet_poses* const* want) {
    return r != NULL && r->struct_size == sizeof *r && r->index == (uint64_t)i && r->timestamp_us == timestamp &&
           r->height == f->image[i].height && r->width == f->image[i].width && r->status == POSENET_OK &&
           strcmp(r->error, "") == 0 && r->track_ids == NULL && same_poses(&r->poses, want[i]);
}

/* Callback mode: what the stream's thread handed over. */
typedef struct collector {
    posenet_stream* stream;
    const frames* f;
    posenet_poses* const* want;
    int count;
    int in_order; /* every result was the next frame's, with its timestamp and poses */
    posenet_status push_status;
    char push_error[256];
} collector;

static void on_frame(void* user, const posenet_frame_result* r) {
    collector* c = (collector*)user;
    if (!result_is(r, (size_t)c->count, 10 * (int64_t)c->count, c->f, c->want)) c->in_order = 0;
    if (r->index == 0) { /* the callback runs on the stream's thread, which must not wait for itself */
        c->push_status = posenet_stream_push(c->stream, &c->f->image[0], 0);
        strncpy(c->push_error, posenet_last_error(), sizeof c->push_error - 1);
    }
    ++c->count;
}

static void test_streams(posenet_detector* detector, const posenet_image* photo) {
    static const int in_flight[] = {1, 2, 3, 5};
    posenet_stream_options so;
    posenet_estimation_config configs[2];
    posenet_stream* stream = NULL;
    posenet_frame_result* r = NULL;
    posenet_frame_result_list* list = NULL;
    posenet_poses* want[STREAM_FRAMES];
    posenet_image bad;
    frames f;
    size_t i, got;
    int c, n;

    make_frames(&f, photo);
    posenet_estimation_config_init(&configs[0]);
    posenet_estimation_config_init(&configs[1]);
    configs[1].max_poses = 3;
    configs[1].score_threshold = 0.1f;
    configs[1].nms_radius = 10.0f;

    /* Defaults. */
    posenet_stream_options_init(&so);
    CHECK(so.struct_size == sizeof so && so.estimation == NULL && so.frames_in_flight == 3);
    CHECK(so.tracker == POSENET_TRACKER_NONE && so.smoothing == 0 && so.on_result == NULL);

    /* NULL arguments. */
    CHECK_FAILS(posenet_stream_create(NULL, &so, &stream), POSENET_ERROR_INVALID_ARGUMENT, "detector is NULL");
    CHECK_FAILS(posenet_stream_create(detector, &so, NULL), POSENET_ERROR_INVALID_ARGUMENT, "out is NULL");
    CHECK_FAILS(posenet_stream_push(NULL, photo, 0), POSENET_ERROR_INVALID_ARGUMENT, "stream is NULL");
    CHECK_FAILS(posenet_stream_next(NULL, &r), POSENET_ERROR_INVALID_ARGUMENT, "stream is NULL");
    CHECK_FAILS(posenet_stream_try_next(NULL, &r), POSENET_ERROR_INVALID_ARGUMENT, "stream is NULL");
    CHECK_FAILS(posenet_stream_flush(NULL, &list), POSENET_ERROR_INVALID_ARGUMENT, "stream is NULL");
    CHECK(r == NULL && list == NULL && stream == NULL);
    CHECK(posenet_stream_pending(NULL) == 0);
    posenet_stream_destroy(NULL);
    posenet_frame_result_destroy(NULL);
    posenet_frame_result_list_destroy(NULL);

    /* Options out of range. */
    so.frames_in_flight = 0;
    CHECK_FAILS(posenet_stream_create(detector, &so, &stream), POSENET_ERROR_CONFIG, "frames_in_flight must be 1..16, not 0");
    so.frames_in_flight = POSENET_STREAM_MAX_FRAMES_IN_FLIGHT + 1;
    CHECK_FAILS(posenet_stream_create(detector, &so, &stream), POSENET_ERROR_CONFIG, "not 17");
    so.frames_in_flight = -3;
    CHECK_FAILS(posenet_stream_create(detector, &so, &stream), POSENET_ERROR_CONFIG, "not -3");
    posenet_stream_options_init(&so);
    so.tracker = 7;
    CHECK_FAILS(posenet_stream_create(detector, &so, &stream), POSENET_ERROR_CONFIG, "tracker 7");
    posenet_stream_options_init(&so);
    configs[0].max_poses = 0;
    so.estimation = &configs[0];
    CHECK_FAILS(posenet_stream_create(detector, &so, &stream), POSENET_ERROR_CONFIG, "maxPoses 0");
    configs[0].max_poses = 1;
    configs[0].struct_size = 2;
    CHECK_FAILS(posenet_stream_create(detector, &so, &stream), POSENET_ERROR_INVALID_ARGUMENT, "estimation config: struct_size 2");
    posenet_estimation_config_init(&configs[0]);
    so.struct_size = 3;
    CHECK_FAILS(posenet_stream_create(detector, &so, &stream), POSENET_ERROR_INVALID_ARGUMENT, "stream options: struct_size 3");
    CHECK(stream == NULL);

    /* Results in push order, with the timestamps pushed and the poses of posenet_estimate_poses. */
    for (c = 0; c < 2; ++c) {
        for (i = 0; i < STREAM_FRAMES; ++i) {
            want[i] = NULL;
            CHECK(posenet_estimate_poses(detector, &f.image[i], &configs[c], &want[i]) == POSENET_OK);
            if (!want[i]) return;
        }
        for (n = 0; n < (int)(sizeof in_flight / sizeof in_flight[0]); ++n) {
            posenet_stream_options_init(&so);
            so.estimation = &configs[c];
            so.frames_in_flight = in_flight[n];
            CHECK(posenet_stream_create(detector, &so, &stream) == POSENET_OK);
            if (!stream) continue;
            got = 0;
            for (i = 0; i < STREAM_FRAMES; ++i) {
                CHECK(posenet_stream_push(stream, &f.image[i], 1000 + (int64_t)i * 33333) == POSENET_OK);
                while (posenet_stream_try_next(stream, &r) == POSENET_OK && r) {
                    CHECK(result_is(r, got, 1000 + (int64_t)got * 33333, &f, want));
                    ++got;
                    posenet_frame_result_destroy(r);
                }
            }
            CHECK(posenet_stream_pending(stream) == STREAM_FRAMES - got);
            CHECK(posenet_stream_flush(stream, &list) == POSENET_OK);
            CHECK(list != NULL && list->count == STREAM_FRAMES - got);
            for (i = 0; list && i < list->count; ++i)
                CHECK(result_is(list->results[i], got + i, 1000 + (int64_t)(got + i) * 33333, &f, want));
            posenet_frame_result_list_destroy(list);
            list = NULL;
            CHECK(posenet_stream_pending(stream) == 0);
            posenet_stream_destroy(stream);
            stream = NULL;
        }
        if (c == 1) break; /* want[] stays the multi-pose poses for below */
        for (i = 0; i < STREAM_FRAMES; ++i) posenet_poses_destroy(want[i]);
    }

    /* next waits; flush after a partial pull; a bad frame is refused and takes no index. */
    posenet_stream_options_init(&so);
    so.estimation = &configs[1];
    CHECK(posenet_stream_create(detector, &so, &stream) == POSENET_OK);
    if (stream) {
        CHECK_FAILS(posenet_stream_next(stream, &r), POSENET_ERROR_CONFIG, "no frame pending");
        CHECK(r == NULL);
        CHECK(posenet_stream_try_next(stream, &r) == POSENET_OK && r == NULL);
        bad = f.image[0];
        bad.data = NULL;
        CHECK_FAILS(posenet_stream_push(stream, &bad, 5), POSENET_ERROR_INVALID_ARGUMENT, "data is null");
        bad = f.image[0];
        bad.row_stride_bytes = 10;
        CHECK_FAILS(posenet_stream_push(stream, &bad, 5), POSENET_ERROR_INVALID_ARGUMENT, "row stride 10");
        bad = f.image[0];
        bad.format = 9;
        CHECK_FAILS(posenet_stream_push(stream, &bad, 5), POSENET_ERROR_INVALID_ARGUMENT, "format 9");
        CHECK_FAILS(posenet_stream_push(stream, NULL, 5), POSENET_ERROR_INVALID_ARGUMENT, "frame is NULL");
        CHECK(posenet_stream_pending(stream) == 0);
        for (i = 0; i < 5; ++i) CHECK(posenet_stream_push(stream, &f.image[i], 1000 + (int64_t)i * 33333) == POSENET_OK);
        CHECK(posenet_stream_pending(stream) == 5);
        for (i = 0; i < 2; ++i) {
            CHECK(posenet_stream_next(stream, &r) == POSENET_OK);
            CHECK(result_is(r, i, 1000 + (int64_t)i * 33333, &f, want));
            posenet_frame_result_destroy(r);
            r = NULL;
        }
        CHECK(posenet_stream_pending(stream) == 3);
        CHECK(posenet_stream_flush(stream, &list) == POSENET_OK);
        CHECK(list && list->count == 3 && result_is(list->results[0], 2, 1000 + 2 * 33333, &f, want) &&
              result_is(list->results[2], 4, 1000 + 4 * 33333, &f, want));
        posenet_frame_result_list_destroy(list);
        list = NULL;
        CHECK(posenet_stream_flush(stream, &list) == POSENET_OK && list && list->count == 0 && list->results == NULL);
        posenet_frame_result_list_destroy(list);
        list = NULL;
        /* Destroying a stream with frames in flight drops their results. */
        for (i = 0; i < 3; ++i) CHECK(posenet_stream_push(stream, &f.image[i], 0) == POSENET_OK);
        posenet_stream_destroy(stream);
        stream = NULL;
    }

    /* Callback mode: every result on the stream's thread, in order; next and try_next are refused. */
    {
        collector col;
        memset(&col, 0, sizeof col);
        col.f = &f;
        col.want = want;
        col.in_order = 1;
        posenet_stream_options_init(&so);
        so.estimation = &configs[1];
        so.frames_in_flight = 2;
        so.on_result = on_frame;
        so.on_result_user_data = &col;
        CHECK(posenet_stream_create(detector, &so, &stream) == POSENET_OK);
        if (stream) {
            col.stream = stream;
            for (i = 0; i < 7; ++i) CHECK(posenet_stream_push(stream, &f.image[i], 10 * (int64_t)i) == POSENET_OK);
            CHECK_FAILS(posenet_stream_next(stream, &r), POSENET_ERROR_CONFIG, "callback mode");
            CHECK_FAILS(posenet_stream_try_next(stream, &r), POSENET_ERROR_CONFIG, "callback mode");
            CHECK(posenet_stream_flush(stream, &list) == POSENET_OK && list && list->count == 0);
            posenet_frame_result_list_destroy(list);
            list = NULL;
            CHECK(posenet_stream_pending(stream) == 0);
            CHECK(col.count == 7);
            CHECK(col.in_order);
            CHECK(col.push_status == POSENET_ERROR_CONFIG);
            CHECK(strstr(col.push_error, "from on_result") != NULL);
            posenet_stream_destroy(stream);
            stream = NULL;
        }
    }
    for (i = 0; i < STREAM_FRAMES; ++i) posenet_poses_destroy(want[i]);

    /* Tracking: the same frame over and over keeps its track; smoothing a constant gives it back. */
    {
        posenet_poses* plain = NULL;
        CHECK(posenet_estimate_poses(detector, &f.image[2], NULL, &plain) == POSENET_OK);
        for (c = 0; c < 3; ++c) {
            posenet_stream_options_init(&so);
            so.tracker = c == 2 ? POSENET_TRACKER_KEYPOINT : POSENET_TRACKER_BOUNDING_BOX;
            so.smoothing = c == 1;
            CHECK(posenet_stream_create(detector, &so, &stream) == POSENET_OK);
            if (!stream || !plain) continue;
            for (i = 0; i < 6; ++i) CHECK(posenet_stream_push(stream, &f.image[2], 1000 + (int64_t)i * 40000) == POSENET_OK);
            CHECK(posenet_stream_flush(stream, &list) == POSENET_OK);
            CHECK(list && list->count == 6);
            for (i = 0; list && i < list->count; ++i) {
                const posenet_frame_result* t = list->results[i];
                CHECK(t->status == POSENET_OK && t->poses.count == 1 && t->track_ids != NULL);
                if (t->poses.count != 1 || !t->track_ids) continue;
                if (c < 2) CHECK(t->track_ids[0] == 1); /* one box, the same every frame */
                else CHECK(t->track_ids[0] >= 1);
                for (n = 0; n < POSENET_NUM_KEYPOINTS; ++n) {
                    const float dx = t->poses.poses[0].keypoints[n].x - plain->poses[0].keypoints[n].x;
                    const float dy = t->poses.poses[0].keypoints[n].y - plain->poses[0].keypoints[n].y;
                    CHECK(dx * dx + dy * dy < 1e-6f);
                }
            }
            posenet_frame_result_list_destroy(list);
            list = NULL;
            posenet_stream_destroy(stream);
            stream = NULL;
        }
        posenet_poses_destroy(plain);
    }
    free_frames(&f);
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

    test_streams(detector, &photo->image);

    posenet_poses_destroy(poses);
    posenet_image_destroy(photo);
    posenet_detector_destroy(detector);
    printf("c api: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
