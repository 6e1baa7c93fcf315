// Minimal command-line parsing shared by the `posenet` subcommands.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace posenet::cli {

// A usage error: printed with the subcommand's help hint, exit code 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Args {
public:
    Args(int argc, char** argv) {
        for (int i = 0; i < argc; ++i) items_.emplace_back(argv[i]);
    }
    // --help or -h: prints the command's help and returns true.
    bool help(const std::string& text) {
        if (!flag("--help") && !flag("-h")) return false;
        std::fputs(text.c_str(), stdout);
        return true;
    }
    bool flag(const std::string& name) {
        for (size_t i = 0; i < items_.size(); ++i)
            if (items_[i] == name) {
                items_.erase(items_.begin() + long(i));
                return true;
            }
        return false;
    }
    // --name VALUE or --name=VALUE; empty when absent.
    std::string option(const std::string& name, const std::string& fallback = "") {
        for (size_t i = 0; i < items_.size(); ++i) {
            if (items_[i] == name) {
                if (i + 1 >= items_.size()) throw UsageError(name + " needs a value");
                std::string v = items_[i + 1];
                items_.erase(items_.begin() + long(i), items_.begin() + long(i) + 2);
                return v;
            }
            if (items_[i].rfind(name + "=", 0) == 0) {
                std::string v = items_[i].substr(name.size() + 1);
                items_.erase(items_.begin() + long(i));
                return v;
            }
        }
        return fallback;
    }
    // What is left after options were taken; unknown --options are an error.
    std::vector<std::string> positional() const {
        for (const auto& s : items_)
            if (s.size() > 1 && s[0] == '-') throw UsageError("unknown option " + s);
        return items_;
    }

private:
    std::vector<std::string> items_;
};

int parse_int(const std::string& s, const std::string& what);
double parse_double(const std::string& s, const std::string& what);
// "257" -> 257x257, "353x257" -> width 353, height 257.
void parse_resolution(const std::string& s, int& width, int& height);

}  // namespace posenet::cli
