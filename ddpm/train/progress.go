package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress shows one status line: step, epoch, loss, rate and time left.
// On a terminal it rewrites the line in place, at most four times a second;
// elsewhere (a log file, CI, `script`) it prints a full line every 30 s. The
// rate is measured over this session's steps only, so a resumed run does not
// count the steps it started from.
type progress struct {
	w            io.Writer
	tty          bool
	total, start int // steps in all; the step this session started at
	t0, last     time.Time
	onScreen     bool // a line without its newline is showing
}

func newProgress(w io.Writer, start, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			tty = fi.Mode()&os.ModeCharDevice != 0
		}
	}
	now := time.Now()
	return &progress{w: w, tty: tty, total: total, start: start, t0: now, last: now}
}

// line returns the status at step.
func (p *progress) line(step, epoch int, loss float64) string {
	s := fmt.Sprintf("step %d/%d (%.0f%%), epoch %d, loss %.4f", step, p.total, 100*float64(step)/float64(p.total), epoch, loss)
	if done, secs := step-p.start, time.Since(p.t0).Seconds(); done > 0 && secs > 0 {
		rate := float64(done) / secs
		left := time.Duration(float64(p.total-step) / rate * float64(time.Second))
		s += fmt.Sprintf(", %.2f steps/s, %s left", rate, left.Round(time.Minute))
	}
	return s
}

// update shows the status if it is time to.
func (p *progress) update(step, epoch int, loss float64) {
	every := 30 * time.Second
	if p.tty {
		every = 250 * time.Millisecond
	}
	if time.Since(p.last) < every && step < p.total {
		return
	}
	p.last = time.Now()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", p.line(step, epoch, loss))
		p.onScreen = true
		return
	}
	fmt.Fprintln(p.w, p.line(step, epoch, loss))
}

// say prints a message on its own line, clearing the status line first.
func (p *progress) say(format string, args ...any) {
	if p.onScreen {
		fmt.Fprint(p.w, "\r\033[K")
		p.onScreen = false
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}
