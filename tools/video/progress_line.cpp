#include "tools/video/progress_line.h"

#include <unistd.h>

#include <cstdio>

namespace posenet::video {

namespace {

std::string clock_text(double seconds) {
    const long s = long(seconds + 0.5);
    char text[32];
    if (s >= 3600) std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
    return text;
}

}  // namespace

ProgressLine::ProgressLine(bool enabled, std::string unit, std::optional<int64_t> total)
    : shown_(enabled && ::isatty(STDERR_FILENO)), unit_(std::move(unit)), total_(total),
      start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() {
    if (!finished_) clear();
}

std::string ProgressLine::text(int64_t done) const {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = elapsed > 0 ? double(done) / elapsed : 0.0;
    std::string line = unit_ + " " + std::to_string(done);
    if (total_ && *total_ > 0) line.append("/").append(std::to_string(*total_));
    char rate_text[48];
    std::snprintf(rate_text, sizeof rate_text, "  %.1f %ss/s", rate, unit_.c_str());
    line += rate_text;
    if (total_ && *total_ > done && rate > 0) line += "  ETA " + clock_text(double(*total_ - done) / rate);
    return line;
}

void ProgressLine::draw(const std::string& line) {
    // \r back to the start, \x1b[K erases what a longer previous line left.
    std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
    std::fflush(stderr);
    drawn_ = true;
}

void ProgressLine::update(int64_t done) {
    if (!shown_) return;
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    draw(text(done));
}

void ProgressLine::clear() {
    if (!shown_ || !drawn_) return;
    std::fputs("\r\x1b[K", stderr);
    std::fflush(stderr);
    drawn_ = false;
}

void ProgressLine::finish(int64_t done) {
    finished_ = true;
    if (!shown_) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    char tail[64];
    std::snprintf(tail, sizeof tail, " in %s", clock_text(elapsed).c_str());
    std::string line = unit_ + "s: " + std::to_string(done) + tail;
    char rate_text[48];
    std::snprintf(rate_text, sizeof rate_text, "  %.1f %ss/s", elapsed > 0 ? double(done) / elapsed : 0.0, unit_.c_str());
    draw(line + rate_text);
    std::fputc('\n', stderr);
    std::fflush(stderr);
}

}  // namespace posenet::video
