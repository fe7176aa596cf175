package nn

import (
	"runtime"
	"sync"
)

// workers returns how many goroutines share a kernel.
func workers() int { return runtime.GOMAXPROCS(0) }

// parallel splits [0, n) into at most workers() contiguous chunks and runs
// f(worker, lo, hi) on each; small jobs run inline.
func parallel(n, minChunk int, f func(worker, lo, hi int)) {
	w := workers()
	if minChunk < 1 {
		minChunk = 1
	}
	if m := n / minChunk; m < w {
		w = m
	}
	if w <= 1 {
		if n > 0 {
			f(0, 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		lo, hi := n*i/w, n*(i+1)/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, lo, hi)
		}()
	}
	wg.Wait()
}
