// Video files and V4L2 cameras, demuxed by libavformat (libavdevice's v4l2 input for cameras) and
// decoded by libavcodec.
#pragma once

#include <memory>
#include <string>

#include "tools/video/frame_source.h"

namespace posenet::video {

// A video file, read through the descriptor `fd` (an open regular file; the source takes it over and
// closes it), never reopened by name: libavformat cannot take the name for a protocol ("concat:",
// "http:"), and a container that points at other files or URLs (an HLS playlist, a concat list) is
// refused rather than followed. Decoding is strict: a decoder error, a packet cut short, fewer
// packets than the container lists, or a frame the decoder marks corrupt is an error, not a
// concealed frame. Frames are turned upright as players show them (the stream's display matrix, in
// quarter turns: phone videos recorded sideways). Timestamps are the frames' presentation times
// from the stream's start; a frame without one, or not after the previous one, gets the previous
// time plus one frame at the stream's rate.
std::unique_ptr<FrameSource> open_video_file(const std::string& path, int fd);

// A V4L2 camera (/dev/videoN), asking it for `options.width` x `options.height` and `options.rate`
// where given. A camera that delivers no frame for 10 seconds is an error; an interrupt ends the
// stream.
std::unique_ptr<FrameSource> open_camera(const std::string& device, const SourceOptions& options);

}  // namespace posenet::video
