// A one-line progress report on stderr, rewritten in place ("frame 120/300  24.5 frames/s  ETA 0:07"),
// shown only when stderr is a terminal: logs and pipes get nothing from it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace posenet::video {

class ProgressLine {
public:
    // `unit`: "frame" or "image". Shown when `enabled` (not --quiet) and stderr is a terminal. `total`:
    // the expected count where known (adds "/total" and an ETA).
    ProgressLine(bool enabled, std::string unit, std::optional<int64_t> total);
    ~ProgressLine();  // erases the line if finish() was not called (a failed run: the error follows)

    bool shown() const { return shown_; }
    // `done` items finished; redraws at most ten times a second.
    void update(int64_t done);
    // Erases the line, for other output to the same terminal; the next update draws it again.
    void clear();
    // The final count and rate, then a newline.
    void finish(int64_t done);

private:
    std::string text(int64_t done) const;
    void draw(const std::string& line);

    bool shown_;
    std::string unit_;
    std::optional<int64_t> total_;
    std::chrono::steady_clock::time_point start_, last_draw_;
    bool drawn_ = false, finished_ = false;
};

}  // namespace posenet::video
