//go:build linux || darwin

package main

import (
	"runtime"
	"syscall"
)

// peakRSSMB returns the process's peak resident memory in MB.
func peakRSSMB() float64 {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	if runtime.GOOS == "darwin" { // bytes there, KiB on Linux
		return float64(u.Maxrss) / 1e6
	}
	return float64(u.Maxrss) * 1024 / 1e6
}
