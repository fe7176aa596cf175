package nn

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		kernMR, kernNR, kernel, kernelAcc, kernelRows = 6, 16, kernel6x16, kernel6x16Acc, kernel6x16Rows
		indKernels = []indKernel{{6, 16, kernel6x16Ind}}
		if cpu.X86.HasAVX512F {
			indKernels = append(indKernels, indKernel{16, 16, kernel16x16Ind})
		}
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

//go:noescape
func kernel6x16IndAVX2(k int, a, b *float32, offs *int32, c *float32, ldc int)

func kernel6x16Ind(k int, a, b []float32, offs []int32, c []float32, ldc int) {
	_, _, _ = a[6*k-1], offs[k-1], c[5*ldc+15]
	kernel6x16IndAVX2(k, &a[0], &b[0], &offs[0], &c[0], ldc)
}

//go:noescape
func kernel6x16RowsAVX2(k int, rows *[6]*float32, b *float32, ldb int, c *float32, ldc int)

func kernel6x16Rows(k int, rows [][]float32, b []float32, ldb int, c []float32, ldc int) {
	var ptrs [6]*float32
	for i := range ptrs {
		ptrs[i] = &rows[i][:k][0]
	}
	_, _ = b[(k-1)*ldb+15], c[5*ldc+15]
	kernel6x16RowsAVX2(k, &ptrs, &b[0], ldb, &c[0], ldc)
}

//go:noescape
func kernel16x16IndAVX512(k int, a, b *float32, offs *int32, c *float32, ldc int)

func kernel16x16Ind(k int, a, b []float32, offs []int32, c []float32, ldc int) {
	_, _, _ = a[16*k-1], offs[k-1], c[15*ldc+15]
	kernel16x16IndAVX512(k, &a[0], &b[0], &offs[0], &c[0], ldc)
}
