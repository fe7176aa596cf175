// Package cuda is an nn.Backend that runs the U-Net on an NVIDIA GPU without
// cgo: it loads the driver (libcuda), NVRTC and cuBLAS at run time with
// purego, compiles its kernels (kernels.cu) with NVRTC for the GPU it finds,
// and sends the GEMMs to cuBLAS. Building needs no CUDA toolkit; running
// needs the NVIDIA driver plus the NVRTC and cuBLAS libraries of CUDA 11,
// 12 or 13, from a CUDA installation or from Python's nvidia-* wheels.
//
// A CUDA context belongs to an OS thread, so every call runs on one goroutine
// locked to its thread. Tensors live in device memory; only what the caller
// uploads or downloads crosses the bus.
package cuda

import "fmt"

// PathEnv names a folder (or a list of folders separated by ':') searched
// first for the CUDA libraries.
const PathEnv = "DDPM_CUDA_PATH"

// Options selects the device and the GEMM precision.
type Options struct {
	Device int  // CUDA device ordinal
	TF32   bool // let cuBLAS use TF32 tensor cores for the GEMMs (faster, about 1e-3 relative error)
}

// Info describes an opened device and the libraries in use.
type Info struct {
	Name         string // device name, e.g. "NVIDIA H100 80GB HBM3"
	Memory       uint64 // bytes of device memory
	Major, Minor int    // compute capability
	Driver       int    // CUDA version of the driver, e.g. 12040
	NVRTC        int    // NVRTC version, e.g. 12040
	CUBLAS       int    // cuBLAS version, e.g. 120405
	Libraries    []string
}

// String is the one line the trainer prints when it picks the GPU.
func (i Info) String() string {
	return fmt.Sprintf("%s (%.1f GiB, sm_%d%d), driver CUDA %s, NVRTC %s, cuBLAS %d.%d.%d",
		i.Name, float64(i.Memory)/(1<<30), i.Major, i.Minor, cudaVersion(i.Driver), cudaVersion(i.NVRTC),
		i.CUBLAS/10000, i.CUBLAS/100%100, i.CUBLAS%100)
}

func cudaVersion(v int) string { return fmt.Sprintf("%d.%d", v/1000, v%1000/10) }
