#include "bench/plot_svg.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

namespace posenet::bench {

namespace {

constexpr double kWidth = 1000;
constexpr double kRowHeight = 18;
constexpr size_t kLabelChars = 54;  // fits the bar chart's label column at 11 px
constexpr size_t kTitleChars = 105;  // one line at 16 px
constexpr size_t kSubtitleChars = 150;
constexpr const char* kFloorColour = "#111";
constexpr const char* kCeilingColour = "#555";

bool positive(double v) { return std::isfinite(v) && v > 0; }

// Numbers in the document, locale-free; never "nan" or "inf" (callers pass finite values; the guard
// keeps that promise should one slip through).
std::string fixed(double v, int decimals) {
    if (!std::isfinite(v)) v = 0;
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
    if (r.ec != std::errc()) return "0";
    return std::string(buf, r.ptr);
}
std::string coord(double v) { return fixed(v, 1); }

// A figure for a reader: three significant digits below 100, whole numbers above.
std::string figure(double v) {
    if (!std::isfinite(v) || v == 0) return "0";
    const double a = std::fabs(v);
    if (a >= 1e15 || (a > 0 && a < 1e-3)) {
        char buf[64];
        auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific, 2);
        return r.ec == std::errc() ? std::string(buf, r.ptr) : "0";
    }
    if (a >= 100) return fixed(v, 0);
    if (a >= 10) return fixed(v, 1);
    if (a >= 1) return fixed(v, 2);
    return fixed(v, 3);
}

// A tick value: the shortest of six significant digits ("0.2", "50000", "2e-05").
std::string tick(double v) {
    if (!std::isfinite(v)) return "0";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 6);
    return r.ec == std::errc() ? std::string(buf, r.ptr) : "0";
}

// 10^k as a tick label.
std::string decade(int k) {
    if (k >= 0 && k <= 5) return std::string("1").append(size_t(k), '0');
    if (k < 0 && k >= -3) return std::string("0.").append(size_t(-k - 1), '0').append("1");
    return std::string("1e").append(std::to_string(k));
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6)), out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18)), out += char(0x80 | ((cp >> 12) & 0x3F)), out += char(0x80 | ((cp >> 6) & 0x3F)),
            out += char(0x80 | (cp & 0x3F));
    }
}

// The code points of `s`; an invalid sequence's first byte as U+FFFD, the decoding going on after it.
std::vector<uint32_t> decode_utf8(const std::string& s) {
    std::vector<uint32_t> cps;
    size_t i = 0;
    while (i < s.size()) {
        const auto b = uint8_t(s[i]);
        size_t len = b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
        uint32_t cp = len == 1 ? b : len == 2 ? b & 0x1Fu : len == 3 ? b & 0x0Fu : b & 0x07u;
        bool ok = len > 0 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; ++k) {
            const auto c = uint8_t(s[i + k]);
            ok = (c & 0xC0) == 0x80;
            cp = (cp << 6) | (c & 0x3Fu);
        }
        static constexpr uint32_t kShortest[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (ok) ok = cp >= kShortest[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        if (!ok) {
            cps.push_back(0xFFFD);
            ++i;
            continue;
        }
        cps.push_back(cp);
        i += len;
    }
    return cps;
}

bool allowed_in_xml(uint32_t cp) {
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
           (cp >= 0x10000 && cp <= 0x10FFFF);
}

// The code points as XML text: the five special characters as entities, tabs and line breaks as
// spaces, what XML does not allow as U+FFFD.
std::string escape_code_points(const std::vector<uint32_t>& cps) {
    std::string out;
    out.reserve(cps.size());
    for (uint32_t cp : cps) {
        switch (cp) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            case '\t': case '\n': case '\r': out += ' '; break;
            default: append_utf8(out, allowed_in_xml(cp) ? cp : 0xFFFD);
        }
    }
    return out;
}

// Nice steps for a linear axis from 0 to at least `max`: 1, 2 or 5 x 10^k, about five of them.
struct LinearAxis {
    double step = 1, max = 1;
    int ticks = 1;
};
LinearAxis linear_axis(double max) {
    LinearAxis a;
    if (!positive(max)) return a;
    const double raw = max / 5;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag * 10;
    for (double m : {1.0, 2.0, 5.0})
        if (mag * m >= raw) {
            step = mag * m;
            break;
        }
    a.step = step;
    a.ticks = int(std::ceil(max / step - 1e-9));
    a.max = step * a.ticks;
    if (!positive(a.max) || a.ticks < 1) a = {max, max, 1};  // at the edge of the double range
    return a;
}

// A log axis over whole decades [lo, hi] (exponents of ten).
struct LogAxis {
    int lo = 0, hi = 1;
    double at(double v, double from, double to) const {  // v > 0, finite
        return from + (std::log10(v) - lo) / double(hi - lo) * (to - from);
    }
};
LogAxis log_axis(const std::vector<double>& values) {
    LogAxis a;
    if (values.empty()) return a;
    double lo = std::log10(values[0]), hi = lo;
    for (double v : values) lo = std::min(lo, std::log10(v)), hi = std::max(hi, std::log10(v));
    a.lo = int(std::floor(lo));
    a.hi = int(std::ceil(hi));
    if (a.hi == a.lo) ++a.hi;
    return a;
}

class Svg {
public:
    std::string out;
    void text(double x, double y, const std::string& escaped, const std::string& attrs = "") {
        out += "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\"" + (attrs.empty() ? "" : " " + attrs) + ">" + escaped +
               "</text>\n";
    }
    void line(double x1, double y1, double x2, double y2, const std::string& attrs) {
        out += "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) + "\" y2=\"" + coord(y2) + "\" " +
               attrs + "/>\n";
    }
};

// Each kernel's colour, in the order the kernels first appear.
class KernelColours {
public:
    explicit KernelColours(const std::vector<PlotLayer>& layers) {
        for (const auto& l : layers)
            if (std::find(kernels_.begin(), kernels_.end(), l.kernel) == kernels_.end()) kernels_.push_back(l.kernel);
    }
    const char* of(const std::string& kernel) const {
        const size_t i = size_t(std::find(kernels_.begin(), kernels_.end(), kernel) - kernels_.begin());
        return kPalette[i % std::size(kPalette)];
    }
    const std::vector<std::string>& kernels() const { return kernels_; }

private:
    static constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                               "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
    std::vector<std::string> kernels_;
};

// "index kernel name" in at most kLabelChars characters; a long name keeps its end (layer names share
// their beginnings: "MobilenetV1/MobilenetV1/Conv2d_...").
std::string layer_label(size_t index, const PlotLayer& l) {
    const std::string head = std::to_string(index) + " " + l.kernel;
    std::vector<uint32_t> label = decode_utf8(head);
    if (label.size() > kLabelChars / 2) label.resize(kLabelChars / 2 - 1), label.push_back(0x2026);
    std::vector<uint32_t> name = decode_utf8(l.name);
    const size_t room = kLabelChars - label.size() - 1;
    if (name.size() > room) {
        name.erase(name.begin(), name.end() - long(room - 1));
        name.insert(name.begin(), 0x2026);
    }
    if (!name.empty()) {
        label.push_back(' ');
        label.insert(label.end(), name.begin(), name.end());
    }
    return escape_code_points(label);
}
std::string full_label(size_t index, const PlotLayer& l) {
    return xml_escape(std::to_string(index) + " " + l.kernel + (l.name.empty() ? "" : " " + l.name));
}

// Swatches with the kernels' names, flowing over lines from (x, y). Returns the y below them.
double kernel_legend(Svg& svg, const KernelColours& colours, double x0, double y, bool circles) {
    double x = x0;
    for (const auto& k : colours.kernels()) {
        const std::string name = xml_escape(k, 32);
        const double w = 26 + 6.5 * double(decode_utf8(k).size() > 32 ? 32 : decode_utf8(k).size());
        if (x + w > kWidth - 10 && x > x0) x = x0, y += 16;
        if (circles)
            svg.out += "<circle cx=\"" + coord(x + 6) + "\" cy=\"" + coord(y - 4) + "\" r=\"4\" fill=\"" + colours.of(k) + "\"/>\n";
        else
            svg.out += "<rect x=\"" + coord(x) + "\" y=\"" + coord(y - 9) + "\" width=\"12\" height=\"10\" fill=\"" + colours.of(k) +
                       "\"/>\n";
        svg.text(x + 16, y, name, "font-size=\"11\"");
        x += w;
    }
    return y + 16;
}

// Chart 1: bars of GPU time, floors as ticks. Returns the y below it.
double bar_chart(Svg& svg, const PlotInput& in, const KernelColours& colours, double top) {
    const double label_right = 380, bars_left = 388, bars_right = kWidth - 90;
    double max_us = 0, sum_us = 0, sum_floor = 0;
    for (const auto& l : in.layers) {
        if (positive(l.gpu_us)) max_us = std::max(max_us, l.gpu_us), sum_us += l.gpu_us;
        if (positive(l.floor_us)) max_us = std::max(max_us, l.floor_us), sum_floor += l.floor_us;
    }
    const LinearAxis axis = linear_axis(max_us);
    auto x_of = [&](double us) { return bars_left + us / axis.max * (bars_right - bars_left); };

    svg.text(10, top + 14, "GPU time per layer, microseconds (median); the black tick is the layer&apos;s floor on this device",
             "font-size=\"13\" font-weight=\"bold\"");
    const bool floors = sum_floor > 0;
    std::string summary = "sum of layer times " + figure(sum_us) + " us";
    summary += floors ? "; sum of floors " + figure(sum_floor) + " us (floor: max(FLOPs / peak, bytes / bandwidth))"
                      : "; no floors: ceilings unknown (pass --peak-gflops/--peak-gbps)";
    svg.text(10, top + 32, summary, "font-size=\"11\" fill=\"#444\"");
    const double rows_top = kernel_legend(svg, colours, 10, top + 50, false) + 2;

    const double rows_bottom = rows_top + kRowHeight * double(in.layers.size());
    for (int t = 0; t <= axis.ticks; ++t) {
        const double v = axis.step * t, x = x_of(std::min(v, axis.max));
        svg.line(x, rows_top, x, rows_bottom, "stroke=\"#ddd\"");
        svg.text(x, rows_bottom + 14, tick(v), "font-size=\"10\" text-anchor=\"middle\"");
    }
    svg.text((bars_left + bars_right) / 2, rows_bottom + 30, "GPU us", "font-size=\"11\" text-anchor=\"middle\"");
    for (size_t k = 0; k < in.layers.size(); ++k) {
        const auto& l = in.layers[k];
        const double y = rows_top + kRowHeight * double(k);
        svg.out += "<g class=\"layer\">\n";
        svg.out += "<title>" + full_label(k, l) + ": " + (positive(l.gpu_us) ? figure(l.gpu_us) + " us" : "no time") +
                   (positive(l.floor_us) ? ", floor " + figure(l.floor_us) + " us" : "") + "</title>\n";
        svg.text(label_right, y + 12.5, layer_label(k, l), "font-size=\"11\" text-anchor=\"end\"");
        if (positive(l.gpu_us)) {
            svg.out += "<rect class=\"bar\" x=\"" + coord(bars_left) + "\" y=\"" + coord(y + 3) + "\" width=\"" +
                       fixed(std::max(0.5, x_of(l.gpu_us) - bars_left), 2) + "\" height=\"12\" fill=\"" + colours.of(l.kernel) +
                       "\"/>\n";
            svg.text(x_of(l.gpu_us) + 4, y + 13, figure(l.gpu_us), "font-size=\"10\"");
        } else {
            svg.text(bars_left + 4, y + 13, "no time", "font-size=\"10\" fill=\"#888\"");
        }
        if (positive(l.floor_us)) {
            const double x = x_of(l.floor_us);
            svg.line(x, y + 1, x, y + 17, std::string("class=\"floor\" stroke=\"") + kFloorColour + "\" stroke-width=\"2.5\"");
        }
        svg.out += "</g>\n";
    }
    svg.line(bars_left, rows_top, bars_left, rows_bottom, "stroke=\"#333\"");
    return rows_bottom + 40;
}

// Chart 2: the roofline. Returns the y below it.
double roofline(Svg& svg, const PlotInput& in, const KernelColours& colours, double top) {
    const double left = 90, right = kWidth - 40, plot_top = top + 44, plot_bottom = plot_top + 440;
    const bool ceilings = positive(in.peak_gflops) && positive(in.peak_gbps) && positive(in.peak_gflops / in.peak_gbps);
    struct Point {
        size_t index;
        double intensity, gflops;
    };
    std::vector<Point> points;
    std::vector<size_t> skipped;
    for (size_t k = 0; k < in.layers.size(); ++k) {
        const auto& l = in.layers[k];
        const double intensity = l.flops / l.min_bytes, gflops = l.flops / l.gpu_us / 1e3;
        if (positive(l.flops) && positive(l.min_bytes) && positive(l.gpu_us) && positive(intensity) && positive(gflops))
            points.push_back({k, intensity, gflops});
        else
            skipped.push_back(k);
    }
    std::vector<double> xs, ys;
    for (const auto& p : points) xs.push_back(p.intensity), ys.push_back(p.gflops);
    const double ridge = ceilings ? in.peak_gflops / in.peak_gbps : 0;  // FLOP/byte where the two ceilings meet
    if (ceilings) xs.push_back(ridge), ys.push_back(in.peak_gflops);
    const LogAxis ax = log_axis(xs), ay = log_axis(ys);
    auto px = [&](double v) { return ax.at(v, left, right); };
    auto py = [&](double v) { return ay.at(v, plot_bottom, plot_top); };

    svg.text(10, top + 14, "Roofline: achieved GFLOP/s against arithmetic intensity (FLOPs / minimum bytes), one point per layer",
             "font-size=\"13\" font-weight=\"bold\"");
    // Decade grid with labels; minor lines at 2..9 when the decades are few enough to see them, and
    // labels at 2 and 5 when there are at most two decades.
    auto grid = [&](const LogAxis& a, bool horizontal) {
        const int span = a.hi - a.lo;
        const int label_every = std::max(1, (span + 11) / 12);
        auto label = [&](double pos, const std::string& s, const char* size) {
            if (horizontal) svg.text(left - 6, pos + 4, s, std::string("font-size=\"") + size + "\" text-anchor=\"end\"");
            else svg.text(pos, plot_bottom + 14, s, std::string("font-size=\"") + size + "\" text-anchor=\"middle\"");
        };
        for (int k = a.lo; k <= a.hi; ++k) {
            const double v = std::pow(10.0, k);
            const double pos = horizontal ? py(v) : px(v);
            if (!std::isfinite(pos)) continue;
            if (horizontal) svg.line(left, pos, right, pos, "stroke=\"#ccc\"");
            else svg.line(pos, plot_top, pos, plot_bottom, "stroke=\"#ccc\"");
            if ((k - a.lo) % label_every == 0) label(pos, decade(k), "10");
            if (k == a.hi || span > 12) continue;
            for (int m = 2; m <= 9; ++m) {
                const double p = horizontal ? py(m * v) : px(m * v);
                if (!std::isfinite(p)) continue;
                if (horizontal) svg.line(left, p, right, p, "stroke=\"#eee\"");
                else svg.line(p, plot_top, p, plot_bottom, "stroke=\"#eee\"");
                if (span <= 2 && (m == 2 || m == 5)) label(p, tick(m * v), "9");
            }
        }
    };
    grid(ax, false);
    grid(ay, true);
    svg.out += "<rect class=\"plot-area\" x=\"" + coord(left) + "\" y=\"" + coord(plot_top) + "\" width=\"" + coord(right - left) +
               "\" height=\"" + coord(plot_bottom - plot_top) + "\" fill=\"none\" stroke=\"#333\"/>\n";
    svg.text((left + right) / 2, plot_bottom + 32, "arithmetic intensity, FLOP/byte", "font-size=\"11\" text-anchor=\"middle\"");
    const double mid_y = (plot_top + plot_bottom) / 2;
    svg.text(24, mid_y, "achieved GFLOP/s",
             "font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 24 " + coord(mid_y) + ")\"");

    double legend_y = plot_bottom + 52;
    if (ceilings) {
        // Bandwidth roof y = gbps * x up to the ridge, from where it enters the plot; compute roof on.
        const double y_floor = std::pow(10.0, ay.lo);
        const double x_start = std::max(std::pow(10.0, ax.lo), y_floor / in.peak_gbps);
        if (x_start < ridge)
            svg.line(px(x_start), py(in.peak_gbps * x_start), px(ridge), py(in.peak_gflops),
                     std::string("class=\"ceiling-bandwidth\" stroke=\"") + kCeilingColour + "\" stroke-width=\"2\"");
        svg.line(px(ridge), py(in.peak_gflops), right, py(in.peak_gflops),
                 std::string("class=\"ceiling-compute\" stroke=\"") + kCeilingColour + "\" stroke-width=\"2\"");
        svg.text(right - 6, py(in.peak_gflops) - 6, figure(in.peak_gflops) + " GFLOP/s", "font-size=\"10\" text-anchor=\"end\"");
        if (x_start < ridge)
            svg.text(px(x_start) + 6, py(in.peak_gbps * x_start) - 8, figure(in.peak_gbps) + " GB/s", "font-size=\"10\"");
        svg.line(10, legend_y - 4, 34, legend_y - 4, std::string("stroke=\"") + kCeilingColour + "\" stroke-width=\"2\"");
        svg.text(40, legend_y,
                 "compute ceiling " + figure(in.peak_gflops) + " GFLOP/s; bandwidth ceiling " + figure(in.peak_gbps) +
                     " GB/s; they meet at " + figure(ridge) + " FLOP/byte" +
                     (in.ceilings_source.empty() ? "" : " (" + xml_escape(in.ceilings_source, 90) + ")"),
                 "font-size=\"11\"");
    } else {
        svg.text(left + 10, plot_top + 20, "ceilings unknown: pass --peak-gflops/--peak-gbps",
                 "class=\"ceilings-unknown\" font-size=\"13\" fill=\"#b00\"");
        svg.text(40, legend_y, "no ceilings drawn: the device's peak and bandwidth are unknown", "font-size=\"11\"");
    }
    legend_y += 18;
    svg.text(10, legend_y, "points: layers, labelled with their index in the chart above (minimum bytes: inputs + output + weights)",
             "font-size=\"11\"");
    legend_y = kernel_legend(svg, colours, 10, legend_y + 18, true) - 16;

    // Points on (nearly) the same spot share one label: "14,16,18".
    struct LabelGroup {
        double x, y;
        std::vector<size_t> indices;
    };
    std::vector<LabelGroup> groups;
    for (const auto& p : points) {
        const double x = px(p.intensity), y = py(p.gflops);
        svg.out += "<g class=\"layer-point\">\n<title>" + full_label(p.index, in.layers[p.index]) + ": " + figure(p.intensity) +
                   " FLOP/byte, " + figure(p.gflops) + " GFLOP/s</title>\n";
        svg.out += "<circle class=\"point\" cx=\"" + coord(x) + "\" cy=\"" + coord(y) + "\" r=\"4\" fill=\"" +
                   colours.of(in.layers[p.index].kernel) + "\" fill-opacity=\"0.85\" stroke=\"#333\" stroke-width=\"0.5\"/>\n";
        svg.out += "</g>\n";
        auto near = std::find_if(groups.begin(), groups.end(), [&](const LabelGroup& g) { return std::hypot(g.x - x, g.y - y) < 5; });
        if (near != groups.end()) near->indices.push_back(p.index);
        else groups.push_back({x, y, {p.index}});
    }
    for (const auto& g : groups) {
        std::string s;
        for (size_t i = 0; i < g.indices.size() && i < 8; ++i) {
            if (i) s += ',';
            s += std::to_string(g.indices[i]);
        }
        if (g.indices.size() > 8) s += ",\xe2\x80\xa6";
        svg.text(g.x + 5, g.y - 4, s, "class=\"point-label\" font-size=\"9\"");
    }
    if (!skipped.empty()) {
        // Listed, so a reader sees what the roofline leaves out (preprocessing moves no counted bytes).
        legend_y += 18;
        std::string list;
        const size_t shown = std::min<size_t>(skipped.size(), 40);
        for (size_t i = 0; i < shown; ++i) {
            if (i) list += ", ";
            list += std::to_string(skipped[i]);
        }
        if (shown < skipped.size()) list += " and " + std::to_string(skipped.size() - shown) + " more";
        svg.text(10, legend_y,
                 "not drawn (no FLOPs, bytes or time to place on log axes): layer" + std::string(skipped.size() > 1 ? "s " : " ") + list,
                 "class=\"skipped\" font-size=\"11\" fill=\"#444\"");
    }
    return legend_y + 16;
}

}  // namespace

std::string xml_escape(const std::string& text, size_t max_chars) {
    std::vector<uint32_t> cps = decode_utf8(text);
    if (max_chars == 0) return "";
    if (cps.size() > max_chars) {
        cps.resize(max_chars - 1);
        cps.push_back(0x2026);
    }
    return escape_code_points(cps);
}

std::string plot_svg(const PlotInput& in) {
    const KernelColours colours(in.layers);
    Svg body;
    body.text(10, 24, xml_escape(in.title, kTitleChars), "font-size=\"16\" font-weight=\"bold\"");
    double y = 28;
    if (!in.subtitle.empty()) body.text(10, y + 16, xml_escape(in.subtitle, kSubtitleChars), "font-size=\"12\" fill=\"#444\""), y += 16;
    y = bar_chart(body, in, colours, y + 12);
    y = roofline(body, in, colours, y + 10);
    const std::string height = fixed(std::ceil(y), 0), width = fixed(kWidth, 0);
    std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + width + "\" height=\"" + height + "\" viewBox=\"0 0 " + width +
           " " + height + "\" font-family=\"sans-serif\">\n";
    svg += "<title>" + xml_escape(in.subtitle.empty() ? in.title : in.title + "; " + in.subtitle) + "</title>\n";
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg += body.out;
    svg += "</svg>\n";
    return svg;
}

}  // namespace posenet::bench
