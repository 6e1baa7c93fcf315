// Image decoding speed: decodes every JPEG and PNG under the given folders from memory (file reads
// excluded) several times and prints, per format, the median over runs of (total decode time / total
// megapixels). docs/PERFORMANCE.md ("Image decoding") has the figures and the command.
//   build/bench/image_decode_speed [--runs N] DIR...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "posenet/image.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    int runs = 7;
    std::vector<fs::path> dirs;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        else dirs.emplace_back(arg);
    }
    if (dirs.empty()) {
        std::fprintf(stderr, "usage: image_decode_speed [--runs N] DIR...\n");
        return 2;
    }
    struct File {
        std::string name;
        std::vector<uint8_t> bytes;
        double megapixels = 0;
    };
    std::map<std::string, std::vector<File>> by_format;  // "JPEG", "PNG"
    for (const auto& dir : dirs)
        for (const auto& entry : fs::directory_iterator(dir)) {
            std::string ext = entry.path().extension().string();
            std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
            const char* format = ext == ".jpg" || ext == ".jpeg" ? "JPEG" : ext == ".png" ? "PNG" : nullptr;
            if (!format) continue;
            std::ifstream in(entry.path(), std::ios::binary);
            File f{entry.path().string(), {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()}, 0};
            const posenet::Image img = posenet::decode_image(f.bytes, f.name);  // warm-up, and the size
            f.megapixels = double(img.width) * double(img.height) / 1e6;
            by_format[format].push_back(std::move(f));
        }
    std::printf("%-5s %6s %9s %12s %12s %12s   (%d runs)\n", "", "files", "MP", "ms/MP med", "ms/MP min", "file MB/s", runs);
    for (const auto& [format, files] : by_format) {
        double megapixels = 0, megabytes = 0;
        for (const auto& f : files) megapixels += f.megapixels, megabytes += double(f.bytes.size()) / 1e6;
        std::vector<double> ms_per_mp;
        for (int r = 0; r < runs; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            size_t checksum = 0;
            for (const auto& f : files) checksum += posenet::decode_image(f.bytes, f.name).pixels.size();
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            if (checksum == 0) std::printf("(no pixels)\n");
            ms_per_mp.push_back(ms / megapixels);
        }
        std::sort(ms_per_mp.begin(), ms_per_mp.end());
        const double median = ms_per_mp[ms_per_mp.size() / 2];
        std::printf("%-5s %6zu %9.2f %12.2f %12.2f %12.1f\n", format.c_str(), files.size(), megapixels, median, ms_per_mp.front(),
                    megabytes / (median * megapixels / 1e3));
    }
    return 0;
}
