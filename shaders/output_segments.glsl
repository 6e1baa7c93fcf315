// Where a GEMM conv's output value (pixel m, channel n) goes. Normally y[m * CO + n]. Several 1x1
// convs of one input merged into one GEMM (their filters side by side: CO = the sum of their output
// channels) write each conv's channel range, with its own activation, to its own NHWC tensor:
// segment s covers channels [SEG_END(s-1), SEG_END(s)) and its tensor starts at
// p.segment_offset[s] elements into y (the host places the tensors in one arena range, bound as y).
// Needs CO and ACT declared before (conv_gemm.glsl, splitk_reduce.comp).

layout(constant_id = 20) const int SEGMENTS = 1;   // 1..4
layout(constant_id = 21) const int SEG_END0 = 0;
layout(constant_id = 22) const int SEG_END1 = 0;
layout(constant_id = 23) const int SEG_END2 = 0;
layout(constant_id = 24) const int SEG_ACT1 = 0;
layout(constant_id = 25) const int SEG_ACT2 = 0;
layout(constant_id = 26) const int SEG_ACT3 = 0;

// v: the finished sum with bias and residual, before the activation.
void store_output(const int m, const int n, const float v) {
    if (SEGMENTS == 1) {
        y[m * CO + n] = Y_T(activate(v));
        return;
    }
    int begin = 0, end = SEG_END0, base = p.segment_offset[0];
    float r = activate(v);
    if (n >= SEG_END0) {
        begin = SEG_END0, end = SEGMENTS > 2 ? SEG_END1 : CO, base = p.segment_offset[1];
        r = activate_as(v, SEG_ACT1);
    }
    if (SEGMENTS > 2 && n >= SEG_END1) {
        begin = SEG_END1, end = SEGMENTS > 3 ? SEG_END2 : CO, base = p.segment_offset[2];
        r = activate_as(v, SEG_ACT2);
    }
    if (SEGMENTS > 3 && n >= SEG_END2) {
        begin = SEG_END2, end = CO, base = p.segment_offset[3];
        r = activate_as(v, SEG_ACT3);
    }
    y[base + m * (end - begin) + (n - begin)] = Y_T(r);
}
