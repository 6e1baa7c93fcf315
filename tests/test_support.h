// Shared helpers for the test suite: where ../shared and the build live, temp dirs, running the CLI.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace posenet::test {

namespace fs = std::filesystem;

// Under AddressSanitizer freed memory is held in its quarantine and every allocation carries
// redzones and shadow: the resident set says nothing about our memory use, so tests that bound it
// say so and skip that check (their other checks stay).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kRssIsMeaningful = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kRssIsMeaningful = false;
#else
inline constexpr bool kRssIsMeaningful = true;
#endif
#else
inline constexpr bool kRssIsMeaningful = true;
#endif

inline fs::path source_root() { return POSENET_SOURCE_ROOT; }
inline fs::path build_root() { return POSENET_BUILD_ROOT; }

// ../shared beside the checkout (or $POSENET_SHARED_DIR). Tests that need it call require_shared().
inline std::optional<fs::path> shared_dir() {
    if (const char* env = std::getenv("POSENET_SHARED_DIR")) {
        if (fs::is_directory(env)) return fs::path(env);
        return std::nullopt;
    }
    fs::path p = source_root().parent_path() / "shared";
    if (fs::is_directory(p / "models" / "posenet")) return p;
    return std::nullopt;
}

// Prints a clear SKIP line once per reason; returns the shared path or nullopt.
inline std::optional<fs::path> require_shared(const char* what) {
    auto dir = shared_dir();
    if (!dir) std::printf("SKIP %s: ../shared (or $POSENET_SHARED_DIR) is not present\n", what);
    return dir;
}

// A fresh empty directory under the build tree, removed and recreated on each call.
inline fs::path scratch_dir(const std::string& name) {
    fs::path p = build_root() / "test-scratch" / name;
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

struct CommandResult {
    int exit_code;
    std::string output;  // stdout and stderr together
};

// Runs a shell command, capturing its output.
inline CommandResult run_command(const std::string& command) {
    CommandResult r{-1, {}};
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
    int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

inline std::string posenet_cli() { return (build_root() / "tools" / "posenet").string(); }

// Sets an environment variable for the scope (the library's overrides, engine/environment.h), then
// restores what was there.
struct ScopedEnv {
    std::string name, old;
    bool had;
    ScopedEnv(const char* n, const std::string& value) : name(n) {
        const char* o = std::getenv(n);
        had = o != nullptr;
        if (o) old = o;
        setenv(n, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (had) setenv(name.c_str(), old.c_str(), 1);
        else unsetenv(name.c_str());
    }
};

}  // namespace posenet::test
