package sample

import (
	"math"
)

// The DPM-Solver++ samplers (Lu et al. 2022, "DPM-Solver++: Fast Solver for
// Guided Sampling of Diffusion Probabilistic Models") work in t = -log sigma;
// their data-prediction updates are written here with sigma ratios and
// expm1 as in k-diffusion.

// DPMPP2SAncestral is k-diffusion sample_dpmpp_2s_ancestral: ancestral
// sampling with DPM-Solver++(2S) single-step second-order steps; webui
// "DPM++ 2S a".
func DPMPP2SAncestral(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun("dpmpp_2s_a", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	x = clone(x)
	x2 := make([]float32, len(x))
	for i := 0; i+1 < len(sigmas); i++ {
		s := sigmas[i]
		den, err := r.model(x, s)
		if err != nil {
			return nil, err
		}
		down, up := ancestralStep(s, sigmas[i+1], r.opt.Eta)
		if err := r.step(i, s, s, x, den); err != nil {
			return nil, err
		}
		if down == 0 {
			eulerTo(x, den, s, 0)
		} else {
			h := math.Log(s) - math.Log(down) // t_next - t
			mid := s * math.Exp(-h/2)         // sigma at t + h/2
			a, b := mid/s, math.Expm1(-h/2)
			for j := range x {
				x2[j] = float32(a*float64(x[j]) - b*float64(den[j]))
			}
			den2, err := r.model(x2, mid)
			if err != nil {
				return nil, err
			}
			a, b = down/s, math.Expm1(-h)
			for j := range x {
				x[j] = float32(a*float64(x[j]) - b*float64(den2[j]))
			}
		}
		if sigmas[i+1] > 0 {
			if err := r.addNoise(x, up, s, sigmas[i+1]); err != nil {
				return nil, err
			}
		}
	}
	return r.done(x)
}

// DPMPP2M is k-diffusion sample_dpmpp_2m: DPM-Solver++(2M), the multistep
// second-order solver; webui "DPM++ 2M". It runs the linear steps of
// dpmpp2MSteps.
func DPMPP2M(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	steps, _ := dpmpp2MSteps(sigmas, normalize(opt))
	return runLinear("dpmpp_2m", d, x, sigmas, steps, opt, noise, cb)
}

// DPMPPSDE is k-diffusion sample_dpmpp_sde: DPM-Solver++ (stochastic), a
// second-order single-step SDE solver with a midpoint at ratio r = 1/2; it
// draws two noises per step (half step, full step); webui "DPM++ SDE".
func DPMPPSDE(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun("dpmpp_sde", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	const ratio = 0.5
	fac := 1 / (2 * ratio)
	eta := r.opt.Eta
	x = clone(x)
	x2 := make([]float32, len(x))
	for i := 0; i+1 < len(sigmas); i++ {
		s, next := sigmas[i], sigmas[i+1]
		den, err := r.model(x, s)
		if err != nil {
			return nil, err
		}
		if err := r.step(i, s, s, x, den); err != nil {
			return nil, err
		}
		if next == 0 {
			eulerTo(x, den, s, 0)
			continue
		}
		t, tNext := -math.Log(s), -math.Log(next)
		h := tNext - t
		sMid := math.Exp(-(t + h*ratio))
		// Step 1: to the midpoint, with its own ancestral split.
		sd, su := ancestralStep(s, sMid, eta)
		tm := -math.Log(sd)
		a, b := sd/s, math.Expm1(t-tm)
		for j := range x {
			x2[j] = float32(a*float64(x[j]) - b*float64(den[j]))
		}
		if err := r.addNoise(x2, su, s, sMid); err != nil {
			return nil, err
		}
		den2, err := r.model(x2, sMid)
		if err != nil {
			return nil, err
		}
		// Step 2: the full step with the blended prediction.
		sd, su = ancestralStep(s, next, eta)
		tn := -math.Log(sd)
		a, b = sd/s, math.Expm1(t-tn)
		for j := range x {
			dd := (1-fac)*float64(den[j]) + fac*float64(den2[j])
			x[j] = float32(a*float64(x[j]) - b*dd)
		}
		if err := r.addNoise(x, su, s, next); err != nil {
			return nil, err
		}
	}
	return r.done(x)
}

// DPMPP2MSDE is k-diffusion sample_dpmpp_2m_sde with the midpoint solver;
// webui "DPM++ 2M SDE". It runs the linear steps of dpmpp2MSDESteps.
func DPMPP2MSDE(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	steps, _ := dpmpp2MSDESteps(false)(sigmas, normalize(opt))
	return runLinear("dpmpp_2m_sde", d, x, sigmas, steps, opt, noise, cb)
}

// DPMPP2MSDEHeun is sample_dpmpp_2m_sde with solver_type "heun"; webui
// "DPM++ 2M SDE Heun".
func DPMPP2MSDEHeun(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	steps, _ := dpmpp2MSDESteps(true)(sigmas, normalize(opt))
	return runLinear("dpmpp_2m_sde_heun", d, x, sigmas, steps, opt, noise, cb)
}

// DPMPP3MSDE is k-diffusion sample_dpmpp_3m_sde: DPM-Solver++(3M) SDE, the
// third-order multistep SDE solver; webui "DPM++ 3M SDE".
func DPMPP3MSDE(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun("dpmpp_3m_sde", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	eta := r.opt.Eta
	x = clone(x)
	var den1, den2 []float32 // the previous two predictions
	var h1, h2 float64
	for i := 0; i+1 < len(sigmas); i++ {
		s, next := sigmas[i], sigmas[i+1]
		den, err := r.model(x, s)
		if err != nil {
			return nil, err
		}
		if err := r.step(i, s, s, x, den); err != nil {
			return nil, err
		}
		var h float64
		if next == 0 {
			copy(x, den)
		} else {
			h = math.Log(s) - math.Log(next)
			hEta := h * (eta + 1)
			a, b := math.Exp(-hEta), -math.Expm1(-hEta)
			phi2 := math.Expm1(-hEta)/hEta + 1
			phi3 := phi2/hEta - 0.5
			for j := range x {
				v := a*float64(x[j]) + b*float64(den[j])
				switch {
				case den2 != nil:
					r0, r1 := h1/h, h2/h
					d10 := (float64(den[j]) - float64(den1[j])) / r0
					d11 := (float64(den1[j]) - float64(den2[j])) / r1
					dd1 := d10 + (d10-d11)*r0/(r0+r1)
					dd2 := (d10 - d11) / (r0 + r1)
					v += phi2*dd1 - phi3*dd2
				case den1 != nil:
					v += phi2 * (float64(den[j]) - float64(den1[j])) / (h1 / h)
				}
				x[j] = float32(v)
			}
			if eta != 0 {
				if err := r.addNoise(x, next*math.Sqrt(-math.Expm1(-2*h*eta)), s, next); err != nil {
					return nil, err
				}
			}
		}
		den1, den2 = den, den1
		h1, h2 = h, h1
	}
	return r.done(x)
}
