// GPU preprocessing (shaders/preprocess.comp) against posenet::preprocess on the CPU: letterbox with
// replicated border, bilinear in double, value shift; bit for bit (max abs error 0) for every pixel
// format, both letterbox orientations and both input transforms.
#include <doctest/doctest.h>

#include "posenet/preprocess.h"
#include "test_vulkan_support.h"

using namespace posenet::test;
using namespace posenet::engine;

namespace {

ImageInput image_input(const posenet::ImageView& v, const posenet::Letterbox& lb) {
    ImageInput in;
    in.data = v.data, in.width = v.width, in.height = v.height, in.row_stride_bytes = v.row_stride_bytes;
    in.bytes_per_pixel = posenet::bytes_per_pixel(v.format);
    switch (v.format) {
        case posenet::PixelFormat::BGR8:
        case posenet::PixelFormat::BGRA8: in.channel_offsets = {2, 1, 0}; break;
        case posenet::PixelFormat::Gray8: in.channel_offsets = {0, 0, 0}; break;
        default: in.channel_offsets = {0, 1, 2};
    }
    in.transform = lb.transform;
    return in;
}

Network one_layer(InputTransform t) {
    NetBuilder b(3, 21);
    Layer l;
    l.kind = LayerKind::Conv2D, l.in_channels = 3, l.out_channels = 17, l.padding = Padding::Same, l.bias_count = 1;
    int h = b.add(l);
    b.net.heatmap = b.net.offsets = b.net.displacement_fwd = b.net.displacement_bwd = h;  // run_image needs outputs set
    b.net.input_transform = t;
    return b.finish();
}

}  // namespace

TEST_CASE("vulkan kernel preprocess: bit-exact with posenet::preprocess") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    if (!rt->device().features().shader_float64) {
        std::printf("SKIP vulkan preprocess: device has no shaderFloat64\n");
        return;
    }
    std::mt19937 rng(9);
    struct Case {
        posenet::PixelFormat format;
        int img_h, img_w, extra_stride, in_h, in_w;
        InputTransform transform;
    };
    const Case cases[] = {
        {posenet::PixelFormat::RGB8, 37, 53, 0, 33, 33, InputTransform::MobileNetScale},    // wide: vertical pad
        {posenet::PixelFormat::RGBA8, 61, 20, 12, 65, 49, InputTransform::ResNetMeanShift}, // tall: horizontal pad
        {posenet::PixelFormat::BGR8, 16, 16, 5, 17, 25, InputTransform::MobileNetScale},
        {posenet::PixelFormat::Gray8, 9, 14, 3, 33, 17, InputTransform::MobileNetScale},
        {posenet::PixelFormat::RGB8, 480, 640, 0, 257, 257, InputTransform::MobileNetScale},  // a camera frame
    };
    for (const Case& c : cases) {
        const int bpp = posenet::bytes_per_pixel(c.format);
        const int stride = c.img_w * bpp + c.extra_stride;
        std::vector<uint8_t> pixels(size_t(stride) * c.img_h);
        for (auto& p : pixels) p = uint8_t(rng());
        posenet::ImageView view{pixels.data(), c.img_h, c.img_w, stride, c.format};
        auto cpu = posenet::preprocess(view, c.in_h, c.in_w, c.transform);
        Network net = one_layer(c.transform);
        VulkanExecutor gpu(net, rt);
        auto tensors = gpu.run_all_image(image_input(view, cpu.letterbox), c.in_h, c.in_w);
        REQUIRE(tensors[0].size() == cpu.input.size());
        size_t differ = 0, first = 0;
        for (size_t i = 0; i < cpu.input.size(); ++i)
            if (tensors[0][i] != cpu.input[i] && !differ++) first = i;
        INFO(posenet::to_string(c.format) << " " << c.img_h << "x" << c.img_w << " -> " << c.in_h << "x" << c.in_w << ": " << differ
                                          << " values differ, first at " << first << ": gpu " << tensors[0][first] << " cpu "
                                          << cpu.input[first]);
        CHECK(differ == 0);
        // The network on the GPU-preprocessed input equals the network on the CPU-preprocessed one.
        auto from_image = gpu.run_image(image_input(view, cpu.letterbox), c.in_h, c.in_w);
        auto from_floats = gpu.run(cpu.input, c.in_h, c.in_w);
        CHECK(from_image.heatmap == from_floats.heatmap);
        gpu.run_image(image_input(view, cpu.letterbox), c.in_h, c.in_w);
        auto t = gpu.last_timings();
        if (gpu.device_features().timestamps) {
            REQUIRE(t.size() == net.layers.size() + 1);
            CHECK(t[0].name == "preprocess");
            CHECK(t[0].layer == -1);
        }
        std::printf("VULKAN-KERNEL preprocess %s %dx%d -> %dx%d: %zu of %zu values differ\n", posenet::to_string(c.format), c.img_h,
                    c.img_w, c.in_h, c.in_w, differ, cpu.input.size());
    }
    check_no_validation_messages(*rt);
}

// A batch of images of different sizes, formats and row strides in one run: each batch item is
// preprocessed from its own parameters and bytes, bit for bit as posenet::preprocess; the network's
// outputs per item equal those of a run on that item alone. The recorded commands serve any sizes:
// a second batch of other sizes re-records nothing.
TEST_CASE("vulkan kernel preprocess: a batch of mixed sizes and formats, bit-exact; no re-recording for new sizes") {
    auto rt = vulkan_runtime();
    if (!rt) return;
    if (!rt->device().features().shader_float64) {
        std::printf("SKIP vulkan preprocess batch: device has no shaderFloat64 (images are preprocessed on the host there)\n");
        return;
    }
    std::mt19937 rng(21);
    struct Item {
        posenet::PixelFormat format;
        int h, w, extra_stride;
    };
    const int in_h = 33, in_w = 25;
    for (InputTransform transform : {InputTransform::MobileNetScale, InputTransform::ResNetMeanShift}) {
        Network net = one_layer(transform);
        VulkanExecutor gpu(net, rt);
        auto lane = gpu.make_lane();
        const std::vector<Item>* first = nullptr;
        for (const std::vector<Item>& items :
             {std::vector<Item>{{posenet::PixelFormat::BGR8, 480, 640, 1}, {posenet::PixelFormat::RGB8, 16, 16, 0},
                                {posenet::PixelFormat::Gray8, 77, 13, 0}, {posenet::PixelFormat::RGBA8, 33, 25, 4}},
              std::vector<Item>{{posenet::PixelFormat::RGB8, 37, 53, 0}, {posenet::PixelFormat::Gray8, 1, 1, 3},
                                {posenet::PixelFormat::BGRA8, 120, 31, 8}, {posenet::PixelFormat::RGBA8, 9, 200, 0}}}) {
            if (!first) first = &items;
            const std::vector<Item>& first_items = *first;
            std::vector<std::vector<uint8_t>> pixels;
            std::vector<ImageInput> inputs;
            std::vector<float> want;
            for (const Item& it : items) {
                const int stride = it.w * posenet::bytes_per_pixel(it.format) + it.extra_stride;
                pixels.emplace_back(size_t(stride) * it.h);
                for (auto& p : pixels.back()) p = uint8_t(rng());
                posenet::ImageView view{pixels.back().data(), it.h, it.w, stride, it.format};
                auto cpu = posenet::preprocess(view, in_h, in_w, transform);
                want.insert(want.end(), cpu.input.begin(), cpu.input.end());
                inputs.push_back(image_input(view, cpu.letterbox));
            }
            auto tensors = gpu.run_all_images(inputs, in_h, in_w);
            REQUIRE(tensors[0].size() == want.size());
            size_t differ = 0;
            for (size_t i = 0; i < want.size(); ++i) differ += tensors[0][i] != want[i];
            CHECK(differ == 0);
            // Where images are preprocessed on the host (devices without shaderFloat64), the same values.
            VulkanOptions host_options;
            host_options.device_preprocessing = false;
            VulkanExecutor host(net, rt, host_options);
            CHECK_FALSE(host.supports_image_input());
            CHECK(host.run_all_images(inputs, in_h, in_w)[0] == tensors[0]);
            // Per item: the batch's outputs are each image's own.
            const auto batch = gpu.run_images(inputs, in_h, in_w);
            const size_t per = batch.heatmap.size() / items.size();
            for (size_t i = 0; i < items.size(); ++i) {
                const auto one = gpu.run_image(inputs[i], in_h, in_w);
                CHECK(std::equal(one.heatmap.begin(), one.heatmap.end(), batch.heatmap.begin() + std::ptrdiff_t(i * per)));
            }
            // A lane replays its recording for a batch of other sizes (its upload buffer is large enough).
            RunInput ri;
            ri.height = in_h, ri.width = in_w, ri.images = inputs;
            const uint64_t recorded = gpu.command_recordings();
            lane->submit(ri, OutputSet::All);
            auto v = lane->wait();
            CHECK(std::equal(v.heatmap.begin(), v.heatmap.end(), batch.heatmap.begin()));
            if (&items != &first_items) CHECK(gpu.command_recordings() == recorded);
            std::printf("VULKAN-KERNEL preprocess batch of %zu mixed images -> %dx%d: %zu of %zu values differ\n", items.size(), in_h,
                        in_w, differ, want.size());
        }
        CHECK(gpu.plan_count() == 3);  // batch 4 (run_images), keep_all batch 4, batch 1; none per image size
    }
    check_no_validation_messages(*rt);
}
