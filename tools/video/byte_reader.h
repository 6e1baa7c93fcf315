// Buffered reading from a descriptor (stdin, a pipe, a regular file) that can look ahead at the
// first bytes, stops at an interrupt, and names the input in its errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace posenet::video {

class ByteReader {
public:
    // Reads `fd`; closes it on destruction when `owns_fd`. `name` is used in messages. `size`: the
    // number of bytes a regular file holds, where known.
    ByteReader(int fd, bool owns_fd, std::string name, std::optional<uint64_t> size = std::nullopt);
    ~ByteReader();
    ByteReader(const ByteReader&) = delete;
    ByteReader& operator=(const ByteReader&) = delete;

    // The next `count` bytes without consuming them (fewer at the end of the input).
    std::string peek(size_t count);
    // Fills `out` with up to `count` bytes; returns how many (fewer only at the end of the input or
    // on an interrupt: see interrupted()). Throws VideoError for a read error.
    size_t read(uint8_t* out, size_t count);
    // The bytes up to a '\n' (consumed, not returned). nullopt at the end of the input before any
    // byte; throws VideoError for a line longer than max_bytes or cut short by the end of the input.
    std::optional<std::string> read_line(size_t max_bytes, const std::string& what);

    const std::string& name() const { return name_; }
    std::optional<uint64_t> size() const { return size_; }
    bool stopped_by_interrupt() const { return interrupted_; }

private:
    bool fill();  // reads more into the buffer; false at the end of the input or on an interrupt
    int fd_;
    bool owns_fd_;
    std::string name_;
    std::optional<uint64_t> size_;
    std::vector<uint8_t> buffer_;
    size_t begin_ = 0, end_ = 0;
    bool at_end_ = false, interrupted_ = false;
};

}  // namespace posenet::video
