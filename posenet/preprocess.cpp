#include "engine/fp_strict.h"

#include "posenet/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace posenet {

Letterbox compute_letterbox(int image_height, int image_width, int input_height, int input_width) {
    if (image_height <= 0 || image_width <= 0 || input_height <= 0 || input_width <= 0)
        throw std::invalid_argument("letterbox of a " + std::to_string(image_width) + "x" +
                                    std::to_string(image_height) + " image into " +
                                    std::to_string(input_width) + "x" + std::to_string(input_height) +
                                    ": sizes must be positive");
    const double H0 = image_height, W0 = image_width, H = input_height, W = input_width;

    // image_utils.js getRoi (no normRect): centre, size of the image, rotation 0.
    const double x_center = 0.5 * W0, y_center = 0.5 * H0;
    double roi_w = W0, roi_h = H0;

    // image_utils.js padRoi(roi, targetSize, keepAspectRatio = true).
    LetterboxPadding pad;
    const double tensor_ar = H / W;
    const double roi_ar = roi_h / roi_w;
    if (tensor_ar > roi_ar) {  // pad height
        const double new_w = roi_w;
        const double new_h = roi_w * tensor_ar;
        pad.top = pad.bottom = (1 - roi_ar / tensor_ar) / 2;
        roi_w = new_w;
        roi_h = new_h;
    } else {  // pad width
        const double new_w = roi_h / tensor_ar;
        const double new_h = roi_h;
        pad.left = pad.right = (1 - tensor_ar / roi_ar) / 2;
        roi_w = new_w;
        roi_h = new_h;
    }

    // get_rotated_sub_rect_to_rect_transformation_matrix.js, flipHorizontally = false, rotation 0:
    // Math.cos(0) = 1 and Math.sin(0) = 0 exactly. Same operation order as the JS.
    const double a = roi_w, b = roi_h, c = 1.0, d = 0.0, flip = 1.0;
    const double e = x_center, f = y_center, g = 1.0 / W0, h = 1.0 / H0;
    const double m00 = a * c * flip * g;
    const double m01 = -b * d * g;
    const double m03 = (-0.5 * a * c * flip + 0.5 * b * d + e) * g;
    const double m10 = a * d * flip * h;
    const double m11 = b * c * h;
    const double m13 = (-0.5 * b * c - 0.5 * a * d * flip + f) * h;

    // image_utils.js getProjectiveTransformMatrix, then tf.tensor2d(..., [1, 8]) -> float32.
    const double a0 = (1 / W) * m00 * W0;
    const double a1 = (1 / H) * m01 * W0;
    const double a2 = m03 * W0;
    const double b0 = (1 / W) * m10 * H0;
    const double b1 = (1 / H) * m11 * H0;
    const double b2 = m13 * H0;

    Letterbox lb;
    lb.image_height = image_height;
    lb.image_width = image_width;
    lb.input_height = input_height;
    lb.input_width = input_width;
    lb.padding = pad;
    lb.roi_height = roi_h;
    lb.roi_width = roi_w;
    lb.transform = {float(a0), float(a1), float(a2), float(b0), float(b1), float(b2), 0.0f, 0.0f};
    return lb;
}

namespace {

void check_out(const Letterbox& lb, int image_height, int image_width, std::span<float> out) {
    if (lb.image_height != image_height || lb.image_width != image_width)
        throw std::invalid_argument("letterbox was computed for a " + std::to_string(lb.image_width) + "x" +
                                    std::to_string(lb.image_height) + " image, not " +
                                    std::to_string(image_width) + "x" + std::to_string(image_height));
    if (lb.input_height <= 0 || lb.input_width <= 0) throw std::invalid_argument("letterbox has no input size");
    const size_t need = size_t(lb.input_height) * size_t(lb.input_width) * 3;
    if (out.size() != need)
        throw std::invalid_argument("resample output has " + std::to_string(out.size()) + " floats, expected " +
                                    std::to_string(need));
}

// tfjs-backend-cpu kernels/Transform.js with interpolation 'bilinear', fillMode 'nearest',
// fillValue 0. `read(y, x, c)` returns the source value (as the float32 tensor holds it) at an
// in-bounds integer position. All arithmetic in double (JS numbers); the result goes into a
// Float32Array, so it is rounded to float32 once.
template <class Read>
void transform_bilinear(const Letterbox& lb, std::span<float> out, Read read) {
    const int H0 = lb.image_height, W0 = lb.image_width;
    const double t0 = lb.transform[0], t1 = lb.transform[1], t2 = lb.transform[2];
    const double t3 = lb.transform[3], t4 = lb.transform[4], t5 = lb.transform[5];
    const double t6 = lb.transform[6], t7 = lb.transform[7];
    const double max_x = W0 - 1, max_y = H0 - 1;
    float* o = out.data();
    for (int out_y = 0; out_y < lb.input_height; ++out_y) {
        for (int out_x = 0; out_x < lb.input_width; ++out_x, o += 3) {
            const double projection = t6 * out_x + t7 * out_y + 1;
            if (projection == 0) {  // the kernel leaves the fill value
                o[0] = o[1] = o[2] = 0.0f;
                continue;
            }
            const double in_x = (t0 * out_x + t1 * out_y + t2) / projection;
            const double in_y = (t3 * out_x + t4 * out_y + t5) / projection;
            if (std::isnan(in_x) || std::isnan(in_y)) {  // Math.max(0, NaN) is NaN in JS
                o[0] = o[1] = o[2] = std::numeric_limits<float>::quiet_NaN();
                continue;
            }
            // mapCoordNearest: util.clamp(0, v, len - 1) = Math.max(0, Math.min(v, len - 1)).
            const double x = std::max(0.0, std::min(in_x, max_x));
            const double y = std::max(0.0, std::min(in_y, max_y));
            const double y_floor = std::floor(y), x_floor = std::floor(x);
            const double y_ceil = y_floor + 1, x_ceil = x_floor + 1;
            const int yf = int(y_floor), xf = int(x_floor), yc = yf + 1, xc = xf + 1;
            const bool yf_in = yf < H0, yc_in = yc < H0, xf_in = xf < W0, xc_in = xc < W0;
            for (int ch = 0; ch < 3; ++ch) {
                // readWithFillValue: out-of-bounds reads give the fill value 0.
                const double p00 = (yf_in && xf_in) ? double(read(yf, xf, ch)) : 0.0;
                const double p01 = (yf_in && xc_in) ? double(read(yf, xc, ch)) : 0.0;
                const double p10 = (yc_in && xf_in) ? double(read(yc, xf, ch)) : 0.0;
                const double p11 = (yc_in && xc_in) ? double(read(yc, xc, ch)) : 0.0;
                const double value_y_floor = (x_ceil - x) * p00 + (x - x_floor) * p01;
                const double value_y_ceil = (x_ceil - x) * p10 + (x - x_floor) * p11;
                o[ch] = float((y_ceil - y) * value_y_floor + (y - y_floor) * value_y_ceil);
            }
        }
    }
}

}  // namespace

void resample(const ImageView& image, const Letterbox& lb, std::span<float> out) {
    validate(image);
    check_out(lb, image.height, image.width, out);
    const int bpp = bytes_per_pixel(image.format);
    int cmap[3] = {0, 1, 2};  // tf.browser.fromPixels: RGB, alpha dropped
    if (image.format == PixelFormat::BGR8 || image.format == PixelFormat::BGRA8) cmap[0] = 2, cmap[2] = 0;
    if (image.format == PixelFormat::Gray8) cmap[0] = cmap[1] = cmap[2] = 0;
    const uint8_t* data = image.data;
    const size_t stride = size_t(image.stride());
    transform_bilinear(lb, out, [&](int y, int x, int c) -> float {
        return float(data[size_t(y) * stride + size_t(x) * size_t(bpp) + size_t(cmap[c])]);
    });
}

void resample(const FloatImageView& image, const Letterbox& lb, std::span<float> out) {
    validate(image);
    check_out(lb, image.height, image.width, out);
    const float* data = image.data;
    const size_t stride = size_t(image.stride());
    transform_bilinear(lb, out, [&](int y, int x, int c) -> float {
        return data[size_t(y) * stride + size_t(x) * 3 + size_t(c)];
    });
}

// shift_image_value.js: transformValueRange(0, 255, -1, 1) gives scale = 2/255 and
// offset = -1 - 0 * scale = -1; tf.mul(image, scale) then tf.add(..., offset). The scalar becomes a
// float32 tensor; the cpu backend multiplies/adds in double and stores float32. The product of two
// floats is exact in double, so one rounding each step.
float mobilenet_scale(float x) {
    static const float kScale = float(2.0 / 255.0);
    const float scaled = float(double(x) * double(kScale));
    return float(double(scaled) + (-1.0));
}

// constants.js RESNET_MEAN = [-123.15, -115.90, -103.06]; tf.add(imageTensor, RESNET_MEAN).
float resnet_mean_shift(float x, int channel) {
    static const float kMean[3] = {float(-123.15), float(-115.90), float(-103.06)};
    return float(double(x) + double(kMean[channel]));
}

void apply_input_transform(std::span<float> data, InputTransform transform) {
    if (data.size() % 3 != 0) throw std::invalid_argument("input data size is not a multiple of 3 (RGB)");
    switch (transform) {
        case InputTransform::MobileNetScale:
            for (float& v : data) v = mobilenet_scale(v);
            return;
        case InputTransform::ResNetMeanShift:
            for (size_t i = 0; i < data.size(); ++i) data[i] = resnet_mean_shift(data[i], int(i % 3));
            return;
    }
    throw std::invalid_argument("unknown InputTransform " + std::to_string(uint32_t(transform)));
}

namespace {
template <class View>
Letterbox preprocess_view(const View& image, int input_height, int input_width, InputTransform transform,
                          std::span<float> out) {
    validate(image);
    Letterbox lb = compute_letterbox(image.height, image.width, input_height, input_width);
    resample(image, lb, out);
    apply_input_transform(out, transform);
    return lb;
}
}  // namespace

Letterbox preprocess(const ImageView& image, int input_height, int input_width,
                     InputTransform transform, std::span<float> out) {
    return preprocess_view(image, input_height, input_width, transform, out);
}

Letterbox preprocess(const FloatImageView& image, int input_height, int input_width,
                     InputTransform transform, std::span<float> out) {
    return preprocess_view(image, input_height, input_width, transform, out);
}

PreprocessResult preprocess(const ImageView& image, int input_height, int input_width,
                            InputTransform transform) {
    if (input_height <= 0 || input_width <= 0) throw std::invalid_argument("input size must be positive");
    PreprocessResult r;
    r.input.resize(size_t(input_height) * size_t(input_width) * 3);
    r.letterbox = preprocess(image, input_height, input_width, transform, r.input);
    return r;
}

}  // namespace posenet
