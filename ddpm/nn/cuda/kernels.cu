// Kernels of the CUDA backend, compiled at run time with NVRTC. Each mirrors
// a method of the CPU backend in ddpm/nn; GEMMs go to cuBLAS instead.
// Sizes are ints; elementwise kernels use grid-stride loops, reductions one
// block per output and accumulate in double like the CPU kernels.

#define LOOP(i, n) for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

// block_sum returns the sum of v over the block to every thread. blockDim.x
// must be a multiple of 32 and at most 1024.
__device__ double block_sum(double v) {
	__shared__ double part[33];
	for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	if (lane == 0) part[warp] = v;
	__syncthreads();
	if (warp == 0) {
		v = lane < (int)(blockDim.x >> 5) ? part[lane] : 0.0;
		for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
		if (lane == 0) part[32] = v;
	}
	__syncthreads();
	v = part[32];
	__syncthreads();
	return v;
}

// im2col writes col[(c·K + kh)·K + kw][n·L + oy·Wo + ox] = x[n, c, oy·s − p + kh, ox·s − p + kw].
extern "C" __global__ void im2col(const float* x, float* col, int N, int C, int H, int W,
                                  int K, int stride, int pad, int Ho, int Wo) {
	int L = Ho * Wo, NL = N * L;
	LOOP(i, C * K * K * NL) {
		int j = i % NL, r = i / NL;
		int n = j / L, p = j % L, oy = p / Wo, ox = p % Wo;
		int kw = r % K, kh = (r / K) % K, c = r / (K * K);
		int iy = oy * stride - pad + kh, ix = ox * stride - pad + kw;
		col[i] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? x[((n * C + c) * H + iy) * W + ix] : 0.0f;
	}
}

// col2im is im2col's adjoint: dx[n, c, y, x] gathers every column entry that read it.
extern "C" __global__ void col2im(const float* dcol, float* dx, int N, int C, int H, int W,
                                  int K, int stride, int pad, int Ho, int Wo) {
	int L = Ho * Wo, NL = N * L;
	LOOP(i, N * C * H * W) {
		int x = i % W, y = (i / W) % H, c = (i / (W * H)) % C, n = i / (W * H * C);
		float s = 0.0f;
		for (int kh = 0; kh < K; kh++) {
			int ty = y + pad - kh;
			if (ty < 0 || ty % stride != 0 || ty / stride >= Ho) continue;
			for (int kw = 0; kw < K; kw++) {
				int tx = x + pad - kw;
				if (tx < 0 || tx % stride != 0 || tx / stride >= Wo) continue;
				s += dcol[((c * K + kh) * K + kw) * NL + n * L + (ty / stride) * Wo + tx / stride];
			}
		}
		dx[i] = s;
	}
}

// cl_to_ncl turns t [C, N·L] into y [N, C, L], adding b[c] when b is not null.
extern "C" __global__ void cl_to_ncl(const float* t, const float* b, float* y, int N, int C, int L) {
	LOOP(i, N * C * L) {
		int p = i % L, c = (i / L) % C, n = i / (L * C);
		y[i] = t[c * N * L + n * L + p] + (b ? b[c] : 0.0f);
	}
}

// ncl_to_cl turns y [N, C, L] into t [C, N·L].
extern "C" __global__ void ncl_to_cl(const float* y, float* t, int N, int C, int L) {
	LOOP(i, N * C * L) {
		int p = i % L, c = (i / L) % C, n = i / (L * C);
		t[c * N * L + n * L + p] = y[i];
	}
}

// row_sum_add adds the sum of each row of t [rows, cols] to out[row]; one block per row.
extern "C" __global__ void row_sum_add(const float* t, float* out, int rows, int cols) {
	for (int r = blockIdx.x; r < rows; r += gridDim.x) {
		double s = 0.0;
		for (int j = threadIdx.x; j < cols; j += blockDim.x) s += t[r * cols + j];
		s = block_sum(s);
		if (threadIdx.x == 0) out[r] += (float)s;
	}
}

// row_dot_add adds the dot product of each row of a and b [rows, cols] to out[row]; one block per row.
extern "C" __global__ void row_dot_add(const float* a, const float* b, float* out, int rows, int cols) {
	for (int r = blockIdx.x; r < rows; r += gridDim.x) {
		double s = 0.0;
		for (int j = threadIdx.x; j < cols; j += blockDim.x) s += (double)a[r * cols + j] * b[r * cols + j];
		s = block_sum(s);
		if (threadIdx.x == 0) out[r] += (float)s;
	}
}

// col_sum_add adds the sum of each column of t [rows, cols] to out[col].
extern "C" __global__ void col_sum_add(const float* t, float* out, int rows, int cols) {
	LOOP(j, cols) {
		float s = 0.0f;
		for (int r = 0; r < rows; r++) s += t[r * cols + j];
		out[j] += s;
	}
}

// add_row_bias adds b[j] to y[i, j] of y [rows, cols].
extern "C" __global__ void add_row_bias(float* y, const float* b, int rows, int cols) {
	LOOP(i, rows * cols) y[i] += b[i % cols];
}

extern "C" __global__ void silu(float* y, float* sig, const float* x, int n) {
	LOOP(i, n) {
		float v = x[i], s = 1.0f / (1.0f + expf(-v));
		if (sig) sig[i] = s;
		y[i] = v * s;
	}
}

extern "C" __global__ void silu_backward(float* dx, const float* dy, const float* x, const float* sig, int n) {
	LOOP(i, n) {
		float s = sig[i];
		dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
	}
}

extern "C" __global__ void add(float* y, const float* a, const float* b, int n) {
	LOOP(i, n) y[i] = a[i] + b[i];
}

extern "C" __global__ void axpy(float* y, float alpha, const float* x, int n) {
	LOOP(i, n) y[i] += alpha * x[i];
}

// add_channels: y[p·size + j] = x[p·size + j] + v[p] for planes p.
extern "C" __global__ void add_channels(float* y, const float* x, const float* v, int planes, int size) {
	LOOP(i, planes * size) y[i] = x[i] + v[i / size];
}

// scale_channels: y[p·size + j] = x[p·size + j]·(1 + s[p]) for planes p.
extern "C" __global__ void scale_channels(float* y, const float* x, const float* s, int planes, int size) {
	LOOP(i, planes * size) y[i] = x[i] * (1.0f + s[i / size]);
}

// concat joins a [N, sa] and b [N, sb] into y [N, sa + sb].
extern "C" __global__ void concat(float* y, const float* a, const float* b, int N, int sa, int sb) {
	int s = sa + sb;
	LOOP(i, N * s) {
		int n = i / s, j = i % s;
		y[i] = j < sa ? a[n * sa + j] : b[n * sb + j - sa];
	}
}

extern "C" __global__ void split(float* da, float* db, const float* dy, int N, int sa, int sb) {
	int s = sa + sb;
	LOOP(i, N * s) {
		int n = i / s, j = i % s;
		if (j < sa) da[n * sa + j] = dy[i];
		else db[n * sb + j - sa] = dy[i];
	}
}

// upsample2x: y [planes, 2h, 2w] repeats each pixel of x [planes, h, w].
extern "C" __global__ void upsample2x(float* y, const float* x, int planes, int h, int w) {
	LOOP(i, planes * 4 * h * w) {
		int ox = i % (2 * w), oy = (i / (2 * w)) % (2 * h), p = i / (4 * h * w);
		y[i] = x[(p * h + oy / 2) * w + ox / 2];
	}
}

extern "C" __global__ void upsample2x_backward(float* dx, const float* dy, int planes, int h, int w) {
	LOOP(i, planes * h * w) {
		int x = i % w, y = (i / w) % h, p = i / (h * w);
		const float* r0 = dy + (p * 2 * h + 2 * y) * 2 * w + 2 * x;
		const float* r1 = r0 + 2 * w;
		dx[i] = r0[0] + r0[1] + r1[0] + r1[1];
	}
}

// softmax_rows: one thread per row of d values.
extern "C" __global__ void softmax_rows(float* y, const float* x, int rows, int d) {
	LOOP(r, rows) {
		const float* xs = x + r * d;
		float* ys = y + r * d;
		float mx = xs[0];
		for (int i = 1; i < d; i++) mx = fmaxf(mx, xs[i]);
		float sum = 0.0f;
		for (int i = 0; i < d; i++) {
			float e = expf(xs[i] - mx);
			ys[i] = e;
			sum += e;
		}
		float inv = 1.0f / sum;
		for (int i = 0; i < d; i++) ys[i] *= inv;
	}
}

extern "C" __global__ void softmax_rows_backward(float* dx, const float* dy, const float* y, int rows, int d) {
	LOOP(r, rows) {
		const float *ys = y + r * d, *dys = dy + r * d;
		float dot = 0.0f;
		for (int i = 0; i < d; i++) dot += ys[i] * dys[i];
		for (int i = 0; i < d; i++) dx[r * d + i] = ys[i] * (dys[i] - dot);
	}
}

extern "C" __global__ void embedding(float* y, const float* table, const int* ids, int n, int d) {
	LOOP(i, n * d) y[i] = table[ids[i / d] * d + i % d];
}

// embedding_backward: one thread per column, rows in order, so repeated ids
// add up without atomics.
extern "C" __global__ void embedding_backward(float* dtable, const float* dy, const int* ids, int n, int d) {
	LOOP(j, d) {
		for (int i = 0; i < n; i++) dtable[ids[i] * d + j] += dy[i * d + j];
	}
}

// mse writes grad = scale·(pred − target) and the sums of squares of parts
// slices into partial[0..parts); blocks loop over slices, so the sums do not
// depend on how many blocks run.
extern "C" __global__ void mse(float* grad, const float* pred, const float* target, int n, float scale,
                               double* partial, int parts) {
	for (int part = blockIdx.x; part < parts; part += gridDim.x) {
		double s = 0.0;
		for (int i = part * blockDim.x + threadIdx.x; i < n; i += parts * blockDim.x) {
			float d = pred[i] - target[i];
			s += (double)d * (double)d;
			grad[i] = scale * d;
		}
		s = block_sum(s);
		if (threadIdx.x == 0) partial[part] = s;
	}
}

// adam: p −= stepSize·m/(√v/sqrtC2 + eps), as CPU.Adam.
extern "C" __global__ void adam(float* p, const float* g, float* m, float* v, int n,
                                float b1, float b2, float stepSize, float sqrtC2, float eps) {
	LOOP(i, n) {
		float gi = g[i];
		float mi = b1 * m[i] + (1.0f - b1) * gi;
		float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		p[i] -= stepSize * mi / (sqrtf(vi) / sqrtC2 + eps);
	}
}

extern "C" __global__ void ema(float* avg, const float* p, int n, float d) {
	LOOP(i, n) avg[i] = d * avg[i] + (1.0f - d) * p[i];
}

// groupnorm: one block per (image, group) of gsize = per·size values.
extern "C" __global__ void groupnorm(float* y, float* mean, float* rstd, const float* x,
                                     const float* gamma, const float* beta, int N, int C, int G, int size, float eps) {
	int per = C / G, gsize = per * size;
	for (int ng = blockIdx.x; ng < N * G; ng += gridDim.x) {
		const float* xs = x + ng * gsize;
		double s = 0.0;
		for (int i = threadIdx.x; i < gsize; i += blockDim.x) s += xs[i];
		double mu = block_sum(s) / gsize;
		double ss = 0.0;
		for (int i = threadIdx.x; i < gsize; i += blockDim.x) {
			double d = xs[i] - mu;
			ss += d * d;
		}
		double r = 1.0 / sqrt(block_sum(ss) / gsize + (double)eps);
		if (threadIdx.x == 0) {
			mean[ng] = (float)mu;
			rstd[ng] = (float)r;
		}
		int g0 = (ng % G) * per;
		for (int i = threadIdx.x; i < gsize; i += blockDim.x) {
			int c = g0 + i / size;
			float a = (float)r * gamma[c];
			float b = beta[c] - (float)mu * a;
			y[ng * gsize + i] = xs[i] * a + b;
		}
	}
}

// groupnorm_params adds the γ and β gradients; one block per channel.
extern "C" __global__ void groupnorm_params(float* dgamma, float* dbeta, const float* dy, const float* x,
                                            const float* mean, const float* rstd, int N, int C, int G, int size) {
	int per = C / G;
	for (int ch = blockIdx.x; ch < C; ch += gridDim.x) {
		int g = ch / per;
		double sg = 0.0, sb = 0.0;
		for (int i = threadIdx.x; i < N * size; i += blockDim.x) {
			int n = i / size, j = i % size;
			float mu = mean[n * G + g], r = rstd[n * G + g];
			int off = (n * C + ch) * size + j;
			float d = dy[off];
			sg += (double)(d * (x[off] - mu) * r);
			sb += (double)d;
		}
		sg = block_sum(sg);
		sb = block_sum(sb);
		if (threadIdx.x == 0) {
			dgamma[ch] += (float)sg;
			dbeta[ch] += (float)sb;
		}
	}
}

// groupnorm_input writes dx = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = dy·γ; one block per (image, group).
extern "C" __global__ void groupnorm_input(float* dx, const float* dy, const float* x, const float* mean,
                                           const float* rstd, const float* gamma, int N, int C, int G, int size) {
	int per = C / G, gsize = per * size;
	for (int ng = blockIdx.x; ng < N * G; ng += gridDim.x) {
		float mu = mean[ng], r = rstd[ng];
		int g0 = (ng % G) * per, off = ng * gsize;
		double s1 = 0.0, s2 = 0.0;
		for (int i = threadIdx.x; i < gsize; i += blockDim.x) {
			float gh = dy[off + i] * gamma[g0 + i / size];
			s1 += (double)gh;
			s2 += (double)(gh * (x[off + i] - mu) * r);
		}
		float m1 = (float)(block_sum(s1) / gsize), m2 = (float)(block_sum(s2) / gsize);
		for (int i = threadIdx.x; i < gsize; i += blockDim.x) {
			float xh = (x[off + i] - mu) * r;
			dx[off + i] = r * (dy[off + i] * gamma[g0 + i / size] - m1 - xh * m2);
		}
	}
}
