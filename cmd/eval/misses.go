package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ddpm-go/ddpm/ddpm/classifier"
	"github.com/ddpm-go/ddpm/ddpm/picture"
)

// missesFile names a row's sheet of wrong digits, e.g.
// misses-dpmpp2m-10-g1.png (with a guidance interval: …-g2-t0-499.png).
func missesFile(r Row) string {
	name := fmt.Sprintf("misses-%s-%d-g%s", r.Sampler, r.Steps, strconv.FormatFloat(r.Guidance, 'f', -1, 64))
	if r.GuidanceTo != 0 {
		name += fmt.Sprintf("-t%d-%d", r.GuidanceFrom, r.GuidanceTo)
	}
	return name + ".png"
}

// missesSheet lays out a row's wrong digits one line per digit asked for,
// 0 at the top, each line in sample order, and returns the images with the
// number of columns; nil and 0 when there are none.
func missesSheet(misses []Miss) (sheet []float32, cols int) {
	lines := byAsked(misses)
	for _, line := range lines {
		cols = max(cols, len(line))
	}
	if cols == 0 {
		return nil, 0
	}
	px := classifier.Size * classifier.Size
	// Empty cells take the grid's background grey (40 of 255), so a short
	// line ends in nothing rather than in black squares that look like digits.
	const blank = 40/127.5 - 1
	sheet = make([]float32, 10*cols*px)
	for i := range sheet {
		sheet[i] = blank
	}
	for d, line := range lines {
		for c, m := range line {
			copy(sheet[(d*cols+c)*px:], m.img)
		}
	}
	return sheet, cols
}

// writeMisses saves a row's sheet of wrong digits in dir and says on stderr
// what the classifier read each one as. A row without misses has no sheet: an
// older one of the same name is removed, so the folder never contradicts it.
func writeMisses(dir string, r Row) error {
	path := filepath.Join(dir, missesFile(r))
	sheet, cols := missesSheet(r.Misses)
	if sheet == nil {
		fmt.Fprintf(os.Stderr, "  every digit right: no %s\n", path)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := picture.SavePNG(path, picture.Grid(sheet, 10*cols, classifier.Size, cols, 2, 2)); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  %d wrong digits in %s; read as:\n", len(r.Misses), path)
	for d, line := range byAsked(r.Misses) {
		if len(line) == 0 {
			continue
		}
		seen := make([]string, len(line))
		for i, m := range line {
			seen[i] = strconv.Itoa(m.Seen)
		}
		fmt.Fprintf(os.Stderr, "    asked %d: %s\n", d, strings.Join(seen, " "))
	}
	return nil
}

// byAsked groups misses by the digit asked for, each group in sample order.
func byAsked(misses []Miss) (lines [10][]Miss) {
	for _, m := range misses {
		lines[m.Asked] = append(lines[m.Asked], m)
	}
	return lines
}
