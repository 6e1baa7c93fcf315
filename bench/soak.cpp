// Soak: many frames through one detector's PoseStream, host memory (RSS) sampled as it goes, so a
// leak or a growing cache shows as a slope. Public API only.
//   posenet-soak MODEL FRAMES [--backend auto|cpu|vulkan] [--input-resolution N] [--sizes N]
//                [--samples N] [--json OUT]
// Frames cycle through --sizes different source sizes (synthetic moving pictures), so plan reuse
// across sizes is part of what is soaked. Prints one line per sample: frames, RSS MiB, frames/s.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "posenet/detector.h"
#include "posenet/stream.h"

namespace {

double rss_mib() {
    std::ifstream statm("/proc/self/statm");
    uint64_t size = 0, resident = 0;
    statm >> size >> resident;
    return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

posenet::Image picture(int height, int width, int t) {
    posenet::Image img;
    img.height = height, img.width = width;
    img.pixels.resize(size_t(height) * width * 3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            uint8_t* p = &img.pixels[(size_t(y) * width + x) * 3];
            p[0] = uint8_t(x + t), p[1] = uint8_t(y * 2 + t), p[2] = uint8_t((x ^ y) + 3 * t);
        }
    return img;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: posenet-soak MODEL FRAMES [--backend auto|cpu|vulkan] [--input-resolution N] [--sizes N] "
                             "[--samples N] [--json OUT]\n");
        return 2;
    }
    posenet::ModelConfig config;
    config.model = argv[1];
    const long frames = std::atol(argv[2]);
    posenet::DetectorOptions options;
    int sizes = 4, samples = 20;
    std::string json_out;
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--backend") options.backend = value == "cpu" ? posenet::Backend::Cpu : value == "vulkan" ? posenet::Backend::Vulkan : posenet::Backend::Auto;
        else if (flag == "--input-resolution") config.input_resolution = {std::atoi(value.c_str()), std::atoi(value.c_str())};
        else if (flag == "--sizes") sizes = std::max(1, std::atoi(value.c_str()));
        else if (flag == "--samples") samples = std::max(2, std::atoi(value.c_str()));
        else if (flag == "--json") json_out = value;
        else {
            std::fprintf(stderr, "posenet-soak: unknown option %s\n", flag.c_str());
            return 2;
        }
    }
    if (frames < 1) {
        std::fprintf(stderr, "posenet-soak: FRAMES must be >= 1\n");
        return 2;
    }
    try {
        posenet::PoseDetector detector(config, options);
        std::vector<posenet::Image> pictures;
        for (int s = 0; s < sizes; ++s) pictures.push_back(picture(240 + 37 * s, 320 + 53 * s, s));
        posenet::StreamOptions so;
        so.estimation.max_poses = 5;
        so.estimation.score_threshold = 0.3f;
        so.tracker = posenet::StreamTracker::Keypoint;
        posenet::PoseStream stream(detector, so);
        std::printf("soak: %ld frames, %s on %s, %d source sizes\n", frames, detector.backend_name(), detector.device_name().c_str(), sizes);
        std::string rows;
        const long every = std::max(1L, frames / samples);
        auto t0 = std::chrono::steady_clock::now(), last = t0;
        long taken = 0, poses = 0, last_frames = 0;
        for (long f = 0; f < frames; ++f) {
            stream.push(pictures[size_t(f % sizes)].view(), f * 33333);
            while (auto r = stream.try_next()) {
                if (!r->ok()) throw std::runtime_error(r->error_message);
                poses += long(r->poses.size());
                ++taken;
            }
            if ((f + 1) % every == 0 || f + 1 == frames) {
                const auto now = std::chrono::steady_clock::now();
                const double fps = double(f + 1 - last_frames) / std::chrono::duration<double>(now - last).count();
                std::printf("frames %9ld  rss %8.1f MiB  %8.1f frames/s\n", f + 1, rss_mib(), fps);
                std::fflush(stdout);
                rows += (rows.empty() ? "" : ",") + std::string("{\"frames\":") + std::to_string(f + 1) +
                        ",\"rss_mib\":" + std::to_string(rss_mib()) + ",\"fps\":" + std::to_string(fps) + "}";
                last = now, last_frames = f + 1;
            }
        }
        for (auto& r : stream.flush()) {
            if (!r.ok()) throw std::runtime_error(r.error_message);
            poses += long(r.poses.size());
            ++taken;
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("soak: %ld results, %ld poses, %.1f s, %.1f frames/s\n", taken, poses, seconds, double(taken) / seconds);
        if (!json_out.empty())
            std::ofstream(json_out) << "{\"backend\":\"" << detector.backend_name() << "\",\"frames\":" << frames
                                    << ",\"seconds\":" << seconds << ",\"samples\":[" << rows << "]}\n";
        return taken == frames ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "posenet-soak: %s\n", e.what());
        return 1;
    }
}
