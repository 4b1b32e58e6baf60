package sample

import (
	"fmt"
	"math"
)

// The timestep samplers (DDIM, PLMS, UniPC) come from the discrete DDPM
// world: their state is the variance-preserving latent x_vp = x / sqrt(1 +
// sigma^2) (start from plain unit noise, not noise * sigma_max), their model
// is the noise prediction at a training timestep. They take the same
// Denoiser and schedule as the others: a sigma that is an entry of the
// model's table stands for its timestep, and eps is recovered as
// (x_ve - D(x_ve, sigma)) / sigma with x_ve = x_vp sqrt(1 + sigma^2).
// Their result is the VP latent, which decodes like any other.

// vp is the shared state of a timestep sampler.
type vp struct {
	*run
	ac    []float32       // alphas_cumprod
	index map[float32]int // table sigma -> timestep
	buf   []float32       // model input
}

func newVP(name string, d Denoiser, sigmas []float64, opt Options, noise Noise, cb Callback) (*vp, error) {
	r, err := newRun(name, d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	ac := opt.AlphasCumprod
	if ac == nil {
		ac = DefaultAlphasCumprod()
	}
	v := &vp{run: r, ac: ac, index: make(map[float32]int, len(ac))}
	for i, s := range ModelSigmas(ac) {
		v.index[s] = i
	}
	return v, nil
}

// alpha is alphas_cumprod at sigma: the table value when sigma is a table
// entry, 1/(1+sigma^2) otherwise. final is what sigma 0 means: alpha of
// timestep 0 for DDIM/PLMS (diffusers set_alpha_to_one=False), 1 for UniPC.
func (v *vp) alpha(sigma float64, final float64) float64 {
	if sigma == 0 {
		return final
	}
	if i, ok := v.index[float32(sigma)]; ok && float64(float32(sigma)) == sigma {
		return float64(v.ac[i])
	}
	return 1 / (1 + sigma*sigma)
}

// eps evaluates the model's noise prediction for the VP latent x at sigma.
func (v *vp) eps(x []float32, sigma float64) ([]float64, error) {
	if sigma <= 0 {
		return nil, fmt.Errorf("sample: %s: model needs sigma > 0, got %g", v.name, sigma)
	}
	if v.buf == nil {
		v.buf = make([]float32, len(x))
	}
	scale := math.Sqrt(1 + sigma*sigma)
	for j := range x {
		v.buf[j] = float32(float64(x[j]) * scale)
	}
	den, err := v.model(v.buf, sigma)
	if err != nil {
		return nil, err
	}
	e := make([]float64, len(x))
	for j := range x {
		e[j] = (float64(v.buf[j]) - float64(den[j])) / sigma
	}
	return e, nil
}

// report calls the callback with the clean prediction x0 = (x - sqrt(1-a) eps) / sqrt(a).
func (v *vp) report(i int, sigma, a float64, x []float32, eps []float64) error {
	if v.cb == nil {
		return nil
	}
	x0 := make([]float32, len(x))
	for j := range x {
		x0[j] = float32((float64(x[j]) - math.Sqrt(1-a)*eps[j]) / math.Sqrt(a))
	}
	return v.step(i, sigma, sigma, x, x0)
}

// DDIM is diffusers' DDIMScheduler (Song et al. 2020, "Denoising Diffusion
// Implicit Models") with set_alpha_to_one=False, which is also webui's
// "DDIM": x0 = (x - sqrt(1-a_t) eps)/sqrt(a_t), x = sqrt(a_prev) x0 +
// sqrt(1 - a_prev - s^2) eps + s z with s = eta sqrt((1-a_prev)/(1-a_t)
// (1 - a_t/a_prev)). The last step goes to alphas_cumprod[0]. x is the VP
// latent; noise is drawn only with eta > 0 (webui "Eta DDIM", default 0).
func DDIM(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	v, err := newVP("ddim", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	final := float64(v.ac[0])
	x = clone(x)
	for i := 0; i+1 < len(sigmas); i++ {
		eps, err := v.eps(x, sigmas[i])
		if err != nil {
			return nil, err
		}
		at, ap := v.alpha(sigmas[i], final), v.alpha(sigmas[i+1], final)
		if err := v.report(i, sigmas[i], at, x, eps); err != nil {
			return nil, err
		}
		std := v.opt.Eta * math.Sqrt((1-ap)/(1-at)*(1-at/ap))
		dir := math.Sqrt(1 - ap - std*std)
		for j := range x {
			x0 := (float64(x[j]) - math.Sqrt(1-at)*eps[j]) / math.Sqrt(at)
			x[j] = float32(math.Sqrt(ap)*x0 + dir*eps[j])
		}
		if std > 0 {
			if err := v.addNoise(x, std, sigmas[i], sigmas[i+1]); err != nil {
				return nil, err
			}
		}
	}
	return v.done(x)
}

// PLMS is diffusers' PNDMScheduler with skip_prk_steps (pseudo linear
// multistep, Liu et al. 2022, in the form of CompVis' PLMS sampler), also
// webui's "PLMS": the first step is a pseudo improved-Euler step (two model
// calls), then Adams-Bashforth of order 2, 3 and 4 on the noise
// predictions, each applied with PNDM's transfer formula. n steps take n+1
// model calls. x is the VP latent.
func PLMS(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	v, err := newVP("plms", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	final := float64(v.ac[0])
	x = clone(x)
	var ets [][]float64 // the last four noise predictions, newest last
	for i := 0; i+1 < len(sigmas); i++ {
		at, ap := v.alpha(sigmas[i], final), v.alpha(sigmas[i+1], final)
		eps, err := v.eps(x, sigmas[i])
		if err != nil {
			return nil, err
		}
		if err := v.report(i, sigmas[i], at, x, eps); err != nil {
			return nil, err
		}
		if len(ets) == 4 {
			ets = ets[1:]
		}
		ets = append(ets, eps)
		e := make([]float64, len(x))
		n := len(ets)
		for j := range e {
			switch n {
			case 1:
				e[j] = ets[0][j]
			case 2:
				e[j] = (3*ets[1][j] - ets[0][j]) / 2
			case 3:
				e[j] = (23*ets[2][j] - 16*ets[1][j] + 5*ets[0][j]) / 12
			default:
				e[j] = (55*ets[3][j] - 59*ets[2][j] + 37*ets[1][j] - 9*ets[0][j]) / 24
			}
		}
		if n > 1 {
			pndmTransfer(x, x, e, at, ap)
			continue
		}
		// First step: predict with eps, re-evaluate at the target and
		// step again from the start with the mean of both predictions.
		x1 := make([]float32, len(x))
		pndmTransfer(x1, x, e, at, ap)
		eps1, err := v.eps(x1, sigmas[i+1])
		if err != nil {
			return nil, err
		}
		for j := range e {
			e[j] = (eps1[j] + ets[0][j]) / 2
		}
		pndmTransfer(x, x, e, at, ap)
	}
	return v.done(x)
}

// pndmTransfer is PNDM's formula (9), moving the VP latent from alpha a_t to
// a_prev with noise prediction e: dst = sqrt(a_prev/a_t) x - (a_prev - a_t)
// e / (a_t sqrt(1-a_prev) + sqrt(a_t (1-a_t) a_prev)).
func pndmTransfer(dst, x []float32, e []float64, at, ap float64) {
	c := math.Sqrt(ap / at)
	den := at*math.Sqrt(1-ap) + math.Sqrt(at*(1-at)*ap)
	k := (ap - at) / den
	for j := range x {
		dst[j] = float32(c*float64(x[j]) - k*e[j])
	}
}
