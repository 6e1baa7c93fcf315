#include "tools/video/ffmpeg_error.h"

#include <cstdarg>
#include <cstdio>
#include <mutex>

extern "C" {
#include <libavutil/error.h>
#include <libavutil/log.h>
}

namespace posenet::video {

namespace {

std::mutex log_mutex;
std::string last_logged_error;

void keep_errors(void* /*context*/, int level, const char* format, va_list arguments) {
    if (level > AV_LOG_ERROR) return;
    char line[512];
    std::vsnprintf(line, sizeof line, format, arguments);
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '.')) text.pop_back();
    std::lock_guard lock(log_mutex);
    last_logged_error = text;
}

}  // namespace

void capture_ffmpeg_log() {
    static std::once_flag once;
    std::call_once(once, [] { av_log_set_callback(keep_errors); });
}

std::string ffmpeg_error_text(int code) {
    char text[AV_ERROR_MAX_STRING_SIZE] = {};
    std::string out = av_strerror(code, text, sizeof text) < 0 ? "FFmpeg error " + std::to_string(code) : std::string(text);
    std::string logged;
    {
        std::lock_guard lock(log_mutex);
        logged.swap(last_logged_error);
    }
    if (!logged.empty() && logged != out) out += ": " + logged;
    return out;
}

}  // namespace posenet::video
