// libcuda.so.1 stand-in: see README.md.
#include "emulate.h"
#include "../../kernels.cu"

#include <cstdint>
#include <cstdlib>
#include <cstring>

typedef unsigned long long CUdeviceptr;

struct Kernel {
	const char* name;
	void (*run)(void**, unsigned, unsigned);
};

#define K(f) {#f, [](void** p, unsigned g, unsigned b) { emulate(f, p, g, b); }}
static Kernel kernels[] = {
	K(im2col), K(col2im), K(cl_to_ncl), K(ncl_to_cl), K(row_sum_add), K(row_dot_add), K(col_sum_add), K(add_row_bias),
	K(silu), K(silu_backward), K(add), K(axpy), K(add_channels), K(scale_channels), K(concat), K(split),
	K(upsample2x), K(upsample2x_backward), K(softmax_rows), K(softmax_rows_backward),
	K(embedding), K(embedding_backward), K(mse), K(adam), K(ema),
	K(groupnorm), K(groupnorm_params), K(groupnorm_input),
};

extern "C" {
int cuInit(unsigned) { return 0; }
int cuDriverGetVersion(int* v) { *v = 13000; return 0; }
int cuDeviceGetCount(int* n) { *n = 1; return 0; }
int cuDeviceGet(int* d, int ordinal) { *d = ordinal; return ordinal == 0 ? 0 : 101; }
int cuDeviceGetName(char* name, int n, int) { strncpy(name, "CPU emulator", n); return 0; }
int cuDeviceTotalMem_v2(size_t* bytes, int) { *bytes = size_t(1) << 30; return 0; }
int cuDeviceGetAttribute(int* v, int attr, int) { *v = attr == 75 ? 8 : 0; return 0; }
int cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = (void*)kernels; return 0; }
int cuDevicePrimaryCtxRelease_v2(int) { return 0; }
int cuCtxSetCurrent(void*) { return 0; }
int cuCtxSynchronize() { return 0; }

int cuMemAlloc_v2(CUdeviceptr* p, size_t n) {
	void* m = std::aligned_alloc(256, (n + 255) / 256 * 256);
	if (!m) return 2;
	memset(m, 0xff, n); // NaN: reading memory nobody wrote shows up
	*p = (CUdeviceptr)(uintptr_t)m;
	return 0;
}
int cuMemFree_v2(CUdeviceptr p) { std::free((void*)(uintptr_t)p); return 0; }
int cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) { memcpy((void*)(uintptr_t)dst, src, n); return 0; }
int cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) { memcpy(dst, (void*)(uintptr_t)src, n); return 0; }
int cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) { memmove((void*)(uintptr_t)dst, (void*)(uintptr_t)src, n); return 0; }
int cuMemsetD32_v2(CUdeviceptr dst, unsigned v, size_t n) {
	unsigned* d = (unsigned*)(uintptr_t)dst;
	for (size_t i = 0; i < n; i++) d[i] = v;
	return 0;
}

int cuModuleLoadData(void** mod, const void*) { *mod = (void*)kernels; return 0; }
int cuModuleGetFunction(void** f, void*, const char* name) {
	for (auto& k : kernels) {
		if (strcmp(k.name, name) == 0) {
			*f = &k;
			return 0;
		}
	}
	return 500; // CUDA_ERROR_NOT_FOUND
}
int cuLaunchKernel(void* f, unsigned gx, unsigned, unsigned, unsigned bx, unsigned, unsigned, unsigned, void*, void** params, void**) {
	static_cast<Kernel*>(f)->run(params, gx, bx);
	return 0;
}
int cuGetErrorName(int, const char** s) { *s = "CUDA_ERROR_EMULATED"; return 0; }
}
