package classifier

import (
	"path/filepath"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
)

// A short run on real MNIST must already classify well above chance, and
// a saved classifier must load and predict the same.
func TestTrainSaveLoad(t *testing.T) {
	dir, err := mnist.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	test, err := mnist.Load(dir, mnist.Test, Size)
	if err != nil {
		t.Fatal(err)
	}
	// Train on the last 5000 test images, measure on the first 1000.
	px := Size * Size
	train := &mnist.Set{N: 5000, Size: Size, Images: test.Images[5000*px:], Labels: test.Labels[5000:]}
	held := &mnist.Set{N: 1000, Size: Size, Images: test.Images[:1000*px], Labels: test.Labels[:1000]}
	m := New(nn.CPU{}, 1)
	var first, last float64
	m.Train(train, 1, 50, 3e-3, 1, func(_, step int, loss float64) {
		if step == 0 {
			first = loss
		}
		last = loss
	})
	acc := m.Accuracy(held)
	t.Logf("loss %.3f → %.3f, held-out accuracy %.3f", first, last, acc)
	if acc < 0.85 {
		t.Errorf("accuracy %.3f after one short epoch, want ≥ 0.85", acc)
	}
	path := filepath.Join(t.TempDir(), "c.safetensors")
	if err := m.Save(path, map[string]string{MetaAccuracy: "0.5"}); err != nil {
		t.Fatal(err)
	}
	m2, rec, err := Load(path, nn.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	if rec != 0.5 || m2.Accuracy(held) != acc {
		t.Errorf("loaded classifier: recorded %v, accuracy %v (want %v)", rec, m2.Accuracy(held), acc)
	}
	if f := m.Features(held.Images[:3*px], 3); len(f) != 3*FeatureDim {
		t.Errorf("features: %d values", len(f))
	}
}
