// Command eval measures how good a DDPM's samples are with the project's
// MNIST classifier. For every sampler, step count and guidance scale asked
// for, it draws the same number of conditional samples of each digit and
// reports the classifier's accuracy on them, and two distances between
// features of the samples and of the MNIST test set: the Fréchet distance
// (biased upwards at small counts, so it is shown next to the same distance
// for MNIST training images drawn at random, the floor, at the same count)
// and the kernel distance KID (unbiased, with a standard error), each on two
// feature sets, the classifier's and the pixels'. Unconditional samples (the
// null label) get the class histogram and the same distances. It prints
// Markdown tables, can write JSON, and can draw the wrong digits (-misses).
//
//	go run ./cmd/eval                                        # the defaults: 1000 samples a row
//	go run ./cmd/eval -sampler dpmpp2m,ddim -steps 10,20,50 -guidance 1,2
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/classifier"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/safetensors"
	"github.com/ddpm-go/ddpm/ddpm/unet"
	"github.com/ddpm-go/ddpm/internal/cli"
)

type options struct {
	weights, classifier, jsonOut string
	missesDir                    string // with -misses: where the sheets of wrong digits go
	samplers                     []string
	steps                        []int
	guidance                     []float64
	perClass, batch              int
	eta                          float64
	uncond, x0                   bool
	seed                         uint64
	from, to                     int // guidance interval (to 0: every step)
}

// Result is what eval measures; it is also the JSON written to -json.
type Result struct {
	Weights            string     `json:"weights"`
	Step               string     `json:"step"`
	ClassifierAccuracy float64    `json:"classifier_test_accuracy"`
	PerClass           int        `json:"samples_per_class"`
	Samples            int        `json:"samples_per_row"`
	Eta                float64    `json:"ddim_eta"`
	Rows               []Row      `json:"conditional"`
	Unconditional      []Uncond   `json:"unconditional,omitempty"`
	Floor              Distance   `json:"floor_train_vs_test"`
	Agreement          *Agreement `json:"rank_agreement,omitempty"` // with ≥ 3 rows
	Seconds            float64    `json:"seconds"`
	PeakRSSMB          float64    `json:"peak_rss_mb,omitempty"`
}

// Distance is how far a set of images is from the MNIST test set, in two
// feature sets: the classifier's and the images' pixels (pixelFeatures).
type Distance struct {
	FD          float64 `json:"fd_vs_test"`
	KID         float64 `json:"kid_vs_test"`
	KIDErr      float64 `json:"kid_stderr"`
	PixelFD     float64 `json:"fd_pixels_vs_test"`
	PixelKID    float64 `json:"kid_pixels_vs_test"`
	PixelKIDErr float64 `json:"kid_pixels_stderr"`
}

// Agreement says how alike the two feature sets rank a run's rows
// (conditional and unconditional) by their distance from the test set.
type Agreement struct {
	Rows        int     `json:"rows"`
	FDSpearman  float64 `json:"fd_spearman"`
	KIDSpearman float64 `json:"kid_spearman"`
}

// Row reports conditional samples of every digit for one sampler, step count
// and guidance scale.
type Row struct {
	Sampler       string    `json:"sampler"`
	Steps         int       `json:"steps"`
	Guidance      float64   `json:"guidance"`
	GuidanceFrom  int       `json:"guidance_from,omitempty"` // with -guidance-interval: guided only
	GuidanceTo    int       `json:"guidance_to,omitempty"`   // for guidance_from ≤ t ≤ guidance_to
	Accuracy      float64   `json:"accuracy"`
	ClassAccuracy []float64 `json:"class_accuracy"`
	Distance
	Seconds float64   `json:"seconds"`
	X0      []X0Point `json:"x0_accuracy,omitempty"` // with -x0
	Misses  []Miss    `json:"misses,omitempty"`      // with -misses
}

// Miss is a conditional sample the classifier reads as another digit than
// the one asked for.
type Miss struct {
	Index int `json:"index"` // the sample's place in the row; with -seed and -batch, which noise made it
	Asked int `json:"asked"`
	Seen  int `json:"seen"`
	img   []float32
}

// X0Point is the classifier's accuracy on the clipped x̂₀ the sampler
// predicted at timestep T, over a row's samples: where along the reverse
// process the digit is right, and where it goes wrong.
type X0Point struct {
	T        int     `json:"t"`
	Accuracy float64 `json:"accuracy"`
}

// Uncond reports unconditional samples: how often the classifier sees each digit.
type Uncond struct {
	Sampler string `json:"sampler"`
	Steps   int    `json:"steps"`
	Counts  []int  `json:"counts"`
	Distance
	Seconds float64 `json:"seconds"`
}

func main() {
	o, err := parseFlags(os.Args[1:])
	cli.ExitFlags("eval", err)
	cli.Exit("eval", run(o))
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	var samplers, steps, guidance, interval string
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.StringVar(&o.weights, "weights", filepath.Join("weights", "mnist.safetensors"), "DDPM weights")
	fs.StringVar(&o.classifier, "classifier", filepath.Join("weights", "classifier.safetensors"), "classifier weights (go run ./cmd/classifier)")
	fs.StringVar(&samplers, "sampler", "dpmpp2m", "comma-separated samplers: "+strings.Join(ddpm.Samplers, ", "))
	fs.StringVar(&steps, "steps", "10", "comma-separated step counts (ddpm always takes all T)")
	fs.Float64Var(&o.eta, "eta", 0, "DDIM η")
	fs.StringVar(&guidance, "guidance", "1,2", "comma-separated guidance scales for conditional samples")
	fs.IntVar(&o.perClass, "per-class", 100, "conditional samples per digit in each row (unconditional rows draw 10× this)")
	fs.BoolVar(&o.uncond, "uncond", true, "also sample with the null label, for each sampler and step count")
	fs.StringVar(&interval, "guidance-interval", "", "FROM,TO: guide only the steps with FROM ≤ t ≤ TO, the rest plain conditional (default: every step)")
	fs.BoolVar(&o.x0, "x0", false, "also classify each conditional sample's x̂₀ after every step (the samples are the same)")
	fs.IntVar(&o.batch, "batch", 50, "images per network call")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the samples' noise and of the floor's draw of training images")
	fs.StringVar(&o.jsonOut, "json", "", "also write the results as JSON here")
	fs.StringVar(&o.missesDir, "misses", "", "also write each conditional row's wrong digits into this folder as a PNG sheet, one line per digit asked for (none for a row without any)")
	cli.Usage(fs, "go run ./cmd/eval [flags]",
		"Scores a DDPM's samples with the MNIST classifier: accuracy, and Fréchet distance and KID against the MNIST test set on the classifier's features and on the pixels, for every sampler × steps × guidance asked for.")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := cli.NoArgs(fs); err != nil {
		return nil, err
	}
	if o.perClass < 2 || o.perClass > 6000 {
		// The floor takes 10·per-class of MNIST's 60,000 training images.
		return nil, fmt.Errorf("-per-class %d is outside 2..6000", o.perClass)
	}
	if o.batch < 1 || o.batch > 1000 {
		return nil, fmt.Errorf("-batch %d is outside 1..1000", o.batch)
	}
	if !(o.eta >= 0 && o.eta <= 10) {
		return nil, fmt.Errorf("-eta %v: want a number in 0..10", o.eta)
	}
	o.samplers = strings.Split(samplers, ",")
	for _, s := range strings.Split(steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("-steps %q: want comma-separated whole numbers", steps)
		}
		o.steps = append(o.steps, n)
	}
	for _, s := range strings.Split(guidance, ",") {
		g, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || !(g >= 0 && g <= 100) {
			return nil, fmt.Errorf("-guidance %q: want comma-separated numbers in 0..100", guidance)
		}
		o.guidance = append(o.guidance, g)
	}
	if interval != "" {
		_, err := fmt.Sscanf(interval, "%d,%d", &o.from, &o.to)
		if err != nil || o.from < 0 || o.to < max(o.from, 1) || o.to >= ddpm.MaxT {
			return nil, fmt.Errorf("-guidance-interval %q: want FROM,TO with 0 ≤ FROM ≤ TO and TO ≥ 1, e.g. 0,499", interval)
		}
	}
	// Every sampler and step count must make a sampler before any work starts.
	sched := ddpm.NewLinear(ddpm.DefaultT, 1e-4, 0.02)
	for i, kind := range o.samplers {
		o.samplers[i] = strings.TrimSpace(kind)
		for _, n := range o.steps {
			if _, err := ddpm.NewSampler(o.samplers[i], sched, n, o.eta); err != nil {
				return nil, fmt.Errorf("-sampler %s -steps %d: %v", o.samplers[i], n, err)
			}
		}
	}
	return o, nil
}

func run(o *options) error {
	start := time.Now()
	if o.missesDir != "" { // fail now, not after hours of sampling
		if err := os.MkdirAll(o.missesDir, 0o755); err != nil {
			return err
		}
	}
	if o.jsonOut != "" {
		if err := safetensors.CheckWritable(o.jsonOut); err != nil {
			return fmt.Errorf("-json: %v", err)
		}
	}
	be := nn.CPU{}
	m, meta, err := unet.Load(o.weights, be)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no weights at %s (train with go run ./ddpm/train, or pass -weights)", o.weights)
	}
	if err != nil {
		return err
	}
	clf, clfAcc, err := classifier.Load(o.classifier, be)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no classifier at %s (train it with go run ./cmd/classifier)", o.classifier)
	}
	if err != nil {
		return err
	}
	if m.Config.ImageSize != classifier.Size || m.Config.InChannels != 1 {
		return fmt.Errorf("the classifier takes 1×%d×%d images, the DDPM makes %d×%d×%d", classifier.Size, classifier.Size, m.Config.InChannels, m.Config.ImageSize, m.Config.ImageSize)
	}
	sched, err := unet.ScheduleOf(meta)
	if err != nil {
		return err
	}
	dir, err := mnist.DefaultDir()
	if err != nil {
		return err
	}
	test, err := mnist.Load(dir, mnist.Test, classifier.Size)
	if err != nil {
		return err
	}
	train, err := mnist.Load(dir, mnist.Train, classifier.Size)
	if err != nil {
		return err
	}
	n := 10 * o.perClass
	res := &Result{Weights: o.weights, Step: meta[unet.MetaStep], ClassifierAccuracy: clfAcc,
		PerClass: o.perClass, Samples: n, Eta: o.eta}
	ref, err := newReference(clf, test, o.batch)
	if err != nil {
		return err
	}
	// The floor: n training images against the test set.
	floor := floorImages(train, n, o.seed)
	if res.Floor, err = ref.distance(ref.features(floor, n), pixelFeatures(floor, n)); err != nil {
		return err
	}
	guided := func(g float64) ddpm.Denoiser {
		return &ddpm.Guided{Model: m, Scale: g, NullLabel: m.Config.NullLabel(), From: o.from, To: o.to}
	}
	for _, kind := range o.samplers {
		for _, steps := range o.steps {
			if m.Config.NumClasses > 0 {
				for _, g := range o.guidance {
					row, err := conditionalRow(o, ref, guided(g), sched, kind, steps, g)
					if err != nil {
						return err
					}
					res.Rows = append(res.Rows, row)
					fmt.Fprintln(os.Stderr, rowLine(row)) // a long run shows each row as it comes
					if o.missesDir != "" {
						if err := writeMisses(o.missesDir, row); err != nil {
							return err
						}
						for i := range row.Misses {
							row.Misses[i].img = nil // drawn: free them
						}
					}
				}
			}
			if o.uncond {
				u, err := unconditionalRow(o, ref, m, sched, kind, steps)
				if err != nil {
					return err
				}
				res.Unconditional = append(res.Unconditional, u)
				fmt.Fprintln(os.Stderr, uncondLine(u))
			}
		}
	}
	res.Agreement = agreement(res)
	res.Seconds = time.Since(start).Seconds()
	res.PeakRSSMB = peakRSSMB()
	printTable(os.Stdout, res)
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := safetensors.AtomicWrite(o.jsonOut, append(b, '\n')); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote", o.jsonOut)
	}
	return nil
}

func conditionalRow(o *options, ref *reference, model ddpm.Denoiser, sched *ddpm.Schedule, kind string, steps int, g float64) (Row, error) {
	start := time.Now()
	n := 10 * o.perClass
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 10
	}
	fmt.Fprintf(os.Stderr, "%s, guidance %g:\n", rowName(kind, steps, sched, o.eta), g)
	j, err := sampleAndJudge(o, ref, model, sched, kind, steps, labels, o.seed, o.x0, o.missesDir != "")
	if err != nil {
		return Row{}, err
	}
	row := Row{Sampler: kind, Steps: j.steps, Guidance: g, ClassAccuracy: make([]float64, 10), Misses: j.misses}
	if o.to != 0 && g != 1 {
		row.GuidanceFrom, row.GuidanceTo = o.from, o.to
	}
	for _, st := range j.x0 {
		right := 0
		for i, p := range st.preds {
			if p == labels[i] {
				right++
			}
		}
		row.X0 = append(row.X0, X0Point{T: st.t, Accuracy: float64(right) / float64(n)})
	}
	correct := 0
	for i, p := range j.preds {
		if p == labels[i] {
			row.ClassAccuracy[p]++
			correct++
		}
	}
	for d := range row.ClassAccuracy {
		row.ClassAccuracy[d] /= float64(o.perClass)
	}
	row.Accuracy = float64(correct) / float64(n)
	row.Distance, err = ref.distance(j.feats, j.pixels)
	row.Seconds = time.Since(start).Seconds()
	return row, err
}

func unconditionalRow(o *options, ref *reference, m *unet.Model, sched *ddpm.Schedule, kind string, steps int) (Uncond, error) {
	start := time.Now()
	var labels []int // nil for an unconditional model
	if m.Config.NumClasses > 0 {
		labels = make([]int, 10*o.perClass)
		for i := range labels {
			labels[i] = m.Config.NullLabel()
		}
	}
	fmt.Fprintf(os.Stderr, "%s, unconditional:\n", rowName(kind, steps, sched, o.eta))
	j, err := sampleAndJudge(o, ref, m, sched, kind, steps, labels, o.seed+1, false, false)
	if err != nil {
		return Uncond{}, err
	}
	u := Uncond{Sampler: kind, Steps: j.steps, Counts: make([]int, 10)}
	for _, p := range j.preds {
		u.Counts[p]++
	}
	u.Distance, err = ref.distance(j.feats, j.pixels)
	u.Seconds = time.Since(start).Seconds()
	return u, err
}

// stepVerdicts is the classifier's verdict on every sample's x̂₀ at one
// timestep.
type stepVerdicts struct {
	t     int
	preds []int
}

// judged is what sampleAndJudge keeps of a row's samples.
type judged struct {
	preds  []int          // the classifier's verdict on each sample
	feats  []float32      // its features of each sample
	pixels []float32      // each sample's pixelFeatures
	steps  int            // the steps the sampler took
	x0     []stepVerdicts // with x0: the verdicts on x̂₀ after each step
	misses []Miss         // with misses: the samples read as another digit than their label
}

// rowName names a row in the progress output by the steps its sampler takes:
// ddpm takes all T, whatever -steps says.
func rowName(kind string, steps int, sched *ddpm.Schedule, eta float64) string {
	if s, err := ddpm.NewSampler(kind, sched, steps, eta); err == nil {
		steps = len(s.Timesteps())
	}
	return fmt.Sprintf("%s, %d steps", kind, steps)
}

// sampleAndJudge draws 10·perClass samples in batches (labels may be nil for
// an unconditional model) and keeps only the classifier's verdict and
// features and the pixel features of each, so memory does not grow with the
// count (the images are not kept); with misses it
// also keeps the images the classifier reads as another digit.
func sampleAndJudge(o *options, ref *reference, model ddpm.Denoiser, sched *ddpm.Schedule, kind string, steps int, labels []int, seed uint64, x0, misses bool) (*judged, error) {
	n, px := 10*o.perClass, classifier.Size*classifier.Size
	j := &judged{}
	for lo := 0; lo < n; lo += o.batch {
		hi := min(lo+o.batch, n)
		s, err := ddpm.NewSampler(kind, sched, steps, o.eta)
		if err != nil {
			return nil, err
		}
		j.steps = len(s.Timesteps())
		var ls []int
		if labels != nil {
			ls = labels[lo:hi]
		}
		p, err := ddpm.NewProcess(model, s, hi-lo, px, ls, ddpm.NewRNGStream(seed, uint64(lo)))
		if err != nil {
			return nil, err
		}
		var onStep func(*ddpm.Process) error
		if x0 {
			if j.x0 == nil {
				j.x0 = make([]stepVerdicts, j.steps)
				for k, t := range s.Timesteps() {
					j.x0[k].t = t
				}
			}
			onStep = func(p *ddpm.Process) error {
				v := &j.x0[p.Index()-1]
				v.preds = append(v.preds, ref.clf.Predict(p.X0, hi-lo)...)
				return nil
			}
		}
		if err := p.Run(onStep); err != nil {
			return nil, err
		}
		preds := ref.clf.Predict(p.X, hi-lo)
		for k, seen := range preds {
			if misses && labels != nil && seen != labels[lo+k] {
				j.misses = append(j.misses, Miss{Index: lo + k, Asked: labels[lo+k], Seen: seen,
					img: append([]float32(nil), p.X[k*px:(k+1)*px]...)})
			}
		}
		j.preds = append(j.preds, preds...)
		j.feats = append(j.feats, ref.clf.Features(p.X, hi-lo)...)
		j.pixels = append(j.pixels, pixelFeatures(p.X, hi-lo)...)
		fmt.Fprintf(os.Stderr, "\r  %d/%d samples", hi, n)
	}
	fmt.Fprintln(os.Stderr)
	return j, nil
}

// reference holds the classifier and the MNIST test set's features, the
// classifier's and the pixels'.
type reference struct {
	clf            *classifier.Model
	batch          int
	classes, inked featureSet // the test set in the classifier's features and in pixels
}

func newReference(clf *classifier.Model, test *mnist.Set, batch int) (*reference, error) {
	r := &reference{clf: clf, batch: batch}
	var err error
	if r.classes, err = newFeatureSet(r.features(test.Images, test.N), test.N, classifier.FeatureDim); err != nil {
		return nil, err
	}
	r.inked, err = newFeatureSet(pixelFeatures(test.Images, test.N), test.N, PixelDim)
	return r, err
}

// featureSet measures sets of feature vectors against the test set's.
type featureSet struct {
	dim int
	fd  *classifier.FrechetReference
	kid *classifier.KIDReference
}

func newFeatureSet(test []float32, n, dim int) (featureSet, error) {
	s := featureSet{dim: dim}
	var err error
	if s.fd, err = classifier.NewFrechetReference(test, n, dim); err != nil {
		return s, err
	}
	s.kid, err = classifier.NewKIDReference(test, n, dim)
	return s, err
}

// distance returns the Fréchet distance, KID and KID's standard error of feat.
func (s featureSet) distance(feat []float32) (fd, kid, kidErr float64, err error) {
	n := len(feat) / s.dim
	if fd, err = s.fd.Distance(feat, n); err != nil {
		return 0, 0, 0, err
	}
	kid, kidErr, err = s.kid.Distance(feat, n)
	return fd, kid, kidErr, err
}

// features returns the classifier features of n images, in batches.
func (r *reference) features(x []float32, n int) []float32 {
	px := classifier.Size * classifier.Size
	var out []float32
	for lo := 0; lo < n; lo += r.batch {
		hi := min(lo+r.batch, n)
		out = append(out, r.clf.Features(x[lo*px:hi*px], hi-lo)...)
	}
	return out
}

// distance returns the Fréchet distance and KID to the test set of a set of
// images' classifier features and pixel features.
func (r *reference) distance(feats, pixels []float32) (Distance, error) {
	var d Distance
	var err error
	if d.FD, d.KID, d.KIDErr, err = r.classes.distance(feats); err != nil {
		return d, err
	}
	d.PixelFD, d.PixelKID, d.PixelKIDErr, err = r.inked.distance(pixels)
	return d, err
}

// floorImages returns n training images drawn at random (without
// replacement, from seed): MNIST's training set comes in runs of the same
// writers, and its first 1000 images are about twice as far from the test
// set by the classifier's Fréchet distance as 1000 drawn at random (47.0
// against 18.5–22.2 over four draws), a floor that made every sample look
// better than it is.
func floorImages(train *mnist.Set, n int, seed uint64) []float32 {
	px := classifier.Size * classifier.Size
	out := make([]float32, 0, n*px)
	for _, i := range rand.New(rand.NewPCG(seed, floorStream)).Perm(train.N)[:n] {
		out = append(out, train.Image(i)...)
	}
	return out
}

// floorStream keeps the floor's draw apart from the samples' noise, whose
// streams are the batches' first sample indices, below 60,000 = 0xea60.
const floorStream = 0xf100

// agreement ranks a run's rows by each feature set's distances; nil for
// fewer than 3 rows, too few to rank.
func agreement(r *Result) *Agreement {
	var fd, pfd, kid, pkid []float64
	add := func(d Distance) {
		fd, pfd, kid, pkid = append(fd, d.FD), append(pfd, d.PixelFD), append(kid, d.KID), append(pkid, d.PixelKID)
	}
	for _, row := range r.Rows {
		add(row.Distance)
	}
	for _, u := range r.Unconditional {
		add(u.Distance)
	}
	if len(fd) < 3 {
		return nil
	}
	a := &Agreement{Rows: len(fd), FDSpearman: spearman(fd, pfd), KIDSpearman: spearman(kid, pkid)}
	if math.IsNaN(a.FDSpearman) || math.IsNaN(a.KIDSpearman) {
		return nil // a feature set ties every row: there is no order to compare
	}
	return a
}
