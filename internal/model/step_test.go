package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"sdgo/internal/testutil"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestGuidedStepMatchesHostStep checks RunGuidedStep against
// RunGuidedUNet followed by the same linear update on the host, for
// updates with and without the previous prediction and the noise, over
// two chained steps whose latents never leave the device in between.
func TestGuidedStepMatchesHostStep(t *testing.T) {
	m := testutil.Fixtures(t)
	mdl := loadTiny(t, m)
	rng := rand.New(rand.NewPCG(5, 6))
	const n, h, w = 1, 8, 8
	shape := []int{n, 4, h, w}
	x0 := randSlice(rng, n*4*h*w)
	ctx := randSlice(rng, 2*n*77*32)
	ctxShape := []int{2 * n, 77, 32}
	ts := []float32{700, 700}
	g := Guidance{CIn: 0.3, A: 1, B: -2, Scale: 7}
	for _, tc := range []struct {
		name       string
		first, sec StepCoefficients
		noise      bool
	}{
		{"euler", StepCoefficients{X: 0.8, D: 0.2}, StepCoefficients{X: 0.7, D: 0.3}, false},
		{"multistep", StepCoefficients{X: 0.8, D: 0.2}, StepCoefficients{X: 0.6, D: 0.5, P: -0.1}, false},
		{"ancestral", StepCoefficients{X: 0.8, D: 0.2, N: 0.5}, StepCoefficients{X: 0.7, D: 0.3, N: 0.25}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var z1, z2 []float32
			if tc.noise {
				z1, z2 = randSlice(rng, len(x0)), randSlice(rng, len(x0))
			}
			// Host: two guided calls with the update in float64.
			host := func(x, den, prev, z []float32, c StepCoefficients) []float32 {
				out := make([]float32, len(x))
				for i := range x {
					v := c.X*float64(x[i]) + c.D*float64(den[i])
					if prev != nil {
						v += c.P * float64(prev[i])
					}
					if z != nil {
						v += c.N * float64(z[i])
					}
					out[i] = float32(v)
				}
				return out
			}
			d1, err := mdl.RunGuidedUNet(x0, shape, g, ts, ctx, ctxShape, nil)
			if err != nil {
				t.Fatal(err)
			}
			x1 := host(x0, d1, nil, z1, tc.first)
			d2, err := mdl.RunGuidedUNet(x1, shape, g, ts, ctx, ctxShape, nil)
			if err != nil {
				t.Fatal(err)
			}
			var p2 []float32
			if tc.sec.P != 0 {
				p2 = d1
			}
			want := host(x1, d2, p2, z2, tc.sec)

			// Device: the same two steps chained.
			x, err := NewLatents(x0, shape)
			if err != nil {
				t.Fatal(err)
			}
			defer x.Free()
			next, den1, err := mdl.RunGuidedStep(x, nil, z1, g, tc.first, ts, ctx, ctxShape, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer next.Free()
			defer den1.Free()
			var prev *Latents
			if tc.sec.P != 0 {
				prev = den1
			}
			got, den2, err := mdl.RunGuidedStep(next, prev, z2, g, tc.sec, ts, ctx, ctxShape, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Free()
			defer den2.Free()
			for _, c := range []struct {
				what string
				l    *Latents
				want []float32
			}{{"first denoised", den1, d1}, {"second denoised", den2, d2}, {"latents after two steps", got, want}} {
				v, err := c.l.Float32s()
				if err != nil {
					t.Fatal(err)
				}
				if d := maxAbsDiff(v, c.want); d > 1e-4 { // float32 on the device, float64 on the host, CFG x7
					t.Errorf("%s: differs from the host path by %g", c.what, d)
				}
			}
		})
	}
}

// TestGuidedStepRejectsMismatchedInputs checks the argument errors.
func TestGuidedStepRejectsMismatchedInputs(t *testing.T) {
	m := testutil.Fixtures(t)
	mdl := loadTiny(t, m)
	x, err := NewLatents(make([]float32, 4*8*8), []int{1, 4, 8, 8})
	if err != nil {
		t.Fatal(err)
	}
	ctx, ts := make([]float32, 2*77*32), []float32{1, 1}
	g := Guidance{CIn: 1, A: 1, B: -1, Scale: 7}
	for _, tc := range []struct {
		name  string
		prev  *Latents
		noise []float32
		c     StepCoefficients
	}{
		{"P without previous latents", nil, nil, StepCoefficients{X: 1, P: 1}},
		{"previous latents without P", x, nil, StepCoefficients{X: 1}},
		{"noise of the wrong size", nil, make([]float32, 3), StepCoefficients{X: 1, N: 1}},
	} {
		if _, _, err := mdl.RunGuidedStep(x, tc.prev, tc.noise, g, tc.c, ts, ctx, []int{2, 77, 32}, nil); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := NewLatents(make([]float32, 10), []int{1, 4, 8, 8}); err == nil {
		t.Error("NewLatents with 10 values for 256: no error")
	}
}

// TestPrecompileThenRun checks that Precompile compiles the UNet step and
// the decoder for the job's shapes (a second Precompile compiles nothing
// more), and that the runs that follow give what a model without it gives.
func TestPrecompileThenRun(t *testing.T) {
	m := testutil.Fixtures(t)
	pre, plain := loadTiny(t, m), loadTiny(t, m)
	if err := pre.Precompile(1, 8, 8, 77, 77, true); err != nil {
		t.Fatal(err)
	}
	count := func() int { return compiledGraphs(pre) }
	if got := count(); got != 2 {
		t.Fatalf("after Precompile: %d compiled graphs, want 2 (UNet step, decoder)", got)
	}
	if err := pre.Precompile(1, 8, 8, 77, 77, true); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 2 {
		t.Fatalf("after a second Precompile: %d compiled graphs, want still 2", got)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	x0 := randSlice(rng, 4*8*8)
	ctx := randSlice(rng, 2*77*32)
	run := func(mdl *Model) (den, img []float32) {
		x, err := NewLatents(x0, []int{1, 4, 8, 8})
		if err != nil {
			t.Fatal(err)
		}
		defer x.Free()
		next, d, err := mdl.RunGuidedStep(x, nil, nil, Guidance{CIn: 0.5, A: 1, B: -1, Scale: 5}, StepCoefficients{X: 0.5, D: 0.5}, []float32{300, 300}, ctx, []int{2, 77, 32}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer next.Free()
		defer d.Free()
		if den, err = d.Float32s(); err != nil {
			t.Fatal(err)
		}
		if img, _, err = mdl.Decode(den, []int{1, 4, 8, 8}); err != nil {
			t.Fatal(err)
		}
		return den, img
	}
	d1, i1 := run(pre)
	d2, i2 := run(plain)
	if !slices.Equal(d1, d2) || !slices.Equal(i1, i2) {
		t.Errorf("precompiled graphs give other results: denoised differs by %g, image by %g", maxAbsDiff(d1, d2), maxAbsDiff(i1, i2))
	}
	if got := count(); got != 2 {
		t.Errorf("after the runs: %d compiled graphs, want 2 (the precompiled ones were used)", got)
	}
}

// compiledGraphs counts the graphs m's runners have compiled.
func compiledGraphs(m *Model) (n int) {
	for _, r := range m.nets {
		for _, s := range r.shapes {
			n += len(s)
		}
	}
	return n
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestPrecompileUnequalPrompts checks Precompile for a prompt and a
// negative prompt of different lengths: the two plain UNet calls (one per
// length, as the pipeline then runs them) and the decoder, and RunUNet
// finds them compiled and gives what a model without Precompile gives.
func TestPrecompileUnequalPrompts(t *testing.T) {
	m := testutil.Fixtures(t)
	pre, plain := loadTiny(t, m), loadTiny(t, m)
	if err := pre.Precompile(1, 8, 8, 154, 77, true); err != nil {
		t.Fatal(err)
	}
	count := func() int { return compiledGraphs(pre) }
	if got := count(); got != 3 {
		t.Fatalf("after Precompile: %d compiled graphs, want 3 (UNet at 154 and 77 tokens, decoder)", got)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	x := randSlice(rng, 4*8*8)
	for _, l := range []int{154, 77} {
		ctx := randSlice(rng, l*32)
		got, err := pre.RunUNet(x, []int{1, 4, 8, 8}, []float32{400}, ctx, []int{1, l, 32}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := plain.RunUNet(x, []int{1, 4, 8, 8}, []float32{400}, ctx, []int{1, l, 32}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d tokens: the precompiled graph differs by %g", l, maxAbsDiff(got, want))
		}
	}
	if got := count(); got != 3 {
		t.Errorf("after the runs: %d compiled graphs, want 3", got)
	}
}

// DecodePixels gives the bytes that converting Decode's float image on the
// host would give (TestRGBABytes covers the clamping), in RGBA order.
func TestDecodePixelsMatchesHostConversion(t *testing.T) {
	mdl := loadTiny(t, testutil.Fixtures(t))
	rng := rand.New(rand.NewPCG(3, 4))
	z := randSlice(rng, 2*4*8*8)
	for i := range z {
		z[i] *= 8
	}
	shape := []int{2, 4, 8, 8}
	img, is, err := mdl.Decode(z, shape)
	if err != nil {
		t.Fatal(err)
	}
	px, ps, err := mdl.DecodePixels(z, shape)
	if err != nil {
		t.Fatal(err)
	}
	b, h, w := is[0], is[2], is[3]
	if !slices.Equal(ps, []int{b, h, w, 4}) {
		t.Fatalf("pixels shape %v, want [%d %d %d 4]", ps, b, h, w)
	}
	for n := 0; n < b; n++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				o := ((n*h+y)*w + x) * 4
				for c := 0; c < 3; c++ {
					v := img[((n*3+c)*h+y)*w+x]
					f := min(max((v+1)/2, 0), 1)
					if want := uint8(f * 255); px[o+c] != want {
						t.Fatalf("image %d pixel (%d,%d) channel %d: %d, want %d (value %v)", n, x, y, c, px[o+c], want, v)
					}
				}
				if px[o+3] != 255 {
					t.Fatalf("alpha %d at image %d (%d,%d)", px[o+3], n, x, y)
				}
			}
		}
	}
}

// TestRGBABytes: rgbaBytes converts as webui does, truncating, clamping
// on both sides, at values whose 8-bit result sits at an integer edge.
func TestRGBABytes(t *testing.T) {
	vals := []float32{-3, -1, -0.999, 0, 0.5, 0.99607843, 0.9960785, 0.99999, 1, 1.5, float32(2*200.0/255 - 1), float32(2*37.999/255 - 1)}
	img := make([]float32, 3*len(vals)) // one row: [1, 3, 1, len]
	for c := 0; c < 3; c++ {
		for i, v := range vals {
			img[c*len(vals)+i] = v // the same values in each channel
		}
	}
	backend, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Finalize()
	exec, err := graph.NewExec(backend, rgbaBytes)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(img, 1, 3, 1, len(vals)))
	if err != nil {
		t.Fatal(err)
	}
	px := tensors.MustCopyFlatData[uint8](out[0])
	for i, v := range vals {
		want := uint8(min(max((v+1)/2, 0), 1) * 255)
		for c := 0; c < 3; c++ {
			if px[i*4+c] != want {
				t.Errorf("value %v channel %d: %d, want %d", v, c, px[i*4+c], want)
			}
		}
		if px[i*4+3] != 255 {
			t.Errorf("value %v: alpha %d", v, px[i*4+3])
		}
	}
}
