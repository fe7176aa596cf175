package cuda

import (
	"runtime"
	"sync"
)

// thread runs functions on one goroutine locked to its OS thread, where the
// CUDA context is current.
type thread struct {
	mu    sync.Mutex
	calls chan func()
	done  chan any
}

func newThread() *thread {
	t := &thread{calls: make(chan func()), done: make(chan any)}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		for f := range t.calls {
			t.done <- run(f)
		}
	}()
	return t
}

// run calls f and returns what it panicked with, if anything.
func run(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

// do runs f on the thread and waits; a panic in f is re-raised in the
// caller. It returns false, without running f, once the thread has stopped.
func (t *thread) do(f func()) bool {
	t.mu.Lock()
	if t.calls == nil {
		t.mu.Unlock()
		return false
	}
	t.calls <- f
	p := <-t.done
	t.mu.Unlock()
	if p != nil {
		panic(p)
	}
	return true
}

// stop ends the thread's goroutine.
func (t *thread) stop() {
	t.mu.Lock()
	if t.calls != nil {
		close(t.calls)
		t.calls = nil
	}
	t.mu.Unlock()
}
