// Comparing tensors: max absolute error and normalized error ||a-b|| / ||b||, printed for the record.
#pragma once

#include <cmath>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

namespace posenet::test {

struct Diff {
    std::string what;
    double max_abs = 0, normalized = 0;
    size_t worst_index = 0;
    bool size_mismatch = false;
};

inline Diff compare(const std::string& what, std::span<const float> got, std::span<const float> want) {
    Diff d{what};
    if (got.size() != want.size()) {
        d.size_mismatch = true;
        d.max_abs = INFINITY;
        return d;
    }
    double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        double e = std::fabs(double(got[i]) - double(want[i]));
        if (!(e <= d.max_abs)) d.max_abs = e, d.worst_index = i;  // NaN counts as worst
        num += e * e;
        den += double(want[i]) * want[i];
    }
    d.normalized = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    return d;
}

// One line per comparison, grep-able from the test log: "PARITY <tag> <case>: what max=.. norm=.."
inline void report(const std::string& tag, const std::string& name, const std::vector<Diff>& diffs) {
    std::string line = "PARITY " + tag + " " + name + ":";
    char buf[160];
    for (const auto& d : diffs) {
        std::snprintf(buf, sizeof buf, " %s max=%.3g norm=%.3g", d.what.c_str(), d.max_abs, d.normalized);
        line += buf;
    }
    std::printf("%s\n", line.c_str());
}

}  // namespace posenet::test
