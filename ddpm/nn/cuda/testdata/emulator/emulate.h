// Just enough of CUDA C's execution model to run kernels.cu on the CPU: the
// threads of a block are fibers (ucontext) on one OS thread, switched at
// __syncthreads and at warp shuffles, which wait like real barriers.
#include <cmath>
#include <cstddef>
#include <functional>
#include <math.h>
#include <type_traits>
#include <ucontext.h>
#include <utility>
#include <vector>

struct uint3 {
	unsigned x = 0, y = 0, z = 0;
};

static uint3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __shared__ static

struct Fiber {
	ucontext_t ctx;
	std::vector<char> stack = std::vector<char>(256 << 10);
	bool done = false;
};

static ucontext_t scheduler;
static std::vector<Fiber> fibers;
static unsigned current;
static std::function<void()> body;

static void yield() {
	unsigned me = current;
	swapcontext(&fibers[me].ctx, &scheduler);
	threadIdx = {me, 0, 0};
}

// Barrier waits until expected fibers have arrived; the others keep running.
struct Barrier {
	unsigned expected, arrived = 0, generation = 0;
	void wait() {
		unsigned g = generation;
		if (++arrived == expected) {
			arrived = 0;
			generation++;
			return;
		}
		while (generation == g) yield();
	}
};

static Barrier blockBarrier;
static std::vector<Barrier> warpBarriers;
static double shuffle[32][32]; // [warp][lane]

inline void __syncthreads() { blockBarrier.wait(); }

inline double __shfl_down_sync(unsigned, double v, int offset) {
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	shuffle[warp][lane] = v;
	warpBarriers[warp].wait();
	double r = lane + offset < 32 ? shuffle[warp][lane + offset] : v;
	warpBarriers[warp].wait();
	return r;
}

static void fiberMain() {
	body();
	fibers[current].done = true;
}

// runBlock runs body on blockDim.x fibers until all have returned.
static void runBlock() {
	unsigned n = blockDim.x;
	if (fibers.size() < n) fibers.resize(n);
	blockBarrier = Barrier{n};
	warpBarriers.assign((n + 31) / 32, Barrier{32});
	for (unsigned t = 0; t < n; t++) {
		Fiber& f = fibers[t];
		f.done = false;
		getcontext(&f.ctx);
		f.ctx.uc_stack.ss_sp = f.stack.data();
		f.ctx.uc_stack.ss_size = f.stack.size();
		f.ctx.uc_link = &scheduler;
		makecontext(&f.ctx, fiberMain, 0);
	}
	for (unsigned left = n; left > 0;) {
		left = 0;
		for (unsigned t = 0; t < n; t++) {
			if (fibers[t].done) continue;
			current = t;
			threadIdx = {t, 0, 0};
			swapcontext(&scheduler, &fibers[t].ctx);
			left += !fibers[t].done;
		}
	}
}

template <class... A, std::size_t... I>
void invoke(void (*k)(A...), void** p, std::index_sequence<I...>) {
	k(*static_cast<std::remove_reference_t<A>*>(p[I])...);
}

// emulate runs kernel k with its arguments read from CUDA's void** list on
// at most 3 blocks of at most 64 threads: every kernel in kernels.cu loops
// over the grid and the block, so any launch shape covers all the work.
template <class... A>
void emulate(void (*k)(A...), void** params, unsigned grid, unsigned block) {
	gridDim = {grid < 3 ? grid : 3u, 1, 1};
	blockDim = {block < 64 ? block : 64u, 1, 1};
	body = [=] { invoke(k, params, std::index_sequence_for<A...>{}); };
	for (unsigned b = 0; b < gridDim.x; b++) {
		blockIdx = {b, 0, 0};
		runBlock();
	}
}
