package sample

import (
	"fmt"
	"math"
)

// ReplayInput is a recorded sampler run (a fixture's sampler case): the
// sampler runs against a stand-in model that returns the recorded outputs in
// order, with the recorded noise, so its arithmetic can be checked alone.
type ReplayInput struct {
	Sampler string    // sampler ID, name or fixture name ("euler_ancestral", "diffusers_ddim")
	Sigmas  []float64 // the schedule (for dpm_fast/dpm_adaptive: [sigma_max, sigma_min]; for diffusers cases TimestepSigmas of the case's timesteps)
	Options Options   // see FixtureOptions
	X       []float32 // starting latent: x_T (VP latent for timestep samplers)
	// Outputs are the recorded model outputs in call order: denoised
	// predictions for k-diffusion samplers, noise predictions (eps) for the
	// timestep samplers.
	Outputs [][]float32
	Noise   [][]float32 // recorded noise draws in call order
}

// ReplayResult is what the sampler did with the recorded model.
type ReplayResult struct {
	X          []float32    // final latent
	Inputs     [][]float32  // the latent handed to the model at each call (VP for timestep samplers)
	Sigmas     []float64    // the sigma of each call
	NoiseCalls [][2]float64 // (sigma, sigmaNext) of each noise draw
	Stats      Stats
}

// Replay runs a sampler against recorded model outputs and noise.
func Replay(in ReplayInput) (ReplayResult, error) {
	smp, ok := Lookup(in.Sampler)
	if !ok {
		return ReplayResult{}, fmt.Errorf("sample: replay: unknown sampler %q", in.Sampler)
	}
	calls := 0
	recorded := func(x []float32, sigma float64) ([]float32, error) {
		i := calls
		calls++
		if i >= len(in.Outputs) {
			return nil, fmt.Errorf("replay: model call %d, only %d recorded", i+1, len(in.Outputs))
		}
		out := in.Outputs[i]
		if len(out) != len(x) {
			return nil, fmt.Errorf("replay: call %d: recorded %d values, latent %d", i+1, len(out), len(x))
		}
		if !smp.Timesteps {
			return clone(out), nil
		}
		// The timestep samplers read eps back as (x_ve - D) / sigma.
		den := make([]float32, len(x))
		for j := range x {
			den[j] = float32(float64(x[j]) - sigma*float64(out[j]))
		}
		return den, nil
	}
	return ReplayWith(in, recorded)
}

// ReplayWith runs the sampler of in with the model d instead of the recorded
// outputs (the end-to-end check), still replaying the recorded noise and
// recording what the model was handed.
func ReplayWith(in ReplayInput, d Denoiser) (ReplayResult, error) {
	smp, ok := Lookup(in.Sampler)
	if !ok {
		return ReplayResult{}, fmt.Errorf("sample: replay: unknown sampler %q", in.Sampler)
	}
	var res ReplayResult
	rec := func(x []float32, sigma float64) ([]float32, error) {
		res.Sigmas = append(res.Sigmas, sigma)
		if smp.Timesteps { // report the VP latent, x_ve / sqrt(1+sigma^2)
			s := math.Sqrt(1 + sigma*sigma)
			vp := make([]float32, len(x))
			for j := range x {
				vp[j] = float32(float64(x[j]) / s)
			}
			res.Inputs = append(res.Inputs, vp)
		} else {
			res.Inputs = append(res.Inputs, clone(x))
		}
		return d(x, sigma)
	}
	noise := &ReplayNoise{Draws: in.Noise}
	opt := in.Options
	opt.Stats = &res.Stats
	x, err := smp.Func(rec, in.X, in.Sigmas, opt, noise, nil)
	if err != nil {
		return ReplayResult{}, err
	}
	res.X = x
	res.NoiseCalls = noise.Calls
	if res.Stats.NFE == 0 {
		res.Stats.NFE = len(res.Inputs)
	}
	return res, nil
}
