// libcublas.so.13 stand-in: see README.md. Column-major, as cuBLAS documents.
extern "C" {
int cublasCreate_v2(void** h) { *h = (void*)1; return 0; }
int cublasDestroy_v2(void*) { return 0; }
int cublasGetVersion_v2(void*, int* v) { *v = 130000; return 0; }
int cublasSetMathMode(void*, int) { return 0; }

int cublasSgemm_v2(void*, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                   const float* B, int ldb, const float* beta, float* C, int ldc) {
	for (int j = 0; j < n; j++) {
		for (int i = 0; i < m; i++) {
			float s = 0;
			for (int p = 0; p < k; p++) {
				float a = ta == 0 ? A[i + (long)p * lda] : A[p + (long)i * lda];
				float b = tb == 0 ? B[p + (long)j * ldb] : B[j + (long)p * ldb];
				s += a * b;
			}
			float& c = C[i + (long)j * ldc];
			c = *alpha * s + (*beta == 0 ? 0.0f : *beta * c);
		}
	}
	return 0;
}

int cublasSgemmStridedBatched(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                              long long sa, const float* B, int ldb, long long sb, const float* beta, float* C, int ldc,
                              long long sc, int batch) {
	for (int i = 0; i < batch; i++) {
		cublasSgemm_v2(h, ta, tb, m, n, k, alpha, A + i * sa, lda, B + i * sb, ldb, beta, C + i * sc, ldc);
	}
	return 0;
}
}
