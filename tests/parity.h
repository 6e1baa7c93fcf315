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
    double worst_want = 0;       // the reference value where the error is largest
    // max |got - want| / max(1, |want| / 10): absolute up to 10, relative (x10) beyond. Offsets and
    // displacements are pixel distances up to ~100; float32 sums in another order err in proportion.
    double max_scaled = 0;
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
        if (!(e <= d.max_abs)) d.max_abs = e, d.worst_index = i, d.worst_want = want[i];  // NaN counts as worst
        d.max_scaled = std::max(d.max_scaled, e / std::max(1.0, std::fabs(double(want[i])) / 10));
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
        std::snprintf(buf, sizeof buf, " %s max=%.3g (at %.3g) scaled=%.3g norm=%.3g", d.what.c_str(), d.max_abs,
                      d.worst_want, d.max_scaled, d.normalized);
        line += buf;
    }
    std::printf("%s\n", line.c_str());
}

}  // namespace posenet::test
