#include <cstdio>

#include "engine/model_file.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace posenet::cli {

static const char* kHelp =
    "usage: posenet inspect MODEL.pnb [--input-resolution N|WxH] [--batch N]\n"
    "\n"
    "Prints the model's layers with their shapes for the given input size (default 257),\n"
    "parameters, FLOPs (2 per multiply-add) and activation memory (float32), per layer and in total.\n";

int cmd_inspect(int argc, char** argv) {
    Args args(argc, argv);
    if (args.help(kHelp)) return 0;
    int width = 257, height = 257;
    parse_resolution(args.option("--input-resolution", "257"), width, height);
    int batch = parse_int(args.option("--batch", "1"), "--batch");
    if (batch < 1 || batch > 1024) throw UsageError("--batch must be 1..1024");
    auto pos = args.positional();
    if (pos.size() != 1) throw UsageError("expects one model blob");
    engine::Network net = engine::load_model_file(pos[0]);
    auto geo = net.geometry(height, width, batch);

    std::printf("model: %s\n", pos[0].c_str());
    std::printf("source: %s\n", net.source_name.c_str());
    std::printf("architecture: %s  multiplier: %.2f  output stride: %d  source quantBytes: %d  dilations: %s\n",
                engine::to_string(net.architecture), net.multiplier, net.output_stride, net.quant_bytes,
                net.dilation_reading == engine::DilationReading::Trained ? "trained" : "tfjs");
    std::printf("input: %dx%dx%dx3\n\n", batch, height, width);
    std::printf("%4s %-9s %-58s %5s %3s %5s %-18s %-18s %10s %12s %10s %s\n", "#", "kind", "name", "k", "s", "dil",
                "in", "out", "params", "MFLOPs", "out KiB", "epilogue");
    uint64_t total_flops = 0, total_bytes = 0;
    for (size_t i = 0; i < net.layers.size(); ++i) {
        const auto& l = net.layers[i];
        const auto& g = geo[i];
        char k[16], s[16], d[16], in[32], out[32], epi[64];
        std::snprintf(k, sizeof k, "%dx%d", l.kernel_h, l.kernel_w);
        std::snprintf(s, sizeof s, "%d", l.stride_h);
        std::snprintf(d, sizeof d, "%d,%d", l.dilation_h, l.dilation_w);
        std::snprintf(in, sizeof in, "%dx%dx%d", g.in.h, g.in.w, g.in.c);
        std::snprintf(out, sizeof out, "%dx%dx%d", g.out.h, g.out.w, g.out.c);
        std::snprintf(epi, sizeof epi, "%s%s%s", l.bias_count ? "bias " : "", l.input2 >= 0 && l.kind != engine::LayerKind::Add ? "+residual " : "",
                      engine::to_string(l.activation));
        uint64_t flops = 2 * g.macs, bytes = g.out.elements() * sizeof(float);
        total_flops += flops, total_bytes += bytes;
        std::string name = l.name.size() > 58 ? "..." + l.name.substr(l.name.size() - 55) : l.name;
        std::printf("%4zu %-9s %-58s %5s %3s %5s %-18s %-18s %10llu %12.2f %10.1f %s\n", i, engine::to_string(l.kind),
                    name.c_str(), k, s, d, in, out, static_cast<unsigned long long>(l.weight_count + l.bias_count),
                    flops / 1e6, bytes / 1024.0, epi);
    }
    auto shapes = net.tensor_shapes(height, width, batch);
    const auto& hm = shapes[net.heatmap];
    std::printf("\nlayers: %zu\nparameters: %llu (%.2f MiB float32)\nFLOPs: %.3f G\nactivations: %.2f MiB (sum of all layer outputs)\n",
                net.layers.size(), static_cast<unsigned long long>(net.parameter_count()),
                net.parameter_count() * 4.0 / (1 << 20), total_flops / 1e9, total_bytes / double(1 << 20));
    std::printf("outputs: heatmap %dx%dx17, offsets %dx%dx34, displacements %dx%dx32 (fwd, bwd)\n", hm.h, hm.w, hm.h, hm.w,
                hm.h, hm.w);
    return 0;
}

}  // namespace posenet::cli
