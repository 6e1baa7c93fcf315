// Still images as frames: a list of image files (given one by one, or a glob's matches), or every
// image in a folder.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tools/video/frame_source.h"

namespace posenet::video {

// The JPEG, PNG and PNM files directly inside `folder` (not its subfolders), chosen by extension
// (.jpg .jpeg .png .ppm .pgm .pnm, any case; other files are skipped), sorted by name byte by byte
// (number frames with leading zeros: frame-0010 after frame-0009). Throws VideoError naming the
// folder when it cannot be listed or holds no such file.
std::vector<std::filesystem::path> list_image_files(const std::filesystem::path& folder);

// The files matching a glob(3) pattern ("frames/*.png"), sorted by name byte by byte. Throws
// VideoError naming the pattern when nothing matches.
std::vector<std::filesystem::path> glob_files(const std::string& pattern);

// Frames from images decoded by posenet::load_image, in the order given; each image is one frame at
// its own size, index / rate apart. `name` names the input in messages (the folder, the pattern).
std::unique_ptr<FrameSource> open_image_list(std::string name, std::vector<std::filesystem::path> files, FrameRate rate);

}  // namespace posenet::video
