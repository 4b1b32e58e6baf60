package sample

import (
	"math"
)

// Discrete noise schedule of the SD1/SD2/SDXL models (LDM "scaled linear").
const (
	TrainSteps = 1000    // number of discrete training timesteps
	BetaStart  = 0.00085 // first beta of the scaled-linear schedule
	BetaEnd    = 0.012   // last beta
)

// DefaultAlphasCumprod returns the alphas_cumprod buffer SD checkpoints carry:
// betas = linspace(sqrt(BetaStart), sqrt(BetaEnd), 1000)^2 and
// alphas_cumprod = cumprod(1 - betas), both in float64 (torch.linspace then
// numpy), rounded to float32 at the end.
func DefaultAlphasCumprod() []float32 {
	const n = TrainSteps
	start, end := math.Sqrt(BetaStart), math.Sqrt(BetaEnd)
	step := (end - start) / (n - 1)
	out := make([]float32, n)
	prod := 1.0
	for i := 0; i < n; i++ {
		// torch.linspace fills the first half from start, the second from end.
		var b float64
		if i < n/2 {
			b = start + step*float64(i)
		} else {
			b = end - step*float64(n-1-i)
		}
		prod *= 1 - b*b
		out[i] = float32(prod)
	}
	return out
}

// ModelSigmas converts alphas_cumprod to the model's discrete sigma table
// (ascending, index = timestep): sigma = sqrt((1 - ac) / ac), computed in
// float32 from the float32 values as k-diffusion's DiscreteSchedule does.
func ModelSigmas(alphasCumprod []float32) []float32 {
	out := make([]float32, len(alphasCumprod))
	for i, ac := range alphasCumprod {
		out[i] = sqrt32((1 - ac) / ac)
	}
	return out
}

// Table is a model's discrete sigma table with the log values k-diffusion
// interpolates in (DiscreteSchedule). All arithmetic is float32, as torch does
// it.
type Table struct {
	Sigmas    []float32 // ascending, index = timestep
	LogSigmas []float32
}

// NewTable builds a Table from the model's sigmas (see ModelSigmas).
func NewTable(sigmas []float32) *Table {
	t := &Table{Sigmas: sigmas, LogSigmas: make([]float32, len(sigmas))}
	for i, s := range sigmas {
		t.LogSigmas[i] = log32(s)
	}
	return t
}

// DefaultTable is the table of DefaultAlphasCumprod.
func DefaultTable() *Table { return NewTable(ModelSigmas(DefaultAlphasCumprod())) }

// SigmaMin is the smallest sigma of the table (timestep 0).
func (t *Table) SigmaMin() float64 { return float64(t.Sigmas[0]) }

// SigmaMax is the largest sigma of the table (the last timestep).
func (t *Table) SigmaMax() float64 { return float64(t.Sigmas[len(t.Sigmas)-1]) }

// SigmaToT maps a sigma to a continuous timestep by linear interpolation of
// log sigma between neighbouring table entries (k-diffusion sigma_to_t,
// not quantised), clamped to [0, len-1].
func (t *Table) SigmaToT(sigma float64) float64 {
	ls := log32(float32(sigma))
	n := len(t.LogSigmas)
	// low = last index whose log sigma is <= ls, clamped to n-2.
	low := 0
	for i, v := range t.LogSigmas {
		if ls-v >= 0 {
			low = i
		}
	}
	if low > n-2 {
		low = n - 2
	}
	lo, hi := t.LogSigmas[low], t.LogSigmas[low+1]
	w := (lo - ls) / (lo - hi)
	w = min(max(w, 0), 1)
	return float64((1-w)*float32(low) + w*float32(low+1))
}

// TToSigma maps a continuous timestep to sigma (k-diffusion t_to_sigma):
// log sigma interpolated linearly between floor(t) and ceil(t).
func (t *Table) TToSigma(ts float64) float64 {
	tf := float32(ts)
	lo := math.Floor(float64(tf))
	hi := math.Ceil(float64(tf))
	w := tf - float32(math.Trunc(float64(tf)))
	l := mul32(1-w, t.LogSigmas[int(lo)]) + mul32(w, t.LogSigmas[int(hi)])
	return float64(exp32(l))
}

// linspace32 is torch.linspace in float32: step = (end-start)/(n-1), the
// first half counted from start, the second half from end.
func linspace32(start, end float32, n int) []float32 {
	out := make([]float32, n)
	if n == 1 {
		out[0] = start
		return out
	}
	step := (end - start) / float32(n-1)
	for i := range out {
		if i < n/2 {
			out[i] = fma32(step, float32(i), start)
		} else {
			out[i] = fma32(-step, float32(n-1-i), end)
		}
	}
	return out
}

// linspace64 is numpy.linspace / torch.linspace in float64.
func linspace64(start, end float64, n int) []float64 {
	out := make([]float64, n)
	if n == 1 {
		out[0] = start
		return out
	}
	step := (end - start) / float64(n-1)
	for i := range out {
		if i < n/2 {
			out[i] = start + step*float64(i)
		} else {
			out[i] = end - step*float64(n-1-i)
		}
	}
	return out
}

func log32(x float32) float32 { return float32(math.Log(float64(x))) }
func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }
func pow32(x, y float32) float32 {
	return float32(math.Pow(float64(x), float64(y)))
}

// f32 rounds to float32 precision.
func f32(x float64) float64 { return float64(float32(x)) }
