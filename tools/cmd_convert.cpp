#include <cstdio>

#include "engine/blob.h"
#include "engine/tfjs_model.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace posenet::cli {

static const char* kHelp =
    "usage: posenet convert MODEL.json|DIR -o OUT.pnb [--dilations tfjs|trained]\n"
    "\n"
    "Reads a TF.js PoseNet graph model (model.json and its weight shards; float32 or\n"
    "uint8/uint16-quantized) and writes the native model blob (docs/FORMAT.md).\n"
    "  -o OUT.pnb            output file (written atomically)\n"
    "  --dilations tfjs      read dilations as TF.js does: (attr[1], attr[2]) (default; parity)\n"
    "  --dilations trained   read the official [r,r,1,1] atrous dilations as (r, r), as trained\n";

int cmd_convert(int argc, char** argv) {
    Args args(argc, argv);
    if (args.help(kHelp)) return 0;
    std::string out = args.option("-o", args.option("--output"));
    std::string dil = args.option("--dilations", "tfjs");
    auto pos = args.positional();
    if (pos.size() != 1) throw UsageError("expects one model (a model.json or its folder)");
    if (out.empty()) throw UsageError("-o OUT.pnb is required");
    engine::ConvertOptions options;
    if (dil == "trained") options.dilation_reading = engine::DilationReading::Trained;
    else if (dil != "tfjs") throw UsageError("--dilations must be tfjs or trained, got '" + dil + "'");
    engine::Network net = engine::load_tfjs_model(pos[0], options);
    engine::save_blob(net, out);
    std::printf("wrote %s: %s, multiplier %.2f, output stride %d, %zu layers, %llu parameters (source quantBytes %d)\n",
                out.c_str(), engine::to_string(net.architecture), net.multiplier, net.output_stride, net.layers.size(),
                static_cast<unsigned long long>(net.parameter_count()), net.quant_bytes);
    return 0;
}

}  // namespace posenet::cli
