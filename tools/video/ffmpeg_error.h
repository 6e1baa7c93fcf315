// FFmpeg's errors as text, for messages that name the input. FFmpeg's own log is kept off the
// terminal; the last error it logged is kept to add detail to our message.
#pragma once

#include <string>

namespace posenet::video {

// av_strerror's text for an AVERROR code ("Invalid data found when processing input", ...), followed
// by the last error FFmpeg logged since the previous call, where it adds something ("moov atom not
// found").
std::string ffmpeg_error_text(int code);

// Routes FFmpeg's log into ffmpeg_error_text's memory instead of stderr. Idempotent.
void capture_ffmpeg_log();

}  // namespace posenet::video
