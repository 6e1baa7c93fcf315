#include "engine/network.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "engine/model_limits.h"

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

namespace {

std::string layer_name(const Layer& l) { return "layer '" + l.name + "'"; }

void check_range(const Layer& l, const char* what, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
        throw ModelError(layer_name(l) + ": " + what + " " + std::to_string(v) + " is out of range " + std::to_string(lo) + ".." +
                         std::to_string(hi));
}

// The layer's own values against engine/model_limits.h: after this, no window, stride or pad arithmetic on
// them overflows an int. Throws ModelError naming the layer.
void check_layer_attributes(const Layer& l) {
    const auto kind = uint32_t(l.kind), activation = uint32_t(l.activation), padding = uint32_t(l.padding);
    if (kind < 1 || kind > 4) throw ModelError(layer_name(l) + ": unknown kind " + std::to_string(kind));
    if (activation > 2) throw ModelError(layer_name(l) + ": unknown activation " + std::to_string(activation));
    if (padding > 1) throw ModelError(layer_name(l) + ": unknown padding " + std::to_string(padding));
    check_range(l, "kernel height", l.kernel_h, 1, limits::kMaxKernelSize);
    check_range(l, "kernel width", l.kernel_w, 1, limits::kMaxKernelSize);
    check_range(l, "stride height", l.stride_h, 1, limits::kMaxStride);
    check_range(l, "stride width", l.stride_w, 1, limits::kMaxStride);
    check_range(l, "dilation height", l.dilation_h, 1, limits::kMaxDilation);
    check_range(l, "dilation width", l.dilation_w, 1, limits::kMaxDilation);
    check_range(l, "pad top", l.pad_top, 0, limits::kMaxExplicitPad);
    check_range(l, "pad bottom", l.pad_bottom, 0, limits::kMaxExplicitPad);
    check_range(l, "pad left", l.pad_left, 0, limits::kMaxExplicitPad);
    check_range(l, "pad right", l.pad_right, 0, limits::kMaxExplicitPad);
    check_range(l, "input channels", l.in_channels, 1, limits::kMaxChannels);
    check_range(l, "output channels", l.out_channels, 1, limits::kMaxChannels);
}

// TF's Valid output size along one axis; 0 where the window does not fit. Arguments within limits.
int64_t valid_out(int64_t in, int64_t kernel, int64_t stride, int64_t dilation) {
    const int64_t effective = (kernel - 1) * dilation + 1;
    if (in < effective) return 0;
    return (in - effective) / stride + 1;
}

}  // namespace

SamePad same_padding(int in, int kernel, int stride, int dilation) {
    if (in < 1 || in > limits::kMaxTensorSide || kernel < 1 || kernel > limits::kMaxKernelSize || stride < 1 ||
        stride > limits::kMaxStride || dilation < 1 || dilation > limits::kMaxDilation)
        throw ModelError("Same padding of a window of " + std::to_string(kernel) + " taps (stride " + std::to_string(stride) +
                         ", dilation " + std::to_string(dilation) + ") over " + std::to_string(in) +
                         " cells is outside the limits");
    const int64_t out = (int64_t(in) + stride - 1) / stride;
    const int64_t effective = int64_t(kernel - 1) * dilation + 1;
    const int64_t total = std::max<int64_t>((out - 1) * stride + effective - in, 0);
    return {int(out), int(total / 2), int(total - total / 2)};
}

uint64_t Network::parameter_count() const {
    uint64_t n = 0;
    for (const Layer& l : layers) n += l.weight_count + l.bias_count;
    return n;
}

std::vector<LayerGeometry> Network::geometry(int height, int width, int batch) const {
    if (height < 1 || width < 1 || batch < 1 || height > limits::kMaxInputSide || width > limits::kMaxInputSide ||
        batch > limits::kMaxBatch)
        throw ModelError("input size " + std::to_string(batch) + "x" + std::to_string(height) + "x" + std::to_string(width) +
                         " is out of range (height and width 1.." + std::to_string(limits::kMaxInputSide) + ", batch 1.." +
                         std::to_string(limits::kMaxBatch) + ")");
    if (tensor_channels.empty() || tensor_channels[0] < 1 || tensor_channels[0] > limits::kMaxChannels)
        throw ModelError("network: the input tensor is missing or has no valid channel count");
    const size_t tensors = tensor_channels.size();
    std::vector<TensorShape> shapes(tensors);
    shapes[0] = {batch, height, width, tensor_channels[0]};
    std::vector<LayerGeometry> out;
    out.reserve(layers.size());
    for (const Layer& l : layers) {
        check_layer_attributes(l);
        auto computed = [&](int id, const char* what) -> const TensorShape& {
            if (id < 0 || size_t(id) >= tensors || shapes[size_t(id)].h == 0)
                throw ModelError(layer_name(l) + ": " + what + " tensor " + std::to_string(id) + " is not computed yet");
            return shapes[size_t(id)];
        };
        if (l.output <= 0 || size_t(l.output) >= tensors)
            throw ModelError(layer_name(l) + ": output tensor " + std::to_string(l.output) + " does not exist");
        LayerGeometry g;
        g.in = computed(l.input, "input");
        if (l.kind == LayerKind::Add) {
            const TensorShape& b = computed(l.input2, "second input");
            if (b.h != g.in.h || b.w != g.in.w || b.c != g.in.c)
                throw ModelError(layer_name(l) + ": operands of Add have different shapes");
            g.out = g.in;
            g.macs = g.in.elements();
        } else {
            // Sizes are at most kMaxTensorSide and the attributes within limits: int64 never overflows.
            const int64_t ph = int64_t(g.in.h) + l.pad_top + l.pad_bottom, pw = int64_t(g.in.w) + l.pad_left + l.pad_right;
            if (ph > limits::kMaxTensorSide || pw > limits::kMaxTensorSide)
                throw ModelError(layer_name(l) + ": its padded input " + std::to_string(ph) + "x" + std::to_string(pw) +
                                 " exceeds the limit of " + std::to_string(limits::kMaxTensorSide) + " a side");
            int64_t oh, ow;
            int st = 0, sb = 0, sl = 0, sr = 0;
            if (l.padding == Padding::Same) {
                SamePad v = same_padding(int(ph), l.kernel_h, l.stride_h, l.dilation_h);
                SamePad h = same_padding(int(pw), l.kernel_w, l.stride_w, l.dilation_w);
                oh = v.out, ow = h.out, st = v.before, sb = v.after, sl = h.before, sr = h.after;
            } else {
                oh = valid_out(ph, l.kernel_h, l.stride_h, l.dilation_h);
                ow = valid_out(pw, l.kernel_w, l.stride_w, l.dilation_w);
            }
            if (oh <= 0 || ow <= 0)
                throw ModelError(layer_name(l) + ": input " + std::to_string(g.in.h) + "x" + std::to_string(g.in.w) +
                                 " is too small for its " + std::to_string(l.kernel_h) + "x" + std::to_string(l.kernel_w) +
                                 " window");
            if (g.in.c != l.in_channels)
                throw ModelError(layer_name(l) + ": expects " + std::to_string(l.in_channels) + " input channels, gets " +
                                 std::to_string(g.in.c));
            g.out = {batch, int(oh), int(ow), l.out_channels};
            g.pad_top = l.pad_top + st, g.pad_bottom = l.pad_bottom + sb;
            g.pad_left = l.pad_left + sl, g.pad_right = l.pad_right + sr;
            g.zero_pad_top = l.pad_top, g.zero_pad_bottom = l.pad_bottom;
            g.zero_pad_left = l.pad_left, g.zero_pad_right = l.pad_right;
            const uint64_t window = uint64_t(l.kernel_h) * uint64_t(l.kernel_w);
            const uint64_t per_out = l.kind == LayerKind::Conv2D ? window * uint64_t(l.in_channels) : window;
            g.macs = g.out.elements() * per_out;  // < 2^31 elements x 2^24: no overflow
        }
        // Each factor is within limits, so the product fits in 64 bits before it is compared.
        if (g.out.elements() > limits::kMaxTensorElements)
            throw ModelError(layer_name(l) + ": its output " + std::to_string(g.out.n) + "x" + std::to_string(g.out.h) + "x" +
                             std::to_string(g.out.w) + "x" + std::to_string(g.out.c) + " has more than " +
                             std::to_string(limits::kMaxTensorElements) + " elements");
        if (l.input2 >= 0 && l.kind != LayerKind::Add) {
            const TensorShape& r = computed(l.input2, "residual");
            if (r.h != g.out.h || r.w != g.out.w || r.c != g.out.c)
                throw ModelError(layer_name(l) + ": residual input does not match the output shape");
        }
        shapes[size_t(l.output)] = g.out;
        out.push_back(g);
    }
    return out;
}

std::vector<TensorShape> Network::tensor_shapes(int height, int width, int batch) const {
    auto geo = geometry(height, width, batch);  // checks the sizes and the input tensor
    std::vector<TensorShape> shapes(tensor_channels.size());
    shapes[0] = {batch, height, width, tensor_channels[0]};
    for (size_t i = 0; i < layers.size(); ++i) shapes[size_t(layers[i].output)] = geo[i].out;
    return shapes;
}

void Network::validate() const {
    // The model record.
    const auto arch = uint32_t(architecture), transform = uint32_t(input_transform), reading = uint32_t(dilation_reading);
    if (arch < 1 || arch > 2) throw ModelError("network: unknown architecture " + std::to_string(arch));
    if (transform < 1 || transform > 2) throw ModelError("network: unknown input_transform " + std::to_string(transform));
    if (reading > 1) throw ModelError("network: unknown dilation_reading " + std::to_string(reading));
    if (quant_bytes != 1 && quant_bytes != 2 && quant_bytes != 4)
        throw ModelError("network: quant_bytes " + std::to_string(quant_bytes) + " is not 1, 2 or 4");
    if (!std::isfinite(multiplier) || multiplier <= 0.0f)
        throw ModelError("network: multiplier " + std::to_string(multiplier) + " is not a positive number");
    if (output_stride < 1 || output_stride > limits::kMaxOutputStride)
        throw ModelError("network: output_stride " + std::to_string(output_stride) + " is out of range 1.." +
                         std::to_string(limits::kMaxOutputStride));
    if (source_name.size() > limits::kMaxNameBytes) throw ModelError("network: the source name is too long");

    if (tensor_channels.empty() || tensor_channels.size() > size_t(limits::kMaxTensors) ||
        layers.size() > size_t(limits::kMaxLayers))
        throw ModelError("network: " + std::to_string(tensor_channels.size()) + " tensors and " +
                         std::to_string(layers.size()) + " layers; the limits are 1.." + std::to_string(limits::kMaxTensors) +
                         " and " + std::to_string(limits::kMaxLayers));
    const int tensors = int(tensor_channels.size());
    if (tensor_channels[0] != 3) throw ModelError("network: the input must have 3 channels");
    for (int t = 0; t < tensors; ++t)
        if (tensor_channels[size_t(t)] < 1 || tensor_channels[size_t(t)] > limits::kMaxChannels)
            throw ModelError("network: tensor " + std::to_string(t) + " has " + std::to_string(tensor_channels[size_t(t)]) +
                             " channels (must be 1.." + std::to_string(limits::kMaxChannels) + ")");
    if (weights.size() > limits::kMaxWeightCount)
        throw ModelError("network: " + std::to_string(weights.size()) + " weights, more than the limit of " +
                         std::to_string(limits::kMaxWeightCount));

    std::vector<bool> produced(size_t(tensors), false);
    produced[0] = true;
    auto check_id = [&](const Layer& l, int id, const char* what) {
        if (id < 0 || id >= tensors || !produced[size_t(id)])
            throw ModelError(layer_name(l) + ": " + what + " tensor " + std::to_string(id) + " does not exist before it");
    };
    auto check_no_weights = [](const Layer& l) {
        if (l.weight_count != 0 || l.bias_count != 0) throw ModelError(layer_name(l) + ": a " + to_string(l.kind) + " has no weights");
    };
    for (const Layer& l : layers) {
        if (l.name.size() > limits::kMaxNameBytes) throw ModelError("network: a layer name is longer than the limit");
        check_layer_attributes(l);  // channels >= 1 from here on: no division by zero below
        check_id(l, l.input, "input");
        if (l.kind == LayerKind::Add || l.input2 >= 0) check_id(l, l.input2, "second input");
        if (l.output <= 0 || l.output >= tensors || produced[size_t(l.output)])
            throw ModelError(layer_name(l) + ": output tensor " + std::to_string(l.output) + " is invalid or written twice");
        produced[size_t(l.output)] = true;
        if (tensor_channels[size_t(l.output)] != l.out_channels)
            throw ModelError(layer_name(l) + ": channel count disagrees with its output tensor");
        if (tensor_channels[size_t(l.input)] != l.in_channels)
            throw ModelError(layer_name(l) + ": expects " + std::to_string(l.in_channels) + " input channels, its input has " +
                             std::to_string(tensor_channels[size_t(l.input)]));
        switch (l.kind) {
            case LayerKind::Conv2D:
            case LayerKind::DepthwiseConv2D: {
                if (l.kind == LayerKind::DepthwiseConv2D && l.out_channels % l.in_channels != 0)
                    throw ModelError(layer_name(l) + ": depthwise output channels are not a multiple of the input's");
                // Factors within limits: at most 2^5 * 2^5 * 2^14 * 2^14, no overflow.
                const uint64_t window = uint64_t(l.kernel_h) * uint64_t(l.kernel_w);
                const uint64_t expect = l.kind == LayerKind::Conv2D
                                            ? window * uint64_t(l.in_channels) * uint64_t(l.out_channels)
                                            : window * uint64_t(l.out_channels);
                if (l.weight_count != expect)
                    throw ModelError(layer_name(l) + ": filter has " + std::to_string(l.weight_count) + " values, expected " +
                                     std::to_string(expect));
                if (l.bias_count != 0 && l.bias_count != uint64_t(l.out_channels))
                    throw ModelError(layer_name(l) + ": bias has " + std::to_string(l.bias_count) + " values, expected " +
                                     std::to_string(l.out_channels));
                if (!limits::range_fits(l.weight_offset, l.weight_count, weights.size()))
                    throw ModelError(layer_name(l) + ": its filter (weight_offset " + std::to_string(l.weight_offset) +
                                     ", " + std::to_string(l.weight_count) + " values) lies outside the " +
                                     std::to_string(weights.size()) + " weights");
                if (!limits::range_fits(l.bias_offset, l.bias_count, weights.size()))
                    throw ModelError(layer_name(l) + ": its bias (bias_offset " + std::to_string(l.bias_offset) + ", " +
                                     std::to_string(l.bias_count) + " values) lies outside the " +
                                     std::to_string(weights.size()) + " weights");
                if (l.input2 >= 0 && tensor_channels[size_t(l.input2)] != l.out_channels)
                    throw ModelError(layer_name(l) + ": its residual has a different channel count");
                break;
            }
            case LayerKind::MaxPool:
                check_no_weights(l);
                if (l.out_channels != l.in_channels || l.input2 >= 0)
                    throw ModelError(layer_name(l) + ": a max pool keeps its channels and takes one input");
                break;
            case LayerKind::Add:
                check_no_weights(l);
                if (l.out_channels != l.in_channels || tensor_channels[size_t(l.input2)] != l.in_channels)
                    throw ModelError(layer_name(l) + ": operands of Add have different channel counts");
                break;
        }
    }
    for (int id : {heatmap, offsets, displacement_fwd, displacement_bwd})
        if (id <= 0 || id >= tensors || !produced[size_t(id)]) throw ModelError("network: an output tensor is missing");
    if (tensor_channels[size_t(heatmap)] != 17 || tensor_channels[size_t(offsets)] != 34 ||
        tensor_channels[size_t(displacement_fwd)] != 32 || tensor_channels[size_t(displacement_bwd)] != 32)
        throw ModelError("network: outputs must have 17 (heatmap), 34 (offsets), 32 and 32 (displacements) channels");
    for (size_t i = 0; i < weights.size(); ++i)
        if (!std::isfinite(weights[i])) throw ModelError("network: weight value " + std::to_string(i) + " is not finite");
}

int Network::implied_output_stride() const {
    const size_t tensors = tensor_channels.size();
    std::vector<int> producer(tensors, -1);
    for (size_t i = 0; i < layers.size(); ++i)
        if (layers[i].output > 0 && size_t(layers[i].output) < tensors) producer[size_t(layers[i].output)] = int(i);
    // Back from the heatmap along each layer's first input (an Add's or residual's other operand
    // must have the same grid: geometry checks that). Each step goes to an earlier layer.
    int64_t stride_h = 1, stride_w = 1;
    int t = heatmap;
    for (size_t steps = 0; t != 0; ++steps) {
        if (t < 0 || size_t(t) >= tensors || producer[size_t(t)] < 0 || steps > layers.size())
            throw ModelError("network: the heatmap does not lead back to the input");
        const Layer& l = layers[size_t(producer[size_t(t)])];
        if (l.kind != LayerKind::Add) {
            stride_h *= l.stride_h, stride_w *= l.stride_w;
            if (stride_h > limits::kMaxOutputStride || stride_w > limits::kMaxOutputStride)
                throw ModelError("network: the strides from the input to the heatmap multiply to more than " +
                                 std::to_string(limits::kMaxOutputStride));
        }
        t = l.input;
    }
    if (stride_h != stride_w)
        throw ModelError("network: the strides from the input to the heatmap multiply to " + std::to_string(stride_h) +
                         " in height but " + std::to_string(stride_w) + " in width");
    return int(stride_h);
}

void Network::check_output_stride() const {
    const int implied = implied_output_stride();
    if (output_stride != implied)
        throw ModelError("network: output_stride " + std::to_string(output_stride) +
                         " disagrees with the layers, whose strides from the input to the heatmap multiply to " +
                         std::to_string(implied));
    // The decoders read output cell (y, x) as input pixel (y, x) * stride: the grid must keep that.
    for (int cells : {9, 33}) {
        const int side = (cells - 1) * output_stride + 1;
        const auto shapes = tensor_shapes(side, side);
        const std::pair<const char*, int> outputs[] = {
            {"heatmap", heatmap}, {"offsets", offsets}, {"displacement_fwd", displacement_fwd}, {"displacement_bwd", displacement_bwd}};
        for (const auto& [role, id] : outputs) {
            const TensorShape& s = shapes[size_t(id)];
            if (s.h != cells || s.w != cells)
                throw ModelError("network: the " + std::string(role) + " grid for a " + std::to_string(side) + "x" +
                                 std::to_string(side) + " input is " + std::to_string(s.h) + "x" + std::to_string(s.w) +
                                 ", not " + std::to_string(cells) + "x" + std::to_string(cells) + " as output stride " +
                                 std::to_string(output_stride) + " implies");
        }
    }
}

}  // namespace posenet::engine
