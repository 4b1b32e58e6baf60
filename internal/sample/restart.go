package sample

import (
	"math"
)

// Restart is webui's restart_sampler (Xu et al. 2023, "Restart Sampling for
// Improving Generative Processes"): Heun steps down the schedule, and at
// sigma ~0.1 the latent is pushed back up to sigma ~2 with fresh noise and
// re-solved, once for 20-35 steps and twice from 36 steps. With fewer than
// 20 steps it is plain Heun. The schedule is rebuilt as Karras over the
// remaining steps, as webui does.
func Restart(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun("restart", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	steps := len(sigmas) - 1
	var restartAt float64
	var restartSteps, restartTimes int
	if steps >= 20 {
		restartSteps, restartTimes = 9, 1
		if steps >= 36 {
			restartSteps, restartTimes = steps/4, 2
		}
		sigmas = Karras(steps-restartSteps*restartTimes, ScheduleParams{
			SigmaMin: sigmas[len(sigmas)-2], SigmaMax: sigmas[0]})
		restartAt = 0.1
		restartSteps++ // webui passes restart_steps + 1 sigmas to Karras
	}
	type pair struct{ from, to float64 }
	var plan []pair
	minIdx := -1
	if restartTimes > 0 {
		minIdx = nearest(sigmas, restartAt)
	}
	for i := 0; i+1 < len(sigmas); i++ {
		plan = append(plan, pair{sigmas[i], sigmas[i+1]})
		if i+1 != minIdx {
			continue
		}
		maxIdx := nearest(sigmas, 2)
		if maxIdx >= minIdx {
			continue
		}
		ks := Karras(restartSteps, ScheduleParams{SigmaMin: sigmas[minIdx], SigmaMax: sigmas[maxIdx]})
		ks = ks[:len(ks)-1]
		for k := 0; k < restartTimes; k++ {
			for j := 0; j+1 < len(ks); j++ {
				plan = append(plan, pair{ks[j], ks[j+1]})
			}
		}
	}
	r.total = len(plan)
	x = clone(x)
	x2 := make([]float32, len(x))
	last := math.NaN()
	for i, p := range plan {
		if !math.IsNaN(last) && last < p.from {
			if err := r.addNoise(x, math.Sqrt(p.from*p.from-last*last), last, p.from); err != nil {
				return nil, err
			}
		}
		if err := r.heunStep(i, x, x2, p.from, p.to); err != nil {
			return nil, err
		}
		last = p.to
	}
	return r.done(x)
}

// nearest is the index of the value closest to v (argmin |s - v|).
func nearest(s []float64, v float64) int {
	best := 0
	for i := range s {
		if math.Abs(s[i]-v) < math.Abs(s[best]-v) {
			best = i
		}
	}
	return best
}

// heunStep is restart's step: Heun from sigma to sigmaTo (Euler to 0).
func (r *run) heunStep(i int, x, x2 []float32, sigma, sigmaTo float64) error {
	den, err := r.model(x, sigma)
	if err != nil {
		return err
	}
	if err := r.step(i, sigmaTo, sigma, x, den); err != nil {
		return err
	}
	if sigmaTo == 0 {
		eulerTo(x, den, sigma, 0)
		return nil
	}
	dt := sigmaTo - sigma
	for j := range x {
		x2[j] = float32(float64(x[j]) + (float64(x[j])-float64(den[j]))/sigma*dt)
	}
	den2, err := r.model(x2, sigmaTo)
	if err != nil {
		return err
	}
	for j := range x {
		d1 := (float64(x[j]) - float64(den[j])) / sigma
		d2 := (float64(x2[j]) - float64(den2[j])) / sigmaTo
		x[j] = float32(float64(x[j]) + (d1+d2)/2*dt)
	}
	return nil
}

// LCM is webui's sample_lcm (Latent Consistency Models, Luo et al. 2023):
// each step jumps to the model's prediction and re-noises it to the next
// sigma. It expects an LCM model, whose Denoiser applies the LCM boundary
// scalings (webui LCMCompVisDenoiser); its Automatic schedule is
// LCMSchedule.
func LCM(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun("lcm", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	x = clone(x)
	for i := 0; i+1 < len(sigmas); i++ {
		den, err := r.model(x, sigmas[i])
		if err != nil {
			return nil, err
		}
		if err := r.step(i, sigmas[i], sigmas[i], x, den); err != nil {
			return nil, err
		}
		copy(x, den)
		if sigmas[i+1] > 0 {
			z, err := r.draw(len(x), sigmas[i], sigmas[i+1])
			if err != nil {
				return nil, err
			}
			for j := range x {
				x[j] = float32(float64(x[j]) + sigmas[i+1]*float64(z[j]))
			}
		}
	}
	return r.done(x)
}
