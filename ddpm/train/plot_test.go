package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The plot follows the log: drawn from two train-loss lines on, and a plot
// an earlier run left beside a log too short to draw is removed.
func TestPlotLossFollowsTheLog(t *testing.T) {
	dir := t.TempDir()
	logPath, png := filepath.Join(dir, "log.jsonl"), filepath.Join(dir, "loss.png")
	os.WriteFile(png, []byte("an earlier run's plot"), 0o644)
	os.WriteFile(logPath, []byte(`{"step":50,"train_loss":0.5}`+"\n"), 0o644)
	if err := plotLoss(logPath, png); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(png); !os.IsNotExist(err) {
		t.Errorf("one log line left a plot behind (%v)", err)
	}
	os.WriteFile(logPath, []byte(`{"step":50,"train_loss":0.5}`+"\n"+`{"step":100,"train_loss":0.25}`+"\n"), 0o644)
	if err := plotLoss(logPath, png); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Errorf("two log lines: plot %v, %v", st, err)
	}
}
