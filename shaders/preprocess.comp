#version 450
// Image -> model input on the GPU, bit for bit as posenet/preprocess.cpp (TF.js cpu backend):
// tf.image.transform (bilinear, fillMode 'nearest': coordinates clamped, so edge pixels repeat into
// the letterbox pad) computed in double and rounded to float32 once, then the value shift in float32
// with one rounding per operation. `precise` forbids fused multiply-adds, which would change results.
// One invocation per output pixel; the 8-bit image is read as packed 32-bit words.
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const int TRANSFORM = 1;   // engine::InputTransform: 1 MobileNet, 2 ResNet

layout(std430, set = 0, binding = 0) readonly restrict buffer Image { uint img[]; };
layout(std430, set = 0, binding = 4) writeonly restrict buffer Output { float y[]; };

layout(push_constant) uniform Params {
    int image_h, image_w, row_stride, bpp;   // bytes per row and per pixel
    int c0, c1, c2, count;                   // byte offsets of R, G, B in a pixel; count = out pixels
    int out_h, out_w, pad0, pad1;
    float t[8];                              // tf.image.transform's matrix, float32 as TF.js holds it
} p;

float read_pixel(int yy, int xx, int c) {
    const uint addr = uint(yy) * uint(p.row_stride) + uint(xx) * uint(p.bpp) + uint(c);
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
    const int ox = int(idx % uint(p.out_w)), oy = int(idx / uint(p.out_w));
    const double X = double(ox), Y = double(oy);
    precise double projection = double(p.t[6]) * X + double(p.t[7]) * Y + 1.0;
    precise double in_x = double(p.t[0]) * X + double(p.t[1]) * Y + double(p.t[2]);
    precise double in_y = double(p.t[3]) * X + double(p.t[4]) * Y + double(p.t[5]);
    if (projection == 0.0) {
        y[idx * 3] = 0.0, y[idx * 3 + 1] = 0.0, y[idx * 3 + 2] = 0.0;
        return;
    }
    if (projection != 1.0) {   // letterboxes always have 1: skip the (not correctly rounded) division
        in_x = in_x / projection;
        in_y = in_y / projection;
    }
    const double xc = max(0.0, min(in_x, double(p.image_w - 1)));
    const double yc = max(0.0, min(in_y, double(p.image_h - 1)));
    const double x_floor = floor(xc), y_floor = floor(yc);
    const double x_ceil = x_floor + 1.0, y_ceil = y_floor + 1.0;
    const int xf = int(x_floor), yf = int(y_floor), xcI = xf + 1, ycI = yf + 1;
    const bool yf_in = yf < p.image_h, yc_in = ycI < p.image_h, xf_in = xf < p.image_w, xc_in = xcI < p.image_w;
    const int offs[3] = int[3](p.c0, p.c1, p.c2);
    for (int ch = 0; ch < 3; ++ch) {
        const double p00 = (yf_in && xf_in) ? double(read_pixel(yf, xf, offs[ch])) : 0.0;
        const double p01 = (yf_in && xc_in) ? double(read_pixel(yf, xcI, offs[ch])) : 0.0;
        const double p10 = (yc_in && xf_in) ? double(read_pixel(ycI, xf, offs[ch])) : 0.0;
        const double p11 = (yc_in && xc_in) ? double(read_pixel(ycI, xcI, offs[ch])) : 0.0;
        precise double value_y_floor = (x_ceil - xc) * p00 + (xc - x_floor) * p01;
        precise double value_y_ceil = (x_ceil - xc) * p10 + (xc - x_floor) * p11;
        precise double v = (y_ceil - yc) * value_y_floor + (yc - y_floor) * value_y_ceil;
        y[idx * 3 + ch] = shift(float(v), ch);
    }
}
