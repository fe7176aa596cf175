//go:build linux && (amd64 || arm64)

package cuda

import "fmt"

// cublas holds the cuBLAS functions we call (cublas_api.h).
type cublas struct {
	lib *library

	Create       func(h *uintptr) int32
	Destroy      func(h uintptr) int32
	GetVersion   func(h uintptr, v *int32) int32
	SetMathMode  func(h uintptr, mode int32) int32
	Sgemm        func(h uintptr, ta, tb int32, m, n, k int32, alpha *float32, a uintptr, lda int32, b uintptr, ldb int32, beta *float32, c uintptr, ldc int32) int32
	SgemmBatched func(h uintptr, ta, tb int32, m, n, k int32, alpha *float32, a uintptr, lda int32, sa int64, b uintptr, ldb int32, sb int64, beta *float32, c uintptr, ldc int32, sc int64, batch int32) int32
}

const (
	opN = 0 // CUBLAS_OP_N
	opT = 1 // CUBLAS_OP_T

	mathDefault = 0 // CUBLAS_DEFAULT_MATH
	mathTF32    = 3 // CUBLAS_TF32_TENSOR_OP_MATH
)

func loadCUBLAS(dirs []string, driverMajor int) (*cublas, error) {
	lib, err := openLibrary("cuBLAS (libcublas.so)", "libcublasLt.so.*", preferMajor(cublasNames, driverMajor), dirs)
	if err != nil {
		return nil, err
	}
	b := &cublas{lib: lib}
	return b, lib.bind([]symbol{
		{&b.Create, "cublasCreate_v2"}, {&b.Destroy, "cublasDestroy_v2"},
		{&b.GetVersion, "cublasGetVersion_v2"}, {&b.SetMathMode, "cublasSetMathMode"},
		{&b.Sgemm, "cublasSgemm_v2"}, {&b.SgemmBatched, "cublasSgemmStridedBatched"},
	})
}

var cublasStatus = map[int32]string{
	1: "CUBLAS_STATUS_NOT_INITIALIZED", 3: "CUBLAS_STATUS_ALLOC_FAILED", 7: "CUBLAS_STATUS_INVALID_VALUE",
	8: "CUBLAS_STATUS_ARCH_MISMATCH", 11: "CUBLAS_STATUS_MAPPING_ERROR", 13: "CUBLAS_STATUS_EXECUTION_FAILED",
	14: "CUBLAS_STATUS_INTERNAL_ERROR", 15: "CUBLAS_STATUS_NOT_SUPPORTED",
}

func checkBLAS(call string, code int32) error {
	if code == 0 {
		return nil
	}
	if s, ok := cublasStatus[code]; ok {
		return fmt.Errorf("%s: %s", call, s)
	}
	return fmt.Errorf("%s: cuBLAS status %d", call, code)
}
