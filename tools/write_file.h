// Output files of the CLI are written whole to a temporary file and renamed into place, so a failed
// run never leaves a partial file behind.
#pragma once

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace posenet::cli {

inline void write_atomically(const std::filesystem::path& path, const std::string& text) {
    auto tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        out << text;
        if (!out.flush()) {
            std::error_code ec;
            std::filesystem::remove(tmp, ec);
            throw std::runtime_error(path.string() + ": cannot write");
        }
    }
    std::filesystem::rename(tmp, path);
}

}  // namespace posenet::cli
