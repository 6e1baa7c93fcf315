#include "engine/cpu_thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace posenet::engine::cpu {

int cpu_threads() {
#if defined(_OPENMP)
    return std::max(1, omp_get_max_threads());
#else
    return 1;
#endif
}

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
}

// The pool behind parallel_for. A job is published by bumping `gen`; `next` holds the job's epoch
// (gen's low 24 bits), its chunk count (20 bits) and the next unclaimed chunk (20 bits), so a helper
// that looks late claims nothing of a later job by mistake: its compare-exchange fails on the epoch,
// and the count it checks is the one of the epoch it claims in. A claim succeeding means the job is
// still running, so the fields the helper read (after seeing its gen) are that job's.
constexpr int kChunkBits = 20;
constexpr uint64_t kChunkMask = (uint64_t(1) << kChunkBits) - 1, kEpochMask = (uint64_t(1) << 24) - 1;
class Pool {
public:
    ~Pool() {
        stop_.store(true);
        gen_.fetch_add(1);
        gen_.notify_all();
        for (auto& t : helpers_) t.join();
    }

    void run(int64_t n, int64_t grain, void (*fn)(void*, int64_t, int64_t, int), void* ctx, int threads) {
        if ((n + grain - 1) / grain > int64_t(kChunkMask)) grain = (n + int64_t(kChunkMask) - 1) / int64_t(kChunkMask);
        const int64_t chunks = (n + grain - 1) / grain;
        std::unique_lock<std::mutex> busy(job_mutex_, std::try_to_lock);
        if (threads <= 1 || chunks <= 1 || !busy.owns_lock()) {
            fn(ctx, 0, n, 0);
            return;
        }
        while (int(helpers_.size()) < threads - 1) {
            const int index = int(helpers_.size());
            helpers_.emplace_back([this, index] { help(index); });
        }
        fn_.store(fn, std::memory_order_relaxed);
        ctx_.store(ctx, std::memory_order_relaxed);
        n_.store(n, std::memory_order_relaxed);
        grain_.store(grain, std::memory_order_relaxed);
        helpers_wanted_.store(threads - 1, std::memory_order_relaxed);
        done_.store(0, std::memory_order_relaxed);
        const uint32_t epoch = gen_.load(std::memory_order_relaxed) + 1;
        next_.store((uint64_t(epoch) & kEpochMask) << (2 * kChunkBits) | uint64_t(chunks) << kChunkBits, std::memory_order_release);
        gen_.store(epoch);  // seq_cst: ordered before the load of sleeping_ below
        if (sleeping_.load() > 0) gen_.notify_all();
        int64_t mine = 0;
        for (int64_t c; (c = claim(epoch)) >= 0; ++mine) fn(ctx, c * grain, std::min(n, (c + 1) * grain), 0);
        // Wait for the chunks helpers claimed (spinning, then yielding the core: a helper preempted in
        // the middle of a chunk may need it).
        const int64_t theirs = chunks - mine;
        for (int spins = 0; done_.load(std::memory_order_acquire) < theirs; ++spins) {
            if (spins < 20000) cpu_relax();
            else std::this_thread::yield();
        }
    }

private:
    // The next chunk of job `epoch`, or -1.
    int64_t claim(uint32_t epoch) {
        uint64_t v = next_.load(std::memory_order_acquire);
        for (;;) {
            if ((v >> (2 * kChunkBits)) != (uint64_t(epoch) & kEpochMask)) return -1;
            const int64_t c = int64_t(v & kChunkMask);
            if (c >= int64_t((v >> kChunkBits) & kChunkMask)) return -1;
            if (next_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return c;
        }
    }

    void help(int index) {
        uint32_t seen = 0;
        for (;;) {
            // Spin ~0.2 ms for the next job (back-to-back layers), then sleep.
            const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
            uint32_t g;
            int spins = 0;
            while ((g = gen_.load(std::memory_order_acquire)) == seen) {
                cpu_relax();
                if (++spins % 256 == 0 && std::chrono::steady_clock::now() > until) {
                    sleeping_.fetch_add(1);
                    gen_.wait(seen);
                    sleeping_.fetch_sub(1);
                    spins = 0;
                }
            }
            seen = g;
            if (stop_.load()) return;
            if (index >= helpers_wanted_.load(std::memory_order_relaxed)) continue;
            for (;;) {
                // The job's fields before the claim: a stale read (a later job) fails the claim.
                auto* fn = fn_.load(std::memory_order_relaxed);
                void* ctx = ctx_.load(std::memory_order_relaxed);
                const int64_t n = n_.load(std::memory_order_relaxed), grain = grain_.load(std::memory_order_relaxed);
                const int64_t c = claim(g);
                if (c < 0) break;
                fn(ctx, c * grain, std::min(n, (c + 1) * grain), index + 1);
                done_.fetch_add(1, std::memory_order_release);
            }
        }
    }

    std::mutex job_mutex_;
    std::vector<std::thread> helpers_;  // grows under job_mutex_
    std::atomic<uint32_t> gen_{0};
    std::atomic<uint64_t> next_{0};
    std::atomic<void (*)(void*, int64_t, int64_t, int)> fn_{nullptr};
    std::atomic<void*> ctx_{nullptr};
    std::atomic<int64_t> n_{0}, grain_{1}, done_{0};
    std::atomic<int> helpers_wanted_{0}, sleeping_{0};
    std::atomic<bool> stop_{false};
};

}  // namespace

void parallel_for(int64_t n, int64_t grain, void (*fn)(void* ctx, int64_t begin, int64_t end, int slot), void* ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    static Pool pool;
    pool.run(n, grain, fn, ctx, cpu_threads());
}

}  // namespace posenet::engine::cpu
