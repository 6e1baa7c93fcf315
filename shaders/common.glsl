// Shared by every kernel: one descriptor layout and one push-constant block for all of them, so a
// single pipeline layout serves every dispatch (engine/vulkan/kernels.h mirrors these).
#extension GL_EXT_control_flow_attributes : enable

// Specialization constants common to all kernels (ids 0..4); per-kernel ones start at 5.
layout(constant_id = 2) const int ACT = 0;           // 0 none, 1 relu, 2 relu6 (engine::Activation)
layout(constant_id = 3) const bool HAS_BIAS = false;
layout(constant_id = 4) const bool HAS_RESIDUAL = false;

// Tensors are NHWC; each binding is one tensor's range of the arena or weight buffer. Activations
// are float32, or float16 (storage only: every value is converted to float32 on load and rounded
// once on store) in the variants built with X_F16 (binding 0), X2_F16 (binding 1), Y_F16 (binding 4)
// set to 1 (shaders/meson.build builds them; engine/vulkan/kernels.h: StorageVariant). X_T, X2_T,
// Y_T are the element types, X4_T... the four-element ones, for kernels that alias a binding as vec4s.
#ifndef X_F16
#define X_F16 0
#endif
#ifndef X2_F16
#define X2_F16 0
#endif
#ifndef Y_F16
#define Y_F16 0
#endif
#if X_F16 || X2_F16 || Y_F16
#extension GL_EXT_shader_16bit_storage : require
#endif
#if X_F16
#define X_T float16_t
#define X4_T f16vec4
#else
#define X_T float
#define X4_T vec4
#endif
#if X2_F16
#define X2_T float16_t
#define X24_T f16vec4
#else
#define X2_T float
#define X24_T vec4
#endif
#if Y_F16
#define Y_T float16_t
#define Y4_T f16vec4
#else
#define Y_T float
#define Y4_T vec4
#endif
layout(std430, set = 0, binding = 0) readonly restrict buffer Input { X_T x[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Input2 { X2_T x2[]; };   // Add operand / residual
layout(std430, set = 0, binding = 2) readonly restrict buffer Filter { float w[]; };
layout(std430, set = 0, binding = 3) readonly restrict buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 4) writeonly restrict buffer Output { Y_T y[]; };

// Values that change with the input size (one pipeline serves every size).
layout(push_constant) uniform Params {
    int batch, in_h, in_w, out_h;
    int out_w, pad_top, pad_left, count;       // count: output elements, or GEMM rows (pixels)
    int zero_top, zero_left, zero_bottom, zero_right;  // maxpool: pads that hold zeros
    int segment_offset[4];                      // merged 1x1 convs: each output's start in y (output_segments.glsl)
} p;

// act: engine::Activation, a constant wherever it is called, so the branches fold away.
float activate_as(float v, int act) {
    if (act == 1) return max(v, 0.0);
    if (act == 2) return min(max(v, 0.0), 6.0);
    return v;
}

float activate(float v) { return activate_as(v, ACT); }

// Elementwise kernels spread groups over x and y (x is capped at 65535 on some devices).
// The including kernel must declare its local size before the #include (see add.comp).
uint linear_invocation() {
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}
