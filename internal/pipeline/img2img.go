package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"sdgo/internal/infotext"
	"sdgo/internal/sample"
	"sdgo/internal/upscale"
)

// Masked content (webui's inpainting_fill): what the masked area starts
// from before noise is added.
const (
	FillBlur          = 0 // "fill": the surrounding colours, blurred in
	FillOriginal      = 1 // "original": the init image as it is
	FillLatentNoise   = 2 // "latent noise": unit noise from the first seeds
	FillLatentNothing = 3 // "latent nothing": a zero latent
)

var fillNames = []string{"fill", "original", "latent noise", "latent nothing"}

// Img2ImgParams are an img2img job's settings: txt2img's Params (Width and
// Height are the size the model works at) plus webui's img2img and
// inpainting fields. Zero values are webui's API defaults except where
// noted.
type Img2ImgParams struct {
	Params
	// Init holds one image (used for every image of a batch) or up to
	// BatchSize images (the batch size becomes their number).
	Init []image.Image
	// DenoisingStrength (0..1) is how much of the schedule runs: webui's
	// t_enc = int(min(strength, 0.999) * steps) steps on its tail.
	DenoisingStrength float64
	// ResizeMode fits the init image (and mask) to Width x Height.
	ResizeMode upscale.Mode
	// Mask, when set, makes this an inpainting: white (or opaque, for a
	// mask with transparency) marks what is repainted.
	Mask image.Image
	// MaskBlur is the Gaussian blur sigma of the mask in pixels (webui
	// default 4; 0 = sharp).
	MaskBlur int
	// InpaintingFill is the masked content: FillBlur, FillOriginal,
	// FillLatentNoise or FillLatentNothing.
	InpaintingFill int
	// InpaintFullRes ("Only masked") crops the masked area plus
	// InpaintFullResPadding pixels, works on it at Width x Height and
	// pastes it back: the output has the init image's size.
	InpaintFullRes        bool
	InpaintFullResPadding int
	// InvertMask repaints what is not masked ("Inpaint not masked").
	InvertMask bool
	// NoiseMultiplier scales the initial noise (webui
	// initial_noise_multiplier; 0 means 1).
	NoiseMultiplier float64
}

// Validate checks p and fills in defaults (those of Params.Validate).
func (p *Img2ImgParams) Validate() error {
	var bad []string
	if err := p.Params.Validate(); err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		bad = append(bad, ve.Problems...)
	}
	switch {
	case len(p.Init) == 0:
		bad = append(bad, "img2img needs an init image")
	case len(p.Init) > 1 && len(p.Init) > p.BatchSize && p.BatchSize > 0:
		bad = append(bad, fmt.Sprintf("%d init images for a batch of %d: give one, or at most batch size", len(p.Init), p.BatchSize))
	}
	for i, im := range p.Init {
		if im == nil || im.Bounds().Empty() {
			bad = append(bad, fmt.Sprintf("init image %d is empty", i))
		}
	}
	if math.IsNaN(p.DenoisingStrength) || p.DenoisingStrength < 0 || p.DenoisingStrength > 1 {
		bad = append(bad, fmt.Sprintf("denoising strength %v must be between 0 and 1", p.DenoisingStrength))
	}
	if p.ResizeMode < upscale.JustResize || p.ResizeMode > upscale.LatentUpscale {
		bad = append(bad, fmt.Sprintf("resize mode %d must be 0 (just resize), 1 (crop and resize), 2 (resize and fill) or 3 (latent upscale)", p.ResizeMode))
	}
	if p.InpaintingFill < FillBlur || p.InpaintingFill > FillLatentNothing {
		bad = append(bad, fmt.Sprintf("inpainting fill %d must be 0 (fill), 1 (original), 2 (latent noise) or 3 (latent nothing)", p.InpaintingFill))
	}
	if p.MaskBlur < 0 || p.MaskBlur > 256 {
		bad = append(bad, fmt.Sprintf("mask blur %d must be between 0 and 256", p.MaskBlur))
	}
	if p.InpaintFullResPadding < 0 || p.InpaintFullResPadding > 1024 {
		bad = append(bad, fmt.Sprintf("masked area padding %d must be between 0 and 1024", p.InpaintFullResPadding))
	}
	if math.IsNaN(p.NoiseMultiplier) || p.NoiseMultiplier < 0 || p.NoiseMultiplier > 10 {
		bad = append(bad, fmt.Sprintf("noise multiplier %v must be between 0 and 10", p.NoiseMultiplier))
	}
	if p.Mask != nil && p.Mask.Bounds().Empty() {
		bad = append(bad, "the mask is empty")
	}
	if bad != nil {
		return &ValidationError{bad}
	}
	return nil
}

// Img2Img runs webui's img2img (and inpainting, with a mask): the init
// images are fitted to the work size, encoded by the VAE, noised to the
// tail of the schedule that DenoisingStrength selects and sampled back;
// with a mask, the kept area is pinned to the init latent after every
// model call and the result is composited onto the original through the
// blurred mask.
//
// The VAE encoding is the posterior's mean times the latent scale. webui
// samples the posterior with torch's global generator instead; its
// standard deviation is small for trained VAEs, and the mean makes a seed
// reproducible.
func Img2Img(ctx context.Context, j Job, p Img2ImgParams) ([]Result, error) {
	// 1. Validate, resolve names, fix the seeds.
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(p.Init) > 1 {
		p.BatchSize = len(p.Init)
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
	inpaintModel := m.UNet.InChannels == 9
	if m.UNet.InChannels != 4 && !inpaintModel {
		return nil, fmt.Errorf("pipeline: img2img: UNet with %d input channels is not supported (4, or 9 for inpainting models)", m.UNet.InChannels)
	}
	h, w := p.Height/8, p.Width/8
	// 2. Prepare the pixels: mask, fitted and filled init images, overlays.
	prep, err := prepareImg2Img(&p)
	if err != nil {
		return nil, err
	}
	// 3. Extra networks (LoRA), then the conditioning, once per job.
	start := time.Now()
	if j.nets, err = j.activateNetworks(p.Prompt); err != nil {
		return nil, err
	}
	cd := j.conditioner(p.Params)
	conds, err := cd.EncodeSchedules(p.Prompt, p.NegativePrompt, Size{p.Width, p.Height}, ScheduleSteps(smp, p.Steps))
	if err != nil {
		return nil, err
	}
	j.cond = cd
	j.since(&j.stat().Cond, start)
	// 4. The init latent (one per batch slot), the latent mask, the fills.
	init, err := encodeImages(j, prep.images, p.BatchSize, h, w)
	if err != nil {
		return nil, err
	}
	var keep []float32 // webui's "mask": 1 where the init latent is kept
	if prep.mask != nil {
		keep = latentKeep(prep.mask, p.BatchSize, h, w)
		if err := fillLatent(init, keep, p, src, h, w); err != nil {
			return nil, err
		}
	}
	var imageCond []float32
	if inpaintModel {
		if imageCond, err = inpaintConditioning(j, prep, p.BatchSize, h, w); err != nil {
			return nil, err
		}
	}
	// 5. The schedule's tail.
	table := modelTable(m)
	sigmas, err := img2imgSigmas(smp, sched, table, m.UNet.ADMInChannels > 0, p.Steps, p.DenoisingStrength)
	if err != nil {
		return nil, err
	}
	opt := smp.Options()
	if p.Eta != nil {
		opt.Eta = *p.Eta
	}
	opt.AlphasCumprod = alphasCumprod(j)
	// 6. Sample, decode and composite each batch.
	var results []Result
	for b := 0; b < p.BatchCount; b++ {
		res, err := img2imgBatch(ctx, j, &p, batchInputs{b: b, smp: smp, sched: sched, src: src, table: table, sigmas: sigmas, opt: opt,
			conds: conds, init: init, keep: keep, imageCond: imageCond, prep: prep, h: h, w: w})
		results = append(results, res...)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// img2imgSigmas is webui's sample_img2img schedule: the sampler's full
// schedule for steps, of which the last t_enc + 1 steps run.
func img2imgSigmas(smp sample.Sampler, sched string, table *sample.Table, sdxl bool, steps int, denoise float64) ([]float64, error) {
	full, err := sample.SigmasFor(smp, sched, steps, sample.ScheduleParams{Table: table, SDXL: sdxl}, false)
	if err != nil {
		return nil, err
	}
	// A timestep sampler's list can be longer than steps (1000 // steps
	// stride); its tail is taken from its own length.
	_, tEnc := sample.Img2ImgSteps(steps, denoise, false)
	sigmas, err := sample.Img2ImgTail(full, len(full)-1, tEnc)
	if err != nil {
		return nil, fmt.Errorf("pipeline: img2img: %w", err)
	}
	return sigmas, nil
}

// alphasCumprod is the model's schedule for the timestep samplers.
func alphasCumprod(j Job) []float32 {
	if ac, _, err := j.Model.Checkpoint().Float32("alphas_cumprod"); err == nil && len(ac) == 1000 {
		return ac
	}
	return nil
}

// batchInputs is what one batch of an img2img job shares with the others.
type batchInputs struct {
	b          int
	smp        sample.Sampler
	sched      string
	src        sample.Source
	table      *sample.Table
	sigmas     []float64
	opt        sample.Options
	conds      ImageConds
	init, keep []float32
	imageCond  []float32
	prep       *img2imgPrep
	h, w       int
}

// img2imgBatch runs batch b: noise, sampling with the mask blend, the
// final blend, decoding, compositing and infotexts.
func img2imgBatch(ctx context.Context, j Job, p *Img2ImgParams, in batchInputs) ([]Result, error) {
	n := p.BatchSize
	// 1. Noise from the images' seeds; x = init + noise * sigma_start.
	x, noise, sp, err := img2imgStart(j, p, in)
	if err != nil {
		return nil, err
	}
	// 2. The denoiser: CFG, the inpainting model's extra channels, and the
	// mask blend denoised = init*keep + denoised*(1-keep) (webui's
	// CFGDenoiser with mask and nmask).
	d := j.newDenoiser(in.table, in.h, in.w, p.CFGScale, in.conds, n)
	if in.imageCond != nil {
		// The inpainting model's extra channels go through the plain call.
		d.UNet, d.Guided, d.Step = concatUNet(d.UNet, in.imageCond, n), nil, nil
	}
	den, dev := sample.Denoiser(d.Denoise), d // dev: the device loop, where d.Step serves it
	if in.keep != nil {
		dev = nil
		den = func(x []float32, sigma float64) ([]float32, error) {
			out, err := d.Denoise(x, sigma)
			if err == nil {
				blendLatent(out, in.init, in.keep)
			}
			return out, err
		}
	}
	cb := j.stepCallback(ctx, in.b*n, p.BatchCount*n)
	// 3. Sample the tail; blend the kept area once more.
	latent, err := j.runSampler("pipeline: img2img: sample", in.smp, den, dev, x, in.sigmas, in.opt, noise, cb)
	if err != nil {
		return nil, err
	}
	if in.keep != nil {
		blendLatent(latent, in.init, in.keep)
	}
	j.trace("x_final", latent)
	// 4. Decode, paste back, composite the original over the kept area.
	start := time.Now()
	imgs, err := decode(j, latent, n, in.h, in.w)
	j.since(&j.stat().Decode, start)
	if err != nil {
		return nil, err
	}
	var results []Result
	for i, img := range imgs {
		img = in.prep.composite(img, i)
		info := describe(j, p.Params, in.smp, in.sched, sp.Seeds[i], sp.Subseeds[i])
		addImg2ImgInfo(&info, p, in.prep, in.imageCond != nil)
		results = append(results, Result{Image: img, Seed: sp.Seeds[i], Infotext: infotext.Format(info)})
	}
	return results, nil
}

// img2imgStart draws batch b's noise from its seeds (webui's ImageRNG)
// and returns the starting latent x = init + noise * multiplier *
// sigma_start (for the timestep samplers the variance-preserving latent,
// divided by sqrt(1 + sigma^2)), the noise stream the sampler goes on
// with, and the seeds.
func img2imgStart(j Job, p *Img2ImgParams, in batchInputs) ([]float32, sample.Noise, sample.SeedParams, error) {
	n := p.BatchSize
	sp := sample.SeedParams{Source: in.src, SubseedStrength: p.SubseedStrength,
		ResizeFromW: p.SeedResizeFromW, ResizeFromH: p.SeedResizeFromH}
	if in.smp.UsesENSD {
		sp.ENSD = p.ENSD
	}
	for i := 0; i < n; i++ {
		sp.Seeds = append(sp.Seeds, p.Seed+int64(in.b*n+i))
		sp.Subseeds = append(sp.Subseeds, p.Subseed+int64(in.b*n+i))
	}
	var noise sample.Noise
	if j.Noise != nil {
		noise = j.Noise(in.b)
	} else {
		rng, err := sample.NewImageRNG([3]int{4, in.h, in.w}, sp)
		if err != nil {
			return nil, nil, sp, err
		}
		noise = prefetch(rng)
	}
	x0, err := noise.Next(in.sigmas[0], in.sigmas[0])
	if err != nil {
		return nil, nil, sp, err
	}
	mult := p.NoiseMultiplier
	if mult == 0 {
		mult = 1
	}
	s0 := in.sigmas[0]
	vp := 1.0
	if in.smp.Timesteps {
		vp = 1 / math.Sqrt(1+s0*s0)
	}
	x := make([]float32, len(x0))
	for i, v := range x0 {
		x[i] = float32((float64(in.init[i]) + float64(v)*mult*s0) * vp)
	}
	return x, noise, sp, nil
}

// blendLatent sets x = init*keep + x*(1-keep), elementwise.
func blendLatent(x, init, keep []float32) {
	for i := range x {
		x[i] = init[i]*keep[i] + x[i]*(1-keep[i])
	}
}

// concatUNet feeds an inpainting UNet: every image of the batch (cond and
// uncond halves alike) gets its 5 conditioning channels (mask, masked-image
// latent; imageCond holds n images of [5, h, w]) after its 4 latent ones.
func concatUNet(f UNetFunc, imageCond []float32, n int) UNetFunc {
	return func(x []float32, xShape []int, t []float32, context []float32, ctxShape []int, y []float32) ([]float32, error) {
		b, hw := xShape[0], xShape[2]*xShape[3]
		in := make([]float32, 0, b*9*hw)
		for i := 0; i < b; i++ {
			in = append(in, x[i*4*hw:(i+1)*4*hw]...)
			k := i % n
			in = append(in, imageCond[k*5*hw:(k+1)*5*hw]...)
		}
		return f(in, []int{b, 9, xShape[2], xShape[3]}, t, context, ctxShape, y)
	}
}

// fixedFields are the infotext keys webui's create_infotext writes first, in
// this order; "Denoising strength" follows the last of them present.
var fixedFields = []string{"Steps", "Sampler", "Schedule type", "CFG scale", "Image CFG scale", "Seed",
	"Face restoration", "Size", "Model hash", "Model", "FP8 weight", "Cache FP16 weight for LoRA", "VAE hash", "VAE",
	"Variation seed", "Variation seed strength", "Seed resize from"}

// lastFields close webui's parameters line; extra parameters go before them.
var lastFields = []string{"Version", "User"}

// addImg2ImgInfo adds webui's img2img fields to an infotext:
// "Denoising strength" (and "Conditional mask weight" for inpainting
// models) after the seed fields, the mask fields before "Version".
func addImg2ImgInfo(info *infotext.Info, p *Img2ImgParams, prep *img2imgPrep, inpaintModel bool) {
	core := []infotext.Param{{Key: "Denoising strength", Value: infotext.FormatFloat(p.DenoisingStrength)}}
	if inpaintModel {
		core = append(core, infotext.Param{Key: "Conditional mask weight", Value: "1"})
	}
	info.InsertAfterLast(fixedFields, core...)
	var extra []infotext.Param
	add := func(k, v string) { extra = append(extra, infotext.Param{Key: k, Value: v}) }
	if prep.mask != nil || prep.fullRes {
		if p.InvertMask {
			add("Mask mode", "Inpaint not masked")
		}
		if p.MaskBlur > 0 {
			add("Mask blur", strconv.Itoa(p.MaskBlur))
		}
		if prep.fullRes {
			add("Inpaint area", "Only masked")
			add("Masked area padding", strconv.Itoa(p.InpaintFullResPadding))
		}
		if p.InpaintingFill != FillOriginal {
			add("Masked content", fillNames[p.InpaintingFill])
		}
	}
	if p.NoiseMultiplier != 0 && p.NoiseMultiplier != 1 {
		add("Noise multiplier", infotext.FormatFloat(p.NoiseMultiplier))
	}
	info.InsertBefore(lastFields, extra...)
}

// white is webui's default img2img_background_color for transparent init
// images.
var white = color.NRGBA{255, 255, 255, 255}
