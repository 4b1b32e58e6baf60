package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sdgo/internal/infotext"
	"sdgo/internal/sample"
	"sdgo/internal/upscale"
)

// Hires are txt2img's hires-fix settings (webui's enable_hr and hr_*
// fields): after the first pass at Width x Height the latents are
// upscaled and a second img2img-like pass runs at the larger size.
type Hires struct {
	Enable bool
	// Scale multiplies the first pass's size (webui hr_scale, default 2)
	// when ResizeX and ResizeY are both 0.
	Scale float64
	// ResizeX, ResizeY are a target size (webui hr_resize_x/_y); one of
	// them 0 keeps the aspect ratio, both set upscale to cover and crop
	// the centre, as webui does.
	ResizeX, ResizeY int
	// Upscaler is a latent mode ("Latent", "Latent (nearest-exact)", ...;
	// "" = "Latent") or a pixel resizer ("Lanczos", "Nearest") that works
	// on the decoded image, which is then encoded again.
	Upscaler string
	// Steps of the second pass (webui hr_second_pass_steps; 0 = Steps).
	Steps int
	// DenoisingStrength of the second pass (0 = keep the upscaled first
	// pass; webui's default 0.7 is filled in only when Enable is set and
	// the value is negative, since 0 is a valid strength here).
	DenoisingStrength float64
	// Sampler and Scheduler of the second pass ("" = the first pass's).
	Sampler, Scheduler string
	// Prompt and NegativePrompt of the second pass ("" = the first pass's).
	Prompt, NegativePrompt string
}

// hiresSize is webui's hr_upscale_to and truncation arithmetic: the size
// the first pass is upscaled to and the final size after the centre crop.
func (hr Hires) hiresSize(w, h int) (upW, upH, outW, outH int) {
	switch {
	case hr.ResizeX == 0 && hr.ResizeY == 0:
		upW, upH = int(float64(w)*hr.Scale), int(float64(h)*hr.Scale)
		return upW, upH, upW, upH
	case hr.ResizeY == 0:
		upW, upH = hr.ResizeX, hr.ResizeX*h/w
		return upW, upH, upW, upH
	case hr.ResizeX == 0:
		upW, upH = hr.ResizeY*w/h, hr.ResizeY
		return upW, upH, upW, upH
	}
	if float64(w)/float64(h) < float64(hr.ResizeX)/float64(hr.ResizeY) {
		upW, upH = hr.ResizeX, hr.ResizeX*h/w
	} else {
		upW, upH = hr.ResizeY*w/h, hr.ResizeY
	}
	return upW, upH, hr.ResizeX, hr.ResizeY
}

// upscaler resolves Upscaler: a latent mode, or a pixel filter.
func (hr Hires) upscaler() (lm upscale.LatentMode, f upscale.Filter, latent bool, err error) {
	name := hr.Upscaler
	if name == "" {
		name = "Latent"
	}
	if m, ok := upscale.LookupLatentMode(name); ok {
		return m, 0, true, nil
	}
	switch strings.ToLower(name) {
	case "lanczos":
		return lm, upscale.Lanczos, false, nil
	case "nearest":
		return lm, upscale.Nearest, false, nil
	}
	return lm, 0, false, fmt.Errorf("hires upscaler %q is not a latent mode or Lanczos/Nearest", hr.Upscaler)
}

// problems validates the hires settings against the first pass's size and
// fills in defaults (scale 2); nil when hires is off.
func (hr *Hires) problems(w, h int) []string {
	if !hr.Enable {
		return nil
	}
	if hr.Scale == 0 {
		hr.Scale = 2
	}
	if hr.DenoisingStrength < 0 {
		hr.DenoisingStrength = 0.7
	}
	var bad []string
	if hr.Scale < 0 || hr.ResizeX < 0 || hr.ResizeY < 0 {
		bad = append(bad, "hires scale and resize must not be negative")
	}
	if hr.DenoisingStrength > 1 {
		bad = append(bad, fmt.Sprintf("hires denoising strength %v must be between 0 and 1", hr.DenoisingStrength))
	}
	if hr.Steps < 0 || hr.Steps > 1000 {
		bad = append(bad, fmt.Sprintf("hires steps %d must be between 0 and 1000", hr.Steps))
	}
	if _, _, _, err := hr.upscaler(); err != nil {
		bad = append(bad, err.Error())
	}
	if w > 0 && h > 0 {
		upW, upH, outW, outH := hr.hiresSize(w, h)
		for _, d := range []struct {
			name string
			v    int
		}{{"hires upscale width", upW}, {"hires upscale height", upH}, {"hires width", outW}, {"hires height", outH}} {
			if d.v%8 != 0 || d.v < 64 || d.v > 8192 {
				bad = append(bad, fmt.Sprintf("%s %d must be a multiple of 8 between 64 and 8192", d.name, d.v))
			}
		}
	}
	if hr.Sampler != "" || hr.Scheduler != "" {
		if _, _, err := sample.Resolve(hr.Sampler, hr.Scheduler); hr.Sampler != "" && err != nil {
			bad = append(bad, "hires: "+err.Error())
		}
	}
	return bad
}

// hiresPass is the job-wide state of the second pass.
type hiresPass struct {
	hr               Hires
	smp              sample.Sampler
	sched            string
	conds            ImageConds
	sigmas           []float64 // the tail that runs (nil: denoising 0, no sampling)
	opt              sample.Options
	table            *sample.Table
	latentMode       upscale.LatentMode
	filter           upscale.Filter
	latent           bool
	upW, upH         int
	outW, outH       int
	sampler, schedIn string // the first pass's names, to compare for the infotext
}

// newHiresPass resolves the second pass's sampler, schedule, prompts and
// sigmas. Its prompts follow the hires timeline (HiresSchedule): switch
// points count on from the first pass. The schedule is webui's hires arithmetic: with steps s and
// strength d, a schedule of int(s/d) steps of which exactly s run
// (sample.Img2ImgSteps with fixSteps).
func newHiresPass(j Job, p *Params, table *sample.Table) (*hiresPass, error) {
	hr := p.Hires
	hp := &hiresPass{hr: hr, table: table, sampler: p.Sampler, schedIn: p.Scheduler}
	hp.latentMode, hp.filter, hp.latent, _ = hr.upscaler()
	hp.upW, hp.upH, hp.outW, hp.outH = hr.hiresSize(p.Width, p.Height)
	sName, schName := p.Sampler, p.Scheduler
	if hr.Sampler != "" {
		sName = hr.Sampler
	}
	if hr.Scheduler != "" {
		schName = hr.Scheduler
	}
	smp, sched, err := sample.Resolve(sName, schName)
	if err != nil {
		return nil, fmt.Errorf("pipeline: hires: %w", err)
	}
	hp.smp, hp.sched = smp, sched
	steps := hr.Steps
	if steps == 0 {
		steps = p.Steps
	}
	pos, neg := p.Prompt, p.NegativePrompt
	if hr.Prompt != "" {
		pos = hr.Prompt
	}
	if hr.NegativePrompt != "" {
		neg = hr.NegativePrompt
	}
	firstSmp, _, err := sample.Resolve(p.Sampler, p.Scheduler)
	if err != nil {
		return nil, fmt.Errorf("pipeline: hires: %w", err)
	}
	start := time.Now()
	cd := j.conditioner(*p)
	if hp.conds, err = cd.EncodeSchedulesWith(pos, neg, Size{hp.outW, hp.outH}, HiresSchedule(firstSmp, p.Steps, smp, steps)); err != nil {
		return nil, err
	}
	j.since(&j.stat().Cond, start)
	hp.opt = smp.Options()
	hp.opt.AlphasCumprod = alphasCumprod(j)
	if p.Eta != nil {
		hp.opt.Eta = *p.Eta
	}
	if hr.DenoisingStrength <= 0 {
		return hp, nil
	}
	total, tEnc := sample.Img2ImgSteps(steps, hr.DenoisingStrength, true)
	full, err := sample.SigmasFor(smp, sched, total, sample.ScheduleParams{Table: table, SDXL: j.Model.UNet.ADMInChannels > 0}, false)
	if err != nil {
		return nil, fmt.Errorf("pipeline: hires: %w", err)
	}
	// As img2imgSigmas: a timestep sampler's list may be longer than total.
	if hp.sigmas, err = sample.Img2ImgTail(full, len(full)-1, tEnc); err != nil {
		return nil, fmt.Errorf("pipeline: hires: %w", err)
	}
	return hp, nil
}

// run upscales batch b's first-pass latents [n, 4, h, w] and runs the
// second pass on them; it returns latents [n, 4, outH/8, outW/8]. Noise
// comes from new generators of the same seeds at the hires shape (webui
// recreates its ImageRNG for the hires pass); Job.Noise is not used here.
func (hp *hiresPass) run(ctx context.Context, j Job, p *Params, sp sample.SeedParams, b int, latent []float32, h, w int, cb func(sample.Step) error) ([]float32, error) {
	n := p.BatchSize
	uh, uw := hp.upH/8, hp.upW/8
	var init []float32
	var err error
	if hp.latent {
		init, err = upscale.ResizeLatent(latent, []int{n, 4, h, w}, uh, uw, hp.latentMode)
		if err != nil {
			return nil, fmt.Errorf("pipeline: hires: %w", err)
		}
	} else {
		start := time.Now()
		imgs, err := decode(Job{Model: j.Model}, latent, n, h, w)
		j.since(&j.stat().Decode, start)
		if err != nil {
			return nil, err
		}
		for i, im := range imgs {
			imgs[i] = upscale.Resize(im, hp.upW, hp.upH, hp.filter)
		}
		if init, err = encodeImages(j, imgs, n, uh, uw); err != nil {
			return nil, err
		}
	}
	oh, ow := hp.outH/8, hp.outW/8
	init = cropLatent(init, n, uh, uw, oh, ow)
	j.trace("x_hires_init", init)
	if hp.sigmas == nil {
		return init, nil
	}
	ip := &Img2ImgParams{Params: *p, DenoisingStrength: hp.hr.DenoisingStrength}
	noJob := j
	noJob.Noise = nil
	x, noise, _, err := img2imgStart(noJob, ip, batchInputs{b: b, smp: hp.smp, src: sp.Source, sigmas: hp.sigmas, init: init, h: oh, w: ow})
	if err != nil {
		return nil, err
	}
	d := j.newDenoiser(hp.table, oh, ow, p.CFGScale, hp.conds, n)
	return j.runSampler("pipeline: hires: sample", hp.smp, d.Denoise, d, x, hp.sigmas, hp.opt, noise, cb)
}

// cropLatent cuts the centre [oh, ow] out of latents [n, 4, h, w] as
// webui truncates: truncate//2 from the top/left, the rest from the
// bottom/right.
func cropLatent(x []float32, n, h, w, oh, ow int) []float32 {
	if oh == h && ow == w {
		return x
	}
	ty, tx := (h-oh)/2, (w-ow)/2
	out := make([]float32, 0, n*4*oh*ow)
	for c := 0; c < n*4; c++ {
		for y := 0; y < oh; y++ {
			row := x[c*h*w+(y+ty)*w+tx:]
			out = append(out, row[:ow]...)
		}
	}
	return out
}

// addInfo adds webui's hires fields: "Denoising strength" in its core
// place, and the hires extra parameters before "Version".
func (hp *hiresPass) addInfo(info *infotext.Info) {
	hr := hp.hr
	info.InsertAfterLast(fixedFields, infotext.Param{Key: "Denoising strength", Value: infotext.FormatFloat(hr.DenoisingStrength)})
	var extra []infotext.Param
	add := func(k, v string) { extra = append(extra, infotext.Param{Key: k, Value: v}) }
	if hr.ResizeX == 0 && hr.ResizeY == 0 {
		add("Hires upscale", infotext.FormatFloat(hr.Scale))
	} else {
		add("Hires resize", fmt.Sprintf("%dx%d", hr.ResizeX, hr.ResizeY))
	}
	if hr.Steps != 0 {
		add("Hires steps", strconv.Itoa(hr.Steps))
	}
	up := hr.Upscaler
	if up == "" {
		up = "Latent"
	}
	add("Hires upscaler", up)
	if hr.Sampler != "" && hp.smp.Name != hp.sampler {
		add("Hires sampler", hp.smp.Name)
	}
	if hr.Scheduler != "" && !strings.EqualFold(hr.Scheduler, hp.schedIn) {
		add("Hires schedule type", hr.Scheduler)
	}
	if hr.Prompt != "" && hr.Prompt != info.Prompt {
		add("Hires prompt", hr.Prompt)
	}
	if hr.NegativePrompt != "" && hr.NegativePrompt != info.NegativePrompt {
		add("Hires negative prompt", hr.NegativePrompt)
	}
	info.InsertBefore(lastFields, extra...)
}
