#include "engine/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

namespace posenet::engine {

namespace {

const char* file_type_name(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

std::string errno_text(int err) {
    if (err == ENOENT) return "no such file";
    if (err == EACCES) return "permission denied";
    return std::strerror(err);
}

}  // namespace

int open_regular_file(const std::filesystem::path& path, uint64_t& size, std::string& why) {
    // O_NONBLOCK: opening a FIFO with no writer would otherwise block here.
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        why = errno_text(errno);
        return -1;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        why = errno_text(errno);
        ::close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        why = std::string("is ") + file_type_name(st.st_mode) + ", not a regular file";
        ::close(fd);
        return -1;
    }
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    size = uint64_t(st.st_size);
    return fd;
}

std::optional<std::vector<uint8_t>> read_regular_file(const std::filesystem::path& path, uint64_t max_bytes,
                                                      std::string& why) {
    uint64_t size = 0;
    int fd = open_regular_file(path, size, why);
    if (fd < 0) return std::nullopt;
    if (size > max_bytes) {
        why = "is " + std::to_string(size) + " bytes, more than the limit of " + std::to_string(max_bytes);
        ::close(fd);
        return std::nullopt;
    }
    std::vector<uint8_t> bytes(size);
    uint64_t done = 0;
    while (done < size) {
        ssize_t n = ::read(fd, bytes.data() + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            why = std::string("read failed: ") + std::strerror(errno);
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;  // shrank while we read: keep what is there
        done += uint64_t(n);
    }
    ::close(fd);
    bytes.resize(done);
    return bytes;
}

std::optional<std::string> regular_file_problem(const std::filesystem::path& path) {
    uint64_t size = 0;
    std::string why;
    int fd = open_regular_file(path, size, why);
    if (fd < 0) return why;
    ::close(fd);
    return std::nullopt;
}

int create_unique_temporary(const std::filesystem::path& target, std::filesystem::path& tmp, std::string& why) {
    const std::filesystem::path folder = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    // A fresh name nobody else holds (O_EXCL), in the target's folder so a rename stays on one file
    // system; mode 0666 less the umask, as any new file.
    static std::atomic<uint64_t> counter{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
        uint64_t tag = (uint64_t(::getpid()) << 32) ^ (counter.fetch_add(1) * 0x9e3779b97f4a7c15ull) ^
                       uint64_t(std::random_device{}());
        char suffix[32];
        std::snprintf(suffix, sizeof suffix, ".%016llx.tmp", static_cast<unsigned long long>(tag));
        tmp = folder / ("." + target.filename().string() + suffix);
        int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) return fd;
        if (errno != EEXIST) break;
    }
    why = std::string("cannot create a file in ") + folder.string() + ": " + errno_text(errno);
    tmp.clear();
    return -1;
}

std::optional<std::string> write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return "is a directory";
    std::filesystem::path tmp;
    std::string why;
    int fd = create_unique_temporary(path, tmp, why);
    if (fd < 0) return why;
    auto fail = [&](const std::string& reason) -> std::optional<std::string> {
        ::close(fd);
        ::unlink(tmp.c_str());
        return reason;
    };
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail(std::string("write failed: ") + std::strerror(errno));
        done += size_t(n);
    }
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        return std::string("write failed: ") + std::strerror(errno);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return std::string("cannot rename into place: ") + std::strerror(err);
    }
    return std::nullopt;
}

}  // namespace posenet::engine
