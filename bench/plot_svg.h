// `posenet bench --plot`: per-layer figures drawn as one self-contained SVG (no scripts, no fonts,
// no external references), two charts stacked:
//   1. GPU time per layer as horizontal bars, each labelled "index kernel name" (long names keep
//      their end, where layers differ), with the layer's floor (max(FLOPs / peak, bytes / bandwidth))
//      as a tick across its bar;
//   2. a roofline on log-log axes: arithmetic intensity (FLOP per minimum byte) against achieved
//      GFLOP/s, a point per layer labelled with its index (points on the same spot share one label),
//      under the compute ceiling (horizontal) and the bandwidth ceiling (slope), or a note in their
//      place when the ceilings are unknown.
// Bars and points take the colour of their kernel, named in a legend.
// A pure function of its input: no I/O, no locale, the same bytes for the same rows. Every text taken
// from the rows (layer names come from model files) is escaped, and bytes that are not valid UTF-8 or
// not allowed in XML are replaced, so the output is well-formed XML whatever the names hold. Values
// that are zero, negative or not finite are never drawn: a bar without a time says "no time", a point
// that cannot sit on log axes is left out and named in a note below the roofline, so no "nan" or "inf"
// reaches the file.
#pragma once

#include <string>
#include <vector>

namespace posenet::bench {

// One timed step of the network (a fused step counts as one), as `posenet bench` prints it.
struct PlotLayer {
    std::string kernel;     // the kernel that ran it ("depthwise_pointwise_conv")
    std::string name;       // the layer's name from the model file (untrusted text)
    double gpu_us = 0;      // GPU time, microseconds
    double flops = 0;       // floating-point operations
    double min_bytes = 0;   // bytes it has to move at least (inputs + output + weights)
    double floor_us = 0;    // its floor on the device; 0 when the ceilings are unknown
};

struct PlotInput {
    std::string title;     // what ran: model, input size, batch, precision (untrusted text: escaped)
    std::string subtitle;  // where and how: device, model file, runs (escaped too)
    std::vector<PlotLayer> layers;
    double peak_gflops = 0;  // compute ceiling, GFLOP/s; 0: unknown
    double peak_gbps = 0;    // bandwidth ceiling, GB/s; 0: unknown
    std::string ceilings_source;  // where the ceilings come from, for the legend
};

// The SVG document (UTF-8, starting with the XML declaration).
std::string plot_svg(const PlotInput& input);

// `text` made safe as XML character data or an attribute value: &<>"' as entities; tabs and line
// breaks as spaces; bytes that are not valid UTF-8 and characters XML 1.0 does not allow (other
// controls, U+FFFE, U+FFFF) as U+FFFD; at most `max_chars` characters, the last one an ellipsis
// (U+2026) where the text was cut.
std::string xml_escape(const std::string& text, size_t max_chars = std::string::npos);

}  // namespace posenet::bench
