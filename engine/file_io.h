// Reading untrusted files and writing outputs, one rule each for the whole project:
// - only regular files are read: FIFOs, devices, sockets and directories are refused before any read
//   that could block, and a read never goes past a stated maximum;
// - outputs are written whole to a uniquely named temporary file in the target's folder and renamed
//   into place, so a failure leaves neither a partial file nor a stray temporary behind, and two
//   writers never share a temporary.
// Failures come back as a reason without the file name (callers throw their own error type, naming
// the file and what it was for).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace posenet::engine {

// Opens `path` read-only if it is a regular file; returns the descriptor (close it with ::close), or
// -1 with `why` set ("no such file", "is a FIFO, not a regular file", "permission denied", ...).
// `size` receives the file's size.
int open_regular_file(const std::filesystem::path& path, uint64_t& size, std::string& why);

// The whole file, if it is a regular file of at most max_bytes; else nullopt with `why` set
// ("is a directory, not a regular file", "is 3000000000 bytes, more than the limit of 1073741824", ...).
std::optional<std::vector<uint8_t>> read_regular_file(const std::filesystem::path& path, uint64_t max_bytes,
                                                      std::string& why);

// Why `path` cannot be read as a regular file, or nullopt when it can be opened as one (nothing read).
std::optional<std::string> regular_file_problem(const std::filesystem::path& path);

// Creates an empty file with a fresh name beside `target` (".<name>.<random>.tmp", O_EXCL: never an
// existing file) and returns its descriptor open for writing, with `tmp` set; -1 with `why` set.
int create_unique_temporary(const std::filesystem::path& target, std::filesystem::path& tmp, std::string& why);

// Writes `bytes` to `path` atomically (see above). Returns nullopt on success, else the reason.
std::optional<std::string> write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes);
inline std::optional<std::string> write_file_atomically(const std::filesystem::path& path, const std::string& text) {
    return write_file_atomically(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace posenet::engine
