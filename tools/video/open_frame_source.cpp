// Which source an input is, and opening it.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "engine/file_io.h"
#include "tools/video/byte_reader.h"
#include "tools/video/ffmpeg_error.h"
#include "tools/video/ffmpeg_source.h"
#include "tools/video/frame_source.h"
#include "tools/video/image_folder_source.h"
#include "tools/video/raw_frame_source.h"

namespace posenet::video {

namespace {

constexpr std::string_view kY4mMagic = "YUV4MPEG2 ";

// The signatures posenet::load_image decodes (image.h): JPEG, PNG, binary PNM.
bool looks_like_image(std::string_view head) {
    if (head.size() >= 3 && head.substr(0, 3) == "\xff\xd8\xff") return true;
    if (head.size() >= 8 && head.substr(0, 8) == "\x89PNG\r\n\x1a\n") return true;
    return head.size() >= 3 && head[0] == 'P' && (head[1] == '5' || head[1] == '6') && std::isspace(uint8_t(head[2]));
}

bool is_glob_pattern(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

bool names_a_camera(const std::string& path) {
    if (path.rfind("/dev/video", 0) == 0) return true;
    std::error_code ec;
    auto target = std::filesystem::canonical(path, ec);
    return !ec && target.string().rfind("/dev/video", 0) == 0;
}

const char* file_type_text(mode_t mode) {
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISCHR(mode)) return "a character device";
    return "not a regular file";
}

}  // namespace

void check_frame_size(std::string_view input, int64_t width, int64_t height) {
    const std::string size = std::to_string(width) + "x" + std::to_string(height);
    if (width <= 0 || height <= 0) throw VideoError(input, "frame size " + size + " is not positive");
    if (uint64_t(width) > kMaxImageSide || uint64_t(height) > kMaxImageSide)
        throw VideoError(input, "frames are " + size + ", a side larger than the limit of " + std::to_string(kMaxImageSide) +
                                    " pixels (too large to decode)");
    if (uint64_t(width) * uint64_t(height) > kMaxImagePixels)
        throw VideoError(input, "frames are " + size + " pixels, more than the limit of " + std::to_string(kMaxImagePixels) +
                                    " pixels (too large to decode)");
}

const char* to_string(InputKind kind) {
    switch (kind) {
        case InputKind::Stdin: return "stdin";
        case InputKind::ImageList: return "image list";
        case InputKind::ImageFolder: return "image folder";
        case InputKind::Camera: return "camera";
        case InputKind::VideoFile: return "video file";
    }
    return "?";
}

InputKind classify_inputs(const std::vector<std::string>& inputs) {
    if (inputs.empty()) throw std::invalid_argument("classify_inputs: no input");
    for (const auto& input : inputs)
        if (input == "-" && inputs.size() > 1) throw VideoError("-", "stdin must be the only input");
    if (inputs.size() > 1) return InputKind::ImageList;
    const std::string& input = inputs[0];
    if (input == "-") return InputKind::Stdin;
    struct stat st {};
    if (::stat(input.c_str(), &st) != 0) {
        const int err = errno;
        if (err == ENOENT && is_glob_pattern(input)) return InputKind::ImageList;
        if (err == ENOENT) throw VideoError(input, names_a_camera(input) ? "no such camera" : "no such file");
        throw VideoError(input, err == EACCES ? "permission denied" : std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) return InputKind::ImageFolder;
    if (S_ISREG(st.st_mode)) return InputKind::VideoFile;
    if (S_ISCHR(st.st_mode) && names_a_camera(input)) return InputKind::Camera;
    if (S_ISFIFO(st.st_mode))
        throw VideoError(input, "is a FIFO; named pipes are not opened (one with no writer would block forever): "
                                "pipe the stream to stdin with `-` instead");
    throw VideoError(input, std::string("is ") + file_type_text(st.st_mode) +
                                ", not a video file, an image folder or a V4L2 camera (/dev/video*)");
}

std::unique_ptr<FrameSource> open_frame_source(const std::vector<std::string>& inputs, const SourceOptions& options) {
    capture_ffmpeg_log();
    const InputKind kind = classify_inputs(inputs);
    const std::string& input = inputs[0];
    const bool size_applies = kind == InputKind::Stdin || kind == InputKind::Camera;
    if (options.width > 0 && !size_applies)
        throw VideoError(input, "--size applies to raw RGB24 frames on stdin and to cameras, not to a " +
                                    std::string(to_string(kind)));
    if (options.rate && kind == InputKind::VideoFile)
        throw VideoError(input, "--rate applies to images, frames on stdin and cameras; a video file has its own timing");
    if (options.width > 0) check_frame_size("--size", options.width, options.height);
    const FrameRate rate = options.rate.value_or(kDefaultFrameRate);

    switch (kind) {
        case InputKind::ImageList: {
            if (inputs.size() == 1) return open_image_list(input, glob_files(input), rate);
            std::vector<std::filesystem::path> files(inputs.begin(), inputs.end());
            return open_image_list(input + " and " + std::to_string(inputs.size() - 1) + " more", std::move(files), rate);
        }
        case InputKind::ImageFolder: return open_image_list(input, list_image_files(input), rate);
        case InputKind::Camera: return open_camera(input, options);
        case InputKind::Stdin: {
            if (::isatty(STDIN_FILENO))
                throw VideoError("stdin", "is a terminal; pipe frames in (YUV4MPEG2, or RGB24 with --size WxH)");
            struct stat st {};
            std::optional<uint64_t> size;
            if (::fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)) size = uint64_t(st.st_size);
            auto reader = std::make_unique<ByteReader>(STDIN_FILENO, false, "stdin", size);
            if (options.width > 0) return open_rgb24("stdin", std::move(reader), options.width, options.height, options.rate);
            const std::string head = reader->peek(kY4mMagic.size());
            if (head == kY4mMagic) return open_y4m("stdin", std::move(reader), options.rate);
            if (head.empty()) throw VideoError("stdin", reader->stopped_by_interrupt() ? "interrupted" : "no input (empty)");
            throw VideoError("stdin", "not a YUV4MPEG2 stream (raw RGB24 frames need --size WxH)");
        }
        case InputKind::VideoFile: {
            uint64_t size = 0;
            std::string why;
            const int fd = engine::open_regular_file(input, size, why);
            if (fd < 0) throw VideoError(input, why);
            char head[10] = {};
            const ssize_t got = ::pread(fd, head, sizeof head, 0);
            if (got == 0) {
                ::close(fd);
                throw VideoError(input, "empty file");
            }
            const std::string_view head_bytes(head, size_t(std::max<ssize_t>(got, 0)));
            if (head_bytes == kY4mMagic) return open_y4m(input, std::make_unique<ByteReader>(fd, true, input, size), options.rate);
            if (looks_like_image(head_bytes)) {  // one frame, decoded as `posenet detect` decodes it
                ::close(fd);
                return open_image_list(input, {input}, rate);
            }
            return open_video_file(input, fd);
        }
    }
    throw std::logic_error("open_frame_source: unknown input kind");
}

}  // namespace posenet::video
