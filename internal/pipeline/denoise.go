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

// Denoiser wraps a UNet as k-diffusion's CompVis denoiser for eps or v
// prediction, with classifier-free guidance, for a batch of images.
type Denoiser struct {
	UNet       UNetFunc
	Table      *sample.Table // the model's sigmas (timestep <-> sigma)
	Prediction string        // "eps" or "v"
	LatentC    int           // latent channels per image (4)
	H, W       int           // latent size
	Cond       []Cond        // one per image; Cond and Uncond must not change after the first call
	Uncond     []Cond        // one per image; nil disables CFG
	Scale      float64       // CFG scale; 1 skips the unconditional pass
	Calls      int           // CFG denoiser calls so far

	batches map[string]*batchCond // conditioning per batch composition
}

// Func returns the denoiser as the samplers see it.
func (d *Denoiser) Func() sample.Denoiser { return d.Denoise }

// Denoise returns the denoised prediction for x (the whole batch) at sigma.
//
// k-diffusion (external.py): c_in = 1/sqrt(sigma^2+1); eps models give
// denoised = x - sigma*eps; v models give denoised = x*c_skip + v*c_out with
// c_skip = 1/(sigma^2+1), c_out = -sigma/sqrt(sigma^2+1). The UNet sees the
// continuous timestep sigma_to_t(sigma). CFG: uncond + (cond - uncond)*scale,
// cond and uncond in one batch when their token counts match.
func (d *Denoiser) Denoise(x []float32, sigma float64) ([]float32, error) {
	d.Calls++
	n := len(d.Cond)
	per := d.LatentC * d.H * d.W
	if len(x) != n*per {
		return nil, fmt.Errorf("pipeline: denoise: latent has %d values, want %d images x %d", len(x), n, per)
	}
	cin := 1 / math.Sqrt(sigma*sigma+1)
	t := float32(d.Table.SigmaToT(sigma))
	xin := make([]float32, len(x))
	for i, v := range x {
		xin[i] = float32(float64(v) * cin)
	}
	useCFG := d.Uncond != nil && d.Scale != 1
	var out []float32
	var err error
	if !useCFG {
		out, err = d.run(xin, t, "cond", d.Cond)
	} else if sameTokens(d.Cond, d.Uncond) {
		both := append(append(make([]float32, 0, 2*len(xin)), xin...), xin...)
		out, err = d.run(both, t, "both", append(append([]Cond{}, d.Cond...), d.Uncond...))
	} else {
		var c, u []float32
		if c, err = d.run(xin, t, "cond", d.Cond); err == nil {
			u, err = d.run(xin, t, "uncond", d.Uncond)
		}
		out = append(c, u...)
	}
	if err != nil {
		return nil, err
	}
	den := make([]float32, len(x))
	for i := range x {
		if useCFG {
			c := d.toDenoised(x[i], out[i], sigma)
			u := d.toDenoised(x[i], out[len(x)+i], sigma)
			den[i] = float32(u + (c-u)*d.Scale)
		} else {
			den[i] = float32(d.toDenoised(x[i], out[i], sigma))
		}
	}
	return den, nil
}

// toDenoised converts one model output value to the denoised value.
func (d *Denoiser) toDenoised(x, out float32, sigma float64) float64 {
	if d.Prediction == "v" {
		s2 := sigma*sigma + 1
		return float64(x)/s2 - float64(out)*sigma/math.Sqrt(s2)
	}
	return float64(x) - sigma*float64(out)
}

func sameTokens(a, b []Cond) bool {
	for i := range a {
		if a[i].Tokens != b[i].Tokens {
			return false
		}
	}
	for i := range b {
		if b[i].Tokens != a[0].Tokens {
			return false
		}
	}
	return true
}

// batchCond is the concatenated conditioning of one batch composition.
type batchCond struct {
	ctx, y []float32
	l, w   int
}

// run calls the UNet on the batch x (one image per cond) at timestep t.
// The concatenated context is built once per batch composition and the same
// slices are passed at every step, so the model can keep them on the device.
func (d *Denoiser) run(x []float32, t float32, key string, conds []Cond) ([]float32, error) {
	b := len(conds)
	bc, ok := d.batches[key]
	if !ok {
		l, w := conds[0].Tokens, conds[0].Width
		bc = &batchCond{l: l, w: w, ctx: make([]float32, 0, b*l*w)}
		for _, c := range conds {
			if c.Tokens != l || c.Width != w {
				return nil, fmt.Errorf("pipeline: denoise: contexts of %dx%d and %dx%d in one batch", l, w, c.Tokens, c.Width)
			}
			bc.ctx = append(bc.ctx, c.Context...)
			bc.y = append(bc.y, c.Y...)
		}
		if d.batches == nil {
			d.batches = map[string]*batchCond{}
		}
		d.batches[key] = bc
	}
	ts := make([]float32, b)
	for i := range ts {
		ts[i] = t
	}
	return d.UNet(x, []int{b, d.LatentC, d.H, d.W}, ts, bc.ctx, []int{b, bc.l, bc.w}, bc.y)
}

// compile-time check that the model's UNet fits.
var _ UNetFunc = (*model.Model)(nil).RunUNet
