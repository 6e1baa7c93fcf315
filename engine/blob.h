// The native model file (`.pnb`): a versioned, checksummed binary blob loadable by mmap.
// Layout: docs/FORMAT.md.
#pragma once

#include <filesystem>
#include <span>
#include <string>

#include "engine/network.h"

namespace posenet::engine {

inline constexpr char kBlobMagic[8] = {'P', 'N', 'E', 'T', 'B', 'L', 'O', 'B'};
inline constexpr uint32_t kBlobVersion = 1;
inline constexpr uint64_t kBlobAlignment = 64;

// Writes atomically: a temporary file in the same folder renamed into place, so a failure
// leaves nothing behind. Throws ModelError naming the file.
void save_blob(const Network& network, const std::filesystem::path& path);

// Maps the file and checks magic, version, sizes and checksum; the returned network's weights
// point into the mapping. Throws ModelError naming the file and what is wrong.
Network load_blob(const std::filesystem::path& path);
// The same from a blob in memory (copied); `name` stands for the file in messages.
Network load_blob(std::span<const uint8_t> bytes, const std::string& name);

uint64_t fnv1a64(const void* data, size_t bytes, uint64_t seed = 0xcbf29ce484222325ull);

}  // namespace posenet::engine
