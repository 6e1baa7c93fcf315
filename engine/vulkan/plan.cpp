#include "engine/vulkan/plan.h"

#include <algorithm>
#include <atomic>
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

std::atomic<uint64_t> next_plan_id{1};

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

Plan::Plan(Device& device, KernelLibrary& kernels, const WeightStore& weights, VkBuffer dummy, const Network& net, PlanShape shape,
           bool fuse, bool fuse_always, Precision precision, HalfTensors half)
    : device_(device), shape_(shape), id_(next_plan_id++), layout_(kernels.layout()) {
    try {
        build(kernels, weights, dummy, net, fuse, fuse_always, precision, half);
    } catch (...) {
        release();  // the destructor does not run for a constructor that throws
        throw;
    }
}

void Plan::build(KernelLibrary& kernels, const WeightStore& weights, VkBuffer dummy, const Network& net, bool fuse, bool fuse_always,
                 Precision precision, HalfTensors half) {
    const PlanShape shape = shape_;
    Device& device = device_;
    const Functions& fn = device.fn();
    VkDevice dev = device.handle();
    const DeviceFeatures& f = device.features();
    geometry_ = net.geometry(shape.height, shape.width, shape.batch);
    shapes_ = net.tensor_shapes(shape.height, shape.width, shape.batch);
    const int L = int(net.layers.size());
    if (L == 0) throw VulkanError("Vulkan: the network has no layers");
    if (shape.batch < 1) throw std::invalid_argument("Vulkan: batch must be >= 1");
    // 8-bit images are preprocessed on the device where TF.js's double-precision bilinear can be
    // reproduced (shaderFloat64); elsewhere the executor preprocesses them on the host.
    const bool image = shapes_[0].c == 3 && f.shader_float64;
    outputs_ = {net.heatmap, net.offsets, net.displacement_fwd, net.displacement_bwd};
    const uint64_t align = std::max<uint64_t>(f.min_storage_buffer_offset_alignment, 256);
    auto aligned = [&](uint64_t v) { return (v + align - 1) / align * align; };
    const int T = int(shapes_.size());
    if (half != HalfTensors::None && !f.storage_buffer_16bit)
        throw VulkanError("Vulkan: float16 activations need storageBuffer16BitAccess, which device " + device.info().name + " lacks");
    // float32 sizes until the steps are known (a merged block that fits in float32 fits in float16).
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
    std::vector<std::string> step_names;
    std::vector<LayerKind> step_kinds;

    half_ = half_tensors(net, steps_, precision, half);
    auto element_bytes = [&](int t) -> uint64_t { return half_[size_t(t)] ? 2 : sizeof(float); };
    for (int t = 0; t < T; ++t) bytes[t] = shapes_[t].h > 0 ? shapes_[t].elements() * element_bytes(t) : 0;

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
    if (!shape.keep_all)
        for (int id : outputs_)
            if (id < 0) throw ModelError("network: an output tensor is missing");
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
    size_t sets_count = size_t(S);
    reduce_sets_.assign(S, -1);
    reduce_pipelines_.assign(S, VK_NULL_HANDLE);
    for (int s = 0; s < S; ++s) {
        const Step& st = steps_[s];
        const Layer& last = net.layers[st.last()];
        switch (st.form) {
            case Step::Form::Layer:
                dispatches_.push_back(lower_layer(last, geometry_[st.last()], f, precision));
                step_names.push_back(last.name);
                step_kinds.push_back(last.kind);
                break;
            case Step::Form::MergedPointwise: {
                std::vector<const Layer*> members;
                std::vector<const LayerGeometry*> geo;
                std::vector<uint64_t> offsets;
                std::string name = "merged";
                for (int i : st.layers) {
                    members.push_back(&net.layers[i]);
                    geo.push_back(&geometry_[i]);
                    offsets.push_back(offset_in_block[net.layers[i].output] / element_bytes(net.layers[i].output));
                    name += (i == st.layers[0] ? " " : " + ") + net.layers[i].name;
                }
                dispatches_.push_back(lower_merged_pointwise(members, geo, offsets, f, precision));
                step_names.push_back(name);
                step_kinds.push_back(LayerKind::Conv2D);
                break;
            }
            case Step::Form::DepthwisePointwise: {
                const int d = st.layers[0];
                const Layer& dw = net.layers[d];
                dispatches_.push_back(lower_depthwise_pointwise(dw, geometry_[d], last, geometry_[st.last()], dw_bias_at(d), f));
                step_names.push_back("dw+pw " + last.name);
                step_kinds.push_back(LayerKind::Conv2D);
                break;
            }
        }
        const Dispatch& dp = dispatches_.back();
        // Storage variants: what the bindings below hold. A split GEMM writes float32 partials to
        // the scratch and its reduce reads the residual; a fused step's binding 1 is weights.
        const bool fused = st.form == Step::Form::DepthwisePointwise;
        const int in = net.layers[st.layers[0]].input, out = net.layers[st.layers[0]].output;
        const bool residual_half = dp.uses_input2 && !fused && last.input2 >= 0 && half_[size_t(last.input2)];
        const uint32_t out_half = half_[size_t(st.form == Step::Form::MergedPointwise ? out : last.output)] ? kOutputHalf : 0;
        uint32_t storage = half_[size_t(in)] ? kInputHalf : 0;
        if (dp.slices == 1) storage |= (residual_half ? kInput2Half : 0) | out_half;
        pipelines_.push_back(kernels.pipeline(dp.kernel, dp.spec, storage));
        if (dp.slices > 1) {
            reduce_pipelines_[s] = kernels.pipeline(Kernel::SplitKReduce, dp.reduce.spec, (residual_half ? kInput2Half : 0) | out_half);
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
    readback_bytes_ = 0;
    for (int t : readback) {
        readback_offsets_[t] = int64_t(readback_bytes_);
        readback_bytes_ += (bytes[t] + 15) / 16 * 16;
    }

    arena_ = Buffer(device, layout.size,
                    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                    MemoryUse::DeviceLocal, "activation arena");
    if (image) {
        const uint32_t local = std::min<uint32_t>(256, f.max_workgroup_invocations);
        const uint64_t groups = (shapes_[0].elements() / 3 + local - 1) / local;
        const uint32_t gx = uint32_t(std::min<uint64_t>(groups, f.max_workgroup_count[0]));
        preprocess_groups_ = {gx, uint32_t((groups + gx - 1) / gx), 1};
        preprocess_ = kernels.pipeline(Kernel::Preprocess, {int32_t(local), 1, int32_t(net.input_transform)});
    }
    const int sets = int(sets_count);  // descriptor sets: one per step, one per split-K reduce
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
    fn.UpdateDescriptorSets(dev, uint32_t(writes.size()), writes.data(), 0, nullptr);

    // What timings() reports per step.
    auto table = std::make_shared<StepTable>();
    for (int i = 0; i < S; ++i) {
        const Step& st = steps_[i];
        uint64_t macs = 0;
        for (int l : st.layers) macs += geometry_[l].macs;
        const int layer = st.form == Step::Form::MergedPointwise ? st.layers.front() : st.last();
        table->steps.push_back({step_names[i], kernel_name(dispatches_[i].kernel), layer, step_kinds[i], 0, macs, st.layers});
    }
    step_table_ = std::move(table);
}

Plan::~Plan() { release(); }

void Plan::release() {
    const Functions& fn = device_.fn();
    // Pipelines belong to the kernel library; the arena goes with its Buffer.
    if (pool_) fn.DestroyDescriptorPool(device_.handle(), pool_, nullptr);
    pool_ = VK_NULL_HANDLE;
}

VkDescriptorBufferInfo Plan::input_range() const {
    return {arena_.handle(), tensor_offsets_[0], shapes_[0].elements() * sizeof(float)};
}

uint32_t Plan::query_count(Timestamps timestamps, bool images) const {
    switch (timestamps) {
        case Timestamps::Off: return 0;
        case Timestamps::Total: return 2;
        case Timestamps::PerStep: return uint32_t(dispatches_.size()) + 1 + (images ? 1 : 0);
    }
    return 0;
}

void Plan::preprocess_push(int32_t (&push)[4]) const {
    push[0] = shape_.height, push[1] = shape_.width, push[2] = shape_.batch;
    push[3] = int32_t(shapes_[0].elements() / 3);
}

void Plan::record_network(VkCommandBuffer cb, VkDescriptorSet preprocess_set, VkQueryPool queries, Timestamps timestamps) const {
    const Functions& fn = device_.fn();
    const int L = int(dispatches_.size());
    const bool image = preprocess_set != VK_NULL_HANDLE;
    if (image && !preprocess_) throw std::logic_error("Vulkan: this plan does not take images");
    if (!queries) timestamps = Timestamps::Off;
    const bool per_step = timestamps == Timestamps::PerStep;
    const uint32_t first = image ? 1 : 0;  // timestamp index before layer 0
    if (queries) {
        fn.CmdResetQueryPool(cb, queries, 0, query_count(timestamps, image));
        fn.CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries, 0);
    }
    if (image) {
        int32_t push[4];
        preprocess_push(push);
        fn.CmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, preprocess_);
        fn.CmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout_, 0, 1, &preprocess_set, 0, nullptr);
        fn.CmdPushConstants(cb, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof push, push);
        fn.CmdDispatch(cb, preprocess_groups_[0], preprocess_groups_[1], preprocess_groups_[2]);
        barrier(fn, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
        if (per_step) fn.CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries, 1);
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
        if (per_step) fn.CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries, first + uint32_t(i + 1));
    }
    if (queries && !per_step) fn.CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries, 1);
}

void Plan::record_readback(VkCommandBuffer cb, VkBuffer readback, OutputSet outputs) const {
    const Functions& fn = device_.fn();
    barrier(fn, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_TRANSFER_READ_BIT);
    std::vector<int> tensors;
    if (shape_.keep_all) {
        for (size_t t = 0; t < readback_offsets_.size(); ++t) tensors.push_back(int(t));
    } else {
        tensors = {outputs_[0], outputs_[1]};
        if (outputs == OutputSet::All) tensors.insert(tensors.end(), {outputs_[2], outputs_[3]});
    }
    std::sort(tensors.begin(), tensors.end());
    tensors.erase(std::unique(tensors.begin(), tensors.end()), tensors.end());  // (test networks alias outputs)
    std::vector<VkBufferCopy> copies;
    for (int t : tensors)
        if (t >= 0 && readback_offsets_[t] >= 0)
            copies.push_back({tensor_offsets_[t], uint64_t(readback_offsets_[t]), shapes_[t].elements() * (half_[t] ? 2 : sizeof(float))});
    if (!copies.empty()) fn.CmdCopyBuffer(cb, arena_.handle(), readback, uint32_t(copies.size()), copies.data());
    barrier(fn, cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
}

int Plan::dispatch_count(bool images) const {
    int n = images && preprocess_ ? 1 : 0;
    for (const Dispatch& d : dispatches_) n += d.dispatch_count();
    return n;
}

// ---- Lane ----

Lane::Lane(Device& device, KernelLibrary& kernels, VkBuffer dummy)
    : device_(device),
      set_layout_(kernels.set_layout()),
      dummy_(dummy),
      align_(std::max<uint64_t>(device.features().min_storage_buffer_offset_alignment, 256)) {
    const Functions& fn = device.fn();
    VkDevice dev = device.handle();
    try {
        auto cpi = make<VkCommandPoolCreateInfo>(VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO);
        cpi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;  // re-recorded when something changes
        cpi.queueFamilyIndex = device.queue_family();
        check(fn.CreateCommandPool(dev, &cpi, nullptr, &command_pool_), "vkCreateCommandPool");
        auto cai = make<VkCommandBufferAllocateInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
        cai.commandPool = command_pool_;
        cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        cai.commandBufferCount = 1;
        check(fn.AllocateCommandBuffers(dev, &cai, &commands_), "vkAllocateCommandBuffers");
        auto fci = make<VkFenceCreateInfo>(VK_STRUCTURE_TYPE_FENCE_CREATE_INFO);
        check(fn.CreateFence(dev, &fci, nullptr, &fence_), "vkCreateFence");
        VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kBindingCount};
        auto dpi = make<VkDescriptorPoolCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO);
        dpi.maxSets = 1;
        dpi.poolSizeCount = 1;
        dpi.pPoolSizes = &ps;
        check(fn.CreateDescriptorPool(dev, &dpi, nullptr, &descriptor_pool_), "vkCreateDescriptorPool");
        auto dai = make<VkDescriptorSetAllocateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO);
        dai.descriptorPool = descriptor_pool_;
        dai.descriptorSetCount = 1;
        dai.pSetLayouts = &set_layout_;
        check(fn.AllocateDescriptorSets(dev, &dai, &preprocess_set_), "vkAllocateDescriptorSets");
    } catch (...) {
        release();  // the destructor does not run for a constructor that throws
        throw;
    }
}

Lane::~Lane() { release(); }

void Lane::release() {
    const Functions& fn = device_.fn();
    VkDevice dev = device_.handle();
    if (in_flight_) {
        // Never free what the GPU may still read: wait for the run, or for the whole device where
        // the wait itself failed.
        VkResult r = failed_ ? VK_ERROR_UNKNOWN : fn.WaitForFences(dev, 1, &fence_, VK_TRUE, 60ull * 1000000000ull);
        if (r != VK_SUCCESS) device_.wait_idle();
        in_flight_ = false;
    }
    if (queries_) fn.DestroyQueryPool(dev, queries_, nullptr);
    if (descriptor_pool_) fn.DestroyDescriptorPool(dev, descriptor_pool_, nullptr);
    if (fence_) fn.DestroyFence(dev, fence_, nullptr);
    if (command_pool_) fn.DestroyCommandPool(dev, command_pool_, nullptr);
    queries_ = VK_NULL_HANDLE, descriptor_pool_ = VK_NULL_HANDLE, fence_ = VK_NULL_HANDLE, command_pool_ = VK_NULL_HANDLE;
}

uint64_t Lane::pixel_offset(int batch) const { return align_up(uint64_t(batch) * sizeof(PreprocessItem), align_); }

void Lane::ensure(Buffer& buffer, uint64_t bytes, VkBufferUsageFlags usage, MemoryUse use, const char* what) {
    if (buffer.handle() && buffer.size() >= bytes) return;
    // Grown to what this run needs (in 64 KiB steps): frames of one size never grow it again, and
    // the largest input seen bounds it.
    buffer = Buffer();
    ++buffers_;  // whatever comes next, what was recorded with the old buffer is stale
    buffer = Buffer(device_, align_up(std::max<uint64_t>(bytes, 1), 64 * 1024), usage, use, what);
}

uint8_t* Lane::upload(uint64_t bytes) {
    if (in_flight_) throw std::logic_error("Vulkan lane: the upload buffer is in use by a run in flight");
    ensure(upload_, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT, MemoryUse::UploadDeviceLocal,
           "upload buffer");
    return static_cast<uint8_t*>(upload_.mapped());
}

void Lane::update_preprocess_set(const Plan& plan) {
    const uint64_t pixels_at = pixel_offset(plan.shape().batch);
    const uint64_t max_range = device_.features().max_storage_buffer_range;
    VkDescriptorBufferInfo b[kBindingCount];
    const VkDescriptorBufferInfo none{dummy_, 0, VK_WHOLE_SIZE};
    b[kInput] = {upload_.handle(), pixels_at, std::min(upload_.size() - pixels_at, max_range)};
    b[kInput2] = none;
    b[kFilter] = {upload_.handle(), 0, uint64_t(plan.shape().batch) * sizeof(PreprocessItem)};
    b[kBias] = none;
    b[kOutput] = plan.input_range();
    auto w = make<VkWriteDescriptorSet>(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
    w.dstSet = preprocess_set_;
    w.descriptorCount = kBindingCount;
    w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w.pBufferInfo = b;
    device_.fn().UpdateDescriptorSets(device_.handle(), 1, &w, 0, nullptr);
}

void Lane::record(const Plan& plan, bool images, OutputSet outputs, VkQueryPool queries, Timestamps timestamps) {
    const Functions& fn = device_.fn();
    VkCommandBuffer cb = commands_;
    auto bi = make<VkCommandBufferBeginInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO);
    check(fn.BeginCommandBuffer(cb, &bi), "vkBeginCommandBuffer");
    // Orders this run after everything submitted to the queue before it: runs of every lane share
    // the plan's arena.
    barrier(fn, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
    if (!images) {
        const VkDescriptorBufferInfo in = plan.input_range();
        VkBufferCopy c{0, in.offset, in.range};
        fn.CmdCopyBuffer(cb, upload_.handle(), in.buffer, 1, &c);
        barrier(fn, cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    }
    plan.record_network(cb, images ? preprocess_set_ : VK_NULL_HANDLE, queries, timestamps);
    plan.record_readback(cb, readback_.handle(), outputs);
    check(fn.EndCommandBuffer(cb), "vkEndCommandBuffer");
    ++records_;
}

void Lane::submit(const Plan& plan, bool images, OutputSet outputs, Timestamps timestamps) {
    if (in_flight_) throw std::logic_error("Vulkan lane: submit() while a run is in flight");
    if (images && !plan.takes_images()) throw std::logic_error("Vulkan lane: the plan does not take images");
    if (!images && upload_.size() < plan.input_range().range) throw std::logic_error("Vulkan lane: upload() holds no float input");
    const Functions& fn = device_.fn();
    VkDevice dev = device_.handle();
    ensure(readback_, plan.readback_bytes(), VK_BUFFER_USAGE_TRANSFER_DST_BIT, MemoryUse::Readback, "output readback");
    if (!device_.features().timestamps) timestamps = Timestamps::Off;
    query_count_ = plan.query_count(timestamps, images);
    if (query_count_ > query_capacity_) {
        if (queries_) fn.DestroyQueryPool(dev, queries_, nullptr);
        queries_ = VK_NULL_HANDLE;
        query_capacity_ = 0;
        ++buffers_;
        auto qci = make<VkQueryPoolCreateInfo>(VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO);
        qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
        qci.queryCount = query_count_;
        check(fn.CreateQueryPool(dev, &qci, nullptr, &queries_), "vkCreateQueryPool");
        query_capacity_ = query_count_;
    }
    const VkQueryPool queries = query_count_ ? queries_ : VK_NULL_HANDLE;
    if (images) {
        const SetKey sk{plan.id(), buffers_};
        if (!(sk == set_key_)) {
            set_key_ = {};
            record_key_ = {};  // the command buffer binds the set: record again
            update_preprocess_set(plan);
            set_key_ = sk;
        }
    }
    if (plan.shape().keep_all) outputs = OutputSet::All;
    const RecordKey rk{plan.id(), images, outputs, buffers_, queries != VK_NULL_HANDLE, queries ? timestamps : Timestamps::Off};
    if (!(rk == record_key_)) {
        record_key_ = {};  // a failure part-way leaves it cleared: the next run records again
        record(plan, images, outputs, queries, rk.timestamps);
        record_key_ = rk;
    }
    upload_.flush();
    check(fn.ResetFences(dev, 1, &fence_), "vkResetFences");
    submitted_at_ = std::chrono::steady_clock::now();
    device_.submit(std::span(&commands_, 1), fence_, "network");
    in_flight_ = true;
    failed_ = false;
}

void Lane::wait(uint64_t timeout_ns) {
    if (!in_flight_) throw std::logic_error("Vulkan lane: wait() without a run in flight");
    try {
        device_.wait(fence_, timeout_ns, "the network");
    } catch (...) {
        failed_ = true;  // still in flight as far as memory is concerned
        throw;
    }
    in_flight_ = false;
    readback_.invalidate();
    submit_wait_us_ = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - submitted_at_).count();
}

const float* Lane::readback(int64_t offset) const {
    if (offset < 0 || uint64_t(offset) >= readback_.size()) throw std::invalid_argument("Vulkan lane: that tensor is not read back");
    return reinterpret_cast<const float*>(static_cast<const char*>(readback_.mapped()) + offset);
}

std::vector<uint64_t> Lane::timestamps() const {
    std::vector<uint64_t> ts(query_count_);
    if (ts.empty() || in_flight_) return {};
    check(device_.fn().GetQueryPoolResults(device_.handle(), queries_, 0, uint32_t(ts.size()), ts.size() * sizeof(uint64_t), ts.data(),
                                           sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          "vkGetQueryPoolResults");
    return ts;
}

}  // namespace posenet::engine::vk
