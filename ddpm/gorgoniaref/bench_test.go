package gorgoniaref

import (
	"fmt"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BenchmarkForward runs the default network forward on gorgonia's TapeMachine
// in float32 with gorgonia's own convolutions (StockConv), to compare with
// ddpm/unet's BenchmarkForward (natively and under GOOS=js GOARCH=wasm).
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			cfg := unet.DefaultConfig()
			m, _ := unet.New(cfg, nn.CPU{}, 1)
			net, err := Build(cfg, n, tensor.Float32, StockConv())
			if err != nil {
				b.Fatal(err)
			}
			if err := net.SetWeights(m.Weights.Data); err != nil {
				b.Fatal(err)
			}
			x := make([]float32, n*cfg.Pixels())
			ddpm.NewRNG(1).Normal(x)
			ts, labels := make([]int, n), make([]int, n)
			if err := net.SetInputs(x, ts, labels); err != nil {
				b.Fatal(err)
			}
			vm := G.NewTapeMachine(net.Graph)
			defer vm.Close()
			for b.Loop() {
				vm.Reset()
				if err := vm.RunAll(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
