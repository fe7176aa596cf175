package main

import (
	"fmt"
	"io"
	"strings"
)

// printTable writes the results as Markdown tables, ready for a model card.
func printTable(w io.Writer, r *Result) {
	fmt.Fprintf(w, "weights %s (step %s); classifier test accuracy %.2f%%; %d samples a row (%d per digit)\n\n",
		r.Weights, r.Step, 100*r.ClassifierAccuracy, r.Samples, r.PerClass)
	if len(r.Rows) > 0 {
		fmt.Fprintf(w, "| sampler | steps | guidance | accuracy | %s | FD | KID ×10³ | FD px | KID px ×10³ | s |\n", strings.Join(digits("acc %d"), " | "))
		fmt.Fprintf(w, "|---|---|---|---|%s---|---|---|---|---|\n", strings.Repeat("---|", 10))
		for _, c := range r.Rows {
			fmt.Fprintln(w, rowLine(c))
		}
		fmt.Fprintln(w)
		if len(r.Rows[0].X0) > 0 {
			fmt.Fprintln(w, "| sampler | steps | guidance | accuracy of x̂₀ after the step at t = … |")
			fmt.Fprintln(w, "|---|---|---|---|")
			for _, c := range r.Rows {
				fmt.Fprintln(w, x0Line(c))
			}
			fmt.Fprintln(w)
		}
	}
	if len(r.Unconditional) > 0 {
		fmt.Fprintf(w, "| unconditional | steps | %s | FD | KID ×10³ | FD px | KID px ×10³ | s |\n", strings.Join(digits("%d"), " | "))
		fmt.Fprintf(w, "|---|---|%s---|---|---|---|---|\n", strings.Repeat("---|", 10))
		for _, h := range r.Unconditional {
			fmt.Fprintln(w, uncondLine(h))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "FD and KID on the classifier's features; FD px and KID px on the pixels (ink on a 16×16 grid).\n")
	fmt.Fprintf(w, "Floor (%d MNIST training images drawn at random vs the test set): FD %.2f, KID ×10³ %s; FD px %.3f, KID px ×10³ %s.\n",
		r.Samples, r.Floor.FD, kid(r.Floor), r.Floor.PixelFD, pixelKID(r.Floor))
	if a := r.Agreement; a != nil {
		fmt.Fprintf(w, "The two feature sets rank these %d rows alike to a Spearman ρ of %.2f by FD and %.2f by KID.\n", a.Rows, a.FDSpearman, a.KIDSpearman)
	}
	fmt.Fprintf(w, "Took %.0f s", r.Seconds)
	if r.PeakRSSMB > 0 {
		fmt.Fprintf(w, ", peak memory %.0f MB", r.PeakRSSMB)
	}
	fmt.Fprintln(w, ".")
}

// rowLine is a conditional row of the table.
func rowLine(c Row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s | %d | %s | %.1f%% |", c.Sampler, c.Steps, guidance(c), 100*c.Accuracy)
	for _, a := range c.ClassAccuracy {
		fmt.Fprintf(&b, " %.0f%% |", 100*a)
	}
	fmt.Fprintf(&b, " %s | %.0f |", distances(c.Distance), c.Seconds)
	return b.String()
}

// x0Line is a conditional row's accuracy on x̂₀ step by step.
func x0Line(c Row) string {
	var parts []string
	for _, p := range c.X0 {
		parts = append(parts, fmt.Sprintf("%d: %.1f%%", p.T, 100*p.Accuracy))
	}
	return fmt.Sprintf("| %s | %d | %s | %s |", c.Sampler, c.Steps, guidance(c), strings.Join(parts, " · "))
}

// guidance is a row's guidance scale and, if it has one, its interval.
func guidance(c Row) string {
	if c.GuidanceTo > 0 {
		return fmt.Sprintf("%g for t %d–%d", c.Guidance, c.GuidanceFrom, c.GuidanceTo)
	}
	return fmt.Sprintf("%g", c.Guidance)
}

// uncondLine is an unconditional row: the class shares.
func uncondLine(h Uncond) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s | %d |", h.Sampler, h.Steps)
	total := 0
	for _, c := range h.Counts {
		total += c
	}
	for _, c := range h.Counts {
		fmt.Fprintf(&b, " %.1f%% |", 100*float64(c)/float64(total))
	}
	fmt.Fprintf(&b, " %s | %.0f |", distances(h.Distance), h.Seconds)
	return b.String()
}

// distances formats a row's four distance cells.
func distances(d Distance) string {
	return fmt.Sprintf("%.2f | %s | %.3f | %s", d.FD, kid(d), d.PixelFD, pixelKID(d))
}

// kid and pixelKID format a KID ± its standard error, both ×10³.
func kid(d Distance) string      { return milli(d.KID, d.KIDErr) }
func pixelKID(d Distance) string { return milli(d.PixelKID, d.PixelKIDErr) }

func milli(v, se float64) string { return fmt.Sprintf("%.2f ± %.2f", 1e3*v, 1e3*se) }

func digits(format string) []string {
	var s []string
	for d := 0; d < 10; d++ {
		s = append(s, fmt.Sprintf(format, d))
	}
	return s
}
