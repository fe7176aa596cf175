// Package classifier is a small convolutional MNIST classifier trained with
// the project's own kernels. The evaluation command uses its predictions to
// check that conditional samples show the requested digit, and its
// penultimate features for the Fréchet distance and KID (kernel inception
// distance) between samples and MNIST.
package classifier

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
)

// Size is the input height and width (MNIST scaled as for the DDPM).
const Size = 32

// FeatureDim is the width of the feature vector Features returns.
const FeatureDim = 128

// The network: four 3×3 convolutions (the last three with stride 2) with
// SiLU, then two linear layers: 32×32×1 → 32×32×16 → 16×16×32 → 8×8×64 →
// 4×4×64 → 128 (features) → 10 logits.
type layerSpec struct {
	name               string
	in, out, k, stride int // k = 0: linear
}

var specs = []layerSpec{
	{"conv1", 1, 16, 3, 1}, {"conv2", 16, 32, 3, 2}, {"conv3", 32, 64, 3, 2}, {"conv4", 64, 64, 3, 2},
	{"fc1", 64 * 4 * 4, FeatureDim, 0, 0}, {"fc2", FeatureDim, 10, 0, 0},
}

// Model is the classifier with its activations for one batch.
type Model struct {
	be               nn.Backend
	w, b, gw, gb     []*nn.Tensor
	weights, grads   *nn.Tensor
	acts, sigs, pres []*nn.Tensor // per layer: output after SiLU, σ, pre-activation
	dpres            []*nn.Tensor
	x                *nn.Tensor
	n                int
}

// New returns a randomly initialised classifier.
func New(be nn.Backend, seed uint64) *Model {
	m := &Model{be: be}
	total := 0
	for _, s := range specs {
		total += s.out*wsize(s) + s.out
	}
	m.weights, m.grads = be.New(total), be.New(total)
	host := make([]float32, total)
	r := rand.New(rand.NewPCG(seed, 7))
	off := 0
	for _, s := range specs {
		bound := 1 / math.Sqrt(float64(wsize(s)))
		for i := off; i < off+s.out*wsize(s)+s.out; i++ {
			host[i] = float32((2*r.Float64() - 1) * bound)
		}
		wshape := []int{s.out, s.in}
		if s.k > 0 {
			wshape = []int{s.out, s.in, s.k, s.k}
		}
		m.w = append(m.w, be.View(m.weights, off, wshape...))
		m.gw = append(m.gw, be.View(m.grads, off, wshape...))
		off += s.out * wsize(s)
		m.b = append(m.b, be.View(m.weights, off, s.out))
		m.gb = append(m.gb, be.View(m.grads, off, s.out))
		off += s.out
	}
	be.Upload(m.weights, host)
	return m
}

func wsize(s layerSpec) int {
	if s.k == 0 {
		return s.in
	}
	return s.in * s.k * s.k
}

func (m *Model) alloc(n int) {
	if m.n == n {
		return
	}
	m.n = n
	m.x = m.be.New(n, 1, Size, Size)
	m.acts, m.sigs, m.pres, m.dpres = nil, nil, nil, nil
	hw := Size
	for _, s := range specs {
		shape := []int{n, s.out}
		if s.k > 0 {
			hw /= max(s.stride, 1)
			shape = []int{n, s.out, hw, hw}
		}
		for _, list := range []*[]*nn.Tensor{&m.acts, &m.sigs, &m.pres, &m.dpres} {
			*list = append(*list, m.be.New(shape...))
		}
	}
}

// forward runs the network on n images and returns the logits [n,10].
func (m *Model) forward(images []float32, n int) *nn.Tensor {
	m.alloc(n)
	be := m.be
	be.Upload(m.x, images)
	h := m.x
	for i, s := range specs {
		if s.k == 0 && len(h.Shape) == 4 {
			h = be.View(h, 0, n, h.Len()/n) // flatten: NCHW is already row-major per image
		}
		if s.k > 0 {
			be.Conv2D(m.pres[i], h, m.w[i], m.b[i], s.stride, s.k/2)
		} else {
			be.Linear(m.pres[i], h, m.w[i], m.b[i])
		}
		if i == len(specs)-1 {
			return m.pres[i]
		}
		be.SiLU(m.acts[i], m.sigs[i], m.pres[i])
		h = m.acts[i]
	}
	return nil
}

// input returns the input of layer i as the layer sees it.
func (m *Model) input(i int) *nn.Tensor {
	if i == 0 {
		return m.x
	}
	h := m.acts[i-1]
	if specs[i].k == 0 && len(h.Shape) == 4 {
		return m.be.View(h, 0, m.n, h.Len()/m.n)
	}
	return h
}

// backward adds the gradient for dlogits to the parameter gradients.
func (m *Model) backward(dlogits *nn.Tensor) {
	be := m.be
	d := dlogits
	for i := len(specs) - 1; i >= 0; i-- {
		s := specs[i]
		var dx *nn.Tensor
		if i > 0 {
			dx = m.dpres[i-1]
			if s.k == 0 && len(dx.Shape) == 4 {
				dx = be.View(dx, 0, m.n, dx.Len()/m.n)
			}
		}
		if s.k > 0 {
			be.Conv2DBackward(dx, m.gw[i], m.gb[i], d, m.input(i), m.w[i], s.stride, s.k/2)
		} else {
			be.LinearBackward(dx, m.gw[i], m.gb[i], d, m.input(i), m.w[i])
		}
		if i == 0 {
			return
		}
		// Through SiLU of layer i−1: dpres[i−1] currently holds d(act); overwrite with d(pre).
		be.SiLUBackward(m.dpres[i-1], m.dpres[i-1], m.pres[i-1], m.sigs[i-1])
		d = m.dpres[i-1]
	}
}

// Predict returns the most likely digit of each of n images.
func (m *Model) Predict(images []float32, n int) []int {
	logits := m.forward(images, n)
	host := make([]float32, n*10)
	m.be.Download(host, logits)
	out := make([]int, n)
	for i := range out {
		best := 0
		for c := 1; c < 10; c++ {
			if host[i*10+c] > host[i*10+best] {
				best = c
			}
		}
		out[i] = best
	}
	return out
}

// Features returns the FeatureDim penultimate activations of n images.
func (m *Model) Features(images []float32, n int) []float32 {
	m.forward(images, n)
	host := make([]float32, n*FeatureDim)
	m.be.Download(host, m.acts[len(specs)-2])
	return host
}

// Metadata keys of a classifier weights file.
const (
	metaFormat   = "format"
	formatName   = "ddpm-go/mnist-classifier/1"
	MetaAccuracy = "test_accuracy"
)

// Save writes the weights to path atomically with extra metadata.
func (m *Model) Save(path string, extra map[string]string) error {
	host := make([]float32, m.weights.Len())
	m.be.Download(host, m.weights)
	var ts []*safetensors.Tensor
	off := 0
	for _, s := range specs {
		n := s.out * wsize(s)
		ts = append(ts, &safetensors.Tensor{Name: s.name + ".weight", DType: safetensors.F32, Shape: m.w[len(ts)/2].Shape, Data: host[off : off+n]})
		off += n
		ts = append(ts, &safetensors.Tensor{Name: s.name + ".bias", DType: safetensors.F32, Shape: []int{s.out}, Data: host[off : off+s.out]})
		off += s.out
	}
	meta := map[string]string{metaFormat: formatName}
	for k, v := range extra {
		meta[k] = v
	}
	return safetensors.WriteFile(path, meta, ts)
}

// Load reads a classifier written by Save and returns it with its recorded
// test accuracy.
func Load(path string, be nn.Backend) (*Model, float64, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if f.Metadata[metaFormat] != formatName {
		return nil, 0, fmt.Errorf("%s: not a classifier weights file (format %q)", path, f.Metadata[metaFormat])
	}
	m := New(be, 0)
	host := make([]float32, m.weights.Len())
	off := 0
	for i, s := range specs {
		for _, part := range []struct {
			name  string
			shape []int
		}{{s.name + ".weight", m.w[i].Shape}, {s.name + ".bias", []int{s.out}}} {
			t := f.Tensor(part.name)
			if t == nil || len(t.Data) != numel(part.shape) {
				return nil, 0, fmt.Errorf("%s: tensor %s missing or of the wrong size", path, part.name)
			}
			copy(host[off:], t.Data)
			off += len(t.Data)
		}
	}
	if len(f.Tensors) != 2*len(specs) {
		return nil, 0, fmt.Errorf("%s: %d tensors, want %d", path, len(f.Tensors), 2*len(specs))
	}
	be.Upload(m.weights, host)
	acc, _ := strconv.ParseFloat(f.Metadata[MetaAccuracy], 64)
	return m, acc, nil
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
