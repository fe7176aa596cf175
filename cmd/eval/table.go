package main

import (
	"fmt"
	"io"
	"strings"
)

// printTable writes the results as a Markdown table, ready for a model card.
func printTable(w io.Writer, r *Result) {
	fmt.Fprintf(w, "weights %s (step %s), %s; classifier test accuracy %.2f%%; %d samples per digit\n\n",
		r.Weights, r.Step, r.Sampler, 100*r.ClassifierAccuracy, r.PerClass)
	if len(r.Conditional) > 0 {
		fmt.Fprintf(w, "| guidance | accuracy | %s | FD vs test |\n", strings.Join(digits("acc %d"), " | "))
		fmt.Fprintf(w, "|---|---|%s---|\n", strings.Repeat("---|", 10))
		for _, c := range r.Conditional {
			fmt.Fprintf(w, "| %g | %.1f%% |", c.Guidance, 100*c.Accuracy)
			for _, a := range c.ClassAccuracy {
				fmt.Fprintf(w, " %.0f%% |", 100*a)
			}
			fmt.Fprintf(w, " %.2f |\n", c.FD)
		}
		fmt.Fprintln(w)
	}
	if h := r.Unconditional; h != nil {
		fmt.Fprintf(w, "| unconditional | %s | FD vs test |\n", strings.Join(digits("%d"), " | "))
		fmt.Fprintf(w, "|---|%s---|\n", strings.Repeat("---|", 10))
		fmt.Fprintf(w, "| class share |")
		total := 0
		for _, c := range h.Counts {
			total += c
		}
		for _, c := range h.Counts {
			fmt.Fprintf(w, " %.1f%% |", 100*float64(c)/float64(total))
		}
		fmt.Fprintf(w, " %.2f |\n\n", h.FD)
	}
	fmt.Fprintf(w, "Fréchet distance floor (MNIST train vs test, same count): %.2f. Took %.0f s.\n", r.FloorFD, r.Seconds)
}

func digits(format string) []string {
	var s []string
	for d := 0; d < 10; d++ {
		s = append(s, fmt.Sprintf(format, d))
	}
	return s
}
