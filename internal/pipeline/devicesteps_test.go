package pipeline_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
)

// TestDeviceLoopMatchesHostLoop runs txt2img with the sampler loop on the
// device (latents kept there, pipeline's sampleOnDevice) and on the host
// for the linear samplers, with prompt editing (the conditioning changes
// mid-loop) and with AND weights (steps the device call cannot serve, which
// go through the host inside the device loop). The latents must agree
// within float32 rounding, every step must reach the callback in order
// with the same denoised latents, and the device loop must have run the
// steps it could. Without StepLatents the device loop's callbacks get no
// latents and the result is the same; with WantLatents only the steps it
// asks for get theirs.
func TestDeviceLoopMatchesHostLoop(t *testing.T) {
	if !pipeline.DeviceSteps {
		t.Skip("SDGO_DEVICE_STEPS=0")
	}
	pool, tok := tinyPool(t, 1)
	for _, tc := range []struct {
		sampler, prompt string
		deviceSteps     int // of 4, per image batch
	}{
		{"Euler a", "a red house by the sea", 4},
		{"Euler", "a [red:blue:0.5] house", 4},
		{"DPM++ 2M", "a red house by the sea", 4},
		{"DPM++ 2M SDE", "a red house by the sea", 4},
		{"DPM++ 2M", "a red house AND a boat:0.5", 0},
	} {
		t.Run(tc.sampler+"/"+tc.prompt, func(t *testing.T) {
			p := pipeline.Params{Prompt: tc.prompt, NegativePrompt: "blurry", Width: 64, Height: 64, Steps: 4,
				CFGScale: 7, Sampler: tc.sampler, Seed: 11, BatchSize: 2, BatchCount: 1}
			run := func(host, latents bool, want func() bool) (latent []float32, dens [][]float32, st pipeline.Stats) {
				m := <-pool
				defer func() { pool <- m }()
				job := pipeline.Job{Model: m, Tok: tok, Stats: &st, HostLoop: host, StepLatents: latents, WantLatents: want,
					Trace: func(name string, v []float32) {
						if name == "x_final" {
							latent = v
						}
					},
					OnStep: func(_, _ int, s sample.Step) {
						if s.Index != len(dens) {
							t.Errorf("host %v: callback for step %d after %d steps", host, s.Index, len(dens))
						}
						dens = append(dens, slices.Clone(s.Denoised))
					}}
				if _, err := pipeline.Txt2Img(context.Background(), job, p); err != nil {
					t.Fatal(err)
				}
				return latent, dens, st
			}
			want, wantDens, hostSt := run(true, true, nil)
			got, gotDens, devSt := run(false, true, nil)
			if hostSt.DeviceSteps != 0 || devSt.DeviceSteps != tc.deviceSteps {
				t.Errorf("steps run on the device: host loop %d, device loop %d, want 0 and %d", hostSt.DeviceSteps, devSt.DeviceSteps, tc.deviceSteps)
			}
			if len(gotDens) != len(wantDens) || len(gotDens) != p.Steps {
				t.Fatalf("callbacks: device loop %d, host loop %d, want %d", len(gotDens), len(wantDens), p.Steps)
			}
			for i := range wantDens {
				if d := maxRelDiff(gotDens[i], wantDens[i]); d > 1e-4 {
					t.Errorf("step %d: denoised latents differ by %g (relative)", i, d)
				}
			}
			if d := maxRelDiff(got, want); d > 1e-4 {
				t.Errorf("final latents differ by %g (relative)", d)
			}
			// Without StepLatents the device loop copies nothing back
			// between its steps: the callbacks still come, in order,
			// without latents, and the result is the same.
			quiet, quietDens, _ := run(false, false, nil)
			if len(quietDens) != p.Steps {
				t.Fatalf("callbacks without latents: %d, want %d", len(quietDens), p.Steps)
			}
			for i, d := range quietDens {
				if tc.deviceSteps > 0 && d != nil {
					t.Errorf("step %d: the callback got latents the job did not ask for", i)
				}
			}
			if !slices.Equal(quiet, got) {
				t.Errorf("final latents without StepLatents differ by %g (relative)", maxRelDiff(quiet, got))
			}
			// WantLatents asking for every second step: those callbacks get
			// the same latents as before, the others none.
			asks := 0
			some, someDens, _ := run(false, true, func() bool { asks++; return asks%2 == 0 })
			if tc.deviceSteps > 0 && asks != p.Steps {
				t.Errorf("WantLatents asked %d times, want once per step (%d)", asks, p.Steps)
			}
			if len(someDens) != p.Steps {
				t.Fatalf("callbacks with WantLatents: %d, want %d", len(someDens), p.Steps)
			}
			for i, d := range someDens {
				switch {
				case tc.deviceSteps == 0:
				case i%2 == 1 && maxRelDiff(d, wantDens[i]) > 1e-4:
					t.Errorf("step %d, asked for: latents differ by %g (relative)", i, maxRelDiff(d, wantDens[i]))
				case i%2 == 0 && d != nil:
					t.Errorf("step %d: the callback got latents WantLatents did not ask for", i)
				}
			}
			if !slices.Equal(some, got) {
				t.Errorf("final latents with WantLatents differ by %g (relative)", maxRelDiff(some, got))
			}
		})
	}
}

// maxRelDiff is max |a-b| / max(1, max |b|).
func maxRelDiff(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.Inf(1)
	}
	var d, size float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
		size = max(size, math.Abs(float64(b[i])))
	}
	return d / max(1, size)
}

// TestDevicePixelsMatchHostPixels: without a trace, txt2img converts the
// decoded images to 8 bits on the device (Model.DecodePixels); with a
// trace it copies the float images to the host and converts them there.
// The images must be the same.
func TestDevicePixelsMatchHostPixels(t *testing.T) {
	if !pipeline.DeviceSteps {
		t.Skip("SDGO_DEVICE_STEPS=0")
	}
	pool, tok := tinyPool(t, 1)
	p := pipeline.Params{Prompt: "a red house by the sea", NegativePrompt: "blurry", Width: 64, Height: 64, Steps: 3,
		CFGScale: 7, Sampler: "Euler a", Seed: 5, BatchSize: 2, BatchCount: 1}
	run := func(trace bool) []pipeline.Result {
		m := <-pool
		defer func() { pool <- m }()
		var st pipeline.Stats
		job := pipeline.Job{Model: m, Tok: tok, Stats: &st}
		if trace {
			job.Trace = func(string, []float32) {}
		}
		res, err := pipeline.Txt2Img(context.Background(), job, p)
		if err != nil {
			t.Fatal(err)
		}
		if st.DeviceSteps != p.Steps {
			t.Fatalf("trace %v: %d steps on the device, want %d", trace, st.DeviceSteps, p.Steps)
		}
		return res
	}
	device, host := run(false), run(true)
	if len(device) != 2 || len(host) != 2 {
		t.Fatalf("%d and %d images, want 2 each", len(device), len(host))
	}
	for i := range host {
		if !slices.Equal(device[i].Image.Pix, host[i].Image.Pix) || device[i].Image.Rect != host[i].Image.Rect {
			t.Errorf("image %d differs between the device and the host conversion", i)
		}
	}
}
