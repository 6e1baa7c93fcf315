#include "tools/user_dirs.h"

#include <unistd.h>

#include <cstdlib>

namespace posenet::cli {

namespace {
std::filesystem::path xdg(const char* variable, const char* fallback_under_home) {
    if (const char* v = std::getenv(variable); v && *v) return std::filesystem::path(v) / "posenet";
    if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / fallback_under_home / "posenet";
    return {};
}
}  // namespace

std::filesystem::path user_cache_dir() { return xdg("XDG_CACHE_HOME", ".cache"); }
std::filesystem::path user_data_dir() { return xdg("XDG_DATA_HOME", ".local/share"); }

std::vector<std::filesystem::path> default_model_candidates(std::vector<std::string>* looked) {
    std::vector<std::filesystem::path> out;
    auto add = [&](const std::filesystem::path& p, const std::string& label) {
        out.push_back(p);
        if (looked) looked->push_back(label.empty() ? p.string() : label);
    };
    if (const char* env = std::getenv("POSENET_MODEL"); env && *env) add(env, std::string("$POSENET_MODEL=") + env);
    else if (looked) looked->push_back("$POSENET_MODEL (unset)");
    if (auto data = user_data_dir(); !data.empty()) add(data / "models" / kDefaultModelName, "");
    add(std::filesystem::path(POSENET_DATADIR) / "posenet" / "models" / kDefaultModelName, "");
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = 0;
        auto checkout = std::filesystem::path(buf).parent_path().parent_path().parent_path();
        if (std::filesystem::exists(checkout / "meson.build"))
            add(checkout / ".cache" / "models" / kDefaultModelName, "");
    }
    return out;
}

}  // namespace posenet::cli
