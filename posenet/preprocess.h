// Image -> model input, exactly as @tensorflow-models/pose-detection@2.1.3's PoseNet detector does it
// on the tfjs cpu backend:
//   convertImageToTensor(image, {outputTensorSize: inputResolution, keepAspectRatio: true,
//                                borderMode: 'replicate'})
//     getRoi -> padRoi (letterbox) -> getRotatedSubRectToRectTransformMatrix
//     -> getProjectiveTransformMatrix -> tf.image.transform(bilinear, fillMode 'nearest')
//   then MobileNetV1: shiftImageValue(t, [-1, 1]);  ResNet50: tf.add(t, RESNET_MEAN).
// All sizes are given height before width.
#pragma once

#include <array>
#include <span>
#include <vector>

#include "posenet/config.h"
#include "posenet/export.h"
#include "posenet/image.h"

namespace posenet {

// padRoi's result: fractions of the model input on each side (0..0.5), in JS doubles.
struct LetterboxPadding {
    double top = 0, bottom = 0, left = 0, right = 0;
};

// Everything needed to sample the image and to map keypoints back (scalePoses).
struct Letterbox {
    int image_height = 0, image_width = 0;  // H0, W0: the source image
    int input_height = 0, input_width = 0;  // H, W: the model input
    LetterboxPadding padding;
    double roi_height = 0, roi_width = 0;   // the padded ROI, in source pixels
    // tf.image.transform's [a0, a1, a2, b0, b1, b2, c0, c1], rounded to float32 (the tensor2d):
    // source x = (a0*X + a1*Y + a2) / (c0*X + c1*Y + 1), source y likewise with b.
    std::array<float, 8> transform{};
};

// Letterbox of an image_height x image_width image into input_height x input_width
// (padRoi + the transform matrices, in doubles as the package, coefficients then fl32).
// Throws std::invalid_argument for non-positive sizes.
POSENET_API Letterbox compute_letterbox(int image_height, int image_width, int input_height, int input_width);

// tf.image.transform on the cpu backend: for each output pixel, the source coordinate is clamped to
// the image (fillMode 'nearest': edge pixels repeat into the pad), then bilinear interpolation in
// double precision, rounded to float32. Writes input_height * input_width * 3 floats (NHWC, RGB,
// 0..255, before the value shift) to `out`, which must have exactly that size.
// letterbox.image_* must equal the image's size.
POSENET_API void resample(const ImageView& image, const Letterbox& letterbox, std::span<float> out);
POSENET_API void resample(const FloatImageView& image, const Letterbox& letterbox, std::span<float> out);

// The value shift, in place, on NHWC RGB data (size a multiple of 3), exactly as the cpu backend:
//   MobileNetScale:  fl32(fl32(x * fl32(2/255)) + (-1))        (two roundings, no FMA)
//   ResNetMeanShift: fl32(x + fl32(RESNET_MEAN[c])), RESNET_MEAN = [-123.15, -115.90, -103.06]
POSENET_API void apply_input_transform(std::span<float> data, InputTransform transform);
POSENET_API float mobilenet_scale(float x);
POSENET_API float resnet_mean_shift(float x, int channel);

// compute_letterbox + resample + apply_input_transform: writes the model input (1 x H x W x 3)
// into `out` (size H * W * 3) and returns the letterbox for mapping keypoints back.
POSENET_API Letterbox preprocess(const ImageView& image, int input_height, int input_width,
                     InputTransform transform, std::span<float> out);
POSENET_API Letterbox preprocess(const FloatImageView& image, int input_height, int input_width,
                     InputTransform transform, std::span<float> out);

struct PreprocessResult {
    std::vector<float> input;  // 1 x H x W x 3, NHWC
    Letterbox letterbox;
};
POSENET_API PreprocessResult preprocess(const ImageView& image, int input_height, int input_width,
                            InputTransform transform);

}  // namespace posenet
