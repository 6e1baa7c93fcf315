// Output files of the CLI appear whole, and only when the run succeeds (engine/file_io.h's rule):
// single files are written atomically; a set of files (overlays) is staged under unique temporary
// names and renamed into place together at the end, or removed if the run fails.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/file_io.h"

namespace posenet::cli {

inline void write_atomically(const std::filesystem::path& path, const std::string& text) {
    if (auto why = engine::write_file_atomically(path, text)) throw std::runtime_error(path.string() + ": cannot write: " + *why);
}

class StagedOutputs {
public:
    StagedOutputs() = default;
    StagedOutputs(const StagedOutputs&) = delete;
    StagedOutputs& operator=(const StagedOutputs&) = delete;
    ~StagedOutputs() {
        for (const auto& [tmp, final_path] : staged_) ::unlink(tmp.c_str());
    }
    // A fresh temporary beside `final_path` for the caller to write; it becomes final_path at commit().
    std::filesystem::path stage(const std::filesystem::path& final_path) {
        std::filesystem::path tmp;
        std::string why;
        int fd = engine::create_unique_temporary(final_path, tmp, why);
        if (fd < 0) throw std::runtime_error(final_path.string() + ": cannot write: " + why);
        ::close(fd);
        staged_.emplace_back(tmp, final_path);
        return tmp;
    }
    void commit() {
        for (const auto& [tmp, final_path] : staged_) {
            std::error_code ec;
            std::filesystem::rename(tmp, final_path, ec);
            if (ec) throw std::runtime_error(final_path.string() + ": cannot write: " + ec.message());
        }
        staged_.clear();
    }

private:
    std::vector<std::pair<std::filesystem::path, std::filesystem::path>> staged_;
};

}  // namespace posenet::cli
