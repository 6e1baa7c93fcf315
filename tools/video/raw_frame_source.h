// Uncompressed frames read from a descriptor: YUV4MPEG2 streams (stdin or a .y4m file, told apart from
// other files by the "YUV4MPEG2 " header) and headerless RGB24 frames of a given size (stdin).
#pragma once

#include <memory>
#include <string>

#include "tools/video/byte_reader.h"
#include "tools/video/frame_source.h"

namespace posenet::video {

// YUV4MPEG2 from `reader` (positioned at the start of the stream). Header: W and H required, each
// within the image limits (checked before anything is allocated); F the frame rate (replaced by
// `rate` where given; absent or 0: kDefaultFrameRate); C one of 420jpeg (the default), 420paldv,
// 420mpeg2, 420 (4:2:0; the chroma siting variants are all upsampled alike), 422, 444, mono; other
// colourspaces (high bit depths, alpha, 4:1:1) are refused, naming them. XCOLORRANGE=FULL|LIMITED
// sets the range (default limited for YUV, full for mono); the matrix is rgb_converter.h's default
// for untagged YUV. Interlacing (I) and aspect (A) are ignored: frames are taken as progressive. A
// frame cut short anywhere (its FRAME line or its planes) is an error, as is a frame header that is
// not "FRAME". Frame times are index / rate.
std::unique_ptr<FrameSource> open_y4m(std::string name, std::unique_ptr<ByteReader> reader, std::optional<FrameRate> rate);

// RGB24 frames (width * height * 3 bytes each, rows top to bottom, no padding) from `reader` until
// its end; a last frame cut short is an error. Frame times are index / rate (default kDefaultFrameRate).
std::unique_ptr<FrameSource> open_rgb24(std::string name, std::unique_ptr<ByteReader> reader, int width, int height,
                                        std::optional<FrameRate> rate);

}  // namespace posenet::video
