package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sdgo/internal/fixture"
	"sdgo/internal/imagefile"
	"sdgo/internal/model"
	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
	"sdgo/internal/tokenizer"
)

// tinyPool loads n copies of the tiny SD1 model on the pure-Go backend and
// returns them as a pool: a run takes one and puts it back. Two copies let
// two parallel subtests use both cores (the backend's convolutions run on
// one core each), and every run reuses the copy's compiled graphs.
func tinyPool(t *testing.T, n int) (chan *model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	dir, err := fixture.FindDir()
	if err != nil {
		t.Skip(err)
	}
	tok, err := tokenizer.Find("", filepath.Join(dir, "..", "clip"))
	if err != nil {
		t.Skip(err)
	}
	pool := make(chan *model.Model, n)
	for i := 0; i < n; i++ {
		m, err := model.Load(filepath.Join(dir, "tiny-sd1", "model.safetensors"), model.Options{Backend: "go"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		pool <- m
	}
	return pool, tok
}

// generate runs Txt2Img on a model of the pool and returns the results and
// the sampled latents (the "x_final" trace) of the last batch.
func generate(t *testing.T, pool chan *model.Model, tok *tokenizer.Tokenizer, p pipeline.Params) ([]pipeline.Result, []float32, pipeline.Stats) {
	t.Helper()
	m := <-pool
	defer func() { pool <- m }()
	var latent []float32
	var st pipeline.Stats
	job := pipeline.Job{Model: m, Tok: tok, Stats: &st, Trace: func(name string, v []float32) {
		if name == "x_final" {
			latent = v
		}
	}}
	res, err := pipeline.Txt2Img(context.Background(), job, p)
	if err != nil {
		t.Fatalf("txt2img %s / %s: %v", p.Sampler, p.Scheduler, err)
	}
	return res, latent, st
}

// TestTxt2ImgEverySamplerAndSchedule runs the real pipeline on the tiny
// model for every sampler x schedule pair (19 x 12 = 228 runs of 3 steps at
// 64x64, about 4 minutes of CPU on the pure-Go backend), and checks each run
// gives finite latents and writes a readable 64x64 PNG whose infotext names
// the sampler, the schedule, the steps and the seed.
func TestTxt2ImgEverySamplerAndSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: one real txt2img run per sampler x schedule pair")
	}
	pool, tok := tinyPool(t, 2)
	type run struct{ sampler, scheduler, wantSchedule string }
	var runs []run
	for _, s := range sample.Samplers {
		for _, sch := range sample.Schedulers {
			_, id, err := sample.Resolve(s.Name, sch.Name)
			if err != nil {
				t.Fatal(err)
			}
			want := sch.Name
			if id == "automatic" {
				want = "Automatic"
			}
			runs = append(runs, run{s.Name, sch.Name, want})
		}
	}
	out := t.TempDir()
	start := time.Now()
	t.Cleanup(func() { t.Logf("%d runs in %s", len(runs), time.Since(start).Round(time.Millisecond)) })
	t.Run("group", func(t *testing.T) {
		for i, r := range runs {
			t.Run(r.sampler+"/"+r.scheduler, func(t *testing.T) {
				t.Parallel()
				p := pipeline.Params{Prompt: "a red (cube:1.2) on a table", NegativePrompt: "blurry", Width: 64, Height: 64,
					Steps: 3, Sampler: r.sampler, Scheduler: r.scheduler, Seed: int64(1000 + i)}
				res, latent, st := generate(t, pool, tok, p)
				if len(res) != 1 || res[0].Seed != p.Seed {
					t.Fatalf("got %d results (seed %v), want 1 with seed %d", len(res), res, p.Seed)
				}
				checkFinite(t, latent, 4*8*8)
				path := filepath.Join(out, fmt.Sprintf("%03d.png", i))
				if err := imagefile.WritePNG(path, res[0].Image, res[0].Infotext); err != nil {
					t.Fatal(err)
				}
				img, text := readPNG(t, path)
				if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 64 {
					t.Errorf("image is %v, want 64x64", b)
				}
				if lo, hi := grayRange(img); hi-lo < 8 {
					t.Errorf("image is nearly flat (gray values %d..%d)", lo, hi)
				}
				for _, want := range []string{"Sampler: " + r.sampler + ",", "Schedule type: " + r.wantSchedule + ",", "Steps: 3,", fmt.Sprintf("Seed: %d,", p.Seed)} {
					if !strings.Contains(text, want) {
						t.Errorf("infotext lacks %q: %s", want, text)
					}
				}
				t.Logf("%d UNet calls, sampling %s, decode %s", st.UNetCalls, st.Sampling.Round(time.Millisecond), st.Decode.Round(time.Millisecond))
			})
		}
	})
}

// TestTxt2ImgBatchMatchesSingles checks that a batch of 2 with seed s gives
// the images of two single runs with seeds s and s+1 (each image has its
// own noise generator, as in webui), for an ancestral sampler (fresh noise
// every step) and a deterministic multistep one.
func TestTxt2ImgBatchMatchesSingles(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 8 real images (~30 s of CPU)")
	}
	pool, tok := tinyPool(t, 2)
	const seed = 4242
	for _, smp := range []string{"Euler a", "DPM++ 2M"} {
		t.Run(smp, func(t *testing.T) {
			t.Parallel()
			p := pipeline.Params{Prompt: "a lighthouse at dusk", NegativePrompt: "fog", Width: 64, Height: 64, Steps: 3,
				Sampler: smp, Seed: seed, BatchSize: 2}
			batch, _, _ := generate(t, pool, tok, p)
			if len(batch) != 2 {
				t.Fatalf("batch gave %d images, want 2", len(batch))
			}
			for i := range batch {
				p1 := p
				p1.BatchSize, p1.Seed = 1, seed+int64(i)
				single, _, _ := generate(t, pool, tok, p1)
				if batch[i].Seed != p1.Seed || single[0].Seed != p1.Seed {
					t.Errorf("image %d: seeds %d (batch) and %d (single), want %d", i, batch[i].Seed, single[0].Seed, p1.Seed)
				}
				if batch[i].Infotext != single[0].Infotext {
					t.Errorf("image %d: infotexts differ:\nbatch  %s\nsingle %s", i, batch[i].Infotext, single[0].Infotext)
				}
				d, n := pixelDiff(batch[i].Image, single[0].Image)
				t.Logf("image %d (seed %d): max pixel difference %d, %d of %d channel values differ", i, p1.Seed, d, n, 64*64*3)
				// The pure-Go backend computes each image of a batch
				// exactly as alone, so the pixels must be identical.
				if d != 0 {
					t.Errorf("image %d: batch and single differ by up to %d/255", i, d)
				}
			}
			if d, _ := pixelDiff(batch[0].Image, batch[1].Image); d < 8 {
				t.Errorf("the two images of the batch are nearly the same (max difference %d): seeds not applied per image", d)
			}
		})
	}
}

// TestSamplerScheduleMatrix runs every sampler with every schedule through
// the pipeline's CFG denoiser, the model's sigma table, webui's seeded
// noise and the sampler table, with a cheap stand-in for the UNet, at 2
// and 3 steps: every combination must finish and give finite latents.
func TestSamplerScheduleMatrix(t *testing.T) {
	const c, h, w, tokens, width = 4, 8, 8, 77, 8
	table := sample.DefaultTable()
	cond := pipeline.Cond{Context: make([]float32, tokens*width), Tokens: tokens, Width: width}
	uncond := pipeline.Cond{Context: make([]float32, tokens*width), Tokens: tokens, Width: width}
	for i := range cond.Context {
		cond.Context[i] = float32(i%7) / 7
	}
	// Stand-in UNet: eps = a bounded function of the input and the
	// context's mean, so CFG has something to amplify.
	unet := func(x []float32, xShape []int, t []float32, ctx []float32, ctxShape []int, y []float32) ([]float32, error) {
		per, ctxPer := len(x)/xShape[0], len(ctx)/ctxShape[0]
		out := make([]float32, len(x))
		for b := 0; b < xShape[0]; b++ {
			var mean float32
			for _, v := range ctx[b*ctxPer : (b+1)*ctxPer] {
				mean += v / float32(ctxPer)
			}
			for i := b * per; i < (b+1)*per; i++ {
				out[i] = float32(math.Tanh(float64(x[i]))) + 0.1*mean + 1e-4*t[b]
			}
		}
		return out, nil
	}
	for _, steps := range []int{2, 3} {
		for _, smp := range sample.Samplers {
			for _, sch := range sample.Schedulers {
				t.Run(fmt.Sprintf("%d/%s/%s", steps, smp.ID, sch.ID), func(t *testing.T) {
					s, sched, err := sample.Resolve(smp.Name, sch.Name)
					if err != nil {
						t.Fatal(err)
					}
					sigmas, err := sample.SigmasFor(s, sched, steps, sample.ScheduleParams{Table: table}, false)
					if err != nil {
						t.Fatal(err)
					}
					noise, err := sample.NewImageRNG([3]int{c, h, w}, sample.SeedParams{Seeds: []int64{7, 8}, Subseeds: []int64{0, 1}})
					if err != nil {
						t.Fatal(err)
					}
					x0, err := noise.Next(sigmas[0], sigmas[0])
					if err != nil {
						t.Fatal(err)
					}
					x := make([]float32, len(x0))
					for i, v := range x0 {
						x[i] = float32(float64(v) * s.NoiseScale(sigmas))
					}
					d := &pipeline.Denoiser{UNet: unet, Table: table, Prediction: "eps", LatentC: c, H: h, W: w,
						Cond: []pipeline.Cond{cond, cond}, Uncond: []pipeline.Cond{uncond, uncond}, Scale: 7}
					out, err := s.Func(d.Denoise, x, sigmas, s.Options(), noise, nil)
					if err != nil {
						t.Fatalf("sigmas %v: %v", sigmas, err)
					}
					checkFinite(t, out, 2*c*h*w)
					if d.Calls == 0 {
						t.Error("the sampler never called the denoiser")
					}
				})
			}
		}
	}
}

func checkFinite(t *testing.T, v []float32, n int) {
	t.Helper()
	if len(v) != n {
		t.Fatalf("latent has %d values, want %d", len(v), n)
	}
	var sum float64
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			t.Fatalf("latent value %d is %v", i, x)
		}
		sum += math.Abs(float64(x))
	}
	if sum == 0 {
		t.Fatal("latent is all zeros")
	}
}

func readPNG(t *testing.T, path string) (image.Image, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	text, err := imagefile.ReadParameters(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: parameters: %v", path, err)
	}
	return img, text
}

func grayRange(img image.Image) (lo, hi uint8) {
	lo = 255
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			v := uint8((r + g + bb) / 3 >> 8)
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	return lo, hi
}

// pixelDiff returns the largest channel difference of two same-size images
// and how many channel values differ.
func pixelDiff(a, b *image.NRGBA) (maxDiff, n int) {
	if a.Bounds() != b.Bounds() {
		return 255, len(a.Pix)
	}
	for i := range a.Pix {
		if i%4 == 3 {
			continue
		}
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		if d > 0 {
			n++
		}
		maxDiff = max(maxDiff, d)
	}
	return maxDiff, n
}
