// Where `posenet video` gets its frames: a video file or a V4L2 camera (FFmpeg), a list or folder of
// images (posenet::load_image), or raw frames on stdin (YUV4MPEG2, or RGB24 of a given size). Each
// source hands out owned RGB8 frames one at a time, with an index and a presentation time.
//
// This folder (tools/video/) is the CLI's: the core library has no FFmpeg dependency.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "posenet/image.h"

namespace posenet::video {

// A failure reading, decoding or encoding a video; what() is "INPUT: reason" (stdin is named "stdin").
struct VideoError : std::runtime_error {
    VideoError(std::string_view input, std::string_view reason);
};

// Frames per second as a fraction (30000/1001 for NTSC); 0/1 when unknown.
struct FrameRate {
    int num = 0, den = 1;
    bool known() const { return num > 0 && den > 0; }
    double fps() const { return known() ? double(num) / double(den) : 0.0; }
};

// Rates a video can sensibly have: above 0.001 and at most 1000 frames a second. Streams that state
// another are taken as stating none; --rate and YUV4MPEG2 headers outside it are refused.
inline bool is_plausible(FrameRate rate) { return rate.known() && rate.fps() > 1e-3 && rate.fps() <= 1000; }

// Frames of sources with no timing of their own (images, RGB24) are this far apart unless --rate says.
inline constexpr FrameRate kDefaultFrameRate{30, 1};

// The start time of frame `index` at a constant `rate`, in microseconds, rounded to nearest.
int64_t frame_time_us(int64_t index, FrameRate rate);

struct Frame {
    Image image;               // RGB8, tightly packed, at the frame's own size
    int64_t index = 0;         // 0, 1, 2, ... in presentation order
    int64_t timestamp_us = 0;  // from the start of the input; strictly increasing
};

class FrameSource {
public:
    virtual ~FrameSource() = default;
    // Fills `frame` with the next frame (its pixel storage may be reused); false at the end of the input.
    // Throws VideoError (or posenet::ImageError for an image) naming the input and what is wrong: a
    // read error, truncated or corrupt data, a frame larger than posenet::kMaxImagePixels or
    // kMaxImageSide. Interrupted by a signal (tools/video/interruption.h) while it waits for data, it
    // returns false.
    virtual bool next(Frame& frame) = 0;
    // How many frames the input says it holds (an image list, a container's count or its duration
    // times its rate, a regular YUV4MPEG2 file's size), for progress; nullopt for streams and cameras.
    virtual std::optional<int64_t> expected_frames() const = 0;
    // The input's frame rate (a container's average, a YUV4MPEG2 header's, --rate or the default
    // for the others); unknown only where a container states none.
    virtual FrameRate frame_rate() const = 0;
    // A source with no end of its own (a camera): an interrupt ends its stream rather than the run.
    virtual bool is_live() const { return false; }
    // The input as the user named it ("stdin" for -), for messages.
    virtual const std::string& name() const = 0;
};

// What a named input is, from the file system alone (nothing is read).
enum class InputKind {
    Stdin,        // "-": YUV4MPEG2 (recognised by its header) or RGB24 frames with --size
    ImageList,    // several inputs, or a glob pattern: images in the order given (a glob's: name order)
    ImageFolder,  // a directory: its JPEG/PNG/PNM files (by extension), in name order
    Camera,       // a character device named /dev/video* (also through a symlink): V4L2, through libavdevice
    VideoFile,    // a regular file: YUV4MPEG2 (by its header), a JPEG/PNG/PNM image (by its signature: one
                  // frame, decoded as posenet::load_image does), or anything libavformat opens
};
const char* to_string(InputKind kind);

// The kind of `inputs` (the command's positional arguments). Throws VideoError for an input that is
// none of the above: missing ("no such file"; "no such camera" for /dev/video*), a FIFO (refused:
// a named pipe may have no writer and block forever; pipe the stream to stdin as `-` instead), a
// socket, a block device or another character device, a glob that matches nothing, "-" beside other
// inputs.
InputKind classify_inputs(const std::vector<std::string>& inputs);

struct SourceOptions {
    // RGB24 frames on stdin: their size (required there); a camera: the size to ask it for.
    int width = 0, height = 0;
    // Images and RGB24 frames: their rate (default kDefaultFrameRate); a YUV4MPEG2 stream on stdin:
    // replaces the header's; a camera: the rate to ask it for. Video files keep their own timing.
    std::optional<FrameRate> rate;
};

// Opens the frame source for `inputs` (see InputKind). Throws VideoError naming the input: unreadable,
// not a video, no video stream, an unsupported YUV4MPEG2 colourspace, a header claiming a frame
// larger than the image limits, no such camera; and for options that do not apply to the input kind
// (--size for files and images, --rate for a video file).
std::unique_ptr<FrameSource> open_frame_source(const std::vector<std::string>& inputs, const SourceOptions& options);

// Throws VideoError naming `input` unless width x height is a frame posenet::load_image would accept:
// both positive, each at most kMaxImageSide, their product at most kMaxImagePixels.
void check_frame_size(std::string_view input, int64_t width, int64_t height);

}  // namespace posenet::video
