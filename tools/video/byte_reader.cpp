#include "tools/video/byte_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tools/video/frame_source.h"
#include "tools/video/interruption.h"

namespace posenet::video {

namespace {
constexpr size_t kBufferBytes = 1 << 16;
}

ByteReader::ByteReader(int fd, bool owns_fd, std::string name, std::optional<uint64_t> size)
    : fd_(fd), owns_fd_(owns_fd), name_(std::move(name)), size_(size), buffer_(kBufferBytes) {}

ByteReader::~ByteReader() {
    if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

bool ByteReader::fill() {
    if (at_end_ || interrupted_) return false;
    if (begin_ > 0) {  // keep what is unread at the front
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    for (;;) {
        ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
        if (n > 0) {
            end_ += size_t(n);
            return true;
        }
        if (n == 0) {
            at_end_ = true;
            return false;
        }
        if (errno != EINTR) throw VideoError(name_, std::string("read error: ") + std::strerror(errno));
        if (interrupted()) {
            interrupted_ = true;
            return false;
        }
    }
}

std::string ByteReader::peek(size_t count) {
    while (end_ - begin_ < count && fill()) {
    }
    return std::string(reinterpret_cast<const char*>(buffer_.data() + begin_), std::min(count, end_ - begin_));
}

size_t ByteReader::read(uint8_t* out, size_t count) {
    size_t done = 0;
    while (done < count) {
        if (begin_ == end_) {
            if (count - done >= kBufferBytes && !at_end_ && !interrupted_) {
                // Large reads (frame planes) go straight into the caller's memory.
                ssize_t n = ::read(fd_, out + done, count - done);
                if (n > 0) {
                    done += size_t(n);
                    continue;
                }
                if (n == 0) {
                    at_end_ = true;
                    break;
                }
                if (errno != EINTR) throw VideoError(name_, std::string("read error: ") + std::strerror(errno));
                if (interrupted()) {
                    interrupted_ = true;
                    break;
                }
                continue;
            }
            if (!fill()) break;
        }
        size_t n = std::min(count - done, end_ - begin_);
        std::memcpy(out + done, buffer_.data() + begin_, n);
        begin_ += n;
        done += n;
    }
    return done;
}

std::optional<std::string> ByteReader::read_line(size_t max_bytes, const std::string& what) {
    size_t scanned = 0;
    for (;;) {
        const uint8_t* start = buffer_.data() + begin_;
        const size_t available = end_ - begin_;
        if (const void* newline = std::memchr(start + scanned, '\n', available - scanned)) {
            const size_t length = size_t(static_cast<const uint8_t*>(newline) - start);
            if (length > max_bytes) break;
            std::string line(reinterpret_cast<const char*>(start), length);
            begin_ += length + 1;
            return line;
        }
        scanned = available;
        if (scanned > max_bytes) break;
        if (!fill()) {
            if (end_ == begin_ && !interrupted_) return std::nullopt;
            if (interrupted_) return std::nullopt;
            throw VideoError(name_, "truncated: " + what + " is cut short by the end of the input");
        }
    }
    throw VideoError(name_, what + " has no end of line within " + std::to_string(max_bytes) + " bytes");
}

}  // namespace posenet::video
