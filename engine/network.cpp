#include "engine/network.h"

#include <cmath>
#include <string>

namespace posenet::engine {

const char* to_string(LayerKind k) {
    switch (k) {
        case LayerKind::Conv2D: return "conv";
        case LayerKind::DepthwiseConv2D: return "depthwise";
        case LayerKind::MaxPool: return "maxpool";
        case LayerKind::Add: return "add";
    }
    return "?";
}
const char* to_string(Activation a) {
    switch (a) {
        case Activation::None: return "none";
        case Activation::Relu: return "relu";
        case Activation::Relu6: return "relu6";
    }
    return "?";
}
const char* to_string(Padding p) { return p == Padding::Same ? "same" : "valid"; }

SamePad same_padding(int in, int kernel, int stride, int dilation) {
    SamePad p;
    p.out = (in + stride - 1) / stride;
    int effective = (kernel - 1) * dilation + 1;
    int total = std::max((p.out - 1) * stride + effective - in, 0);
    p.before = total / 2;
    p.after = total - p.before;
    return p;
}

uint64_t Network::parameter_count() const {
    uint64_t n = 0;
    for (const Layer& l : layers) n += l.weight_count + l.bias_count;
    return n;
}

static int valid_out(int in, int kernel, int stride, int dilation) {
    int effective = (kernel - 1) * dilation + 1;
    if (in < effective) return 0;
    return (in - effective) / stride + 1;
}

std::vector<LayerGeometry> Network::geometry(int height, int width, int batch) const {
    if (height <= 0 || width <= 0 || batch <= 0)
        throw ModelError("input size " + std::to_string(batch) + "x" + std::to_string(height) + "x" +
                         std::to_string(width) + " is not positive");
    std::vector<TensorShape> shapes(tensor_channels.size());
    shapes[0] = {batch, height, width, tensor_channels.empty() ? 3 : tensor_channels[0]};
    std::vector<LayerGeometry> out;
    out.reserve(layers.size());
    for (const Layer& l : layers) {
        LayerGeometry g;
        g.in = shapes.at(l.input);
        if (g.in.h == 0)
            throw ModelError("layer '" + l.name + "': input tensor " + std::to_string(l.input) + " is not computed yet");
        if (l.kind == LayerKind::Add) {
            const TensorShape& b = shapes.at(l.input2);
            if (b.h != g.in.h || b.w != g.in.w || b.c != g.in.c)
                throw ModelError("layer '" + l.name + "': operands of Add have different shapes");
            g.out = g.in;
            g.macs = g.in.elements();
        } else {
            int ph = g.in.h + l.pad_top + l.pad_bottom, pw = g.in.w + l.pad_left + l.pad_right;
            int oh, ow, st = 0, sb = 0, sl = 0, sr = 0;
            if (l.padding == Padding::Same) {
                SamePad v = same_padding(ph, l.kernel_h, l.stride_h, l.dilation_h);
                SamePad h = same_padding(pw, l.kernel_w, l.stride_w, l.dilation_w);
                oh = v.out, ow = h.out, st = v.before, sb = v.after, sl = h.before, sr = h.after;
            } else {
                oh = valid_out(ph, l.kernel_h, l.stride_h, l.dilation_h);
                ow = valid_out(pw, l.kernel_w, l.stride_w, l.dilation_w);
            }
            if (oh <= 0 || ow <= 0)
                throw ModelError("layer '" + l.name + "': input " + std::to_string(g.in.h) + "x" + std::to_string(g.in.w) +
                                 " is too small for its " + std::to_string(l.kernel_h) + "x" + std::to_string(l.kernel_w) +
                                 " window");
            if (g.in.c != l.in_channels)
                throw ModelError("layer '" + l.name + "': expects " + std::to_string(l.in_channels) + " input channels, gets " +
                                 std::to_string(g.in.c));
            g.out = {batch, oh, ow, l.out_channels};
            g.pad_top = l.pad_top + st, g.pad_bottom = l.pad_bottom + sb;
            g.pad_left = l.pad_left + sl, g.pad_right = l.pad_right + sr;
            g.zero_pad_top = l.pad_top, g.zero_pad_bottom = l.pad_bottom;
            g.zero_pad_left = l.pad_left, g.zero_pad_right = l.pad_right;
            uint64_t window = uint64_t(l.kernel_h) * l.kernel_w;
            uint64_t per_out = l.kind == LayerKind::Conv2D ? window * l.in_channels : window;
            g.macs = g.out.elements() * per_out;
        }
        if (l.input2 >= 0 && l.kind != LayerKind::Add) {
            const TensorShape& r = shapes.at(l.input2);
            if (r.h != g.out.h || r.w != g.out.w || r.c != g.out.c)
                throw ModelError("layer '" + l.name + "': residual input does not match the output shape");
        }
        shapes.at(l.output) = g.out;
        out.push_back(g);
    }
    return out;
}

std::vector<TensorShape> Network::tensor_shapes(int height, int width, int batch) const {
    std::vector<TensorShape> shapes(tensor_channels.size());
    shapes[0] = {batch, height, width, tensor_channels.at(0)};
    auto geo = geometry(height, width, batch);
    for (size_t i = 0; i < layers.size(); ++i) shapes[layers[i].output] = geo[i].out;
    return shapes;
}

void Network::validate() const {
    const int tensors = int(tensor_channels.size());
    if (tensors == 0 || tensor_channels[0] != 3) throw ModelError("network: the input must have 3 channels");
    std::vector<bool> produced(tensors, false);
    produced[0] = true;
    auto check_id = [&](const Layer& l, int id, const char* what) {
        if (id < 0 || id >= tensors || !produced[id])
            throw ModelError("layer '" + l.name + "': " + what + " tensor " + std::to_string(id) + " does not exist before it");
    };
    for (const Layer& l : layers) {
        check_id(l, l.input, "input");
        if (l.kind == LayerKind::Add || l.input2 >= 0) check_id(l, l.input2, "second input");
        if (l.output <= 0 || l.output >= tensors || produced[l.output])
            throw ModelError("layer '" + l.name + "': output tensor " + std::to_string(l.output) + " is invalid or written twice");
        produced[l.output] = true;
        if (tensor_channels[l.output] != l.out_channels)
            throw ModelError("layer '" + l.name + "': channel count disagrees with its output tensor");
        if (l.kind == LayerKind::Conv2D || l.kind == LayerKind::DepthwiseConv2D) {
            uint64_t expect = l.kind == LayerKind::Conv2D
                                  ? uint64_t(l.kernel_h) * l.kernel_w * l.in_channels * l.out_channels
                                  : uint64_t(l.kernel_h) * l.kernel_w * l.out_channels;
            if (l.weight_count != expect)
                throw ModelError("layer '" + l.name + "': filter has " + std::to_string(l.weight_count) + " values, expected " +
                                 std::to_string(expect));
            if (l.bias_count != 0 && l.bias_count != uint64_t(l.out_channels))
                throw ModelError("layer '" + l.name + "': bias has " + std::to_string(l.bias_count) + " values, expected " +
                                 std::to_string(l.out_channels));
            if (l.weight_offset + l.weight_count > weights.size() || l.bias_offset + l.bias_count > weights.size())
                throw ModelError("layer '" + l.name + "': weights lie outside the weight section");
            if (l.kind == LayerKind::DepthwiseConv2D && l.out_channels % l.in_channels != 0)
                throw ModelError("layer '" + l.name + "': depthwise output channels are not a multiple of the input's");
        }
        if (l.kernel_h < 1 || l.kernel_w < 1 || l.stride_h < 1 || l.stride_w < 1 || l.dilation_h < 1 || l.dilation_w < 1 ||
            l.pad_top < 0 || l.pad_bottom < 0 || l.pad_left < 0 || l.pad_right < 0)
            throw ModelError("layer '" + l.name + "': kernel, stride, dilation or pad out of range");
    }
    for (int id : {heatmap, offsets, displacement_fwd, displacement_bwd})
        if (id <= 0 || id >= tensors || !produced[id]) throw ModelError("network: an output tensor is missing");
    if (tensor_channels[heatmap] != 17 || tensor_channels[offsets] != 34 || tensor_channels[displacement_fwd] != 32 ||
        tensor_channels[displacement_bwd] != 32)
        throw ModelError("network: outputs must have 17 (heatmap), 34 (offsets), 32 and 32 (displacements) channels");
    for (size_t i = 0; i < weights.size(); ++i)
        if (!std::isfinite(weights[i])) throw ModelError("network: weight value " + std::to_string(i) + " is not finite");
}

}  // namespace posenet::engine
