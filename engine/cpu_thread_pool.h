// The CPU executor's thread pool (one per process), apart from the kernels that use it.
#pragma once

#include <cstdint>

namespace posenet::engine::cpu {

// The CPU executor's threads: the calling thread and up to cpu_threads() - 1 helpers of one pool per
// process. parallel_for runs fn(ctx, begin, end, slot) over [0, n) in chunks of `grain` items claimed
// one at a time (slot: 0 on the calling thread, 1.. on the helpers; below cpu_threads(), and no two
// chunks running at once share one): helpers take chunks as they get to them and the caller takes every chunk no helper has
// claimed, then waits only for chunks in flight. A helper the OS has not scheduled costs nothing
// (OpenMP's fork-join waits for every thread of the team at every region: on a loaded 2-core
// machine a run with 2 threads took 245 ms instead of 10). Helpers spin about 0.2 ms after a job,
// then sleep. One job at a time: a second caller meanwhile (another executor's thread, or a nested
// call) runs its job alone.
int cpu_threads();  // OMP_NUM_THREADS / omp_get_max_threads() where built with OpenMP, else 1
void parallel_for(int64_t n, int64_t grain, void (*fn)(void* ctx, int64_t begin, int64_t end, int slot), void* ctx);

}  // namespace posenet::engine::cpu
