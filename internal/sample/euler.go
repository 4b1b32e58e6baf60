package sample

import (
	"math"
)

// churn applies the "churn" of Karras et al. 2022 (Algorithm 2) at step i:
// with gamma = min(s_churn/steps, sqrt 2 - 1) inside [s_tmin, s_tmax], x gets
// noise to raise its level from sigma to sigma_hat = sigma (1 + gamma).
// It returns sigma_hat. Without churn no noise is drawn.
func (r *run) churn(x []float32, sigmas []float64, i int) (float64, error) {
	s := sigmas[i]
	gamma := churnGamma(sigmas, i, r.opt)
	if gamma <= 0 {
		return s, nil
	}
	hat := s * (gamma + 1)
	return hat, r.addNoise(x, math.Sqrt(hat*hat-s*s), s, hat)
}

// churnGamma is the churn factor at step i: min(s_churn/steps, sqrt 2 - 1)
// for sigmas in [s_tmin, s_tmax], else 0 (opt normalised).
func churnGamma(sigmas []float64, i int, opt Options) float64 {
	if s := sigmas[i]; opt.STmin <= s && s <= opt.STmax {
		return min(opt.SChurn/float64(len(sigmas)-1), math.Sqrt2-1)
	}
	return 0
}

// Euler is Algorithm 2 of Karras et al. 2022 with Euler steps
// (k-diffusion sample_euler; webui "Euler"). Without churn it runs the
// linear steps of eulerSteps.
func Euler(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	if steps, ok := eulerSteps(sigmas, normalize(opt)); ok {
		return runLinear("euler", d, x, sigmas, steps, opt, noise, cb)
	}
	r, err := newRun("euler", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	x = clone(x)
	for i := 0; i+1 < len(sigmas); i++ {
		hat, err := r.churn(x, sigmas, i)
		if err != nil {
			return nil, err
		}
		den, err := r.model(x, hat)
		if err != nil {
			return nil, err
		}
		if err := r.step(i, sigmas[i], hat, x, den); err != nil {
			return nil, err
		}
		eulerTo(x, den, hat, sigmas[i+1])
	}
	return r.done(x)
}

// EulerAncestral is ancestral sampling with Euler steps: a deterministic step
// down to sigma_down, then fresh noise of size sigma_up (k-diffusion
// sample_euler_ancestral; webui "Euler a"), run as the linear steps of
// eulerAncestralSteps.
func EulerAncestral(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	steps, _ := eulerAncestralSteps(sigmas, normalize(opt))
	return runLinear("euler_a", d, x, sigmas, steps, opt, noise, cb)
}

// Heun is Algorithm 2 of Karras et al. 2022 with Heun steps (second order;
// Euler for the last step to sigma 0) (k-diffusion sample_heun).
func Heun(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun("heun", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	x = clone(x)
	x2 := make([]float32, len(x))
	for i := 0; i+1 < len(sigmas); i++ {
		hat, err := r.churn(x, sigmas, i)
		if err != nil {
			return nil, err
		}
		den, err := r.model(x, hat)
		if err != nil {
			return nil, err
		}
		if err := r.step(i, sigmas[i], hat, x, den); err != nil {
			return nil, err
		}
		next := sigmas[i+1]
		if next == 0 {
			eulerTo(x, den, hat, next)
			continue
		}
		dt := next - hat
		for j := range x {
			x2[j] = float32(float64(x[j]) + (float64(x[j])-float64(den[j]))/hat*dt)
		}
		den2, err := r.model(x2, next)
		if err != nil {
			return nil, err
		}
		for j := range x {
			d1 := (float64(x[j]) - float64(den[j])) / hat
			d2 := (float64(x2[j]) - float64(den2[j])) / next
			x[j] = float32(float64(x[j]) + (d1+d2)/2*dt)
		}
	}
	return r.done(x)
}

// dpm2Step takes a DPM-Solver-2 step from sigma to sigmaTo through the
// geometric midpoint: an Euler half step, then the full step with the
// derivative at the midpoint.
func (r *run) dpm2Step(x, x2, den []float32, sigma, sigmaTo float64) error {
	mid := math.Exp(lerp(math.Log(sigma), math.Log(sigmaTo), 0.5))
	for j := range x {
		x2[j] = float32(float64(x[j]) + (float64(x[j])-float64(den[j]))/sigma*(mid-sigma))
	}
	den2, err := r.model(x2, mid)
	if err != nil {
		return err
	}
	dt := sigmaTo - sigma
	for j := range x {
		d2 := (float64(x2[j]) - float64(den2[j])) / mid
		x[j] = float32(float64(x[j]) + d2*dt)
	}
	return nil
}

// lerp is torch.lerp.
func lerp(a, b, w float64) float64 {
	if w < 0.5 {
		return a + w*(b-a)
	}
	return b - (b-a)*(1-w)
}

// DPM2 is k-diffusion sample_dpm_2: Karras et al.'s Algorithm 2 with
// DPM-Solver-2 (Lu et al. 2022) midpoint steps; webui "DPM2".
func DPM2(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun("dpm2", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	x = clone(x)
	x2 := make([]float32, len(x))
	for i := 0; i+1 < len(sigmas); i++ {
		hat, err := r.churn(x, sigmas, i)
		if err != nil {
			return nil, err
		}
		den, err := r.model(x, hat)
		if err != nil {
			return nil, err
		}
		if err := r.step(i, sigmas[i], hat, x, den); err != nil {
			return nil, err
		}
		if sigmas[i+1] == 0 {
			eulerTo(x, den, hat, 0)
		} else if err := r.dpm2Step(x, x2, den, hat, sigmas[i+1]); err != nil {
			return nil, err
		}
	}
	return r.done(x)
}

// DPM2Ancestral is k-diffusion sample_dpm_2_ancestral: ancestral sampling
// with DPM-Solver-2 steps; webui "DPM2 a".
func DPM2Ancestral(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun("dpm2_a", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	x = clone(x)
	x2 := make([]float32, len(x))
	for i := 0; i+1 < len(sigmas); i++ {
		den, err := r.model(x, sigmas[i])
		if err != nil {
			return nil, err
		}
		down, up := ancestralStep(sigmas[i], sigmas[i+1], r.opt.Eta)
		if err := r.step(i, sigmas[i], sigmas[i], x, den); err != nil {
			return nil, err
		}
		if down == 0 {
			eulerTo(x, den, sigmas[i], 0)
			continue
		}
		if err := r.dpm2Step(x, x2, den, sigmas[i], down); err != nil {
			return nil, err
		}
		if err := r.addNoise(x, up, sigmas[i], sigmas[i+1]); err != nil {
			return nil, err
		}
	}
	return r.done(x)
}

// LMS is k-diffusion sample_lms: a linear multistep method over the
// derivatives of the last Order (4) steps; the coefficients integrate the
// Lagrange basis polynomials over [sigma_i, sigma_i+1] (k-diffusion uses
// scipy quad; Gauss-Legendre is exact for these polynomials).
func LMS(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun("lms", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	order := opt.Order
	if order == 0 {
		order = 4
	}
	x = clone(x)
	var ds [][]float32 // newest last
	coeffs := make([]float64, order)
	for i := 0; i+1 < len(sigmas); i++ {
		den, err := r.model(x, sigmas[i])
		if err != nil {
			return nil, err
		}
		var dcur []float32
		if len(ds) == order {
			dcur, ds = ds[0], ds[1:] // reuse the oldest buffer
		} else {
			dcur = make([]float32, len(x))
		}
		for j := range x {
			dcur[j] = float32((float64(x[j]) - float64(den[j])) / sigmas[i])
		}
		ds = append(ds, dcur)
		if err := r.step(i, sigmas[i], sigmas[i], x, den); err != nil {
			return nil, err
		}
		cur := min(i+1, order)
		for j := 0; j < cur; j++ {
			coeffs[j] = lmsCoeff(cur, sigmas, i, j)
		}
		for e := range x {
			acc := float64(x[e])
			for j := 0; j < cur; j++ {
				acc += coeffs[j] * float64(ds[len(ds)-1-j][e])
			}
			x[e] = float32(acc)
		}
	}
	return r.done(x)
}

// lmsCoeff is the integral over [t_i, t_i+1] of the Lagrange basis
// polynomial that is 1 at t_{i-j} and 0 at the other t_{i-k}, k < order.
func lmsCoeff(order int, t []float64, i, j int) float64 {
	f := func(tau float64) float64 {
		p := 1.0
		for k := 0; k < order; k++ {
			if k != j {
				p *= (tau - t[i-k]) / (t[i-j] - t[i-k])
			}
		}
		return p
	}
	return gaussLegendre(f, t[i], t[i+1])
}

// 8-point Gauss-Legendre nodes and weights on [-1, 1] (exact for
// polynomials of degree <= 15).
var glNodes = [8]float64{
	-0.9602898564975363, -0.7966664774136267, -0.5255324099163290, -0.1834346424956498,
	0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363,
}
var glWeights = [8]float64{
	0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.3626837833783620,
	0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763,
}

func gaussLegendre(f func(float64) float64, a, b float64) float64 {
	half, mid := (b-a)/2, (a+b)/2
	s := 0.0
	for k, x := range glNodes {
		s += glWeights[k] * f(mid+half*x)
	}
	return s * half
}
