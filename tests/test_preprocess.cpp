// Preprocessing and image loading: letterbox geometry, the cpu backend's bilinear transform, value
// shifts, pixel formats, and clear errors for bad image files.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "posenet/image.h"
#include "posenet/preprocess.h"
#include "test_support.h"

using namespace posenet;

namespace {

// A deterministic RGB8 test pattern.
Image pattern(int width, int height) {
    Image img;
    img.width = width;
    img.height = height;
    img.pixels.resize(size_t(width) * size_t(height) * 3);
    uint32_t s = 12345;
    for (auto& p : img.pixels) {
        s = s * 1103515245u + 12345u;
        p = uint8_t(s >> 24);
    }
    return img;
}

void write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::string error_of(const std::filesystem::path& p) {
    try {
        load_image(p);
    } catch (const ImageError& e) {
        CHECK(e.file() == p.string());
        return e.what();
    }
    return "(no error)";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("preprocess: valid input resolution follows toValidInputResolution") {
    CHECK(valid_input_resolution(257, 16) == 257);
    CHECK(valid_input_resolution(300, 16) == 289);
    CHECK(valid_input_resolution(513, 8) == 513);
    CHECK(valid_input_resolution(500, 32) == 481);
    CHECK_THROWS_AS(valid_input_resolution(257, 0), std::invalid_argument);
}

TEST_CASE("preprocess: letterbox of a tall image pads left and right") {
    // 100 wide x 200 tall into 257 x 257: ROI 200 x 200, a quarter of the input on each side.
    const Letterbox lb = compute_letterbox(200, 100, 257, 257);
    CHECK(lb.padding.left == 0.25);
    CHECK(lb.padding.right == 0.25);
    CHECK(lb.padding.top == 0.0);
    CHECK(lb.padding.bottom == 0.0);
    CHECK(lb.roi_width == 200.0);
    CHECK(lb.roi_height == 200.0);
    // inX = a0 * X + a2 with a0 = roiW / W, a2 = (W0 - roiW) / 2, all float32.
    CHECK(lb.transform[0] == float(200.0 / 257.0));
    CHECK(lb.transform[2] == -50.0f);
    CHECK(lb.transform[4] == float(200.0 / 257.0));
    CHECK(lb.transform[5] == 0.0f);
    CHECK(lb.transform[1] == 0.0f);
    CHECK(lb.transform[3] == 0.0f);
    CHECK(lb.transform[6] == 0.0f);
    CHECK(lb.transform[7] == 0.0f);
}

TEST_CASE("preprocess: letterbox of a wide image pads top and bottom") {
    // 300 wide x 100 tall into 257 x 257: ROI 300 x 300, a third on top and on the bottom.
    const Letterbox lb = compute_letterbox(100, 300, 257, 257);
    CHECK(lb.padding.top == doctest::Approx(1.0 / 3.0).epsilon(1e-15));
    CHECK(lb.padding.bottom == lb.padding.top);
    CHECK(lb.padding.left == 0.0);
    CHECK(lb.padding.right == 0.0);
    CHECK(lb.roi_height == 300.0);
    CHECK(lb.transform[0] == float(300.0 / 257.0));
    CHECK(lb.transform[2] == 0.0f);
    CHECK(lb.transform[4] == float(300.0 / 257.0));
    CHECK(lb.transform[5] == -100.0f);

    // Same aspect ratio: no padding. Non-square: a 257 x 129 image into 257 x 129 is the identity.
    const Letterbox same = compute_letterbox(64, 64, 257, 257);
    CHECK(same.padding.left == 0.0);
    CHECK(same.padding.top == 0.0);
    const Letterbox wide = compute_letterbox(129, 257, 129, 257);
    CHECK(wide.padding.top == 0.0);
    CHECK(wide.padding.left == 0.0);
    CHECK(wide.transform[0] == 1.0f);
    CHECK(wide.transform[2] == 0.0f);
    CHECK_THROWS_AS(compute_letterbox(0, 10, 257, 257), std::invalid_argument);
}

TEST_CASE("preprocess: bilinear sampling has no half-pixel offset and rounds double to float32") {
    // 2x2 image into 3x3: a0 = b1 = fl32(2/3), a2 = b2 = 0.
    const uint8_t px[12] = {0, 10, 20, 100, 110, 120,   // row 0
                            200, 210, 220, 50, 60, 70};  // row 1
    const ImageView view{px, 2, 2, 6, PixelFormat::RGB8};
    const Letterbox lb = compute_letterbox(2, 2, 3, 3);
    CHECK(lb.transform[0] == float(2.0 / 3.0));
    std::vector<float> out(27);
    resample(view, lb, out);
    // Output (0,0) is source (0,0); output (2,2) maps to source (1.33, 1.33), clamped to (1,1).
    CHECK(out[0] == 0.0f);
    CHECK(out[1] == 10.0f);
    CHECK(out[8 * 3 + 0] == 50.0f);
    CHECK(out[8 * 3 + 2] == 70.0f);
    // Centre: x = y = fl32(2/3), the kernel's double formula, rounded once.
    const double x = double(float(2.0 / 3.0)), y = x;
    for (int c = 0; c < 3; ++c) {
        const double p00 = px[c], p01 = px[3 + c], p10 = px[6 + c], p11 = px[9 + c];
        const double top = (1 - x) * p00 + x * p01;
        const double bottom = (1 - x) * p10 + x * p11;
        CHECK(out[4 * 3 + size_t(c)] == float((1 - y) * top + y * bottom));
    }
}

TEST_CASE("preprocess: the letterbox pad repeats the edge pixels") {
    const Image img = pattern(10, 20);  // tall: pads left and right
    const Letterbox lb = compute_letterbox(20, 10, 33, 33);
    std::vector<float> out(33 * 33 * 3);
    resample(img.view(), lb, out);
    // Source x = a0 * X - 5 with a0 = 20/33: columns 0..8 map to x <= 0 (clamped); so do they all.
    for (int y = 0; y < 33; ++y)
        for (int xo = 1; xo <= 8; ++xo)
            for (int c = 0; c < 3; ++c)
                CHECK(out[(size_t(y) * 33 + size_t(xo)) * 3 + size_t(c)] == out[size_t(y) * 33 * 3 + size_t(c)]);
    // Row 0, column 0 is exactly pixel (0, 0).
    for (int c = 0; c < 3; ++c) CHECK(out[size_t(c)] == float(img.pixels[size_t(c)]));
}

TEST_CASE("preprocess: MobileNet value shift is fl32(fl32(x * fl32(2/255)) - 1), not x/127.5 - 1") {
    const float scale = float(2.0 / 255.0);
    int differ = 0;
    for (int v = 0; v <= 255; ++v) {
        const float x = float(v);
        const float product = x * scale;  // float ops: one rounding each
        const float expected = product - 1.0f;
        CHECK(mobilenet_scale(x) == expected);
        if (mobilenet_scale(x) != float(double(v) / 127.5 - 1.0)) ++differ;
    }
    CHECK(differ > 0);
    CHECK(mobilenet_scale(0.0f) == -1.0f);
    CHECK(mobilenet_scale(255.0f) == doctest::Approx(1.0).epsilon(1e-6));

    std::vector<float> data = {0.0f, 127.0f, 255.0f, 3.5f, 64.25f, 200.0f};
    std::vector<float> copy = data;
    apply_input_transform(data, InputTransform::MobileNetScale);
    for (size_t i = 0; i < data.size(); ++i) CHECK(data[i] == mobilenet_scale(copy[i]));
}

TEST_CASE("preprocess: ResNet mean shift adds fl32(RESNET_MEAN[c]) per channel") {
    std::vector<float> data = {200.0f, 200.0f, 200.0f, 0.5f, 0.0f, 255.0f};
    apply_input_transform(data, InputTransform::ResNetMeanShift);
    CHECK(data[0] == 200.0f + float(-123.15));
    CHECK(data[1] == 200.0f + float(-115.90));
    CHECK(data[2] == 200.0f + float(-103.06));
    CHECK(data[3] == 0.5f + float(-123.15));
    CHECK(data[5] == 255.0f + float(-103.06));
}

TEST_CASE("preprocess: pixel formats and float images give the same model input") {
    const Image rgb = pattern(23, 17);
    const int n = rgb.width * rgb.height;
    std::vector<uint8_t> bgr(size_t(n) * 3), rgba(size_t(n) * 4), bgra_padded;
    std::vector<float> f(size_t(n) * 3);
    const int padded_stride = rgb.width * 4 + 7;
    bgra_padded.assign(size_t(padded_stride) * size_t(rgb.height), 0xEE);
    for (int i = 0; i < n; ++i) {
        const uint8_t* p = &rgb.pixels[size_t(i) * 3];
        bgr[size_t(i) * 3] = p[2], bgr[size_t(i) * 3 + 1] = p[1], bgr[size_t(i) * 3 + 2] = p[0];
        rgba[size_t(i) * 4] = p[0], rgba[size_t(i) * 4 + 1] = p[1], rgba[size_t(i) * 4 + 2] = p[2];
        rgba[size_t(i) * 4 + 3] = uint8_t(i);
        uint8_t* q = &bgra_padded[size_t(i / rgb.width) * size_t(padded_stride) + size_t(i % rgb.width) * 4];
        q[0] = p[2], q[1] = p[1], q[2] = p[0], q[3] = 0;
        for (int c = 0; c < 3; ++c) f[size_t(i) * 3 + size_t(c)] = float(p[c]);
    }
    const auto t = InputTransform::MobileNetScale;
    const PreprocessResult ref = preprocess(rgb.view(), 33, 17, t);
    CHECK(ref.input.size() == size_t(33 * 17 * 3));
    std::vector<float> out(ref.input.size());
    preprocess(ImageView{bgr.data(), rgb.height, rgb.width, rgb.width * 3, PixelFormat::BGR8}, 33, 17, t, out);
    CHECK(out == ref.input);
    preprocess(ImageView{rgba.data(), rgb.height, rgb.width, rgb.width * 4, PixelFormat::RGBA8}, 33, 17, t, out);
    CHECK(out == ref.input);
    preprocess(ImageView{bgra_padded.data(), rgb.height, rgb.width, padded_stride, PixelFormat::BGRA8}, 33, 17, t,
               out);
    CHECK(out == ref.input);
    preprocess(FloatImageView{f.data(), rgb.height, rgb.width, 0}, 33, 17, t, out);
    CHECK(out == ref.input);

    // Grey is expanded to three equal channels.
    std::vector<uint8_t> grey(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) grey[size_t(i)] = uint8_t(i * 7);
    preprocess(ImageView{grey.data(), rgb.height, rgb.width, rgb.width, PixelFormat::Gray8}, 33, 17, t, out);
    for (size_t i = 0; i < out.size(); i += 3) {
        CHECK(out[i] == out[i + 1]);
        CHECK(out[i] == out[i + 2]);
    }

    // Misuse is reported.
    std::vector<float> wrong(10);
    CHECK_THROWS_AS(preprocess(rgb.view(), 33, 17, t, wrong), std::invalid_argument);
    CHECK_THROWS_AS(preprocess(ImageView{nullptr, 3, 3, 9, PixelFormat::RGB8}, 33, 17, t), std::invalid_argument);
    CHECK_THROWS_AS(preprocess(ImageView{rgb.pixels.data(), 17, 23, 20, PixelFormat::RGB8}, 33, 17, t),
                    std::invalid_argument);
}

TEST_CASE("preprocess: image files load, and bad ones give clear errors naming the file") {
    namespace fs = std::filesystem;
    const fs::path dir = posenet::test::scratch_dir("preprocess_images");

    // Round trip through PNG.
    const Image img = pattern(7, 5);
    write_png(dir / "ok.png", img.view());
    const Image back = load_image(dir / "ok.png");
    CHECK(back.width == 7);
    CHECK(back.height == 5);
    CHECK(back.pixels == img.pixels);

    const std::string missing = error_of(dir / "missing.png");
    CHECK(contains(missing, "missing.png"));
    CHECK(contains(missing, "not found"));

    write_bytes(dir / "empty.png", {});
    CHECK(contains(error_of(dir / "empty.png"), "empty"));

    write_bytes(dir / "garbage.jpg", std::vector<uint8_t>(100, 0x42));
    const std::string garbage = error_of(dir / "garbage.jpg");
    CHECK(contains(garbage, "garbage.jpg"));
    CHECK(contains(garbage, "cannot decode"));

    // A PNG cut after its header: the header parses, the pixels do not.
    std::ifstream in(dir / "ok.png", std::ios::binary);
    std::vector<uint8_t> png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    png.resize(40);
    write_bytes(dir / "truncated.png", png);
    CHECK(contains(error_of(dir / "truncated.png"), "cannot decode"));

    // A PNG header claiming 17000 x 17000 (> 2^28 pixels): refused before decoding.
    std::vector<uint8_t> huge = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                 0,    0,   0x42, 0x68, 0,   0,    0x42, 0x68, 8, 2, 0, 0, 0, 0, 0, 0, 0};
    write_bytes(dir / "huge.png", huge);
    const std::string too_large = error_of(dir / "huge.png");
    CHECK(contains(too_large, "huge.png"));
    CHECK(contains(too_large, "too large"));

    CHECK(contains(error_of(dir), "directory"));
}

TEST_CASE("preprocess: random images resample and shift exactly as the package does (cross-checked sums)") {
    // The reference side (Node, pose-detection 2.1.3 convertImageToTensor + shiftImageValue / tf.add
    // RESNET_MEAN on tfjs-backend-cpu 4.22.0) filled an int32 image from this xorshift32 and summed
    // (index * value) in double over the NHWC outputs. Matching sums mean matching float32 tensors.
    struct Case {
        int h0, w0, h, w;
        double resized_sum, mobilenet_sum, resnet_sum;
        float last;
    };
    const Case cases[] = {
        {37, 23, 33, 17, 182538525.23766613, 14588.792122364044, 20950031.578620911, 163.1764373779297f},
        {23, 37, 17, 33, 177443412.24662066, -25372.881162583828, 15854918.682849884, 155.47056579589844f},
        {1, 5, 9, 9, 3746779.0471801758, -259.49587726593018, 367675.31147003174, 114.0f},
        {61, 47, 129, 65, 40701214056.054306, 2825637.1339644194, 4620227861.2238045, 0.0f},
    };
    auto sum = [](const std::vector<float>& a) {
        double acc = 0;
        for (size_t i = 0; i < a.size(); ++i) acc += double(i + 1) * double(a[i]);
        return acc;
    };
    for (const Case& c : cases) {
        CAPTURE(c.h0);
        uint32_t s = 88172645u + uint32_t(c.h0 * 100 + c.w0);
        Image img;
        img.width = c.w0;
        img.height = c.h0;
        img.pixels.resize(size_t(c.h0) * size_t(c.w0) * 3);
        for (auto& p : img.pixels) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            p = uint8_t(s >> 24);
        }
        const Letterbox lb = compute_letterbox(c.h0, c.w0, c.h, c.w);
        std::vector<float> resized(size_t(c.h) * size_t(c.w) * 3);
        resample(img.view(), lb, resized);
        CHECK(resized.back() == c.last);
        CHECK(sum(resized) == c.resized_sum);
        std::vector<float> input = resized;
        apply_input_transform(input, InputTransform::MobileNetScale);
        CHECK(sum(input) == c.mobilenet_sum);
        CHECK(sum(preprocess(img.view(), c.h, c.w, InputTransform::MobileNetScale).input) == c.mobilenet_sum);
        input = resized;
        apply_input_transform(input, InputTransform::ResNetMeanShift);
        CHECK(sum(input) == c.resnet_sum);
    }
}
