#include "engine/vulkan/plan.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "engine/vulkan/arena.h"
#include "engine/vulkan/error.h"

namespace posenet::engine::vk {

namespace {

void barrier(const Functions& fn, VkCommandBuffer cb, VkPipelineStageFlags src_stage, VkAccessFlags src, VkPipelineStageFlags dst_stage,
             VkAccessFlags dst) {
    auto mb = make<VkMemoryBarrier>(VK_STRUCTURE_TYPE_MEMORY_BARRIER);
    mb.srcAccessMask = src;
    mb.dstAccessMask = dst;
    fn.CmdPipelineBarrier(cb, src_stage, dst_stage, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

}  // namespace

Plan::Plan(Device& device, KernelLibrary& kernels, const WeightStore& weights, VkBuffer dummy, const Network& net, PlanShape shape,
           Timestamps timestamps, bool fuse, bool fuse_always, Precision precision)
    : device_(device), shape_(shape), layout_(kernels.layout()) {
    try {
        build(kernels, weights, dummy, net, timestamps, fuse, fuse_always, precision);
    } catch (...) {
        release();  // the destructor does not run for a constructor that throws
        throw;
    }
}

void Plan::build(KernelLibrary& kernels, const WeightStore& weights, VkBuffer dummy, const Network& net, Timestamps timestamps, bool fuse,
                 bool fuse_always, Precision precision) {
    const PlanShape shape = shape_;
    Device& device = device_;
    const Functions& fn = device.fn();
    VkDevice dev = device.handle();
    const DeviceFeatures& f = device.features();
    geometry_ = net.geometry(shape.height, shape.width, shape.batch);
    shapes_ = net.tensor_shapes(shape.height, shape.width, shape.batch);
    const int L = int(net.layers.size());
    if (L == 0) throw VulkanError("Vulkan: the network has no layers");
    const bool image = shape.image.height > 0;
    if (image && (shape.batch != 1 || shapes_[0].c != 3))
        throw std::invalid_argument("Vulkan: image input needs batch 1 and a 3-channel network input");
    if (image && !f.shader_float64)
        throw VulkanError("Vulkan: device " + device.info().name +
                          " has no shaderFloat64, which GPU preprocessing needs; preprocess on the CPU instead");
    const uint64_t align = std::max<uint64_t>(f.min_storage_buffer_offset_alignment, 256);
    auto aligned = [&](uint64_t v) { return (v + align - 1) / align * align; };
    const int T = int(shapes_.size());
    std::vector<uint64_t> bytes(T);
    for (int t = 0; t < T; ++t) bytes[t] = shapes_[t].h > 0 ? shapes_[t].elements() * sizeof(float) : 0;

    // Steps. A merged step writes its members' outputs into one range (bound as its output), each
    // at an aligned offset; where that range is too large to bind, or the weight store has no
    // packed filter for it, its members run one by one (where the first did: they only need the
    // shared input). A fused pair that would not pay at this size runs as its two layers.
    auto dw_bias_at = [&](int d) {
        return net.layers[d].bias_count ? (weights.bias(d).offset - weights.filter(d).offset) / sizeof(float) : 0;
    };
    steps_.clear();
    for (Step& s : schedule(net, fuse, fuse && !shape.keep_all)) {
        if (s.form == Step::Form::DepthwisePointwise && !fuse_always) {
            const int d = s.layers[0], p = s.layers[1];
            const Dispatch fused = lower_depthwise_pointwise(net.layers[d], geometry_[d], net.layers[p], geometry_[p], dw_bias_at(d), f);
            // fp16: the fused kernel is fp32; it still pays where it has one N tile (H100, 513 batch
            // 16, 257x257 24 -> 48: 404 us fused against 220 + 264 apart with the 1x1 on tensor cores).
            if (!depthwise_pointwise_pays(fused, device.info().type == "cpu") ||
                (precision == Precision::Float16 && fused.groups[1] != 1)) {
                steps_.push_back({Step::Form::Layer, {d}});
                steps_.push_back({Step::Form::Layer, {p}});
                continue;
            }
        }
        if (s.form == Step::Form::MergedPointwise) {
            uint64_t block = 0;
            for (int i : s.layers) block += aligned(bytes[net.layers[i].output]);
            if (block > f.max_storage_buffer_range || !weights.merged(s.layers[0]) || weights.merged(s.layers[0])->layers != s.layers) {
                for (int i : s.layers) steps_.push_back({Step::Form::Layer, {i}});
                continue;
            }
        }
        steps_.push_back(std::move(s));
    }
    const int S = int(steps_.size());

    // Lifetimes in steps: step -1 is the input copy, step S the output copies. Tensors of a merged
    // step are placed as one block (index T + its number); a fused depthwise output is never stored.
    std::vector<TensorLifetime> life(T);
    for (int t = 0; t < T; ++t) life[t].bytes = bytes[t];
    life[0].first = life[0].last = -1;
    std::vector<int> block_of(T, -1);  // merged outputs: their block
    std::vector<uint64_t> offset_in_block(T, 0);
    int blocks = 0;
    for (int s = 0; s < S; ++s) {
        const Step& st = steps_[s];
        for (int i : st.layers) {
            const Layer& l = net.layers[i];
            life[l.output].first = life[l.output].last = s;
            life[l.input].last = std::max(life[l.input].last, s);
            if (l.input2 >= 0) life[l.input2].last = std::max(life[l.input2].last, s);
        }
        if (st.form == Step::Form::DepthwisePointwise) life[net.layers[st.layers[0]].output].bytes = 0;
        if (st.form == Step::Form::MergedPointwise) {
            uint64_t at = 0;
            for (int i : st.layers) {
                const int t = net.layers[i].output;
                block_of[t] = blocks;
                offset_in_block[t] = at;
                at += aligned(bytes[t]);
            }
            ++blocks;
            life.push_back({at, s, s});
        }
    }
    std::vector<int> readback;
    if (shape.keep_all) {
        for (int t = 0; t < T; ++t)
            if (life[t].bytes) life[t].first = -1, life[t].last = S, readback.push_back(t);
    } else {
        for (int id : {net.heatmap, net.offsets, net.displacement_fwd, net.displacement_bwd})
            if (id >= 0 && std::find(readback.begin(), readback.end(), id) == readback.end()) {
                life[id].last = S;
                readback.push_back(id);
            }
    }
    for (int t = 0; t < T; ++t)
        if (life[t].bytes > f.max_storage_buffer_range)
            throw VulkanError("Vulkan: tensor " + std::to_string(t) + " (" + std::to_string(life[t].bytes >> 20) +
                              " MiB) is larger than one binding may be on this device; use a smaller input or batch");
    // A block lives as long as any of its tensors; those are placed with it.
    for (int t = 0; t < T; ++t)
        if (block_of[t] >= 0) {
            TensorLifetime& b = life[T + block_of[t]];
            b.first = std::min(b.first, life[t].first);
            b.last = std::max(b.last, life[t].last);
            life[t].bytes = 0;
        }

    // Dispatches and pipelines (compiled now, not at the first frame); first, as split-K steps
    // need scratch in the arena.
    size_t sets_count = size_t(S) + (image ? 1 : 0);
    reduce_sets_.assign(S, -1);
    reduce_pipelines_.assign(S, VK_NULL_HANDLE);
    for (int s = 0; s < S; ++s) {
        const Step& st = steps_[s];
        const Layer& last = net.layers[st.last()];
        switch (st.form) {
            case Step::Form::Layer:
                dispatches_.push_back(lower_layer(last, geometry_[st.last()], f, precision));
                step_names_.push_back(last.name);
                step_kinds_.push_back(last.kind);
                break;
            case Step::Form::MergedPointwise: {
                std::vector<const Layer*> members;
                std::vector<const LayerGeometry*> geo;
                std::vector<uint64_t> offsets;
                std::string name = "merged";
                for (int i : st.layers) {
                    members.push_back(&net.layers[i]);
                    geo.push_back(&geometry_[i]);
                    offsets.push_back(offset_in_block[net.layers[i].output] / sizeof(float));
                    name += (i == st.layers[0] ? " " : " + ") + net.layers[i].name;
                }
                dispatches_.push_back(lower_merged_pointwise(members, geo, offsets, f, precision));
                step_names_.push_back(name);
                step_kinds_.push_back(LayerKind::Conv2D);
                break;
            }
            case Step::Form::DepthwisePointwise: {
                const int d = st.layers[0];
                const Layer& dw = net.layers[d];
                dispatches_.push_back(lower_depthwise_pointwise(dw, geometry_[d], last, geometry_[st.last()], dw_bias_at(d), f));
                step_names_.push_back("dw+pw " + last.name);
                step_kinds_.push_back(LayerKind::Conv2D);
                break;
            }
        }
        const Dispatch& dp = dispatches_.back();
        pipelines_.push_back(kernels.pipeline(dp.kernel, dp.spec));
        if (dp.slices > 1) {
            reduce_pipelines_[s] = kernels.pipeline(Kernel::SplitKReduce, dp.reduce.spec);
            reduce_sets_[s] = int(sets_count++);
            scratch_bytes_ = std::max(scratch_bytes_, dp.scratch_bytes);
        }
    }

    ArenaLayout layout = plan_arena(life, align);
    scratch_offset_ = aligned(layout.size);
    if (scratch_bytes_) layout.size = scratch_offset_ + scratch_bytes_;
    tensor_offsets_.assign(layout.offsets.begin(), layout.offsets.begin() + T);
    for (int t = 0; t < T; ++t)
        if (block_of[t] >= 0) tensor_offsets_[t] = layout.offsets[size_t(T + block_of[t])] + offset_in_block[t];
    readback_offsets_.assign(T, -1);
    uint64_t readback_bytes = 0;
    for (int t : readback) {
        readback_offsets_[t] = int64_t(readback_bytes);
        readback_bytes += (bytes[t] + 15) / 16 * 16;
    }

    arena_ = Buffer(device, layout.size,
                    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                    MemoryUse::DeviceLocal, "activation arena");
    if (image) {
        const uint64_t bytes = (shape.image.bytes() + 3) / 4 * 4;  // the kernel reads 32-bit words
        image_staging_ = Buffer(device, bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, MemoryUse::Upload, "image staging");
        image_ = Buffer(device, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, MemoryUse::DeviceLocal,
                        "image");
        PreprocessPush& pp = preprocess_push_;
        pp.image_h = shape.image.height, pp.image_w = shape.image.width;
        pp.row_stride = shape.image.row_stride, pp.bpp = shape.image.bytes_per_pixel;
        pp.c0 = shape.image.channel_offsets[0], pp.c1 = shape.image.channel_offsets[1], pp.c2 = shape.image.channel_offsets[2];
        pp.out_h = shape.height, pp.out_w = shape.width, pp.count = shape.height * shape.width;
        for (int i = 0; i < 8; ++i) pp.t[i] = shape.image.transform[i];
        const uint32_t local = std::min<uint32_t>(256, f.max_workgroup_invocations);
        const uint64_t groups = (uint64_t(pp.count) + local - 1) / local;
        const uint32_t gx = uint32_t(std::min<uint64_t>(groups, f.max_workgroup_count[0]));
        preprocess_groups_ = {gx, uint32_t((groups + gx - 1) / gx), 1};
        preprocess_ = kernels.pipeline(Kernel::Preprocess, {int32_t(local), 1, int32_t(net.input_transform)});
    } else {
        input_ = Buffer(device, life[0].bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, MemoryUse::Upload, "input staging");
    }
    readback_ = Buffer(device, readback_bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT, MemoryUse::Readback, "output readback");

    const int sets = int(sets_count);  // descriptor sets: one per step, the preprocess one, one per split-K reduce
    VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, uint32_t(sets) * kBindingCount};
    auto pci = make<VkDescriptorPoolCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO);
    pci.maxSets = uint32_t(sets);
    pci.poolSizeCount = 1;
    pci.pPoolSizes = &ps;
    check(fn.CreateDescriptorPool(dev, &pci, nullptr, &pool_), "vkCreateDescriptorPool");
    std::vector<VkDescriptorSetLayout> layouts(sets, kernels.set_layout());
    auto dai = make<VkDescriptorSetAllocateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO);
    dai.descriptorPool = pool_;
    dai.descriptorSetCount = uint32_t(sets);
    dai.pSetLayouts = layouts.data();
    sets_.resize(sets);
    check(fn.AllocateDescriptorSets(dev, &dai, sets_.data()), "vkAllocateDescriptorSets");
    std::vector<VkDescriptorBufferInfo> infos(size_t(sets) * kBindingCount);
    std::vector<VkWriteDescriptorSet> writes;
    auto tensor_range = [&](int id) { return VkDescriptorBufferInfo{arena_.handle(), tensor_offsets_[id], bytes[id]}; };
    const VkDescriptorBufferInfo none{dummy, 0, VK_WHOLE_SIZE};
    for (int s = 0; s < S; ++s) {
        const Step& st = steps_[s];
        const int i = st.last();
        const Layer& l = net.layers[i];
        const Dispatch& d = dispatches_[s];
        VkDescriptorBufferInfo* b = &infos[size_t(s) * kBindingCount];
        b[kInput] = tensor_range(l.input);
        b[kInput2] = d.uses_input2 ? tensor_range(l.input2) : none;
        b[kFilter] = d.uses_filter ? VkDescriptorBufferInfo{weights.buffer(), weights.filter(i).offset, weights.filter(i).bytes} : none;
        b[kBias] = d.uses_bias ? VkDescriptorBufferInfo{weights.buffer(), weights.bias(i).offset, weights.bias(i).bytes} : none;
        b[kOutput] = tensor_range(l.output);
        if (st.form == Step::Form::MergedPointwise) {
            // The shared input, the packed weights, and the block holding every member's output.
            const WeightStore::Merged& m = *weights.merged(st.layers[0]);
            const int first_out = net.layers[st.layers[0]].output;
            const TensorLifetime& block = life[size_t(T + block_of[first_out])];
            b[kInput] = tensor_range(net.layers[st.layers[0]].input);
            b[kFilter] = {weights.buffer(), m.filter.offset, m.filter.bytes};
            b[kBias] = d.uses_bias ? VkDescriptorBufferInfo{weights.buffer(), m.bias.offset, m.bias.bytes} : none;
            b[kOutput] = {arena_.handle(), tensor_offsets_[first_out], block.bytes};
        } else if (st.form == Step::Form::DepthwisePointwise) {
            // The depthwise's input; its filter and bias (one range, the bias at kDwBiasAt) as binding 1.
            const int dwi = st.layers[0];
            const BufferRange wf = weights.filter(dwi), wb = weights.bias(dwi);
            const uint64_t end = wb.bytes ? wb.offset + wb.bytes : wf.offset + wf.bytes;
            b[kInput] = tensor_range(net.layers[dwi].input);
            b[kInput2] = {weights.buffer(), wf.offset, end - wf.offset};
        }
        auto w = make<VkWriteDescriptorSet>(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
        w.dstSet = sets_[s];
        w.dstBinding = 0;
        w.descriptorCount = kBindingCount;
        w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        w.pBufferInfo = b;
        if (d.slices > 1) {
            // The GEMM writes partials to the scratch; the reduce reads them, adds bias and
            // residual and writes the output(s).
            const VkDescriptorBufferInfo scratch{arena_.handle(), scratch_offset_, d.scratch_bytes};
            VkDescriptorBufferInfo* r = &infos[size_t(reduce_sets_[s]) * kBindingCount];
            r[kInput] = scratch;
            r[kInput2] = d.uses_input2 ? b[kInput2] : none;
            r[kFilter] = none;
            r[kBias] = b[kBias];
            r[kOutput] = b[kOutput];
            if (st.form != Step::Form::DepthwisePointwise) b[kInput2] = none;  // (fused: the depthwise weights stay)
            b[kBias] = none;
            b[kOutput] = scratch;
            auto wr = w;
            wr.dstSet = sets_[reduce_sets_[s]];
            wr.pBufferInfo = r;
            writes.push_back(wr);
        }
        writes.push_back(w);
    }
    if (image) {
        VkDescriptorBufferInfo* b = &infos[size_t(S) * kBindingCount];
        b[kInput] = {image_.handle(), 0, VK_WHOLE_SIZE};
        b[kInput2] = b[kFilter] = b[kBias] = none;
        b[kOutput] = tensor_range(0);
        auto w = make<VkWriteDescriptorSet>(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
        w.dstSet = sets_[S];
        w.descriptorCount = kBindingCount;
        w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        w.pBufferInfo = b;
        writes.push_back(w);
    }
    fn.UpdateDescriptorSets(dev, uint32_t(writes.size()), writes.data(), 0, nullptr);

    auto cpi = make<VkCommandPoolCreateInfo>(VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO);
    cpi.queueFamilyIndex = device.queue_family();
    check(fn.CreateCommandPool(dev, &cpi, nullptr, &command_pool_), "vkCreateCommandPool");
    auto cai = make<VkCommandBufferAllocateInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
    cai.commandPool = command_pool_;
    cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cai.commandBufferCount = 1;
    check(fn.AllocateCommandBuffers(dev, &cai, &commands_), "vkAllocateCommandBuffers");
    auto fci = make<VkFenceCreateInfo>(VK_STRUCTURE_TYPE_FENCE_CREATE_INFO);
    check(fn.CreateFence(dev, &fci, nullptr, &fence_), "vkCreateFence");
    if (timestamps != Timestamps::Off && f.timestamps) {
        timestamp_mode_ = timestamps;
        auto qci = make<VkQueryPoolCreateInfo>(VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO);
        qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
        qci.queryCount = timestamps == Timestamps::PerStep ? uint32_t(S + (image ? 1 : 0) + 1) : 2;
        check(fn.CreateQueryPool(dev, &qci, nullptr, &queries_), "vkCreateQueryPool");
    }
    record();
}

Plan::~Plan() { release(); }

void Plan::release() {
    const Functions& fn = device_.fn();
    VkDevice dev = device_.handle();
    // The command buffer is never left pending (execute waits), unless a wait failed: then idle first.
    fn.DeviceWaitIdle(dev);
    if (queries_) fn.DestroyQueryPool(dev, queries_, nullptr);
    if (fence_) fn.DestroyFence(dev, fence_, nullptr);
    if (command_pool_) fn.DestroyCommandPool(dev, command_pool_, nullptr);
    if (pool_) fn.DestroyDescriptorPool(dev, pool_, nullptr);
    queries_ = VK_NULL_HANDLE, fence_ = VK_NULL_HANDLE, command_pool_ = VK_NULL_HANDLE, pool_ = VK_NULL_HANDLE;
}

void Plan::record() {
    const Functions& fn = device_.fn();
    VkCommandBuffer cb = commands_;
    auto bi = make<VkCommandBufferBeginInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO);
    check(fn.BeginCommandBuffer(cb, &bi), "vkBeginCommandBuffer");
    const int L = int(dispatches_.size());
    const bool image = preprocess_ != VK_NULL_HANDLE;
    const uint32_t first = image ? 1 : 0;  // timestamp index before layer 0
    const bool per_step = queries_ && timestamp_mode_ == Timestamps::PerStep;
    if (queries_) fn.CmdResetQueryPool(cb, queries_, 0, per_step ? uint32_t(L + 1) + first : 2);
    // The previous frame's shaders and copies used the same memory (arena reuse): order them first.
    barrier(fn, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
    if (image) {
        VkBufferCopy in{0, 0, image_.size()};
        fn.CmdCopyBuffer(cb, image_staging_.handle(), image_.handle(), 1, &in);
    } else {
        VkBufferCopy in{0, tensor_offsets_[0], shapes_[0].elements() * sizeof(float)};
        fn.CmdCopyBuffer(cb, input_.handle(), arena_.handle(), 1, &in);
    }
    barrier(fn, cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
            VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    if (queries_) fn.CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, 0);
    if (image) {
        fn.CmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, preprocess_);
        fn.CmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout_, 0, 1, &sets_[L], 0, nullptr);
        fn.CmdPushConstants(cb, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(PreprocessPush), &preprocess_push_);
        fn.CmdDispatch(cb, preprocess_groups_[0], preprocess_groups_[1], preprocess_groups_[2]);
        barrier(fn, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
        if (per_step) fn.CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, 1);
    }
    for (int i = 0; i < L; ++i) {
        const Dispatch& d = dispatches_[i];
        fn.CmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipelines_[i]);
        fn.CmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout_, 0, 1, &sets_[i], 0, nullptr);
        fn.CmdPushConstants(cb, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(PushConstants), &d.push);
        fn.CmdDispatch(cb, d.groups[0], d.groups[1], d.groups[2]);
        if (d.slices > 1) {
            barrier(fn, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    VK_ACCESS_SHADER_READ_BIT);
            fn.CmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, reduce_pipelines_[i]);
            fn.CmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout_, 0, 1, &sets_[reduce_sets_[i]], 0, nullptr);
            fn.CmdPushConstants(cb, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(PushConstants), &d.reduce.push);
            fn.CmdDispatch(cb, d.reduce.groups[0], d.reduce.groups[1], d.reduce.groups[2]);
        }
        // Every step waits for the previous ones: most read their predecessor, and arena reuse
        // means later steps may overwrite what earlier ones still read (write-after-read).
        if (i + 1 < L)
            barrier(fn, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
        if (per_step) fn.CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, first + uint32_t(i + 1));
    }
    if (queries_ && !per_step) fn.CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, 1);
    barrier(fn, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_TRANSFER_READ_BIT);
    std::vector<VkBufferCopy> out;
    for (size_t t = 0; t < readback_offsets_.size(); ++t)
        if (readback_offsets_[t] >= 0)
            out.push_back({tensor_offsets_[t], uint64_t(readback_offsets_[t]), shapes_[t].elements() * sizeof(float)});
    fn.CmdCopyBuffer(cb, arena_.handle(), readback_.handle(), uint32_t(out.size()), out.data());
    barrier(fn, cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    check(fn.EndCommandBuffer(cb), "vkEndCommandBuffer");
}

void Plan::execute(std::span<const float> input, uint64_t timeout_ns) {
    const uint64_t expect = shapes_[0].elements();
    if (input.size() != expect)
        throw std::invalid_argument("Vulkan: input has " + std::to_string(input.size()) + " values, expected " + std::to_string(expect) +
                                    " (batch x height x width x channels)");
    if (preprocess_) throw std::logic_error("Vulkan: this plan takes an image, not float input");
    const auto t0 = std::chrono::steady_clock::now();
    std::memcpy(input_.mapped(), input.data(), input.size_bytes());
    input_.flush();
    host_phases_.upload_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    submit(timeout_ns);
}

void Plan::execute_image(const uint8_t* pixels, uint64_t timeout_ns) {
    if (!preprocess_) throw std::logic_error("Vulkan: this plan takes float input, not an image");
    const auto t0 = std::chrono::steady_clock::now();
    std::memcpy(image_staging_.mapped(), pixels, shape_.image.bytes());
    image_staging_.flush();
    host_phases_.upload_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    submit(timeout_ns);
}

void Plan::submit(uint64_t timeout_ns) {
    const Functions& fn = device_.fn();
    executed_ = false;
    check(fn.ResetFences(device_.handle(), 1, &fence_), "vkResetFences");
    const auto t0 = std::chrono::steady_clock::now();
    auto si = make<VkSubmitInfo>(VK_STRUCTURE_TYPE_SUBMIT_INFO);
    si.commandBufferCount = 1;
    si.pCommandBuffers = &commands_;
    check(fn.QueueSubmit(device_.queue(), 1, &si, fence_), "vkQueueSubmit (network)");
    device_.wait(fence_, timeout_ns, "the network");
    readback_.invalidate();
    host_phases_.submit_wait_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    executed_ = true;
}

std::vector<float> Plan::tensor(int id) const {
    if (!executed_) throw std::logic_error("Vulkan: no completed run to read tensors from");
    if (id < 0 || size_t(id) >= readback_offsets_.size() || readback_offsets_[id] < 0)
        throw std::invalid_argument("Vulkan: tensor " + std::to_string(id) + " is not read back by this plan");
    const float* p = reinterpret_cast<const float*>(static_cast<const char*>(readback_.mapped()) + readback_offsets_[id]);
    return std::vector<float>(p, p + shapes_[id].elements());
}

std::vector<LayerTiming> Plan::timings() const {
    std::vector<LayerTiming> out;
    if (!queries_ || !executed_ || timestamp_mode_ != Timestamps::PerStep) return out;
    const int L = int(dispatches_.size());
    const int first = preprocess_ ? 1 : 0;
    std::vector<uint64_t> ts(L + 1 + first);
    VkResult r = device_.fn().GetQueryPoolResults(device_.handle(), queries_, 0, uint32_t(ts.size()), ts.size() * sizeof(uint64_t),
                                                  ts.data(), sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    check(r, "vkGetQueryPoolResults");
    const DeviceFeatures& f = device_.features();
    const uint64_t mask = f.timestamp_valid_bits >= 64 ? ~0ull : (1ull << f.timestamp_valid_bits) - 1;
    auto ns = [&](int i) {
        uint64_t ticks = ((ts[i + 1] & mask) - (ts[i] & mask)) & mask;  // wraps within the valid bits
        return uint64_t(double(ticks) * f.timestamp_period_ns + 0.5);
    };
    if (preprocess_) out.push_back({"preprocess", kernel_name(Kernel::Preprocess), -1, LayerKind::Conv2D, ns(0), 0, {}});
    for (int i = 0; i < L; ++i) {
        const Step& st = steps_[i];
        uint64_t macs = 0;
        for (int l : st.layers) macs += geometry_[l].macs;
        const int layer = st.form == Step::Form::MergedPointwise ? st.layers.front() : st.last();
        out.push_back({step_names_[i], kernel_name(dispatches_[i].kernel), layer, step_kinds_[i], ns(first + i), macs, st.layers});
    }
    return out;
}

uint64_t Plan::gpu_span_ns() const {
    if (!queries_ || !executed_) return 0;
    const uint32_t n = timestamp_mode_ == Timestamps::PerStep ? uint32_t(dispatches_.size()) + 1 + (preprocess_ ? 1 : 0) : 2;
    std::vector<uint64_t> ts(n);
    check(device_.fn().GetQueryPoolResults(device_.handle(), queries_, 0, n, n * sizeof(uint64_t), ts.data(), sizeof(uint64_t),
                                           VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          "vkGetQueryPoolResults");
    const DeviceFeatures& f = device_.features();
    const uint64_t mask = f.timestamp_valid_bits >= 64 ? ~0ull : (1ull << f.timestamp_valid_bits) - 1;
    const uint64_t ticks = ((ts[n - 1] & mask) - (ts[0] & mask)) & mask;
    return uint64_t(double(ticks) * f.timestamp_period_ns + 0.5);
}

int Plan::dispatch_count() const {
    int n = preprocess_ ? 1 : 0;
    for (const Dispatch& d : dispatches_) n += d.dispatch_count();
    return n;
}

}  // namespace posenet::engine::vk
