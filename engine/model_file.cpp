#include "engine/model_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "engine/blob.h"
#include "engine/file_io.h"
#include "engine/tfjs_model.h"

namespace posenet::engine {

namespace {

bool starts_with_magic(std::span<const uint8_t> head) {
    return head.size() >= sizeof kBlobMagic && std::memcmp(head.data(), kBlobMagic, sizeof kBlobMagic) == 0;
}

// The first non-blank byte (after a UTF-8 byte-order mark), or 0.
uint8_t first_text_byte(std::span<const uint8_t> head) {
    size_t i = head.size() >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF ? 3 : 0;
    while (i < head.size() && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')) ++i;
    return i < head.size() ? head[i] : 0;
}

}  // namespace

Network load_model_file(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return load_tfjs_model(path);
    uint64_t size = 0;
    std::string why;
    int fd = open_regular_file(path, size, why);
    if (fd < 0) throw ModelError(file + ": cannot read the model: " + why);
    uint8_t head[256];
    ssize_t n = ::read(fd, head, sizeof head);
    ::close(fd);
    if (n < 0) throw ModelError(file + ": cannot read the model: " + std::strerror(errno));
    std::span<const uint8_t> start(head, size_t(n));
    if (starts_with_magic(start)) return load_blob(path);
    if (first_text_byte(start) == '{') return load_tfjs_model(path);
    throw ModelError(file + ": not a model: neither a posenet blob (it does not start with PNETBLOB) nor a TF.js "
                            "model.json (it does not start with '{')");
}

Network load_model_bytes(std::span<const uint8_t> bytes, const std::string& name) {
    if (starts_with_magic(bytes)) return load_blob(bytes, name);
    if (first_text_byte(bytes.first(std::min<size_t>(bytes.size(), 256))) == '{')
        throw ModelError(name + ": a TF.js model.json cannot load from memory (its weights are separate files); "
                                "convert it with `posenet convert` and pass the blob");
    throw ModelError(name + ": not a posenet model blob (the bytes do not start with PNETBLOB)");
}

}  // namespace posenet::engine
