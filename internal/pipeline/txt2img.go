package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime/trace"
	"strconv"
	"strings"
	"time"

	"sdgo/internal/embedding"
	"sdgo/internal/imagefile"
	"sdgo/internal/infotext"
	"sdgo/internal/model"
	"sdgo/internal/sample"
	"sdgo/internal/tokenizer"
)

// Version is what infotexts record as the generator's version.
var Version = "sdgo"

// Params are a txt2img job's settings, named as webui names them.
type Params struct {
	Prompt          string
	NegativePrompt  string
	Width, Height   int     // pixels, multiples of 8
	Steps           int     // sampling steps
	CFGScale        float64 // classifier-free guidance scale
	Sampler         string  // webui name or ID ("Euler a", "euler_a", "DPM++ 2M Karras")
	Scheduler       string  // "" or "Automatic" = the sampler's default
	Seed            int64   // -1 = random
	Subseed         int64   // variation seed (-1 = random)
	SubseedStrength float64 // 0 = no variation
	SeedResizeFromW int     // "Resize seed from" width (0 = off)
	SeedResizeFromH int
	BatchSize       int    // images per UNet batch
	BatchCount      int    // batches
	ClipSkip        int    // 1 = last layer (SD1)
	Emphasis        string // webui's emphasis mode ("" = Original; see Emphases)
	RNG             string // "GPU" (webui's default), "CPU" or "NV"
	ENSD            int64  // eta noise seed delta
	Eta             *float64
	Hires           Hires // hires fix (txt2img only; see hires.go)
}

// Result is one generated image.
type Result struct {
	Image    *image.NRGBA
	Seed     int64
	Infotext string
}

// ValidationError lists every bad field of a job.
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string {
	return "pipeline: invalid parameters: " + strings.Join(e.Problems, "; ")
}

// Validate checks p and fills in defaults (batch size and count 1,
// sampler "Euler a", CFG 7, 20 steps, 512x512).
func (p *Params) Validate() error {
	if p.Width == 0 {
		p.Width = 512
	}
	if p.Height == 0 {
		p.Height = 512
	}
	if p.Steps == 0 {
		p.Steps = 20
	}
	if p.BatchSize == 0 {
		p.BatchSize = 1
	}
	if p.BatchCount == 0 {
		p.BatchCount = 1
	}
	if p.Sampler == "" {
		p.Sampler = "Euler a"
	}
	var bad []string
	for _, d := range []struct {
		name string
		v    int
	}{{"width", p.Width}, {"height", p.Height}} {
		if d.v%8 != 0 || d.v < 64 || d.v > 8192 {
			bad = append(bad, fmt.Sprintf("%s %d must be a multiple of 8 between 64 and 8192", d.name, d.v))
		}
	}
	if p.Steps < 1 || p.Steps > 1000 {
		bad = append(bad, fmt.Sprintf("steps %d must be between 1 and 1000", p.Steps))
	}
	if math.IsNaN(p.CFGScale) || p.CFGScale < 0 || p.CFGScale > 100 {
		bad = append(bad, fmt.Sprintf("cfg scale %v must be between 0 and 100", p.CFGScale))
	}
	if p.BatchSize < 1 || p.BatchSize > 64 || p.BatchCount < 1 || p.BatchCount > 10000 {
		bad = append(bad, fmt.Sprintf("batch size %d (1-64) and batch count %d (1-10000) out of range", p.BatchSize, p.BatchCount))
	}
	if p.ClipSkip < 0 || p.ClipSkip > 12 {
		bad = append(bad, fmt.Sprintf("clip skip %d must be between 1 and 12", p.ClipSkip))
	}
	if _, _, err := sample.Resolve(p.Sampler, p.Scheduler); err != nil {
		bad = append(bad, err.Error())
	}
	if _, err := sample.ParseSource(p.RNG); err != nil {
		bad = append(bad, err.Error())
	}
	if _, err := ParseEmphasis(p.Emphasis); err != nil {
		bad = append(bad, err.Error())
	}
	bad = append(bad, p.Hires.problems(p.Width, p.Height)...)
	if bad != nil {
		return &ValidationError{bad}
	}
	return nil
}

// Job is everything a generation needs besides its parameters.
type Job struct {
	Model    *model.Model
	Tok      *tokenizer.Tokenizer
	OnStep   func(image, images int, s sample.Step) // progress; may be nil
	Noise    func(batch int) sample.Noise           // replaces the seed's noise (fixtures); may be nil
	ModelTag string                                 // "Model:" in the infotext
	// Trace, when set, receives intermediate values by name: "cond",
	// "uncond" ([tokens, width] of the first image), "sigmas", "x_final"
	// (the sampled latents) and "image" (decoded, [B, 3, H, W]).
	Trace func(name string, v []float32)
	// Stats, when set, receives where the time went.
	Stats *Stats
	// Embeddings are the textual-inversion embeddings prompts may name;
	// may be nil.
	Embeddings *embedding.Database
	// Networks finds the LoRA files <lora:name:...> tags name; nil makes
	// such a tag an error.
	Networks NetworkFinder
	// StepLatents makes OnStep receive every step's latents (X and
	// Denoised), for live previews. Without it the device sampling loop
	// copies nothing back between steps and OnStep sees them nil there;
	// the host loop passes them either way.
	StepLatents bool
	// WantLatents, when set, narrows StepLatents to the steps for which it
	// returns true as they are queued (the server: only once a client has
	// looked at the last preview). Each copy makes the host wait for the
	// device, which cost 2-5 ms per SD 1.5 image with a copy every step
	// (H100, session 4).
	WantLatents func() bool
	// HostLoop runs every sampler loop on the host, latents copied back
	// after each step, even where the device loop could serve it
	// (sampleOnDevice; DeviceSteps false does the same for all jobs).
	HostLoop bool

	cond *Conditioner    // the job's prompt encoder, for describe
	nets []activeNetwork // the LoRAs the prompt applied, for describe
}

// Stats splits a job's time into its stages.
type Stats struct {
	Cond      time.Duration // prompt parsing and text encoders
	Sampling  time.Duration // the sampler loops, UNet calls included
	UNet      time.Duration // inside UNet calls (host<->device copies included)
	UNetCalls int
	// Between is the time from the end of one UNet call to the start of
	// the next within a sampling loop (the sampler's own per-step work);
	// MaxBetween is the longest such gap.
	Between, MaxBetween time.Duration
	// DeviceSteps counts the steps run with the latents on the device
	// (sampleOnDevice): they are queued without waiting, so UNet and
	// Between do not include them.
	DeviceSteps int
	// Queue is the host's time inside those steps' calls: launching them
	// (XLA launches a step's kernels and CUDA graphs on the calling
	// thread). Near Sampling/DeviceSteps a step, the GPU waits for the host.
	Queue  time.Duration
	Decode time.Duration // VAE decode and 8-bit conversion
}

// stepTimer adds the time of a sampling loop's UNet calls, and of the gaps
// between them, to st (nil: no timing).
type stepTimer struct {
	st   *Stats
	last time.Time // end of the previous call of this loop
}

// time runs call, timing it and the gap since the previous call.
func (tm *stepTimer) time(call func()) {
	start := time.Now()
	if !tm.last.IsZero() {
		gap := start.Sub(tm.last)
		tm.st.Between += gap
		tm.st.MaxBetween = max(tm.st.MaxBetween, gap)
	}
	r := trace.StartRegion(context.Background(), "unet")
	call()
	r.End()
	tm.last = time.Now()
	tm.st.UNet += tm.last.Sub(start)
	tm.st.UNetCalls++
}

// denoiserFuncs are a model's UNet calls for one sampling loop, timed
// together when the job collects Stats.
type denoiserFuncs struct {
	unet   UNetFunc
	guided GuidedFunc
	step   StepFunc
}

func newDenoiserFuncs(f UNetFunc, g GuidedFunc, sf StepFunc, st *Stats) denoiserFuncs {
	if st == nil {
		return denoiserFuncs{f, g, sf}
	}
	tm := &stepTimer{st: st}
	fs := denoiserFuncs{step: sf}
	if sf != nil {
		fs.step = func(x, prev *model.Latents, noise []float32, g model.Guidance, c model.StepCoefficients, t []float32, cctx []float32, ctxShape []int, y []float32) (*model.Latents, *model.Latents, error) {
			st.DeviceSteps++
			start := time.Now()
			defer func() { st.Queue += time.Since(start) }()
			return sf(x, prev, noise, g, c, t, cctx, ctxShape, y)
		}
	}
	fs.unet = func(x []float32, xShape []int, t []float32, cctx []float32, ctxShape []int, y []float32) (out []float32, err error) {
		tm.time(func() { out, err = f(x, xShape, t, cctx, ctxShape, y) })
		return out, err
	}
	if g != nil {
		fs.guided = func(x []float32, xShape []int, gd model.Guidance, t []float32, cctx []float32, ctxShape []int, y []float32) (out []float32, err error) {
			tm.time(func() { out, err = g(x, xShape, gd, t, cctx, ctxShape, y) })
			return out, err
		}
	}
	return fs
}

// newDenoiser returns a Denoiser over the job's model for n images of
// latents h x w, each conditioned by conds, that uses the model's guided
// UNet call where it can.
func (j Job) newDenoiser(table *sample.Table, h, w int, scale float64, conds ImageConds, n int) *Denoiser {
	m := j.Model
	var sf StepFunc
	if j.deviceLoop() {
		sf = m.RunGuidedStep
	}
	fs := newDenoiserFuncs(m.RunUNet, m.RunGuidedUNet, sf, j.Stats)
	d := &Denoiser{UNet: fs.unet, Guided: fs.guided, Step: fs.step, Table: table, Prediction: m.Prediction, LatentC: 4, H: h, W: w, Scale: scale}
	for i := 0; i < n; i++ {
		d.Sched = append(d.Sched, conds)
	}
	return d
}

// stepCallback reports each sampling step of images first.. of total to
// j.OnStep and stops the sampler once ctx is done.
func (j Job) stepCallback(ctx context.Context, first, total int) sample.Callback {
	return func(s sample.Step) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if j.OnStep != nil {
			j.OnStep(first, total, s)
		}
		return nil
	}
}

// runSampler runs smp's loop, adds its time to the job's stats, and
// returns a cancellation as it is and any other error under what (such as
// "pipeline: sample").
//
// dev, when not nil, is the Denoiser whose Denoise den is: with a device
// step function and a linear sampler the loop then runs on the device
// (sampleOnDevice).
func (j Job) runSampler(what string, smp sample.Sampler, den sample.Denoiser, dev *Denoiser, x []float32, sigmas []float64, opt sample.Options, noise sample.Noise, cb sample.Callback) ([]float32, error) {
	start := time.Now()
	var out []float32
	var err error
	if steps, ok := sample.LinearSteps(smp, sigmas, opt); ok && dev != nil && dev.Step != nil {
		out, err = sampleOnDevice(dev, steps, x, opt, noise, cb, j.LatentsWanted())
	} else {
		out, err = smp.Func(den, x, sigmas, opt, noise, cb)
	}
	j.since(&j.stat().Sampling, start)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

func (j Job) since(d *time.Duration, start time.Time) {
	if j.Stats != nil {
		*d += time.Since(start)
	}
}

func (j Job) stat() *Stats {
	if j.Stats == nil {
		return &Stats{}
	}
	return j.Stats
}

func (j Job) trace(name string, v []float32) {
	if j.Trace != nil {
		j.Trace(name, v)
	}
}

// Txt2Img generates p.BatchCount x p.BatchSize images from text.
func Txt2Img(ctx context.Context, j Job, p Params) ([]Result, error) {
	// 1. Validate and resolve names.
	if err := p.Validate(); err != nil {
		return nil, err
	}
	smp, sched, _ := sample.Resolve(p.Sampler, p.Scheduler)
	src, _ := sample.ParseSource(p.RNG)
	if p.Seed == -1 {
		p.Seed = rand.Int64N(1 << 32)
	}
	if p.Subseed == -1 {
		p.Subseed = rand.Int64N(1 << 32)
	}
	m := j.Model
	h, w := p.Height/8, p.Width/8
	// 2. Extra networks (LoRA) of the prompt, then the conditioning, once
	// per job (every image shares the prompt).
	start := time.Now()
	nets, err := j.activateNetworks(p.Prompt)
	if err != nil {
		return nil, err
	}
	j.nets = nets
	// The schedule, and the UNet and VAE compiled in the background while
	// the text encoders run.
	table := modelTable(m)
	sigmas, err := sample.SigmasFor(smp, sched, p.Steps, sample.ScheduleParams{Table: table, SDXL: m.UNet.ADMInChannels > 0}, false)
	if err != nil {
		return nil, err
	}
	sig32 := make([]float32, len(sigmas))
	for i, v := range sigmas {
		sig32[i] = float32(v)
	}
	j.trace("sigmas", sig32)
	opt := smp.Options()
	opt.AlphasCumprod = alphasCumprod(j) // DDIM, PLMS and UniPC use the model's schedule, as the sigma table does
	if p.Eta != nil {
		opt.Eta = *p.Eta
	}
	// 4. Noise: the first batch's is drawn in the background while the
	// text encoders run.
	var first struct {
		sp    sample.SeedParams
		noise sample.Noise
	}
	if first.sp, first.noise, err = batchNoise(j, p, smp, src, 0, h, w); err != nil {
		return nil, err
	}
	cd := j.conditioner(p)
	if !p.Hires.Enable && p.CFGScale != 1 {
		_, linear := sample.LinearSteps(smp, sigmas, opt)
		j.precompile(cd, p, h, w, j.deviceLoop() && linear)
	}
	conds, err := cd.EncodeSchedules(p.Prompt, p.NegativePrompt, Size{p.Width, p.Height}, ScheduleSteps(smp, p.Steps))
	if err != nil {
		return nil, err
	}
	j.cond = cd
	cond, uncond := conds.First()
	j.since(&j.stat().Cond, start)
	j.trace("cond", cond.Context)
	j.trace("uncond", uncond.Context)
	var hp *hiresPass
	if p.Hires.Enable {
		if hp, err = newHiresPass(j, &p, table); err != nil {
			return nil, err
		}
	}
	var results []Result
	total := p.BatchCount * p.BatchSize
	for b := 0; b < p.BatchCount; b++ {
		sp, noise := first.sp, first.noise
		if b > 0 {
			if sp, noise, err = batchNoise(j, p, smp, src, b, h, w); err != nil {
				return nil, err
			}
		}
		x0, err := noise.Next(sigmas[0], sigmas[0])
		if err != nil {
			return nil, err
		}
		scale := smp.NoiseScale(sigmas)
		x := make([]float32, len(x0))
		for i, v := range x0 {
			x[i] = float32(float64(v) * scale)
		}
		// 5. Sample.
		d := j.newDenoiser(table, h, w, p.CFGScale, conds, p.BatchSize)
		cb := j.stepCallback(ctx, b*p.BatchSize, total)
		latent, err := j.runSampler("pipeline: sample", smp, d.Denoise, d, x, sigmas, opt, noise, cb)
		if err != nil {
			return results, err
		}
		dh, dw := h, w
		if hp != nil {
			j.trace("x_first", latent)
			if latent, err = hp.run(ctx, j, &p, sp, b, latent, h, w, cb); err != nil {
				return results, err
			}
			dh, dw = hp.outH/8, hp.outW/8
		}
		// 6. Decode and describe.
		j.trace("x_final", latent)
		start = time.Now()
		imgs, err := decode(j, latent, p.BatchSize, dh, dw)
		j.since(&j.stat().Decode, start)
		if err != nil {
			return results, err
		}
		for i, img := range imgs {
			seed := sp.Seeds[i]
			info := describe(j, p, smp, sched, seed, sp.Subseeds[i])
			if hp != nil {
				hp.addInfo(&info)
			}
			results = append(results, Result{Image: img, Seed: seed, Infotext: infotext.Format(info)})
		}
	}
	return results, nil
}

// batchNoise returns the seeds and the noise stream of batch b of a
// txt2img job: one generator per image (seed + index), as webui. The
// stream starts drawing its first tensor in the background.
func batchNoise(j Job, p Params, smp sample.Sampler, src sample.Source, b, h, w int) (sample.SeedParams, sample.Noise, error) {
	sp := sample.SeedParams{Source: src, SubseedStrength: p.SubseedStrength,
		ResizeFromW: p.SeedResizeFromW, ResizeFromH: p.SeedResizeFromH}
	if smp.UsesENSD {
		sp.ENSD = p.ENSD
	}
	for i := 0; i < p.BatchSize; i++ {
		sp.Seeds = append(sp.Seeds, p.Seed+int64(b*p.BatchSize+i))
		sp.Subseeds = append(sp.Subseeds, p.Subseed+int64(b*p.BatchSize+i))
	}
	if j.Noise != nil {
		return sp, j.Noise(b), nil
	}
	rng, err := sample.NewImageRNG([3]int{4, h, w}, sp)
	if err != nil {
		return sp, nil, err
	}
	return sp, prefetch(rng), nil
}

// LatentsWanted is the per-step question, asked as each step is queued,
// whether OnStep gets that step's latents (StepLatents, narrowed by
// WantLatents); nil when no step's does. The device loop asks it; other
// generators of a Job (the engine's test fake) follow the same rule.
func (j Job) LatentsWanted() func() bool {
	switch {
	case j.OnStep == nil || !j.StepLatents:
		return nil
	case j.WantLatents != nil:
		return j.WantLatents
	}
	return func() bool { return true }
}

// deviceLoop says whether the job's linear samplers run on the device.
func (j Job) deviceLoop() bool { return DeviceSteps && !j.HostLoop }

// precompile starts compiling, in the background, the UNet calls and the
// decoder of p.BatchSize images of h x w latents for the prompts' token
// counts (model.Precompile), while the caller runs the text encoders. A
// failure is left to the real call to report.
func (j Job) precompile(cd *Conditioner, p Params, h, w int, step bool) {
	cond, err := cd.Tokens(p.Prompt)
	if err != nil {
		return
	}
	uncond, err := cd.Tokens(p.NegativePrompt)
	if err != nil {
		return
	}
	go func() {
		if err := j.Model.Precompile(p.BatchSize, h, w, cond, uncond, step); err != nil {
			slog.Debug("precompile failed", "err", err)
		}
	}()
}

// modelTable returns the model's discrete sigmas: from the checkpoint's
// alphas_cumprod buffer when it has one, else SD's default schedule.
func modelTable(m *model.Model) *sample.Table {
	if ac, _, err := m.Checkpoint().Float32("alphas_cumprod"); err == nil && len(ac) == 1000 {
		return sample.NewTable(sample.ModelSigmas(ac))
	}
	return sample.DefaultTable()
}

// rgbaImages wraps n images of RGBA bytes [n, H, W, 4] without copying.
func rgbaImages(px []byte, shape []int, n int) []*image.NRGBA {
	per := 4 * shape[1] * shape[2]
	out := make([]*image.NRGBA, n)
	for i := range out {
		out[i] = &image.NRGBA{Pix: px[i*per : (i+1)*per : (i+1)*per], Stride: 4 * shape[2], Rect: image.Rect(0, 0, shape[2], shape[1])}
	}
	return out
}

// decode runs the VAE on a batch of latents and converts to 8-bit images:
// on the device (Model.DecodePixels) unless the job traces the float
// images. The latents come from the host, so the decoder starts once the
// steps are done: queued behind the device loop's last steps instead
// (session 5), XLA allocated its working memory (363 MiB at 512x512)
// while those steps still held theirs, and SD 1.5 at batch 1 peaked at
// 3237-3269 MiB instead of 3013 (H100, nvidia-smi every 20 ms, ab19.sh).
func decode(j Job, latent []float32, n, h, w int) ([]*image.NRGBA, error) {
	if j.Trace == nil {
		px, shape, err := j.Model.DecodePixels(latent, []int{n, 4, h, w})
		if err != nil {
			return nil, fmt.Errorf("pipeline: decode: %w", err)
		}
		return rgbaImages(px, shape, n), nil
	}
	img, shape, err := j.Model.Decode(latent, []int{n, 4, h, w})
	if err != nil {
		return nil, fmt.Errorf("pipeline: decode: %w", err)
	}
	j.trace("image", img)
	per := 3 * shape[2] * shape[3]
	var out []*image.NRGBA
	for i := 0; i < n; i++ {
		im, err := imagefile.FromCHW(img[i*per:(i+1)*per], shape[2], shape[3])
		if err != nil {
			return nil, err
		}
		out = append(out, im)
	}
	return out, nil
}

// describe builds an image's infotext in webui's field order.
func describe(j Job, p Params, smp sample.Sampler, sched string, seed, subseed int64) infotext.Info {
	info := infotext.Info{Prompt: p.Prompt, NegativePrompt: p.NegativePrompt}
	info.Add("Steps", strconv.Itoa(p.Steps))
	info.Add("Sampler", smp.Name)
	schedName := "Automatic"
	if s, ok := sample.LookupScheduler(sched); ok && sched != "automatic" {
		schedName = s.Name
	}
	info.Add("Schedule type", schedName)
	info.Add("CFG scale", infotext.FormatFloat(p.CFGScale))
	info.Add("Seed", strconv.FormatInt(seed, 10))
	info.Add("Size", fmt.Sprintf("%dx%d", p.Width, p.Height))
	if hash, err := j.Model.Checkpoint().Hash(); err == nil {
		info.Add("Model hash", hash)
	}
	tag := j.ModelTag
	if tag == "" {
		tag = strings.TrimSuffix(filepath.Base(j.Model.Checkpoint().Path()), filepath.Ext(j.Model.Checkpoint().Path()))
	}
	info.Add("Model", tag)
	if p.SubseedStrength != 0 {
		info.Add("Variation seed", strconv.FormatInt(subseed, 10))
		info.Add("Variation seed strength", infotext.FormatFloat(p.SubseedStrength))
	}
	if p.SeedResizeFromW > 0 && p.SeedResizeFromH > 0 {
		info.Add("Seed resize from", fmt.Sprintf("%dx%d", p.SeedResizeFromW, p.SeedResizeFromH))
	}
	if p.ClipSkip > 1 {
		info.Add("Clip skip", strconv.Itoa(p.ClipSkip))
	}
	if p.ENSD != 0 && smp.UsesENSD {
		info.Add("ENSD", strconv.FormatInt(p.ENSD, 10))
	}
	if src := strings.ToUpper(p.RNG); src != "" && src != "GPU" {
		info.Add("RNG", src)
	}
	if len(j.nets) > 0 {
		info.Add("Lora hashes", j.loraHashes(j.nets))
	}
	if j.cond != nil {
		info.Add("TI hashes", j.cond.TIHashes())
		info.Add("Emphasis", j.cond.EmphasisInfo())
	}
	info.Add("Version", Version)
	return info
}
