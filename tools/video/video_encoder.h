// RGB frames into an MP4 file: H.264 by libx264 where Debian's libavcodec has it (it does), else
// libavcodec's own MPEG-4 Part 2 encoder, which every libavcodec build has.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "posenet/image.h"
#include "tools/video/frame_source.h"

namespace posenet::video {

enum class VideoCodec {
    Auto,   // H264 where libx264 is available, else Mpeg4
    H264,   // libx264, CRF 18, preset veryfast; 4:2:0, or 4:4:4 (High 4:4:4) for odd sizes
    Mpeg4,  // libavcodec's mpeg4, quantizer 2; 4:2:0 only: even sizes only
};
const char* to_string(VideoCodec codec);

// Writes an MP4 of width x height frames at `rate` (unknown: kDefaultFrameRate) to `path`, which is
// opened as a plain file (never parsed as a URL). RGB is converted to YUV with BT.709 limited range,
// and the stream is tagged so, so decoders convert it back alike. Throws VideoError naming `name`
// (the file as the user named it) for a codec that is unavailable or cannot take the size, and for
// write errors.
class VideoEncoder {
public:
    VideoEncoder(const std::filesystem::path& path, std::string name, int width, int height, FrameRate rate,
                 VideoCodec codec = VideoCodec::Auto);
    ~VideoEncoder();  // without finish(), the file is left incomplete (the caller removes it)
    VideoEncoder(const VideoEncoder&) = delete;
    VideoEncoder& operator=(const VideoEncoder&) = delete;

    // Encodes one frame shown at `timestamp_us` (from the start), placed on the rate's frame grid:
    // the nearest slot, or the one after the previous frame's if that is taken. The frame must have
    // the encoder's size.
    void write(const Image& frame, int64_t timestamp_us);
    // Flushes the encoder and completes the file.
    void finish();

    const char* codec_name() const;  // "libx264" or "mpeg4"

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace posenet::video
