package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"sort"
	"strings"
	"time"

	"sdgo/internal/imagefile"
	"sdgo/internal/model"
	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
	"sdgo/internal/xlacache"
)

func init() {
	register("bench", "measure a model's speed: ms per UNet / text encoder / VAE call, compile and load time", runBench)
}

// benchRecord is one measurement, also written as JSON with --json.
type benchRecord struct {
	What        string  `json:"what"`
	Model       string  `json:"model"`
	Family      string  `json:"family"`
	Backend     string  `json:"backend"`
	Device      string  `json:"device"`
	DType       string  `json:"dtype"`
	Batch       int     `json:"batch"`
	Width       int     `json:"width"`
	Height      int     `json:"height"`
	Iters       int     `json:"iters"`
	FirstCallMS float64 `json:"first_call_ms"` // weights read + upload + compile + one run
	WeightsMS   float64 `json:"weights_read_ms"`
	WeightsMiB  float64 `json:"weights_mib"`
	// Executables the first call loaded from XLA's executable cache and
	// compiled (package xlacache; absent where it is not installed).
	CachedExecutables   *int64  `json:"cached_executables,omitempty"`
	CompiledExecutables *int64  `json:"compiled_executables,omitempty"`
	MedianMS            float64 `json:"median_ms"`
	MinMS               float64 `json:"min_ms"`
	PerSecond           float64 `json:"images_per_second,omitempty"`
	// txt2img only: each stage's median over the timed calls, in ms (the
	// first, compiling call left out).
	CondMS           float64 `json:"cond_ms,omitempty"`
	SamplingMS       float64 `json:"sampling_ms,omitempty"`
	UNetMS           float64 `json:"unet_ms,omitempty"`
	SamplerPerStepMS float64 `json:"sampler_overhead_per_step_ms,omitempty"` // sampling minus UNet calls, per step
	DeviceSteps      int     `json:"device_steps,omitempty"`                 // steps run with the latents on the device (queued, not timed one by one)
	QueueMS          float64 `json:"queue_ms,omitempty"`                     // host time inside those steps' calls (launching them)
	BetweenMS        float64 `json:"between_calls_ms,omitempty"`             // sum of the gaps between consecutive UNet calls
	MaxBetweenMS     float64 `json:"max_between_calls_ms,omitempty"`         // the longest such gap
	DecodeMS         float64 `json:"decode_ms,omitempty"`
	PNGMS            float64 `json:"png_ms,omitempty"`
	// OtherMS is the rest of a call: everything outside the stages above
	// (schedule, first noise, infotext, waiting for the precompile).
	OtherMS float64 `json:"other_ms,omitempty"`
}

func runBench(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("bench", e)
	mf := addModelFlags(fs, e)
	what := fs.String("what", "unet", "what to time: unet, guided (--steps CFG UNet calls, latents back on the host after each), chain (the same steps kept on the device), text, vae, txt2img, or all; a comma-separated list runs each in turn")
	batch := fs.Int("batch", 2, "batch size of the network call (2 = one image with CFG for unet)")
	images := fs.Int("batch-size", 1, "images per txt2img call (--what txt2img: the UNet batch is twice this with CFG)")
	var w, h int
	intFlag(fs, &w, []string{"W", "width"}, 512, "image width in pixels")
	intFlag(fs, &h, []string{"H", "height"}, 512, "image height in pixels")
	iters := fs.Int("iters", 10, "timed calls after the first")
	steps := fs.Int("steps", 20, "sampling steps for --what txt2img")
	sampler := fs.String("sampler", "Euler a", "sampler for --what txt2img")
	var t2i t2iOptions
	fs.BoolVar(&t2i.previews, "previews", false, "txt2img: hand every step's latents to a progress callback, as the server does for live previews")
	fs.BoolVar(&t2i.newPrompts, "new-prompts", false, "txt2img: another prompt each call (a number appended), so the text encoder runs every time instead of answering from its cache of recent prompts")
	jsonOut := fs.String("json", "", "also write the records as JSON to this file")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the timed calls to this file")
	traceFile := fs.String("trace", "", "write a Go execution trace of the timed calls to this file (go tool trace FILE)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	var prof benchProfiles
	for _, o := range []struct {
		path string
		f    **os.File
	}{{*cpuProfile, &prof.cpu}, {*traceFile, &prof.trace}} {
		if o.path == "" {
			continue
		}
		f, err := os.Create(o.path)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		*o.f = f
	}
	start := time.Now()
	m, err := model.Load(*mf.model, model.Options{Backend: *mf.backend, DType: *mf.dtype, VAE: *mf.vae, Prediction: *mf.prediction,
		Images: max(*batch/2, *images)})
	if err != nil {
		return err
	}
	defer m.Close()
	fmt.Fprintf(e.Stderr, "opened %s (%s) in %s on %s, %s\n", *mf.model, m.Family, time.Since(start).Round(time.Millisecond),
		m.Runner().Backend().Description(), m.Runner().DType())
	base := benchRecord{Model: *mf.model, Family: string(m.Family), Backend: m.Runner().Backend().Name(),
		Device: m.Runner().Backend().Description(), DType: m.Runner().DType().String(), Batch: *batch, Width: w, Height: h, Iters: *iters}
	var recs []benchRecord
	list := strings.Split(*what, ",")
	if *what == "all" {
		list = []string{"text", "unet", "vae", "txt2img"}
	}
	for _, wt := range list {
		rec := base
		var stages stageLog
		rec.What = wt
		var fn func() error
		switch wt {
		case "unet":
			fn, err = unetCall(m, *batch, h/8, w/8)
		case "guided", "chain":
			fn, err = stepsCall(m, wt == "chain", max(*batch/2, 1), h/8, w/8, *steps)
		case "text":
			fn, err = textCall(m, *batch)
		case "vae":
			fn, err = vaeCall(m, *batch, h/8, w/8)
		case "txt2img":
			rec.Batch = *images
			fn, err = txt2imgCall(ctx, mf, m, w, h, *steps, *images, *sampler, t2i, &stages)
		default:
			return usagef("--what %q: use unet, guided, chain, text, vae, txt2img or all", wt)
		}
		if err != nil {
			return err
		}
		if err := timeCalls(&rec, m, fn, *iters, prof); err != nil {
			return fmt.Errorf("bench %s: %w", wt, err)
		}
		if wt == "txt2img" {
			stages.medians(&rec)
			rec.PerSecond = float64(rec.Batch) * 1000 / rec.MedianMS
			fmt.Fprintf(e.Stdout, "txt2img %d image(s) per call: %.2f images/s\n", rec.Batch, rec.PerSecond)
			if rec.DeviceSteps > 0 {
				fmt.Fprintf(e.Stdout, "txt2img stages (median of %d): cond %.1f ms, sampling %.1f ms (%d steps on the device, %.2f ms each, %.2f ms of host time each to launch), decode %.1f ms, png %.1f ms, other %.1f ms\n",
					len(stages.calls), rec.CondMS, rec.SamplingMS, rec.DeviceSteps, rec.SamplingMS/float64(rec.DeviceSteps), rec.QueueMS/float64(rec.DeviceSteps), rec.DecodeMS, rec.PNGMS, rec.OtherMS)
			} else {
				fmt.Fprintf(e.Stdout, "txt2img stages (median of %d): cond %.1f ms, sampling %.1f ms (UNet %.1f ms; sampler overhead %.3f ms/step; between calls %.3f ms in all, longest %.3f ms), decode %.1f ms, png %.1f ms, other %.1f ms\n",
					len(stages.calls), rec.CondMS, rec.SamplingMS, rec.UNetMS, rec.SamplerPerStepMS, rec.BetweenMS, rec.MaxBetweenMS, rec.DecodeMS, rec.PNGMS, rec.OtherMS)
			}
		}
		var exes string
		if rec.CachedExecutables != nil {
			exes = fmt.Sprintf("; executables: %d from the cache, %d compiled", *rec.CachedExecutables, *rec.CompiledExecutables)
		}
		fmt.Fprintf(e.Stdout, "%-8s %s %s batch %d %dx%d: %.2f ms median (min %.2f) over %d; first call %.0f ms (weights read %.0f ms, %.0f MiB%s)\n",
			wt, rec.Family, rec.DType, rec.Batch, w, h, rec.MedianMS, rec.MinMS, rec.Iters, rec.FirstCallMS, rec.WeightsMS, rec.WeightsMiB, exes)
		recs = append(recs, rec)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(recs, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// benchProfiles are the optional outputs of --cpuprofile and --trace.
type benchProfiles struct{ cpu, trace *os.File }

// timeCalls runs fn once (compile) then iters times, filling rec.
func timeCalls(rec *benchRecord, m *model.Model, fn func() error, iters int, prof benchProfiles) error {
	before := m.LoadStats()
	cacheBefore, cached := xlacache.Installed()
	t0 := time.Now()
	if err := fn(); err != nil {
		return err
	}
	rec.FirstCallMS = ms(time.Since(t0))
	after := m.LoadStats()
	if cacheAfter, ok := xlacache.Installed(); ok && cached {
		hits, misses := cacheAfter.Hits-cacheBefore.Hits, cacheAfter.Misses-cacheBefore.Misses
		rec.CachedExecutables, rec.CompiledExecutables = &hits, &misses
	}
	rec.WeightsMS = ms(after.Time - before.Time)
	rec.WeightsMiB = float64(after.Bytes-before.Bytes) / (1 << 20)
	if prof.cpu != nil {
		if err := pprof.StartCPUProfile(prof.cpu); err == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if prof.trace != nil {
		if err := trace.Start(prof.trace); err == nil {
			defer trace.Stop()
		}
	}
	var d []float64
	for i := 0; i < iters; i++ {
		t := time.Now()
		if err := fn(); err != nil {
			return err
		}
		d = append(d, ms(time.Since(t)))
	}
	if len(d) > 0 {
		sort.Float64s(d)
		rec.MedianMS, rec.MinMS = d[len(d)/2], d[0]
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func randn(n int) []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func unetCall(m *model.Model, b, h, w int) (func() error, error) {
	c := m.UNet.InChannels
	x := randn(b * c * h * w)
	ctxW := m.UNet.ContextDim
	ctx := randn(b * 77 * ctxW)
	var y []float32
	if m.UNet.ADMInChannels > 0 {
		y = randn(b * m.UNet.ADMInChannels)
	}
	ts := make([]float32, b)
	for i := range ts {
		ts[i] = 500
	}
	return func() error {
		_, err := m.RunUNet(x, []int{b, c, h, w}, ts, ctx, []int{b, 77, ctxW}, y)
		return err
	}, nil
}

// stepsCall runs steps Euler steps with CFG on n images: each through the
// host (RunGuidedUNet) or, with chain, kept on the device (RunGuidedStep).
func stepsCall(m *model.Model, chain bool, n, h, w, steps int) (func() error, error) {
	c := m.UNet.InChannels
	shape := []int{n, c, h, w}
	x0 := randn(n * c * h * w)
	ctxW := m.UNet.ContextDim
	ctx := randn(2 * n * 77 * ctxW)
	var y []float32
	if m.UNet.ADMInChannels > 0 {
		y = randn(2 * n * m.UNet.ADMInChannels)
	}
	ts := make([]float32, 2*n)
	g := model.Guidance{CIn: 0.1, A: 1, B: -10, Scale: 7}
	st := sample.LinearStep{X: 0.9, D: 0.1}
	sc := model.StepCoefficients{X: st.X, D: st.D}
	return func() error {
		for i := range ts {
			ts[i] = 500
		}
		if !chain {
			x := slices.Clone(x0)
			for range steps {
				den, err := m.RunGuidedUNet(x, shape, g, ts, ctx, []int{2 * n, 77, ctxW}, y)
				if err != nil {
					return err
				}
				st.Apply(x, den, nil, nil)
			}
			return nil
		}
		x, err := model.NewLatents(x0, shape)
		if err != nil {
			return err
		}
		for range steps {
			next, den, err := m.RunGuidedStep(x, nil, nil, g, sc, ts, ctx, []int{2 * n, 77, ctxW}, y)
			x.Free()
			if err != nil {
				return err
			}
			den.Free()
			x = next
		}
		_, err = x.Float32s()
		x.Free()
		return err
	}, nil
}

// textCall runs every text encoder on b rows. Each call changes a token,
// so the encoders run instead of the model's cache of recent results
// answering (which takes 0.26-0.29 ms for SD 1.5 on an H100).
func textCall(m *model.Model, b int) (func() error, error) {
	ids := make([][]int, b)
	for i := range ids {
		ids[i] = make([]int, 77)
		ids[i][0] = 49406
		for j := 1; j < 77; j++ {
			ids[i][j] = 49407
		}
		ids[i][1] = 320 + i
	}
	calls := 0
	return func() error {
		calls++
		for i := range ids {
			ids[i][2] = 1000 + calls%40000
		}
		for k := range m.Text {
			if _, err := m.EncodeText(k, ids, 0); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func vaeCall(m *model.Model, b, h, w int) (func() error, error) {
	z := randn(b * 4 * h * w)
	return func() error {
		_, _, err := m.DecodePixels(z, []int{b, 4, h, w}) // as txt2img decodes
		return err
	}, nil
}

// t2iOptions are the bench's txt2img settings beyond size and sampler.
type t2iOptions struct {
	previews   bool // every step's latents to the callback (--previews)
	newPrompts bool // another prompt each call (--new-prompts)
}

// txt2imgCall is one whole image: prompt to PNG bytes.
func txt2imgCall(ctx context.Context, mf *modelFlags, m *model.Model, w, h, steps, images int, sampler string, o t2iOptions, log *stageLog) (func() error, error) {
	tok, err := findTokenizer(mf)
	if err != nil {
		return nil, err
	}
	const prompt = "a photograph of an astronaut riding a horse"
	p := pipeline.Params{Prompt: prompt, Width: w, Height: h, Steps: steps,
		CFGScale: 7, Sampler: sampler, Seed: 1, BatchSize: images, BatchCount: 1}
	calls := 0
	return func() error {
		if calls++; o.newPrompts {
			p.Prompt = fmt.Sprintf("%s, %d", prompt, calls)
		}
		var st pipeline.Stats
		t0 := time.Now()
		job := pipeline.Job{Model: m, Tok: tok, Stats: &st}
		var missing error
		if o.previews {
			job.StepLatents = true
			job.OnStep = func(_, _ int, s sample.Step) {
				if s.Denoised == nil {
					missing = fmt.Errorf("bench: step %d came without latents", s.Index)
				}
			}
		}
		res, err := pipeline.Txt2Img(ctx, job, p)
		if err != nil {
			return err
		}
		if missing != nil {
			return missing
		}
		t := time.Now()
		imgs, texts := make([]image.Image, len(res)), make([]string, len(res))
		for i, r := range res {
			imgs[i], texts[i] = r.Image, r.Infotext
		}
		_, err = imagefile.EncodePNGs(imgs, texts) // as the server encodes a batch
		c := stageCall{PNG: ms(time.Since(t)), Cond: ms(st.Cond), Sampling: ms(st.Sampling), UNet: ms(st.UNet), Decode: ms(st.Decode),
			Between: ms(st.Between), MaxBetween: ms(st.MaxBetween), Queue: ms(st.Queue)}
		c.Other = ms(time.Since(t0)) - c.Cond - c.Sampling - c.Decode - c.PNG
		log.calls = append(log.calls, c)
		log.deviceSteps, log.steps = st.DeviceSteps, steps
		return err
	}, nil
}

// stageCall is one txt2img call's stages, in ms.
type stageCall struct {
	Cond, Sampling, UNet, Decode, PNG, Other, Between, MaxBetween, Queue float64
}

// stageLog collects the stages of every txt2img call of a bench run; the
// first (compiling) call is left out of the medians.
type stageLog struct {
	calls       []stageCall
	deviceSteps int
	steps       int
}

// medians fills rec's stage fields with each stage's median over the timed
// calls.
func (l *stageLog) medians(rec *benchRecord) {
	if len(l.calls) > 1 {
		l.calls = l.calls[1:]
	}
	med := func(f func(stageCall) float64) float64 {
		v := make([]float64, len(l.calls))
		for i, c := range l.calls {
			v[i] = f(c)
		}
		sort.Float64s(v)
		if len(v) == 0 {
			return 0
		}
		return v[len(v)/2]
	}
	rec.CondMS = med(func(c stageCall) float64 { return c.Cond })
	rec.SamplingMS = med(func(c stageCall) float64 { return c.Sampling })
	rec.UNetMS = med(func(c stageCall) float64 { return c.UNet })
	rec.DecodeMS = med(func(c stageCall) float64 { return c.Decode })
	rec.PNGMS = med(func(c stageCall) float64 { return c.PNG })
	rec.OtherMS = med(func(c stageCall) float64 { return c.Other })
	rec.BetweenMS = med(func(c stageCall) float64 { return c.Between })
	rec.MaxBetweenMS = med(func(c stageCall) float64 { return c.MaxBetween })
	rec.QueueMS = med(func(c stageCall) float64 { return c.Queue })
	rec.DeviceSteps = l.deviceSteps
	rec.SamplerPerStepMS = 0
	if l.deviceSteps == 0 && l.steps > 0 {
		rec.SamplerPerStepMS = (rec.SamplingMS - rec.UNetMS) / float64(l.steps)
	}
}
