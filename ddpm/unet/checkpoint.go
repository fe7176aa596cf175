package unet

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
)

// Checkpoint metadata keys.
const (
	MetaStep        = "step"
	MetaTrainConfig = "train_config"
	MetaSchedule    = "schedule"
	MetaTimesteps   = "timesteps"
	metaKind        = "kind"
	kindCheckpoint  = "checkpoint"
)

// The flat tensors of a checkpoint besides the named weights.
const (
	tensorEMA   = "_ema"
	tensorAdamM = "_adam_m"
	tensorAdamV = "_adam_v"
)

// SaveCheckpoint writes everything needed to continue training exactly:
// weights (named, so the file is also a weights file), the EMA, Adam's
// moments, the step, the optimiser settings and the schedule. extra is
// added to the metadata (seed, data order, …). The write is atomic.
func (t *Trainer) SaveCheckpoint(path string, extra map[string]string) error {
	m := t.Model
	tensors := m.Tensors(m.Weights, safetensors.F32)
	for _, flat := range []struct {
		name string
		t    *nn.Tensor
	}{{tensorEMA, t.EMA}, {tensorAdamM, t.M}, {tensorAdamV, t.V}} {
		host := make([]float32, flat.t.Len())
		m.Backend.Download(host, flat.t)
		tensors = append(tensors, &safetensors.Tensor{Name: flat.name, DType: safetensors.F32, Shape: []int{len(host)}, Data: host})
	}
	tc, _ := json.Marshal(t.Config)
	meta := maps.Clone(extra)
	if meta == nil {
		meta = map[string]string{}
	}
	maps.Copy(meta, map[string]string{
		MetaFormat: FormatVersion, MetaConfig: m.Config.String(), metaKind: kindCheckpoint,
		MetaStep: strconv.Itoa(t.Step), MetaTrainConfig: string(tc),
		MetaSchedule: t.Schedule.Kind, MetaTimesteps: strconv.Itoa(t.Schedule.T()),
	})
	return safetensors.WriteFile(path, meta, tensors)
}

// LoadCheckpoint restores a trainer written by SaveCheckpoint onto be and
// returns the checkpoint's metadata.
func LoadCheckpoint(path string, be nn.Backend) (*Trainer, map[string]string, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	fail := func(format string, args ...any) (*Trainer, map[string]string, error) {
		return nil, nil, fmt.Errorf("%s: checkpoint: "+format, append([]any{path}, args...)...)
	}
	if f.Metadata[metaKind] != kindCheckpoint {
		return fail("not a training checkpoint (a weights file?)")
	}
	// The flat tensors are checked and removed so FromFile sees only weights.
	flats := map[string]*safetensors.Tensor{}
	var weights []*safetensors.Tensor
	for _, t := range f.Tensors {
		switch t.Name {
		case tensorEMA, tensorAdamM, tensorAdamV:
			flats[t.Name] = t
		default:
			weights = append(weights, t)
		}
	}
	m, err := FromFile(&safetensors.File{Metadata: f.Metadata, Tensors: weights}, be)
	if err != nil {
		return fail("%v", err)
	}
	var tc TrainConfig
	if err := json.Unmarshal([]byte(f.Metadata[MetaTrainConfig]), &tc); err != nil {
		return fail("bad %s: %v", MetaTrainConfig, err)
	}
	step, err := strconv.Atoi(f.Metadata[MetaStep])
	if err != nil || step < 0 {
		return fail("bad step %q", f.Metadata[MetaStep])
	}
	T, err := strconv.Atoi(f.Metadata[MetaTimesteps])
	if err != nil {
		return fail("bad timesteps %q", f.Metadata[MetaTimesteps])
	}
	s, err := ddpm.NewSchedule(f.Metadata[MetaSchedule], T)
	if err != nil {
		return fail("%v", err)
	}
	t := NewTrainer(m, s, tc)
	t.Step = step
	t.teacher = nil // its copy of the EMA is another run's
	for name, dst := range map[string]*nn.Tensor{tensorEMA: t.EMA, tensorAdamM: t.M, tensorAdamV: t.V} {
		src := flats[name]
		if src == nil {
			return fail("tensor %q missing", name)
		}
		if len(src.Data) != m.NumParams() {
			return fail("tensor %q has %d values, the model has %d parameters", name, len(src.Data), m.NumParams())
		}
		be.Upload(dst, src.Data)
	}
	return t, f.Metadata, nil
}
