/* Poses for one photo through the C API.
 *   cc -std=c99 estimate.c $(pkg-config --cflags --libs posenet) -o estimate
 *   ./estimate MODEL.pnb PHOTO.jpg */
#include <posenet/posenet.h>
#include <stdio.h>

int main(int argc, char** argv) {
    posenet_detector_config config;
    posenet_detector* detector = NULL;
    posenet_loaded_image* photo = NULL;
    posenet_poses* poses = NULL;
    size_t p;
    int k;
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.pnb PHOTO\n", argv[0]);
        return 2;
    }
    posenet_detector_config_init(&config);
    config.model_path = argv[1];
    if (posenet_detector_create(&config, &detector) != POSENET_OK || posenet_image_load(argv[2], &photo) != POSENET_OK ||
        posenet_estimate_poses(detector, &photo->image, NULL, &poses) != POSENET_OK) {
        fprintf(stderr, "error: %s\n", posenet_last_error());
        posenet_image_destroy(photo);
        posenet_detector_destroy(detector);
        return 1;
    }
    for (p = 0; p < poses->count; ++p) {
        printf("pose %zu score %.4f\n", p, poses->poses[p].score);
        for (k = 0; k < POSENET_NUM_KEYPOINTS; ++k) {
            const posenet_keypoint* kp = &poses->poses[p].keypoints[k];
            printf("  %-15s x %8.2f  y %8.2f  score %.4f\n", kp->name, kp->x, kp->y, kp->score);
        }
    }
    posenet_poses_destroy(poses);
    posenet_image_destroy(photo);
    posenet_detector_destroy(detector);
    return 0;
}
