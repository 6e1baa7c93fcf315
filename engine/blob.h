// The native model file (`.pnb`): a versioned, checksummed binary blob loadable by mmap.
// Layout: docs/FORMAT.md.
#pragma once

#include <filesystem>
#include <span>
#include <string>

#include "engine/network.h"

namespace posenet::engine {

inline constexpr char kBlobMagic[8] = {'P', 'N', 'E', 'T', 'B', 'L', 'O', 'B'};
inline constexpr uint32_t kBlobVersion = 2;  // 2: the checksum covers the header too
inline constexpr uint64_t kBlobAlignment = 64;

// Writes atomically (engine::write_file_atomically), so a failure leaves nothing behind. Throws
// ModelError naming the file where the network does not validate or the write fails.
void save_blob(const Network& network, const std::filesystem::path& path);

// Maps the file (a regular file only: FIFOs and devices are refused without blocking) and checks
// magic, version, checksum, header sizes, every record against engine/model_limits.h, weight ranges, and
// the output stride against the layers; the returned network's weights point into the mapping.
// Throws ModelError naming the file and the field, record or layer at fault (never a bare
// std:: exception).
Network load_blob(const std::filesystem::path& path);
// The same from a blob in memory (copied); `name` stands for the file in messages.
Network load_blob(std::span<const uint8_t> bytes, const std::string& name);

uint64_t fnv1a64(const void* data, size_t bytes, uint64_t seed = 0xcbf29ce484222325ull);

}  // namespace posenet::engine
