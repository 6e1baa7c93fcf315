#version 450
// Images -> model input on the GPU, bit for bit as posenet/preprocess.cpp (TF.js cpu backend):
// tf.image.transform (bilinear, fillMode 'nearest': coordinates clamped, so edge pixels repeat into
// the letterbox pad) computed in double and rounded to float32 once, then the value shift in float32
// with one rounding per operation. `precise` forbids fused multiply-adds, which would change results.
// One invocation per output pixel of each batch item. Each item's source image (size, row stride,
// pixel layout, letterbox transform, where its bytes start) comes from the parameter buffer, so one
// recorded dispatch serves frames of any size and layout; the 8-bit images are read as packed
// 32-bit words.
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const int TRANSFORM = 1;   // engine::InputTransform: 1 MobileNet, 2 ResNet

layout(std430, set = 0, binding = 0) readonly restrict buffer Image { uint img[]; };
// Mirrors vk::PreprocessItem (engine/vulkan/plan.h).
struct Item {
    int image_h, image_w, row_stride, bpp;   // bytes per row and per pixel
    int c0, c1, c2;                          // byte offsets of R, G, B in a pixel
    uint offset;                             // where the image starts in `img`, bytes
    float t[8];                              // tf.image.transform's matrix, float32 as TF.js holds it
};
layout(std430, set = 0, binding = 2) readonly restrict buffer Items { Item items[]; };
layout(std430, set = 0, binding = 4) writeonly restrict buffer Output { float y[]; };

layout(push_constant) uniform Params {
    int out_h, out_w, batch, count;          // count = batch * out_h * out_w output pixels
} p;

float read_pixel(uint base, int row_stride, int bpp, int yy, int xx, int c) {
    const uint addr = base + uint(yy) * uint(row_stride) + uint(xx) * uint(bpp) + uint(c);
    return float((img[addr >> 2] >> ((addr & 3u) * 8u)) & 0xffu);
}

float shift(float v, int ch) {
    if (TRANSFORM == 1) {
        precise float s = v * uintBitsToFloat(0x3c008081u);   // fl32(2/255)
        precise float r = s + (-1.0);
        return r;
    }
    const float mean[3] = float[3](uintBitsToFloat(0xc2f64ccdu), uintBitsToFloat(0xc2e7cccdu), uintBitsToFloat(0xc2ce1eb8u));
    precise float r = v + mean[ch];   // fl32(RESNET_MEAN[ch]) = -123.15, -115.90, -103.06
    return r;
}

void main() {
    const uint idx = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (idx >= uint(p.count)) return;
    const uint per_item = uint(p.out_h) * uint(p.out_w);
    const int n = int(idx / per_item);
    const uint pixel = idx % per_item;
    const int ox = int(pixel % uint(p.out_w)), oy = int(pixel / uint(p.out_w));
    const int image_h = items[n].image_h, image_w = items[n].image_w;
    const int row_stride = items[n].row_stride, bpp = items[n].bpp;
    const uint base = items[n].offset;
    float t[8];
    for (int i = 0; i < 8; ++i) t[i] = items[n].t[i];
    const double X = double(ox), Y = double(oy);
    precise double projection = double(t[6]) * X + double(t[7]) * Y + 1.0;
    precise double in_x = double(t[0]) * X + double(t[1]) * Y + double(t[2]);
    precise double in_y = double(t[3]) * X + double(t[4]) * Y + double(t[5]);
    if (projection == 0.0) {
        y[idx * 3] = 0.0, y[idx * 3 + 1] = 0.0, y[idx * 3 + 2] = 0.0;
        return;
    }
    if (projection != 1.0) {   // letterboxes always have 1: skip the (not correctly rounded) division
        in_x = in_x / projection;
        in_y = in_y / projection;
    }
    const double xc = max(0.0, min(in_x, double(image_w - 1)));
    const double yc = max(0.0, min(in_y, double(image_h - 1)));
    const double x_floor = floor(xc), y_floor = floor(yc);
    const double x_ceil = x_floor + 1.0, y_ceil = y_floor + 1.0;
    const int xf = int(x_floor), yf = int(y_floor), xcI = xf + 1, ycI = yf + 1;
    const bool yf_in = yf < image_h, yc_in = ycI < image_h, xf_in = xf < image_w, xc_in = xcI < image_w;
    const int offs[3] = int[3](items[n].c0, items[n].c1, items[n].c2);
    for (int ch = 0; ch < 3; ++ch) {
        const double p00 = (yf_in && xf_in) ? double(read_pixel(base, row_stride, bpp, yf, xf, offs[ch])) : 0.0;
        const double p01 = (yf_in && xc_in) ? double(read_pixel(base, row_stride, bpp, yf, xcI, offs[ch])) : 0.0;
        const double p10 = (yc_in && xf_in) ? double(read_pixel(base, row_stride, bpp, ycI, xf, offs[ch])) : 0.0;
        const double p11 = (yc_in && xc_in) ? double(read_pixel(base, row_stride, bpp, ycI, xcI, offs[ch])) : 0.0;
        precise double value_y_floor = (x_ceil - xc) * p00 + (xc - x_floor) * p01;
        precise double value_y_ceil = (x_ceil - xc) * p10 + (xc - x_floor) * p11;
        precise double v = (y_ceil - yc) * value_y_floor + (yc - y_floor) * value_y_ceil;
        y[idx * 3 + ch] = shift(float(v), ch);
    }
}
