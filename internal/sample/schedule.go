package sample

import (
	"fmt"
	"math"
	"strings"
)

// ScheduleParams are the inputs of a schedule besides the step count.
// Zero values mean "the default": the model's sigma range, the scheduler's
// own rho, Beta's alpha = beta = 0.6.
type ScheduleParams struct {
	Table    *Table  // the model's discrete sigmas; nil = DefaultTable()
	SigmaMin float64 // override of the model's smallest sigma (webui "Schedule min sigma")
	SigmaMax float64 // override of the model's largest sigma ("Schedule max sigma")
	Rho      float64 // override of Karras (7) / Polyexponential (1) rho ("Schedule rho")
	SDXL     bool    // Align Your Steps: use the SDXL list instead of SD1.5's
	// BetaAlpha and BetaBeta are the Beta schedule's distribution
	// parameters (webui options beta_dist_alpha, beta_dist_beta).
	BetaAlpha, BetaBeta float64
}

func (p ScheduleParams) table() *Table {
	if p.Table == nil {
		return DefaultTable()
	}
	return p.Table
}

func (p ScheduleParams) sigmaRange() (smin, smax float64) {
	smin, smax = p.SigmaMin, p.SigmaMax
	if smin == 0 || smax == 0 {
		t := p.table()
		if smin == 0 {
			smin = t.SigmaMin()
		}
		if smax == 0 {
			smax = t.SigmaMax()
		}
	}
	return smin, smax
}

func (p ScheduleParams) rho(def float64) float64 {
	if p.Rho != 0 {
		return p.Rho
	}
	return def
}

// Scheduler is one entry of the schedule table: an ID, webui's label, and the
// function that makes n steps' sigmas (usually n+1 values ending in 0).
type Scheduler struct {
	ID      string   // "karras"
	Name    string   // webui label, "Karras"
	Aliases []string // other accepted spellings
	// DefaultRho is the rho the schedule uses when none is set; 0 when the
	// schedule has no rho.
	DefaultRho float64
	Func       func(n int, p ScheduleParams) []float64
}

// Schedulers lists webui's schedulers in its order. Automatic has no Func:
// it stands for the sampler's default (see SigmasFor).
var Schedulers = []Scheduler{
	{ID: "automatic", Name: "Automatic"},
	{ID: "uniform", Name: "Uniform", Func: Uniform},
	{ID: "karras", Name: "Karras", DefaultRho: 7, Func: Karras},
	{ID: "exponential", Name: "Exponential", Func: Exponential},
	{ID: "polyexponential", Name: "Polyexponential", DefaultRho: 1, Func: Polyexponential},
	{ID: "sgm_uniform", Name: "SGM Uniform", Aliases: []string{"SGMUniform"}, Func: SGMUniform},
	{ID: "kl_optimal", Name: "KL Optimal", Func: KLOptimal},
	{ID: "align_your_steps", Name: "Align Your Steps", Func: AlignYourSteps},
	{ID: "simple", Name: "Simple", Func: Simple},
	{ID: "normal", Name: "Normal", Func: Normal},
	{ID: "ddim", Name: "DDIM", Func: DDIMUniform},
	{ID: "beta", Name: "Beta", Func: Beta},
}

// LookupScheduler finds a scheduler by ID, label or alias (case-insensitive).
func LookupScheduler(name string) (Scheduler, bool) {
	for _, s := range Schedulers {
		if strings.EqualFold(name, s.ID) || strings.EqualFold(name, s.Name) {
			return s, true
		}
		for _, a := range s.Aliases {
			if strings.EqualFold(name, a) {
				return s, true
			}
		}
	}
	return Scheduler{}, false
}

// Schedule computes the sigmas of a named scheduler (not "automatic").
func Schedule(name string, n int, p ScheduleParams) ([]float64, error) {
	s, ok := LookupScheduler(name)
	if !ok {
		return nil, fmt.Errorf("sample: schedule: unknown scheduler %q (known: %s)", name, schedulerIDs())
	}
	if s.Func == nil {
		return nil, fmt.Errorf("sample: schedule: %q means the sampler's default; use SigmasFor", name)
	}
	if n < 1 {
		return nil, fmt.Errorf("sample: schedule: %s: steps must be >= 1, got %d", s.ID, n)
	}
	return s.Func(n, p), nil
}

func schedulerIDs() string {
	ids := make([]string, len(Schedulers))
	for i, s := range Schedulers {
		ids[i] = s.ID
	}
	return strings.Join(ids, ", ")
}

// appendZero widens float32 sigmas to float64 and appends the final 0.
func appendZero(s []float32) []float64 {
	out := make([]float64, len(s)+1)
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// Uniform is k-diffusion's DiscreteSchedule.get_sigmas(n) (webui "Uniform",
// the Automatic default): t = linspace(999, 0, n) in float32, sigma(t) by
// log-sigma interpolation, then 0.
func Uniform(n int, p ScheduleParams) []float64 {
	tab := p.table()
	ts := linspace32(float32(len(tab.Sigmas)-1), 0, n)
	s := make([]float32, n)
	for i, t := range ts {
		s[i] = float32(tab.TToSigma(float64(t)))
	}
	return appendZero(s)
}

// Karras is the schedule of Karras et al. 2022 (k-diffusion
// get_sigmas_karras): sigma_i = (max^(1/rho) + i/(n-1) (min^(1/rho) -
// max^(1/rho)))^rho, rho 7, then 0. Computed in float32 like torch.
func Karras(n int, p ScheduleParams) []float64 {
	smin, smax := p.sigmaRange()
	rho := p.rho(7)
	minInv := math.Pow(smin, 1/rho)
	maxInv := math.Pow(smax, 1/rho)
	ramp := linspace32(0, 1, n)
	s := make([]float32, n)
	for i, r := range ramp {
		s[i] = pow32(float32(maxInv)+mul32(r, float32(minInv-maxInv)), float32(rho))
	}
	return appendZero(s)
}

// Exponential is exp(linspace(ln max, ln min, n)) in float32, then 0
// (k-diffusion get_sigmas_exponential).
func Exponential(n int, p ScheduleParams) []float64 {
	smin, smax := p.sigmaRange()
	ls := linspace32(float32(math.Log(smax)), float32(math.Log(smin)), n)
	s := make([]float32, n)
	for i, v := range ls {
		s[i] = exp32(v)
	}
	return appendZero(s)
}

// Polyexponential is k-diffusion get_sigmas_polyexponential: r =
// linspace(1, 0, n)^rho, sigma = exp(r (ln max - ln min) + ln min), rho 1,
// then 0.
func Polyexponential(n int, p ScheduleParams) []float64 {
	smin, smax := p.sigmaRange()
	rho := float32(p.rho(1))
	lmin, lmax := math.Log(smin), math.Log(smax)
	ramp := linspace32(1, 0, n)
	s := make([]float32, n)
	for i, r := range ramp {
		s[i] = exp32(mul32(pow32(r, rho), float32(lmax-lmin)) + float32(lmin))
	}
	return appendZero(s)
}

// timeSpaced is webui's normal_scheduler: timesteps linspace(t(max), t(min))
// over n points, or n+1 points with the last dropped (sgm), mapped back to
// sigmas, then 0.
func timeSpaced(n int, p ScheduleParams, sgm bool) []float64 {
	tab := p.table()
	smin, smax := p.sigmaRange()
	start, end := float32(tab.SigmaToT(smax)), float32(tab.SigmaToT(smin))
	var ts []float32
	if sgm {
		ts = linspace32(start, end, n+1)[:n]
	} else {
		ts = linspace32(start, end, n)
	}
	s := make([]float32, len(ts))
	for i, t := range ts {
		s[i] = float32(tab.TToSigma(float64(t)))
	}
	return appendZero(s)
}

// SGMUniform is webui's sgm_uniform: n+1 timesteps evenly spaced between
// t(sigma_max) and t(sigma_min), the last dropped, then 0.
func SGMUniform(n int, p ScheduleParams) []float64 { return timeSpaced(n, p, true) }

// Normal is webui's normal_scheduler: n timesteps evenly spaced between
// t(sigma_max) and t(sigma_min), then 0.
func Normal(n int, p ScheduleParams) []float64 { return timeSpaced(n, p, false) }

// KLOptimal is webui's kl_optimal: sigma_i = tan((i/n) atan(min) +
// (1 - i/n) atan(max)) for i = 0..n. It has n+1 values and ends at
// sigma_min: there is no final 0.
func KLOptimal(n int, p ScheduleParams) []float64 {
	smin, smax := p.sigmaRange()
	amin := float32(math.Atan(float64(float32(smin))))
	amax := float32(math.Atan(float64(float32(smax))))
	out := make([]float64, n+1)
	for i := range out {
		f := float32(i) / float32(n)
		a := mul32(f, amin) + mul32(1-f, amax)
		out[i] = float64(float32(math.Tan(float64(a))))
	}
	return out
}

// Align Your Steps sigma lists (NVIDIA, 10 steps = 11 values).
var (
	aysSD15 = []float64{14.615, 6.475, 3.861, 2.697, 1.886, 1.396, 0.963, 0.652, 0.399, 0.152, 0.029}
	aysSDXL = []float64{14.615, 6.315, 3.771, 2.181, 1.342, 0.862, 0.555, 0.380, 0.234, 0.113, 0.029}
)

// AlignYourSteps is webui's get_align_your_steps_sigmas: the fixed
// 11-value list of the model family; for n != 11 the list is resampled to n
// values by linear interpolation of log sigma over linspace(0, 1), then 0.
// (webui compares n, the step count, with the list's length 11, so 11 steps
// use the list as is and 10 steps are resampled.)
func AlignYourSteps(n int, p ScheduleParams) []float64 {
	src := aysSD15
	if p.SDXL {
		src = aysSDXL
	}
	var vals []float64
	if n == len(src) {
		vals = src
	} else {
		m := len(src)
		xs := linspace64(0, 1, m)
		ys := make([]float64, m) // log sigma, ascending
		for i := range ys {
			ys[i] = math.Log(src[m-1-i])
		}
		nx := linspace64(0, 1, n)
		vals = make([]float64, n)
		for i, x := range nx {
			vals[n-1-i] = math.Exp(interp(x, xs, ys))
		}
	}
	out := make([]float64, len(vals)+1)
	for i, v := range vals {
		out[i] = f32(v)
	}
	return out
}

// interp is numpy.interp for ascending xs.
func interp(x float64, xs, ys []float64) float64 {
	if x <= xs[0] {
		return ys[0]
	}
	last := len(xs) - 1
	if x >= xs[last] {
		return ys[last]
	}
	j := 1
	for xs[j] < x {
		j++
	}
	if xs[j] == x {
		return ys[j]
	}
	slope := (ys[j] - ys[j-1]) / (xs[j] - xs[j-1])
	return slope*(x-xs[j-1]) + ys[j-1]
}

// Simple is webui's simple_scheduler: stride s = len/n over the table
// (float), sigma_x = table[len - 1 - int(x s)] for x = 0..n-1, then 0.
func Simple(n int, p ScheduleParams) []float64 {
	tab := p.table().Sigmas
	ss := float64(len(tab)) / float64(n)
	out := make([]float64, n+1)
	for x := 0; x < n; x++ {
		out[x] = float64(tab[len(tab)-1-int(float64(x)*ss)])
	}
	return out
}

// DDIMUniform is webui's ddim_scheduler: stride s = max(len/n, 1) (integer),
// table entries at 1, 1+s, 1+2s, ... below len, reversed, then 0. For some n
// this gives more than n steps (7 steps: stride 142, 8 entries), as in webui.
func DDIMUniform(n int, p ScheduleParams) []float64 {
	tab := p.table().Sigmas
	ss := max(len(tab)/n, 1)
	var idx []int
	for x := 1; x < len(tab); x += ss {
		idx = append(idx, x)
	}
	out := make([]float64, len(idx)+1)
	for i, x := range idx {
		out[len(idx)-1-i] = float64(tab[x])
	}
	return out
}

// Beta is webui's beta_scheduler ("Beta Sampling is All You Need", Lee et al.
// 2024) as webui implements it: x_i = BetaPPF(1 - i/(n-1); alpha, beta) and
// sigma_i = sigma_min + x_i (sigma_max - sigma_min), linear in sigma (ComfyUI
// maps through timesteps instead), then 0. alpha = beta = 0.6 by default.
func Beta(n int, p ScheduleParams) []float64 {
	smin, smax := p.sigmaRange()
	a, b := p.BetaAlpha, p.BetaBeta
	if a == 0 {
		a = 0.6
	}
	if b == 0 {
		b = 0.6
	}
	ts := linspace64(0, 1, n)
	out := make([]float64, n+1)
	for i, t := range ts {
		x := betaPPF(1-t, a, b)
		out[i] = f32(smin + x*(smax-smin))
	}
	return out
}

// LCMSchedule is the Automatic schedule of webui's LCM sampler
// (LCMCompVisDenoiser.get_sigmas): the model table is thinned to the 50
// original LCM timesteps 19, 39, ..., 999; n timesteps evenly spaced between
// 999 and 19 are mapped back into that table, then 0.
func LCMSchedule(n int, p ScheduleParams) []float64 {
	full := p.table().Sigmas
	const orig = 50
	skip := len(full) / orig
	valid := make([]float32, orig)
	for x := 0; x < orig; x++ {
		valid[orig-1-x] = full[len(full)-1-x*skip]
	}
	tab := NewTable(valid)
	start := float32((orig-1)*skip + skip - 1)
	end := float32(skip - 1)
	ts := linspace32(start, end, n)
	s := make([]float32, n)
	for i, t := range ts {
		u := (t - float32(skip-1)) / float32(skip)
		u = min(max(u, 0), orig-1)
		s[i] = float32(tab.TToSigma(float64(u)))
	}
	return appendZero(s)
}
