#include "engine/vulkan/kernels.h"

#include "engine/vulkan/error.h"
#include "shaders/spirv_shaders.h"

namespace posenet::engine::vk {

const char* kernel_name(Kernel k) {
    switch (k) {
        case Kernel::Conv2dGeneric: return "conv2d_generic";
        case Kernel::PointwiseConv: return "pointwise_conv";
        case Kernel::DepthwiseConv: return "depthwise_conv";
        case Kernel::MaxPool: return "maxpool";
        case Kernel::Add: return "add";
        case Kernel::Preprocess: return "preprocess";
        case Kernel::SplitKReduce: return "splitk_reduce";
        case Kernel::DepthwisePointwiseConv: return "depthwise_pointwise_conv";
        case Kernel::PointwiseConvCoopmat: return "pointwise_conv_coopmat";
        case Kernel::Conv2dGenericCoopmat: return "conv2d_generic_coopmat";
    }
    return "?";
}

std::string storage_suffix(uint32_t storage) {
    if (!storage) return "";
    std::string s = "_f16";
    if (storage & kInputHalf) s += "_x";
    if (storage & kInput2Half) s += "_x2";
    if (storage & kOutputHalf) s += "_y";
    return s;
}

KernelLibrary::KernelLibrary(Device& device, PipelineCache& cache) : device_(device), cache_(cache) {
    const Functions& fn = device.fn();
    VkDescriptorSetLayoutBinding bindings[kBindingCount];
    for (uint32_t i = 0; i < kBindingCount; ++i) {
        bindings[i] = {};
        bindings[i].binding = i;
        bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        bindings[i].descriptorCount = 1;
        bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    auto sci = make<VkDescriptorSetLayoutCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO);
    sci.bindingCount = kBindingCount;
    sci.pBindings = bindings;
    check(fn.CreateDescriptorSetLayout(device.handle(), &sci, nullptr, &set_layout_), "vkCreateDescriptorSetLayout");
    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushConstantBytes};
    auto lci = make<VkPipelineLayoutCreateInfo>(VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO);
    lci.setLayoutCount = 1;
    lci.pSetLayouts = &set_layout_;
    lci.pushConstantRangeCount = 1;
    lci.pPushConstantRanges = &range;
    VkResult r = fn.CreatePipelineLayout(device.handle(), &lci, nullptr, &layout_);
    if (r != VK_SUCCESS) {
        fn.DestroyDescriptorSetLayout(device.handle(), set_layout_, nullptr);
        check(r, "vkCreatePipelineLayout");
    }
}

KernelLibrary::~KernelLibrary() {
    const Functions& fn = device_.fn();
    VkDevice dev = device_.handle();
    for (auto& [key, p] : pipelines_) fn.DestroyPipeline(dev, p, nullptr);
    for (auto& [k, m] : modules_) fn.DestroyShaderModule(dev, m, nullptr);
    fn.DestroyPipelineLayout(dev, layout_, nullptr);
    fn.DestroyDescriptorSetLayout(dev, set_layout_, nullptr);
}

VkShaderModule KernelLibrary::module(Kernel kernel, uint32_t storage) {
    const auto key = std::make_pair(kernel, storage);
    if (auto it = modules_.find(key); it != modules_.end()) return it->second;
    const std::string name = kernel_name(kernel) + storage_suffix(storage);
    const shaders::Spirv* spirv = shaders::find(name);
    if (!spirv) throw VulkanError("Vulkan: kernel " + name + " is not embedded in this build");
    auto ci = make<VkShaderModuleCreateInfo>(VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO);
    ci.codeSize = spirv->words.size() * sizeof(uint32_t);
    ci.pCode = spirv->words.data();
    VkShaderModule m = VK_NULL_HANDLE;
    check(device_.fn().CreateShaderModule(device_.handle(), &ci, nullptr, &m),
          "vkCreateShaderModule (kernel " + name + ")");
    modules_[key] = m;
    return m;
}

VkPipeline KernelLibrary::pipeline(Kernel kernel, const SpecValues& spec, uint32_t storage) {
    auto key = std::make_tuple(kernel, storage, spec);
    if (auto it = pipelines_.find(key); it != pipelines_.end()) return it->second;
    std::vector<VkSpecializationMapEntry> entries(spec.size());
    for (uint32_t i = 0; i < spec.size(); ++i) entries[i] = {i, i * uint32_t(sizeof(int32_t)), sizeof(int32_t)};
    VkSpecializationInfo si{uint32_t(entries.size()), entries.data(), spec.size() * sizeof(int32_t), spec.data()};
    auto ci = make<VkComputePipelineCreateInfo>(VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO);
    ci.stage = make<VkPipelineShaderStageCreateInfo>(VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO);
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = module(kernel, storage);
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = &si;
    ci.layout = layout_;
    VkPipeline p = VK_NULL_HANDLE;
    std::string what = "vkCreateComputePipelines (kernel " + (kernel_name(kernel) + storage_suffix(storage)) + ", constants";
    for (int32_t v : spec) what.append(1, ' ').append(std::to_string(v));  // (not " " + s: GCC 12 -Wrestrict false positive)
    check(device_.fn().CreateComputePipelines(device_.handle(), cache_.handle(), 1, &ci, nullptr, &p), what + ")");
    pipelines_[key] = p;
    return p;
}

}  // namespace posenet::engine::vk
