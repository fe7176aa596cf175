package main

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpm-go/ddpm/ddpm"
	"github.com/ddpm-go/ddpm/ddpm/classifier"
	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/nn"
	"github.com/ddpm-go/ddpm/ddpm/unet"
)

// shipped loads the shipped DDPM, its schedule and a reference of 200 test
// images (enough to compare two rows).
func shipped(t *testing.T) (*unet.Model, *ddpm.Schedule, *reference) {
	t.Helper()
	be := nn.CPU{}
	m, meta, err := unet.Load("../../weights/mnist.safetensors", be)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := unet.ScheduleOf(meta)
	if err != nil {
		t.Fatal(err)
	}
	clf, _, err := classifier.Load("../../weights/classifier.safetensors", be)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := mnist.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	test, err := mnist.Load(dir, mnist.Test, classifier.Size)
	if err != nil {
		t.Fatal(err)
	}
	test.N = 200
	ref, err := newReference(clf, test, 50)
	if err != nil {
		t.Fatal(err)
	}
	return m, sched, ref
}

// -x0 classifies x̂₀ after every step without changing the samples: the
// row is the same with and without it, and it has one point per step, from
// the noisiest timestep down.
func TestX0LeavesTheSamplesAlone(t *testing.T) {
	m, sched, ref := shipped(t)
	model := &ddpm.Guided{Model: m, Scale: 1, NullLabel: m.Config.NullLabel()}
	o := &options{perClass: 3, batch: 16, seed: 1}
	plain, err := conditionalRow(o, ref, model, sched, "dpmpp2m", 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	o.x0 = true
	traced, err := conditionalRow(o, ref, model, sched, "dpmpp2m", 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{plain.PixelFD, plain.PixelKIDErr} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("pixel distances %+v", plain.Distance)
		}
	}
	if plain.X0 != nil {
		t.Errorf("without -x0 the row has x̂₀ points: %v", plain.X0)
	}
	if plain.Accuracy != traced.Accuracy || plain.FD != traced.FD || plain.KID != traced.KID {
		t.Errorf("-x0 changed the samples: accuracy %v → %v, FD %v → %v", plain.Accuracy, traced.Accuracy, plain.FD, traced.FD)
	}
	if len(traced.X0) != traced.Steps {
		t.Fatalf("%d x̂₀ points for %d steps", len(traced.X0), traced.Steps)
	}
	for i, p := range traced.X0 {
		if p.Accuracy < 0 || p.Accuracy > 1 || (i > 0 && p.T >= traced.X0[i-1].T) {
			t.Errorf("point %d: %+v (after %+v)", i, p, traced.X0[max(i-1, 0)])
		}
	}
	// DPM-Solver++'s last step returns its x̂₀, so the last point is the
	// row's accuracy: verdicts out of line with their labels would show.
	if last := traced.X0[len(traced.X0)-1]; last.Accuracy != traced.Accuracy {
		t.Errorf("x̂₀ accuracy after the last step %v, the samples' %v", last.Accuracy, traced.Accuracy)
	}
	// Guidance on an interval covering every step is plain guidance.
	o.x0 = false
	whole, err := conditionalRow(o, ref, model2(m), sched, "dpmpp2m", 6, 2)
	if err != nil {
		t.Fatal(err)
	}
	o.from, o.to = 0, 999
	ranged, err := conditionalRow(o, ref, &ddpm.Guided{Model: m, Scale: 2, NullLabel: m.Config.NullLabel(), From: 0, To: 999}, sched, "dpmpp2m", 6, 2)
	if err != nil {
		t.Fatal(err)
	}
	if whole.FD != ranged.FD || ranged.GuidanceTo != 999 || whole.GuidanceTo != 0 {
		t.Errorf("interval 0–999: FD %v against %v without, interval recorded as %d–%d", ranged.FD, whole.FD, ranged.GuidanceFrom, ranged.GuidanceTo)
	}
	if traced.X0[0].T != 999 {
		t.Errorf("first point at t=%d, want 999", traced.X0[0].T)
	}
}

func model2(m *unet.Model) ddpm.Denoiser {
	return &ddpm.Guided{Model: m, Scale: 2, NullLabel: m.Config.NullLabel()}
}

func TestGuidanceIntervalFlag(t *testing.T) {
	for _, bad := range []string{"5", "499,0", "-1,5", "0,0", "0,99999999", "a,b"} {
		if _, err := parseFlags([]string{"-guidance-interval", bad}); err == nil || !strings.Contains(err.Error(), "-guidance-interval") {
			t.Errorf("-guidance-interval %s: error %v", bad, err)
		}
	}
	o, err := parseFlags([]string{"-guidance-interval", "0,499"})
	if err != nil || o.from != 0 || o.to != 499 {
		t.Errorf("0,499: %+v, %v", o, err)
	}
}

func TestParseFlagsRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-per-class", "0"}, "-per-class 0 is outside 2..6000"},
		{[]string{"-batch", "0"}, "-batch 0 is outside 1..1000"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		if _, err := parseFlags(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}

// An unwritable -json refuses before any sampling, not after.
func TestJSONCheckedFirst(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	o, err := parseFlags([]string{"-json", filepath.Join(file, "eval.json"), "-weights", filepath.Join(file, "none.safetensors")})
	if err != nil {
		t.Fatal(err)
	}
	if err := run(o); err == nil || !strings.HasPrefix(err.Error(), "-json: cannot write") {
		t.Errorf("run: %v, want the -json refusal before the weights are read", err)
	}
}

// -misses keeps exactly the samples the classifier reads as another digit,
// without changing the row, and lays them out one line per digit asked for.
func TestMisses(t *testing.T) {
	m, sched, ref := shipped(t)
	// Guidance 0 is the unconditional prediction: most samples miss their label.
	model := &ddpm.Guided{Model: m, Scale: 0, NullLabel: m.Config.NullLabel()}
	o := &options{perClass: 3, batch: 16, seed: 1}
	plain, err := conditionalRow(o, ref, model, sched, "dpmpp2m", 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	o.missesDir = t.TempDir()
	row, err := conditionalRow(o, ref, model, sched, "dpmpp2m", 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Misses != nil || row.Accuracy != plain.Accuracy || row.FD != plain.FD {
		t.Fatalf("-misses changed the row: accuracy %v → %v, FD %v → %v, %d misses without it", plain.Accuracy, row.Accuracy, plain.FD, row.FD, len(plain.Misses))
	}
	n := 10 * o.perClass
	if want := n - int(math.Round(row.Accuracy*float64(n))); len(row.Misses) != want || want < 10 {
		t.Fatalf("%d misses, want %d (accuracy %v; guidance 0 should miss most)", len(row.Misses), want, row.Accuracy)
	}
	perDigit := map[int]int{}
	for _, m := range row.Misses {
		if m.Asked != m.Index%10 || m.Seen == m.Asked || len(m.img) != classifier.Size*classifier.Size {
			t.Fatalf("miss %+v (%d pixels)", m, len(m.img))
		}
		if seen := ref.clf.Predict(m.img, 1)[0]; seen != m.Seen {
			t.Errorf("miss %d: recorded as read %d, its image reads %d", m.Index, m.Seen, seen)
		}
		perDigit[m.Asked]++
	}
	cols := 0
	for _, c := range perDigit {
		cols = max(cols, c)
	}
	if err := writeMisses(o.missesDir, row); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(o.missesDir, "misses-dpmpp2m-6-g0.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// picture.Grid at zoom 2 with 2 pixels of padding: 10 lines of cols.
	cell := 2*classifier.Size + 2
	if b := img.Bounds(); b.Dx() != cols*cell+2 || b.Dy() != 10*cell+2 {
		t.Errorf("sheet %v, want %d×%d cells", b, cols, 10)
	}
	// The same row without misses removes the old sheet.
	row.Misses = nil
	if err := writeMisses(o.missesDir, row); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(o.missesDir, "misses-dpmpp2m-6-g0.png")); !os.IsNotExist(err) {
		t.Errorf("a row without misses left a sheet behind (%v)", err)
	}
}

func TestMissesSheet(t *testing.T) {
	px := classifier.Size * classifier.Size
	digit := func(v float32) []float32 {
		img := make([]float32, px)
		for i := range img {
			img[i] = v
		}
		return img
	}
	sheet, cols := missesSheet([]Miss{{Asked: 3, img: digit(0.5)}, {Asked: 7, img: digit(0.25)}, {Asked: 3, img: digit(1)}})
	if cols != 2 || len(sheet) != 10*2*px {
		t.Fatalf("sheet of %d images, want 10 lines of 2", len(sheet)/px)
	}
	cell := func(line, col int) float32 { return sheet[(line*2+col)*px] }
	if cell(3, 0) != 0.5 || cell(3, 1) != 1 || cell(7, 0) != 0.25 || cell(7, 1) != float32(40/127.5-1) || cell(0, 0) != float32(40/127.5-1) {
		t.Errorf("cells (3,0) %v (3,1) %v (7,0) %v (7,1) %v (0,0) %v", cell(3, 0), cell(3, 1), cell(7, 0), cell(7, 1), cell(0, 0))
	}
	if sheet, cols := missesSheet(nil); sheet != nil || cols != 0 {
		t.Error("a sheet without misses")
	}
	if got := missesFile(Row{Sampler: "dpmpp2m", Steps: 10, Guidance: 1.5, GuidanceFrom: 0, GuidanceTo: 499}); got != "misses-dpmpp2m-10-g1.5-t0-499.png" {
		t.Errorf("file name %s", got)
	}
}

func TestPixelFeatures(t *testing.T) {
	px := classifier.Size * classifier.Size
	imgs := make([]float32, 2*px)
	for i := range imgs {
		imgs[i] = -1 // background
	}
	second := imgs[px:]
	// Full ink on the 2×2 block at the top left, half a block of ink at
	// the bottom right.
	second[0], second[1], second[classifier.Size], second[classifier.Size+1] = 1, 1, 1, 1
	second[px-1], second[px-2] = 1, 1
	f := pixelFeatures(imgs, 2)
	if len(f) != 2*PixelDim {
		t.Fatalf("%d features, want %d", len(f), 2*PixelDim)
	}
	for i, v := range f[:PixelDim] {
		if v != 0 {
			t.Fatalf("background image: feature %d is %v", i, v)
		}
	}
	g := f[PixelDim:]
	if g[0] != 1 || g[PixelDim-1] != 0.5 || g[1] != 0 || g[PixelDim/2] != 0 {
		t.Errorf("features %v … %v, want 1 at the top left and 0.5 at the bottom right", g[:2], g[PixelDim-2:])
	}
}

func TestSpearman(t *testing.T) {
	for _, c := range []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 1},
		{[]float64{1, 2, 3, 4}, []float64{40, 30, 20, 10}, -1},
		{[]float64{1, 2, 3, 4}, []float64{1, 100, 1000, 2}, 0.4},   // ranks 1 3 4 2
		{[]float64{1, 1, 2}, []float64{5, 6, 7}, math.Sqrt(3) / 2}, // ties: ranks 1.5 1.5 3
		{[]float64{1, 2, 3}, []float64{4, 4, 4}, math.NaN()},       // no order to compare
	} {
		got := spearman(c.a, c.b)
		if math.IsNaN(c.want) != math.IsNaN(got) || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("spearman(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	if r := ranks([]float64{3, 1, 2, 1}); r[0] != 4 || r[1] != 1.5 || r[2] != 3 || r[3] != 1.5 {
		t.Errorf("ranks %v", r)
	}
}

func TestAgreement(t *testing.T) {
	d := func(fd, pfd float64) Distance { return Distance{FD: fd, KID: fd, PixelFD: pfd, PixelKID: -pfd} }
	r := &Result{Rows: []Row{{Distance: d(1, 10)}, {Distance: d(2, 20)}}}
	if a := agreement(r); a != nil {
		t.Errorf("two rows ranked: %+v", a)
	}
	r.Unconditional = []Uncond{{Distance: d(3, 20)}}
	r.Rows[0] = Row{Distance: d(1, 20)} // the pixels tie every row
	if a := agreement(r); a != nil {
		t.Errorf("pixels tie every row, but agreement %+v", a)
	}
	r.Rows[0] = Row{Distance: d(1, 10)}
	r.Unconditional = []Uncond{{Distance: d(3, 30)}}
	a := agreement(r)
	if a == nil || a.Rows != 3 || a.FDSpearman != 1 || a.KIDSpearman != -1 {
		t.Errorf("agreement %+v, want 3 rows, ρ 1 by FD and −1 by KID", a)
	}
}

// The floor draws distinct training images at random, the same ones for
// the same seed, and not MNIST's first run of writers.
func TestFloorImages(t *testing.T) {
	const n, px = 100, classifier.Size * classifier.Size
	train := &mnist.Set{N: 1000, Size: classifier.Size, Images: make([]float32, 1000*px)}
	for i := 0; i < train.N; i++ {
		for k := 0; k < px; k++ {
			train.Images[i*px+k] = float32(i) // image i is all i: its index
		}
	}
	picked := func(seed uint64) []int {
		imgs := floorImages(train, n, seed)
		if len(imgs) != n*px {
			t.Fatalf("%d values, want %d images", len(imgs), n)
		}
		var idx []int
		for i := 0; i < n; i++ {
			idx = append(idx, int(imgs[i*px]))
			if imgs[i*px+px-1] != imgs[i*px] {
				t.Fatalf("image %d is not one training image", i)
			}
		}
		return idx
	}
	a, b, c := picked(1), picked(1), picked(2)
	seen, first, same := map[int]bool{}, 0, 0
	for i, j := range a {
		if seen[j] {
			t.Fatalf("training image %d drawn twice", j)
		}
		seen[j] = true
		if j < n {
			first++
		}
		if j != b[i] {
			t.Fatalf("seed 1 drew %v, then %v", a[:5], b[:5])
		}
		if j == c[i] {
			same++
		}
	}
	// About n·n/N = 10 of the first n are expected by chance.
	if first > 30 || same > 3 {
		t.Errorf("%d of the first %d training images drawn; seeds 1 and 2 agree on %d places", first, n, same)
	}
}

// The progress output names a row by the steps its sampler takes.
func TestRowName(t *testing.T) {
	sched := ddpm.NewLinear(1000, 1e-4, 0.02)
	for _, c := range []struct {
		kind  string
		steps int
		want  string
	}{
		{"dpmpp2m", 10, "dpmpp2m, 10 steps"},
		{"ddim", 50, "ddim, 50 steps"},
		{"ddpm", 10, "ddpm, 1000 steps"}, // ancestral sampling takes all T
	} {
		if got := rowName(c.kind, c.steps, sched, 0); got != c.want {
			t.Errorf("rowName(%q, %d) = %q, want %q", c.kind, c.steps, got, c.want)
		}
	}
}
