package pipeline

import (
	"fmt"
	"math"

	"sdgo/internal/model"
	"sdgo/internal/sample"
)

// Cond is one image's conditioning: the cross-attention context [L, D] and,
// for SDXL, the vector conditioning y [ADM].
type Cond struct {
	Context []float32
	Tokens  int // L
	Width   int // D
	Y       []float32
}

// UNetFunc runs the UNet once on a batch: x [B, C, H, W], timesteps [B],
// context [B, L, D], y [B, ADM] or nil. *model.Model's RunUNet fits.
type UNetFunc func(x []float32, xShape []int, t []float32, context []float32, ctxShape []int, y []float32) ([]float32, error)

// GuidedFunc is a UNet call with classifier-free guidance done on the
// device (*model.Model's RunGuidedUNet): x [n, C, H, W] unscaled, t [2n],
// context [2n, L, D] with the cond rows first, y [2n, ADM] or nil; it
// returns the denoised latents [n, C, H, W].
type GuidedFunc func(x []float32, xShape []int, g model.Guidance, t []float32, context []float32, ctxShape []int, y []float32) ([]float32, error)

// Denoiser wraps a UNet as k-diffusion's CompVis denoiser for eps or v
// prediction, with classifier-free guidance, for a batch of images.
type Denoiser struct {
	UNet UNetFunc
	// Guided, when set, serves the common step (one positive and one
	// negative prompt per image, equal token counts, CFG scale != 1) in one
	// call that also scales the input and combines the outputs on the
	// device; every other step uses UNet.
	Guided GuidedFunc
	// Step, when set, serves the same steps as Guided with the sampler's
	// linear update on the device too (sampleOnDevice).
	Step       StepFunc
	Table      *sample.Table // the model's sigmas (timestep <-> sigma)
	Prediction string        // "eps" or "v"
	LatentC    int           // latent channels per image (4)
	H, W       int           // latent size
	Cond       []Cond        // one per image; Cond and Uncond must not change after the first call
	Uncond     []Cond        // one per image; nil disables CFG
	// Sched, when set, replaces Cond and Uncond: one per image, the
	// conditioning of each step (prompt editing, alternation) and the AND
	// parts of composable diffusion. The step is the number of earlier
	// calls (Calls), as webui's CFGDenoiser counts it.
	Sched []ImageConds
	Scale float64 // CFG scale; 1 skips the unconditional pass
	Calls int     // CFG denoiser calls so far

	batches map[string]*batchCond // conditioning per batch composition
	acc     []float64             // CFG accumulator, reused across calls
	in      []float32             // UNet input, reused across calls
}

// scaleInto sets dst[i] = src[i]*c, rounded to float32 as torch does.
func scaleInto(dst, src []float32, c float64) {
	for i, v := range src {
		dst[i] = float32(float64(v) * c)
	}
}

// Func returns the denoiser as the samplers see it.
func (d *Denoiser) Func() sample.Denoiser { return d.Denoise }

// part is one positive conditioning of one image in a denoiser call.
type part struct {
	image  int
	weight float64
}

// compose returns the conditioning of this step: the positive conds (each
// with its image and weight), the negative ones (one per image or nil) and
// a key naming the composition.
func (d *Denoiser) compose(step int) (conds []Cond, parts []part, unconds []Cond, key string) {
	if d.Sched == nil {
		for i, c := range d.Cond {
			conds = append(conds, c)
			parts = append(parts, part{i, 1})
		}
		return conds, parts, d.Uncond, ""
	}
	// Part-major order (every image's first part, then every image's
	// second, ...): with equal part counts batch row r is image r mod n in
	// the cond and uncond halves alike, which concatUNet relies on.
	kb := make([]byte, 0, 16)
	for j := 0; ; j++ {
		more := false
		for i, ic := range d.Sched {
			if j >= len(ic.Parts) {
				continue
			}
			more = true
			p := ic.Parts[j]
			k := p.Sched.At(step)
			conds = append(conds, p.Sched[k].Cond)
			parts = append(parts, part{i, p.Weight})
			kb = fmt.Appendf(kb, "%d,", k)
		}
		if !more {
			break
		}
	}
	for _, ic := range d.Sched {
		if ic.Uncond != nil {
			k := ic.Uncond.At(step)
			unconds = append(unconds, ic.Uncond[k].Cond)
			kb = fmt.Appendf(kb, "u%d;", k)
		}
	}
	if len(unconds) != len(d.Sched) {
		unconds = nil
	}
	return conds, parts, unconds, string(kb)
}

// Denoise returns the denoised prediction for x (the whole batch) at sigma.
//
// k-diffusion (external.py): c_in = 1/sqrt(sigma^2+1); eps models give
// denoised = x - sigma*eps; v models give denoised = x*c_skip + v*c_out with
// c_skip = 1/(sigma^2+1), c_out = -sigma/sqrt(sigma^2+1). The UNet sees the
// continuous timestep sigma_to_t(sigma). CFG with composable diffusion
// (webui's combine_denoised): uncond + sum_k w_k*(cond_k - uncond)*scale
// over the image's AND parts; cond and uncond in one batch when their token
// counts match (AND parts of different lengths are padded with their last
// token vector, as webui does).
func (d *Denoiser) Denoise(x []float32, sigma float64) ([]float32, error) {
	step := d.Calls
	d.Calls++
	conds, parts, unconds, key := d.compose(step)
	n := d.images()
	per := d.LatentC * d.H * d.W
	if len(x) != n*per {
		return nil, fmt.Errorf("pipeline: denoise: latent has %d values, want %d images x %d", len(x), n, per)
	}
	if d.Guided != nil {
		gc, ok, err := d.guidedFor(conds, parts, unconds, key, sigma)
		if err != nil {
			return nil, err
		}
		if ok {
			return d.Guided(x, []int{n, d.LatentC, d.H, d.W}, gc.g, gc.t, gc.bc.ctx, gc.ctxShape(), gc.bc.y)
		}
	}
	cin := 1 / math.Sqrt(sigma*sigma+1)
	t := float32(d.Table.SigmaToT(sigma))
	simple := len(parts) == n
	for _, p := range parts {
		simple = simple && p.weight == 1
	}
	useCFG := unconds != nil && (d.Scale != 1 || !simple)
	a, b := d.coefficients(sigma)
	// The UNet input, scaled by c_in, in one reused buffer: the cond batch
	// (each image's latent once per AND part), then with CFG the uncond
	// batch (each image once). UNet functions copy their input, so the
	// buffer is free again when they return.
	nc := len(parts) * per
	size := nc
	if useCFG {
		size += len(x)
	}
	if cap(d.in) < size {
		d.in = make([]float32, size)
	}
	in := d.in[:size]
	for k, p := range parts {
		scaleInto(in[k*per:(k+1)*per], x[p.image*per:(p.image+1)*per], cin)
	}
	if useCFG {
		scaleInto(in[nc:], x, cin)
	}
	var out []float32 // model outputs: the cond batch, then (with CFG) the uncond batch
	var err error
	if !useCFG {
		out, err = d.run(in, t, "cond"+key, conds)
	} else if padTokens(conds) == padTokens(unconds) {
		out, err = d.run(in, t, "both"+key, append(append([]Cond{}, conds...), unconds...))
	} else {
		var c, u []float32
		if c, err = d.run(in[:nc], t, "cond"+key, conds); err == nil {
			u, err = d.run(in[nc:], t, "uncond"+key, unconds)
		}
		out = append(c, u...)
	}
	if err != nil {
		return nil, err
	}
	// denoised = a*x + b*out (eps: a = 1, b = -sigma; v: a = c_skip,
	// b = c_out); in the CFG difference cond - uncond the a*x terms cancel.
	den := make([]float32, len(x))
	if !useCFG {
		for i, xv := range x {
			den[i] = float32(a*float64(xv) + b*float64(out[i]))
		}
		return den, nil
	}
	u := out[nc:]
	if len(parts) == n && simple {
		s := b * d.Scale
		for i, xv := range x {
			ou := float64(u[i])
			den[i] = float32(a*float64(xv) + b*ou + (float64(out[i])-ou)*s)
		}
		return den, nil
	}
	if cap(d.acc) < len(x) {
		d.acc = make([]float64, len(x))
	}
	acc := d.acc[:len(x)]
	for i, xv := range x {
		acc[i] = a*float64(xv) + b*float64(u[i])
	}
	for k, p := range parts {
		s := b * p.weight * d.Scale
		oc := out[k*per : (k+1)*per]
		ou := u[p.image*per : (p.image+1)*per]
		ac := acc[p.image*per : (p.image+1)*per]
		for j := range oc {
			ac[j] += (float64(oc[j]) - float64(ou[j])) * s
		}
	}
	for i, v := range acc {
		den[i] = float32(v)
	}
	return den, nil
}

// guidedCall is one step's arguments for the device's CFG call.
type guidedCall struct {
	g  model.Guidance
	t  []float32 // 2n timesteps
	bc *batchCond
}

func (gc guidedCall) ctxShape() []int { return []int{len(gc.t), gc.bc.l, gc.bc.w} }

// guided returns the arguments of call number step at sigma as one CFG
// call on the device (RunGuidedUNet, RunGuidedStep), or ok=false when the
// step needs the general path: no CFG, AND parts or weights, or cond and
// uncond of different token counts.
func (d *Denoiser) guided(step int, sigma float64) (guidedCall, bool, error) {
	conds, parts, unconds, key := d.compose(step)
	return d.guidedFor(conds, parts, unconds, key, sigma)
}

// guidedFor is guided for a step's composition (compose).
func (d *Denoiser) guidedFor(conds []Cond, parts []part, unconds []Cond, key string, sigma float64) (gc guidedCall, ok bool, err error) {
	n := d.images()
	if unconds == nil || d.Scale == 1 || len(parts) != n || padTokens(conds) != padTokens(unconds) {
		return gc, false, nil
	}
	for _, p := range parts {
		if p.weight != 1 {
			return gc, false, nil
		}
	}
	all := append(append(make([]Cond, 0, 2*n), conds...), unconds...)
	if gc.bc, err = d.batch("both"+key, all); err != nil {
		return gc, false, err
	}
	a, b := d.coefficients(sigma)
	gc.g = model.Guidance{CIn: 1 / math.Sqrt(sigma*sigma+1), A: a, B: b, Scale: d.Scale}
	gc.t = d.timesteps(float32(d.Table.SigmaToT(sigma)), 2*n)
	return gc, true, nil
}

// images is the number of images the denoiser serves.
func (d *Denoiser) images() int {
	if d.Sched != nil {
		return len(d.Sched)
	}
	return len(d.Cond)
}

// coefficients returns a and b with denoised = a*x + b*model_output for
// the model's prediction type (k-diffusion's CompVisDenoiser and
// CompVisVDenoiser with sigma_data 1).
func (d *Denoiser) coefficients(sigma float64) (a, b float64) {
	if d.Prediction == "v" {
		s2 := sigma*sigma + 1
		return 1 / s2, -sigma / math.Sqrt(s2)
	}
	return 1, -sigma
}

// padTokens is the token count a batch of conds is padded to: the longest.
func padTokens(cs []Cond) int {
	l := 0
	for _, c := range cs {
		l = max(l, c.Tokens)
	}
	return l
}

// batchCond is the concatenated conditioning of one batch composition.
type batchCond struct {
	ctx, y []float32
	l, w   int
}

// batch returns the concatenated conditioning of one batch composition,
// built once per key: the same slices are passed at every step, so the
// model can keep them on the device.
func (d *Denoiser) batch(key string, conds []Cond) (*batchCond, error) {
	if bc, ok := d.batches[key]; ok {
		return bc, nil
	}
	b := len(conds)
	l, w := padTokens(conds), conds[0].Width
	bc := &batchCond{l: l, w: w, ctx: make([]float32, 0, b*l*w)}
	for _, c := range conds {
		if c.Width != w {
			return nil, fmt.Errorf("pipeline: denoise: contexts of %dx%d and %dx%d in one batch", l, w, c.Tokens, c.Width)
		}
		bc.ctx = append(bc.ctx, c.Context...)
		// Shorter contexts repeat their last token vector (webui's
		// reconstruct_multicond_batch).
		for k := c.Tokens; k < l; k++ {
			bc.ctx = append(bc.ctx, c.Context[(c.Tokens-1)*w:c.Tokens*w]...)
		}
		bc.y = append(bc.y, c.Y...)
	}
	if d.batches == nil {
		d.batches = map[string]*batchCond{}
	}
	d.batches[key] = bc
	return bc, nil
}

// timesteps returns b copies of t.
func (d *Denoiser) timesteps(t float32, b int) []float32 {
	ts := make([]float32, b)
	for i := range ts {
		ts[i] = t
	}
	return ts
}

// run calls the UNet on the batch x (one image per cond) at timestep t.
func (d *Denoiser) run(x []float32, t float32, key string, conds []Cond) ([]float32, error) {
	bc, err := d.batch(key, conds)
	if err != nil {
		return nil, err
	}
	b := len(conds)
	return d.UNet(x, []int{b, d.LatentC, d.H, d.W}, d.timesteps(t, b), bc.ctx, []int{b, bc.l, bc.w}, bc.y)
}

// compile-time checks that the model's UNet calls fit.
var (
	_ UNetFunc   = (*model.Model)(nil).RunUNet
	_ GuidedFunc = (*model.Model)(nil).RunGuidedUNet
)
