//go:build linux && (amd64 || arm64)

package cuda

import (
	"fmt"
	"unsafe"
)

// driver holds the CUDA driver API functions we call (cuda.h).
type driver struct {
	lib *library

	Init               func(flags uint32) int32
	DriverGetVersion   func(v *int32) int32
	DeviceGetCount     func(n *int32) int32
	DeviceGet          func(dev *int32, ordinal int32) int32
	DeviceGetName      func(name *byte, n int32, dev int32) int32
	DeviceTotalMem     func(bytes *uint64, dev int32) int32
	DeviceGetAttribute func(v *int32, attr int32, dev int32) int32
	PrimaryCtxRetain   func(ctx *uintptr, dev int32) int32
	PrimaryCtxRelease  func(dev int32) int32
	CtxSetCurrent      func(ctx uintptr) int32
	CtxSynchronize     func() int32
	MemAlloc           func(ptr *uintptr, bytes uint64) int32
	MemFree            func(ptr uintptr) int32
	MemcpyHtoD         func(dst uintptr, src unsafe.Pointer, bytes uint64) int32
	MemcpyDtoH         func(dst unsafe.Pointer, src uintptr, bytes uint64) int32
	MemcpyDtoD         func(dst, src uintptr, bytes uint64) int32
	MemsetD32          func(dst uintptr, v uint32, n uint64) int32
	ModuleLoadData     func(mod *uintptr, image unsafe.Pointer) int32
	ModuleGetFunction  func(fn *uintptr, mod uintptr, name string) int32
	LaunchKernel       func(fn uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params, extra unsafe.Pointer) int32
	GetErrorName       func(code int32, name **byte) int32
}

const (
	attrComputeMajor = 75 // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
	attrComputeMinor = 76
)

func loadDriver(dirs []string) (*driver, error) {
	lib, err := openLibrary("the NVIDIA driver library (libcuda.so.1)", "", driverNames, dirs)
	if err != nil {
		return nil, err
	}
	d := &driver{lib: lib}
	return d, lib.bind([]symbol{
		{&d.Init, "cuInit"}, {&d.DriverGetVersion, "cuDriverGetVersion"},
		{&d.DeviceGetCount, "cuDeviceGetCount"}, {&d.DeviceGet, "cuDeviceGet"},
		{&d.DeviceGetName, "cuDeviceGetName"}, {&d.DeviceTotalMem, "cuDeviceTotalMem_v2"},
		{&d.DeviceGetAttribute, "cuDeviceGetAttribute"},
		{&d.PrimaryCtxRetain, "cuDevicePrimaryCtxRetain"}, {&d.PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"},
		{&d.CtxSetCurrent, "cuCtxSetCurrent"}, {&d.CtxSynchronize, "cuCtxSynchronize"},
		{&d.MemAlloc, "cuMemAlloc_v2"}, {&d.MemFree, "cuMemFree_v2"},
		{&d.MemcpyHtoD, "cuMemcpyHtoD_v2"}, {&d.MemcpyDtoH, "cuMemcpyDtoH_v2"},
		{&d.MemcpyDtoD, "cuMemcpyDtoD_v2"}, {&d.MemsetD32, "cuMemsetD32_v2"},
		{&d.ModuleLoadData, "cuModuleLoadData"}, {&d.ModuleGetFunction, "cuModuleGetFunction"},
		{&d.LaunchKernel, "cuLaunchKernel"}, {&d.GetErrorName, "cuGetErrorName"},
	})
}

// hints explain the driver errors a user can do something about.
var hints = map[int32]string{
	2:   "out of GPU memory (try a smaller -batch)",
	3:   "CUDA not initialised",
	34:  "the libcuda found is a stub from a toolkit, not the driver's",
	35:  "the NVIDIA driver is older than this CUDA library needs; update the driver",
	46:  "the GPU is busy or in exclusive mode",
	100: "no CUDA-capable GPU is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)",
	101: "no such CUDA device",
	209: "no kernel image for this GPU",
	222: "the driver is older than the NVRTC that compiled the kernels; update the driver or point " + PathEnv + " at an older NVRTC",
	999: "unknown CUDA error",
}

// check turns a CUresult into an error naming the call.
func (d *driver) check(call string, code int32) error {
	if code == 0 {
		return nil
	}
	name := fmt.Sprintf("CUDA error %d", code)
	var p *byte
	if d.GetErrorName != nil && d.GetErrorName(code, &p) == 0 && p != nil {
		name = cString(p)
	}
	if h, ok := hints[code]; ok {
		return fmt.Errorf("%s: %s (%s)", call, h, name)
	}
	return fmt.Errorf("%s: %s", call, name)
}

// cString copies a NUL-terminated C string.
func cString(p *byte) string {
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
