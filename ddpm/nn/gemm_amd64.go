package nn

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		kernMR, kernNR, kernel, kernelAcc = 6, 16, kernel6x16, kernel6x16Acc
	}
}

// kernel6x16AVX2 computes a 6×16 tile with AVX2 FMAs (gemm_amd64.s).
//
//go:noescape
func kernel6x16AVX2(k int, a, b, t *float32)

func kernel6x16(k int, a, b, t []float32) {
	if k == 0 {
		clear(t[:96])
		return
	}
	_, _, _ = a[6*k-1], b[16*k-1], t[95]
	kernel6x16AVX2(k, &a[0], &b[0], &t[0])
}

//go:noescape
func kernel6x16AccAVX2(k int, a, b, c *float32, ldc int, alpha float32)

func kernel6x16Acc(k int, a, b, c []float32, ldc int, alpha float32) {
	_, _, _ = a[6*k-1], b[16*k-1], c[5*ldc+15]
	kernel6x16AccAVX2(k, &a[0], &b[0], &c[0], ldc, alpha)
}
