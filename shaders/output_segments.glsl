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

// The segment of channel n (0 when there is one): its first channel, its end, and where its tensor
// starts in y.
int output_segment(const int n, out int begin, out int end, out int base) {
    int s = 0;
    begin = 0, end = SEGMENTS > 1 ? SEG_END0 : CO, base = p.segment_offset[0];
    if (SEGMENTS > 1 && n >= SEG_END0) s = 1, begin = SEG_END0, end = SEGMENTS > 2 ? SEG_END1 : CO, base = p.segment_offset[1];
    if (SEGMENTS > 2 && n >= SEG_END1) s = 2, begin = SEG_END1, end = SEGMENTS > 3 ? SEG_END2 : CO, base = p.segment_offset[2];
    if (SEGMENTS > 3 && n >= SEG_END2) s = 3, begin = SEG_END2, end = CO, base = p.segment_offset[3];
    return s;
}

// Segment s's activation (each a constant, so activate_as folds).
float activate_segment(const float v, const int s) {
    if (s == 1) return activate_as(v, SEG_ACT1);
    if (s == 2) return activate_as(v, SEG_ACT2);
    if (s == 3) return activate_as(v, SEG_ACT3);
    return activate(v);
}

// v: the finished sum with bias and residual, before the activation.
void store_output(const int m, const int n, const float v) {
    if (SEGMENTS == 1) {
        y[m * CO + n] = Y_T(activate(v));
        return;
    }
    int begin, end, base;
    const int s = output_segment(n, begin, end, base);
    y[base + m * (end - begin) + (n - begin)] = Y_T(activate_segment(v, s));
}
