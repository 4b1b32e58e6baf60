package sample

import (
	"fmt"
	"math"
)

// LinearStep is one step of a sampler whose update is linear in the
// latents: the model is evaluated at Sigma giving den, and the next latents
// are
//
//	X*x + D*den + P*prev + N*noise
//
// where prev is the previous step's den (P is 0 on the first step) and
// noise is the draw Noise.Next(NoiseFrom, NoiseTo).
//
// Draw says whether the step draws noise at all. N != 0 implies Draw; a step
// may draw with N == 0 (Euler a with eta 0 or a repeated sigma: k-diffusion
// draws and scales the draw by 0), so a caller that shares the noise stream
// with webui must draw whenever Draw is set, in step order, and may then
// drop the draw when N is 0.
type LinearStep struct {
	Sigma              float64
	X, D, P, N         float64
	Draw               bool
	NoiseFrom, NoiseTo float64
}

// linearPlan computes the LinearSteps of one sampler over sigmas, with opt
// already normalised (see normalize); ok=false when the options make the
// sampler's update non-linear for these sigmas.
type linearPlan func(sigmas []float64, opt Options) (steps []LinearStep, ok bool)

// LinearSteps returns the steps of sampler s over sigmas with options opt,
// or ok=false when s (with these options) is not such a sampler: Euler with
// churn active at some step, or any sampler but Euler, Euler a, DPM++ 2M,
// DPM++ 2M SDE and DPM++ 2M SDE Heun. The host functions of those samplers
// run through these same steps, so the coefficients are what the fixtures
// check. Fewer than 2 sigmas give no steps.
func LinearSteps(s Sampler, sigmas []float64, opt Options) (steps []LinearStep, ok bool) {
	if s.linear == nil {
		return nil, false
	}
	return s.linear(sigmas, normalize(opt))
}

// runLinear is the host loop over a linear plan: per step one model call,
// the step callback, then the update computed in float64 and rounded to
// float32, with the noise (when the step draws any) taken after the
// callback.
func runLinear(name string, d Denoiser, x []float32, sigmas []float64, steps []LinearStep, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun(name, d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	x = clone(x)
	var prev []float32
	for i, st := range steps {
		den, err := r.model(x, st.Sigma)
		if err != nil {
			return nil, err
		}
		if err := r.step(i, st.Sigma, st.Sigma, x, den); err != nil {
			return nil, err
		}
		var z []float32
		if st.Draw {
			if z, err = r.draw(len(x), st.NoiseFrom, st.NoiseTo); err != nil {
				return nil, err
			}
		}
		if st.P != 0 && prev == nil {
			return nil, fmt.Errorf("sample: %s: step %d weighs a previous prediction the first step has not got", name, i)
		}
		st.Apply(x, den, prev, z)
		prev = den
	}
	return r.done(x)
}

// Apply sets x to the step's update X*x + D*den + P*prev + N*noise,
// computed in float64 and rounded to float32. Zero coefficients are
// skipped, not multiplied (prev and noise may then be nil): the step to
// sigma 0 returns den exactly, whatever x holds.
func (st LinearStep) Apply(x, den, prev, noise []float32) {
	for j := range x {
		v := st.D * float64(den[j])
		if st.X != 0 {
			v += st.X * float64(x[j])
		}
		if st.P != 0 {
			v += st.P * float64(prev[j])
		}
		if st.N != 0 {
			v += st.N * float64(noise[j])
		}
		x[j] = float32(v)
	}
}

// eulerSteps is Euler without churn: x + (x - den)/sigma * (next - sigma)
// = (next/sigma) x + (1 - next/sigma) den. Churn at any step makes it
// non-linear (ok=false).
func eulerSteps(sigmas []float64, opt Options) ([]LinearStep, bool) {
	steps := make([]LinearStep, 0, max(len(sigmas)-1, 0))
	for i := 0; i+1 < len(sigmas); i++ {
		if churnGamma(sigmas, i, opt) > 0 {
			return nil, false
		}
		s, next := sigmas[i], sigmas[i+1]
		steps = append(steps, LinearStep{Sigma: s, X: next / s, D: 1 - next/s})
	}
	return steps, true
}

// eulerAncestralSteps is Euler a: the Euler step to sigma_down, then
// sigma_up * s_noise * noise(sigma, next) whenever next > 0 (k-diffusion
// draws even when sigma_up is 0).
func eulerAncestralSteps(sigmas []float64, opt Options) ([]LinearStep, bool) {
	steps := make([]LinearStep, 0, max(len(sigmas)-1, 0))
	for i := 0; i+1 < len(sigmas); i++ {
		s, next := sigmas[i], sigmas[i+1]
		down, up := ancestralStep(s, next, opt.Eta)
		st := LinearStep{Sigma: s, X: down / s, D: 1 - down/s}
		if next > 0 {
			st.Draw, st.N, st.NoiseFrom, st.NoiseTo = true, up*opt.SNoise, s, next
		}
		steps = append(steps, st)
	}
	return steps, true
}

// dpmpp2MSteps is DPM-Solver++(2M): with h = log(sigma/next), a = next/sigma
// and b = expm1(-h), x' = a x - b den on the first step and the step to 0,
// else a x - b ((1+k) den - k prev) with k = h / (2 h_last).
func dpmpp2MSteps(sigmas []float64, _ Options) ([]LinearStep, bool) {
	steps := make([]LinearStep, 0, max(len(sigmas)-1, 0))
	for i := 0; i+1 < len(sigmas); i++ {
		s, next := sigmas[i], sigmas[i+1]
		h := math.Log(s) - math.Log(next)
		a, b := next/s, math.Expm1(-h)
		st := LinearStep{Sigma: s, X: a, D: -b}
		if i > 0 && next != 0 {
			hLast := math.Log(sigmas[i-1]) - math.Log(s)
			k := 1 / (2 * (hLast / h))
			st.D, st.P = -b*(1+k), b*k
		}
		steps = append(steps, st)
	}
	return steps, true
}

// dpmpp2MSDESteps is DPM-Solver++(2M) SDE (midpoint, or Heun with heun):
// x' = a x + b den + c (den - prev) with a = (next/sigma) e^(-eta h),
// b = -expm1(-h - eta h) and c the solver's correction (0 on the first
// step), plus next sqrt(-expm1(-2 eta h)) s_noise noise(sigma, next) when
// eta != 0; the step to sigma 0 returns den.
func dpmpp2MSDESteps(heun bool) linearPlan {
	return func(sigmas []float64, opt Options) ([]LinearStep, bool) {
		eta := opt.Eta
		steps := make([]LinearStep, 0, max(len(sigmas)-1, 0))
		var hLast float64
		for i := 0; i+1 < len(sigmas); i++ {
			s, next := sigmas[i], sigmas[i+1]
			if next == 0 {
				// The step to 0 keeps h_last, as the host code always did.
				steps = append(steps, LinearStep{Sigma: s, D: 1})
				continue
			}
			h := math.Log(s) - math.Log(next)
			etaH := eta * h
			a := next / s * math.Exp(-etaH)
			b := -math.Expm1(-h - etaH)
			c := 0.0
			if i > 0 {
				rr := hLast / h
				if heun {
					c = (b/(-h-etaH) + 1) / rr
				} else {
					c = 0.5 * b / rr
				}
			}
			st := LinearStep{Sigma: s, X: a, D: b + c, P: -c}
			if eta != 0 {
				st.Draw, st.N = true, next*math.Sqrt(-math.Expm1(-2*etaH))*opt.SNoise
				st.NoiseFrom, st.NoiseTo = s, next
			}
			steps = append(steps, st)
			hLast = h
		}
		return steps, true
	}
}
