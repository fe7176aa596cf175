package cuda

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Library names, newest first. NVRTC 11.x is libnvrtc.so.11.2 for every 11 minor.
var (
	driverNames = []string{"libcuda.so.1", "libcuda.so"}
	nvrtcNames  = []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"}
	cublasNames = []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}
)

// searchDirs lists the folders searched for the CUDA libraries, in order:
// $DDPM_CUDA_PATH, $LD_LIBRARY_PATH, $CUDA_PATH/$CUDA_HOME, /usr/local/cuda,
// the nvidia/*/lib folders of Python environments (the active virtualenv or
// conda env, the user's and the system's site-packages) and the system's
// library folders. dlopen's own search (ld.so.cache) comes after these.
func searchDirs(getenv func(string) string) []string {
	var dirs []string
	add := func(list string) {
		for _, d := range filepath.SplitList(list) {
			if d != "" && !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	add(getenv(PathEnv))
	add(getenv("LD_LIBRARY_PATH"))
	for _, v := range []string{"CUDA_PATH", "CUDA_HOME"} {
		if root := getenv(v); root != "" {
			add(filepath.Join(root, "lib64"))
			add(filepath.Join(root, "lib"))
		}
	}
	add("/usr/local/cuda/lib64")
	add("/usr/local/cuda/targets/x86_64-linux/lib")
	add("/usr/local/cuda/targets/sbsa-linux/lib")
	var envs []string
	for _, v := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if root := getenv(v); root != "" {
			envs = append(envs, filepath.Join(root, "lib", "python3*", "site-packages"))
		}
	}
	if home := getenv("HOME"); home != "" {
		envs = append(envs, filepath.Join(home, ".local", "lib", "python3*", "site-packages"))
	}
	envs = append(envs, "/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
		"/usr/lib/python3/dist-packages", "/usr/lib/python3*/site-packages", "/opt/conda/lib/python3*/site-packages")
	for _, e := range envs {
		libs, _ := filepath.Glob(filepath.Join(e, "nvidia", "*", "lib"))
		slices.Sort(libs)
		for _, l := range libs {
			add(l)
		}
	}
	add("/usr/lib/x86_64-linux-gnu")
	add("/usr/lib/aarch64-linux-gnu")
	add("/usr/lib64")
	add("/usr/lib/wsl/lib")
	return dirs
}

// preferMajor orders library names so that versions no newer than the
// driver's CUDA major version come first (newest first), then the rest; code
// compiled by a newer NVRTC than the driver may not load.
func preferMajor(names []string, driverMajor int) []string {
	major := func(name string) int { // libnvrtc.so.11.2 → 11; libnvrtc.so → 0
		_, v, _ := strings.Cut(name, ".so.")
		v, _, _ = strings.Cut(v, ".")
		n, _ := strconv.Atoi(v)
		return n
	}
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int {
		ka, kb := major(a) <= driverMajor && major(a) > 0, major(b) <= driverMajor && major(b) > 0
		switch {
		case ka && !kb:
			return -1
		case kb && !ka:
			return 1
		}
		return 0
	})
	return out
}

// candidates lists the paths to try for a library: each name in each folder
// that holds it, then the bare names for dlopen's own search.
func candidates(names, dirs []string) []string {
	var out []string
	for _, n := range names {
		for _, d := range dirs {
			p := filepath.Join(d, n)
			if _, err := os.Stat(p); err == nil {
				out = append(out, p)
			}
		}
	}
	return append(out, names...)
}
