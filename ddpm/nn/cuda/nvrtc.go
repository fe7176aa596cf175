//go:build linux && (amd64 || arm64)

package cuda

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// nvrtc holds the NVRTC functions we call (nvrtc.h).
type nvrtc struct {
	lib *library

	Version           func(major, minor *int32) int32
	GetErrorString    func(code int32) string
	CreateProgram     func(prog *uintptr, src, name string, nHeaders int32, headers, names unsafe.Pointer) int32
	CompileProgram    func(prog uintptr, nOpts int32, opts unsafe.Pointer) int32
	GetProgramLogSize func(prog uintptr, n *uint64) int32
	GetProgramLog     func(prog uintptr, log *byte) int32
	GetPTXSize        func(prog uintptr, n *uint64) int32
	GetPTX            func(prog uintptr, ptx *byte) int32
	GetCUBINSize      func(prog uintptr, n *uint64) int32
	GetCUBIN          func(prog uintptr, cubin *byte) int32
	DestroyProgram    func(prog *uintptr) int32
}

func loadNVRTC(dirs []string, driverMajor int) (*nvrtc, error) {
	lib, err := openLibrary("NVRTC (libnvrtc.so)", "libnvrtc-builtins.so.*", preferMajor(nvrtcNames, driverMajor), dirs)
	if err != nil {
		return nil, err
	}
	n := &nvrtc{lib: lib}
	return n, lib.bind([]symbol{
		{&n.Version, "nvrtcVersion"}, {&n.GetErrorString, "nvrtcGetErrorString"},
		{&n.CreateProgram, "nvrtcCreateProgram"}, {&n.CompileProgram, "nvrtcCompileProgram"},
		{&n.GetProgramLogSize, "nvrtcGetProgramLogSize"}, {&n.GetProgramLog, "nvrtcGetProgramLog"},
		{&n.GetPTXSize, "nvrtcGetPTXSize"}, {&n.GetPTX, "nvrtcGetPTX"},
		{&n.GetCUBINSize, "nvrtcGetCUBINSize"}, {&n.GetCUBIN, "nvrtcGetCUBIN"},
		{&n.DestroyProgram, "nvrtcDestroyProgram"},
	})
}

// version returns the NVRTC version as major·1000 + minor·10, like CUDA's.
func (n *nvrtc) version() int {
	var major, minor int32
	n.Version(&major, &minor)
	return int(major)*1000 + int(minor)*10
}

// compile compiles src for arch: "sm_90" gives a CUBIN, "compute_90" PTX.
func (n *nvrtc) compile(src, name, arch string) ([]byte, error) {
	var prog uintptr
	if c := n.CreateProgram(&prog, src, name, 0, nil, nil); c != 0 {
		return nil, fmt.Errorf("nvrtcCreateProgram: %s", n.GetErrorString(c))
	}
	defer n.DestroyProgram(&prog)

	opts := []string{"--gpu-architecture=" + arch, "-default-device"}
	var pin runtime.Pinner // the option array holds Go pointers that NVRTC reads
	defer pin.Unpin()
	cstrs := make([]*byte, len(opts))
	for i, o := range opts {
		b := append([]byte(o), 0)
		pin.Pin(&b[0])
		cstrs[i] = &b[0]
	}
	if c := n.CompileProgram(prog, int32(len(opts)), unsafe.Pointer(&cstrs[0])); c != 0 {
		var size uint64
		n.GetProgramLogSize(prog, &size)
		log := make([]byte, max(size, 1))
		n.GetProgramLog(prog, &log[0])
		return nil, fmt.Errorf("NVRTC could not compile %s for %s: %s\n%s", name, arch, n.GetErrorString(c),
			strings.TrimRight(string(log), "\x00\n"))
	}
	getSize, get := n.GetCUBINSize, n.GetCUBIN
	if strings.HasPrefix(arch, "compute_") {
		getSize, get = n.GetPTXSize, n.GetPTX
	}
	var size uint64
	if c := getSize(prog, &size); c != 0 || size == 0 {
		return nil, fmt.Errorf("NVRTC gave no code for %s: %s", arch, n.GetErrorString(c))
	}
	out := make([]byte, size)
	if c := get(prog, &out[0]); c != 0 {
		return nil, fmt.Errorf("NVRTC gave no code for %s: %s", arch, n.GetErrorString(c))
	}
	return out, nil
}
