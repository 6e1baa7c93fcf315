// Poses for one photo through the C++ API:   ./estimate MODEL.pnb PHOTO.jpg
#include <posenet/detector.h>

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s MODEL.pnb PHOTO\n", argv[0]);
        return 2;
    }
    try {
        posenet::ModelConfig config;
        config.model = argv[1];
        posenet::PoseDetector detector(config);
        const posenet::Image photo = posenet::load_image(argv[2]);
        for (const posenet::Pose& pose : detector.estimate_poses(photo.view())) {
            std::printf("pose score %.4f\n", pose.score);
            for (const posenet::Keypoint& k : pose.keypoints)
                std::printf("  %-15s x %8.2f  y %8.2f  score %.4f\n", std::string(k.name).c_str(), k.x, k.y, k.score);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
