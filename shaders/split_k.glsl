// Split-K's end, in the GEMM kernels themselves (conv_gemm.glsl, coopmat_gemm.glsl): each of a
// tile's SLICES workgroups writes its partial sums to `partial` ([SLICES][M][CO]), then counts
// itself in with an atomic on the tile's counter; the last to arrive adds the partials of every
// value of the tile in slice order (the order of the single pass's epilogue inputs never changes:
// the result does not depend on which workgroup finishes last), applies bias, residual and
// activation, and sets the counter back to 0 for the next split layer and the next run. This
// replaces a reduce dispatch and its barrier per split layer. The host zeroes the counters once.
// Needs SLICES, CO, BM, BN, THREADS, store_output (output_segments.glsl) declared before.
layout(std430, set = 0, binding = 5) coherent restrict buffer Partials { float partial[]; };
layout(std430, set = 0, binding = 6) coherent restrict buffer TileCounters { uint tile_arrivals[]; };

shared bool split_k_last;

void split_k_store(const int slice, const int m, const int n, const float v) { partial[(slice * p.count + m) * CO + n] = v; }

// Called by every invocation of the workgroup once its partials are written. tile: the tile's
// counter (m tile + n tile * m tiles); tile_m, tile_n: its first row and channel.
void split_k_finish(const int tile, const int tile_m, const int tile_n, const int tid) {
    memoryBarrierBuffer();   // this workgroup's partials, visible before it counts itself in
    barrier();
    if (tid == 0) split_k_last = atomicAdd(tile_arrivals[tile], 1u) == uint(SLICES - 1);
    barrier();
    if (!split_k_last) return;   // uniform: a shared value read after a barrier
    memoryBarrierBuffer();
    const int M = p.count;
    for (int e = tid; e < BM * BN; e += THREADS) {
        const int m = tile_m + e / BN, n = tile_n + e % BN;
        if (m >= M || n >= CO) continue;
        float v = partial[m * CO + n];
        for (int s = 1; s < SLICES; ++s) v += partial[(s * M + m) * CO + n];
        if (HAS_BIAS) v += bias[n];
        if (HAS_RESIDUAL) v += x2[m * CO + n];
        store_output(m, n, v);
    }
    if (tid == 0) tile_arrivals[tile] = 0u;
}
