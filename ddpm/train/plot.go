package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"

	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// plotLoss draws the train and test loss from log.jsonl into a PNG.
func plotLoss(logPath, pngPath string) error {
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	var train, test plotter.XYs
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e logEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue // a line cut short by a kill; the rest of the log is fine
		}
		if e.TrainLoss > 0 {
			train = append(train, plotter.XY{X: float64(e.Step), Y: e.TrainLoss})
		}
		if e.TestLoss != nil {
			test = append(test, plotter.XY{X: float64(e.Step), Y: *e.TestLoss})
		}
	}
	if len(train) < 2 { // nothing to draw; a plot left by an earlier run would mislead
		if err := os.Remove(pngPath); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	p := plot.New()
	p.Title.Text = "DDPM on MNIST: noise-prediction loss"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "MSE"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	l, err := plotter.NewLine(train)
	if err != nil {
		return err
	}
	p.Add(l)
	p.Legend.Add("train (mean of 50 steps)", l)
	if len(test) > 0 {
		s, err := plotter.NewScatter(test)
		if err != nil {
			return err
		}
		s.GlyphStyle.Radius = vg.Points(3)
		s.GlyphStyle.Color = plotter.DefaultLineStyle.Color
		p.Add(s)
		p.Legend.Add("test", s)
	}
	w, err := p.WriterTo(7*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return err
	}
	return safetensors.AtomicWrite(pngPath, b.Bytes())
}
