package pipeline

import (
	"fmt"
	"os"

	"sdgo/internal/model"
	"sdgo/internal/sample"
)

// DeviceSteps turns the device sampling loop on (see sampleOnDevice); the
// environment variable SDGO_DEVICE_STEPS=0 turns it off, which gives the
// host loop's timings for comparison.
var DeviceSteps = os.Getenv("SDGO_DEVICE_STEPS") != "0"

// StepFunc is one CFG UNet call with a linear sampler update, latents kept
// on the device (*model.Model's RunGuidedStep).
type StepFunc func(x, prev *model.Latents, noise []float32, g model.Guidance, c model.StepCoefficients, t []float32, context []float32, ctxShape []int, y []float32) (next, den *model.Latents, err error)

var _ StepFunc = (*model.Model)(nil).RunGuidedStep

// deviceStep is a step already queued on the device whose callback has not
// run yet: its input latents and its prediction.
type deviceStep struct {
	i      int
	sigma  float64
	x, den *model.Latents
}

// sampleOnDevice runs a linear sampler's steps (sample.LinearSteps) with the
// latents on the device: each step is one d.Step call (the CFG UNet and the
// update together), queued while the previous one still runs, so the GPU
// never waits for the host between steps. A step the device call cannot
// serve (no CFG, AND parts, cond and uncond of other lengths: see
// Denoiser.guided) goes through d.Denoise on the host. Noise is drawn on the
// host in the sampler's order. It returns the final latents.
//
// want, asked as each step is queued, says whether that step's callback
// gets its latents (nil: no step's does). Such a callback runs once the
// next step is queued: copying the latents to the host waits for every
// execution queued before the copy, so the device runs the next step
// meanwhile but idles once the host is late. Other steps copy nothing
// back: their callback (progress, cancellation) runs as soon as the step
// is queued, with X and Denoised nil, and the steps queue back to back.
func sampleOnDevice(d *Denoiser, steps []sample.LinearStep, x0 []float32, opt sample.Options, noise sample.Noise, cb sample.Callback, want func() bool) (out []float32, err error) {
	n := len(x0) / (d.LatentC * d.H * d.W)
	shape := []int{n, d.LatentC, d.H, d.W}
	x, err := model.NewLatents(x0, shape)
	if err != nil {
		return nil, fmt.Errorf("pipeline: sample: %w", err)
	}
	var prev *model.Latents
	var pending *deviceStep
	defer func() {
		x.Free()
		prev.Free()
		if pending != nil {
			pending.x.Free()
		}
	}()
	report := func(s *deviceStep) error {
		defer s.x.Free()
		// The next step is queued already: the device runs it while these
		// copies wait for this one.
		den, err := s.den.Float32s()
		if err != nil {
			return fmt.Errorf("pipeline: sample: step %d: %w", s.i, err)
		}
		x, err := s.x.Float32s()
		if err != nil {
			return fmt.Errorf("pipeline: sample: step %d: %w", s.i, err)
		}
		if err := cb(sample.Step{Index: s.i, Total: len(steps), Sigma: s.sigma, SigmaHat: s.sigma, X: x, Denoised: den}); err != nil {
			return fmt.Errorf("pipeline: sample: stopped at step %d: %w", s.i, err)
		}
		return nil
	}
	// flush runs the callback of the step still pending.
	flush := func() error {
		if pending == nil {
			return nil
		}
		p := pending
		pending = nil
		return report(p)
	}
	for i, st := range steps {
		var z []float32
		if st.Draw {
			if noise == nil {
				return nil, fmt.Errorf("pipeline: sample: %w", sample.ErrNoNoise)
			}
			if z, err = noise.Next(st.NoiseFrom, st.NoiseTo); err != nil {
				return nil, fmt.Errorf("pipeline: sample: noise: %w", err)
			}
		}
		if st.N == 0 {
			z = nil
		}
		c := model.StepCoefficients{X: st.X, D: st.D, P: st.P, N: st.N}
		step := d.Calls
		gc, ok, err := d.guided(step, st.Sigma)
		if err != nil {
			return nil, err
		}
		var next, den *model.Latents
		if ok {
			d.Calls++
			p := prev
			if c.P == 0 {
				p = nil
			}
			next, den, err = d.Step(x, p, z, gc.g, c, gc.t, gc.bc.ctx, gc.ctxShape(), gc.bc.y)
		} else {
			next, den, err = hostStep(d, x, prev, z, st)
		}
		if err != nil {
			return nil, fmt.Errorf("pipeline: sample: step %d: %w", i, err)
		}
		if err := flush(); err != nil {
			next.Free()
			den.Free()
			return nil, err
		}
		// The previous prediction is no longer needed once this step is
		// queued; x stays for this step's callback if it copies latents.
		prev.Free()
		latents := cb != nil && want != nil && want()
		if latents {
			pending = &deviceStep{i: i, sigma: st.Sigma, x: x, den: den}
		} else {
			x.Free()
		}
		prev, x = den, next
		if !latents && cb != nil {
			if err := cb(sample.Step{Index: i, Total: len(steps), Sigma: st.Sigma, SigmaHat: st.Sigma}); err != nil {
				return nil, fmt.Errorf("pipeline: sample: stopped at step %d: %w", i, err)
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if opt.Stats != nil {
		opt.Stats.NFE = len(steps)
	}
	if out, err = x.Float32s(); err != nil {
		return nil, fmt.Errorf("pipeline: sample: %w", err)
	}
	return out, nil
}

// hostStep is one step through d.Denoise and the update on the host, for
// a step the device call cannot serve.
func hostStep(d *Denoiser, x, prev *model.Latents, z []float32, st sample.LinearStep) (next, den *model.Latents, err error) {
	xv, err := x.Float32s()
	if err != nil {
		return nil, nil, err
	}
	dv, err := d.Denoise(xv, st.Sigma)
	if err != nil {
		return nil, nil, err
	}
	var pv []float32
	if st.P != 0 {
		if pv, err = prev.Float32s(); err != nil {
			return nil, nil, err
		}
	}
	st.Apply(xv, dv, pv, z) // xv is our own copy
	if next, err = model.NewLatents(xv, x.Shape()); err != nil {
		return nil, nil, err
	}
	if den, err = model.NewLatents(dv, x.Shape()); err != nil {
		return nil, nil, err
	}
	return next, den, nil
}
