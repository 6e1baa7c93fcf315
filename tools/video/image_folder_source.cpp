#include "tools/video/image_folder_source.h"

#include <glob.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace posenet::video {

namespace {

bool has_image_extension(const std::filesystem::path& file) {
    std::string ext = file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    static constexpr std::array<std::string_view, 6> kExtensions = {".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".pnm"};
    return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

void sort_by_name(std::vector<std::filesystem::path>& files) {
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.native() < b.native(); });
}

class ImageListSource : public FrameSource {
public:
    ImageListSource(std::string name, std::vector<std::filesystem::path> files, FrameRate rate)
        : name_(std::move(name)), files_(std::move(files)), rate_(rate) {}

    bool next(Frame& out) override {
        if (index_ >= int64_t(files_.size())) return false;
        out.image = load_image(files_[size_t(index_)]);  // ImageError names the file
        out.index = index_;
        out.timestamp_us = frame_time_us(index_, rate_);
        ++index_;
        return true;
    }
    std::optional<int64_t> expected_frames() const override { return int64_t(files_.size()); }
    FrameRate frame_rate() const override { return rate_; }
    const std::string& name() const override { return name_; }

private:
    std::string name_;
    std::vector<std::filesystem::path> files_;
    FrameRate rate_;
    int64_t index_ = 0;
};

}  // namespace

std::vector<std::filesystem::path> list_image_files(const std::filesystem::path& folder) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
        if (has_image_extension(it->path())) files.push_back(it->path());
    if (ec) throw VideoError(folder.string(), "cannot list the folder: " + ec.message());
    if (files.empty()) throw VideoError(folder.string(), "no JPEG, PNG or PNM files (.jpg .jpeg .png .ppm .pgm .pnm) in the folder");
    sort_by_name(files);
    return files;
}

std::vector<std::filesystem::path> glob_files(const std::string& pattern) {
    glob_t matches{};
    const int status = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &matches);
    std::vector<std::filesystem::path> files;
    if (status == 0)
        for (size_t i = 0; i < matches.gl_pathc; ++i) files.emplace_back(matches.gl_pathv[i]);
    ::globfree(&matches);
    if (status == GLOB_NOSPACE) throw std::bad_alloc();
    if (status == GLOB_ABORTED) throw VideoError(pattern, "cannot read a folder the pattern goes through");
    if (files.empty()) throw VideoError(pattern, "no file matches the pattern");
    sort_by_name(files);
    return files;
}

std::unique_ptr<FrameSource> open_image_list(std::string name, std::vector<std::filesystem::path> files, FrameRate rate) {
    return std::make_unique<ImageListSource>(std::move(name), std::move(files), rate);
}

}  // namespace posenet::video
