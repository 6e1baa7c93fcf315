#include "engine/vulkan/executor.h"

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "engine/environment.h"

namespace posenet::engine {

VulkanExecutor::VulkanExecutor(const Network& network, VulkanOptions options)
    : VulkanExecutor(network, std::make_shared<vk::Runtime>(options), options) {}

VulkanExecutor::VulkanExecutor(const Network& network, std::shared_ptr<vk::Runtime> runtime, VulkanOptions options)
    : net_(network), options_(std::move(options)), runtime_(std::move(runtime)) {
    if (const std::string fuse = environment::vulkan_fuse(); fuse == "0") options_.fuse = false;
    else if (fuse == "always") options_.fuse_always = true;
    if (options_.precision == Precision::Float16 && !runtime_->device().features().coopmat_f16)
        throw vk::VulkanError("Vulkan: fp16 precision needs tensor cores (cooperative matrices), and device " +
                              runtime_->device().info().name + " lacks " + runtime_->device().features().coopmat_missing);
    net_.weights = {};
    net_.weight_storage.reset();
    weights_ = std::make_unique<vk::WeightStore>(runtime_->device(), network);
    dummy_ = vk::Buffer(runtime_->device(), 256, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, vk::MemoryUse::DeviceLocal,
                        "unused-binding placeholder");
}

VulkanExecutor::~VulkanExecutor() { plans_.clear(); }

vk::Plan& VulkanExecutor::plan(vk::PlanShape shape) {
    auto it = plans_.find(shape);
    if (it == plans_.end()) {
        auto p = std::make_unique<vk::Plan>(runtime_->device(), runtime_->kernels(), *weights_, dummy_.handle(), net_, shape,
                                            options_.timestamps         ? vk::Timestamps::PerStep
                                            : options_.total_timestamps ? vk::Timestamps::Total
                                                                        : vk::Timestamps::Off,
                                            options_.fuse, options_.fuse_always, options_.precision);
        it = plans_.emplace(shape, std::move(p)).first;
        runtime_->pipeline_cache().save();  // new pipelines: keep them even if the process dies later
    }
    return *it->second;
}

void VulkanExecutor::prepare(int height, int width, int batch) { plan({height, width, batch, false, {}}); }

uint64_t VulkanExecutor::arena_bytes(int height, int width, int batch) { return plan({height, width, batch, false, {}}).arena_bytes(); }

NetworkOutputs VulkanExecutor::run(std::span<const float> input, int height, int width, int batch) {
    if (net_.heatmap < 0 || net_.offsets < 0 || net_.displacement_fwd < 0 || net_.displacement_bwd < 0)
        throw ModelError("network: an output tensor is missing");
    vk::Plan& p = plan({height, width, batch, false, {}});
    last_ = nullptr;
    p.execute(input, uint64_t(options_.timeout_ms) * 1000000ull);
    last_ = &p;
    return timed_outputs(p);
}

NetworkOutputs VulkanExecutor::timed_outputs(const vk::Plan& p) {
    const auto t0 = std::chrono::steady_clock::now();
    NetworkOutputs out = outputs(p);
    last_phases_ = {p.host_phases().upload_us, p.host_phases().submit_wait_us,
                    std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count()};
    return out;
}

NetworkOutputs VulkanExecutor::outputs(const vk::Plan& p) const {
    NetworkOutputs out;
    out.heatmap_shape = p.shapes()[net_.heatmap];
    out.offsets_shape = p.shapes()[net_.offsets];
    out.displacement_shape = p.shapes()[net_.displacement_fwd];
    out.heatmap = p.tensor(net_.heatmap);
    out.offsets = p.tensor(net_.offsets);
    out.displacement_fwd = p.tensor(net_.displacement_fwd);
    out.displacement_bwd = p.tensor(net_.displacement_bwd);
    return out;
}

std::vector<std::vector<float>> VulkanExecutor::run_all(std::span<const float> input, int height, int width, int batch) {
    vk::Plan& p = plan({height, width, batch, true, {}});
    last_ = nullptr;
    p.execute(input, uint64_t(options_.timeout_ms) * 1000000ull);
    last_ = &p;
    std::vector<std::vector<float>> out(p.shapes().size());
    for (size_t t = 0; t < out.size(); ++t)
        if (p.shapes()[t].h > 0) out[t] = p.tensor(int(t));
    return out;
}

vk::Plan& VulkanExecutor::image_plan(const ImageInput& image, int height, int width, bool keep_all) {
    if (!image.data || image.width <= 0 || image.height <= 0 || image.bytes_per_pixel <= 0)
        throw std::invalid_argument("Vulkan: image input has no pixels or a non-positive size");
    vk::ImageLayout layout;
    layout.height = image.height, layout.width = image.width, layout.bytes_per_pixel = image.bytes_per_pixel;
    layout.row_stride = image.row_stride_bytes > 0 ? image.row_stride_bytes : image.width * image.bytes_per_pixel;
    layout.channel_offsets = image.channel_offsets;
    layout.transform = image.transform;
    if (layout.row_stride < image.width * image.bytes_per_pixel)
        throw std::invalid_argument("Vulkan: image row stride is shorter than a row");
    for (int c : image.channel_offsets)
        if (c < 0 || c >= image.bytes_per_pixel) throw std::invalid_argument("Vulkan: image channel offset outside a pixel");
    return plan({height, width, 1, keep_all, layout});
}

NetworkOutputs VulkanExecutor::run_image(const ImageInput& image, int height, int width) {
    if (net_.heatmap < 0 || net_.offsets < 0 || net_.displacement_fwd < 0 || net_.displacement_bwd < 0)
        throw ModelError("network: an output tensor is missing");
    vk::Plan& p = image_plan(image, height, width, false);
    last_ = nullptr;
    p.execute_image(image.data, uint64_t(options_.timeout_ms) * 1000000ull);
    last_ = &p;
    return timed_outputs(p);
}

std::vector<std::vector<float>> VulkanExecutor::run_all_image(const ImageInput& image, int height, int width) {
    vk::Plan& p = image_plan(image, height, width, true);
    last_ = nullptr;
    p.execute_image(image.data, uint64_t(options_.timeout_ms) * 1000000ull);
    last_ = &p;
    std::vector<std::vector<float>> out(p.shapes().size());
    for (size_t t = 0; t < out.size(); ++t)
        if (p.shapes()[t].h > 0) out[t] = p.tensor(int(t));
    return out;
}

std::vector<LayerTiming> VulkanExecutor::last_timings() const { return last_ ? last_->timings() : std::vector<LayerTiming>{}; }

std::vector<vk::DeviceInfo> list_vulkan_devices() { return vk::list_devices(); }

}  // namespace posenet::engine
