package sample

import (
	"fmt"
)

// GeneratorNoise serves a sampler's noise from one Generator per image of
// the batch (webui's ImageRNG): each call draws PerImage values from every
// generator in turn and concatenates them, so a batch gets the same noise as
// the same images run one by one. It ignores the sigmas, like
// torch.randn_like.
type GeneratorNoise struct {
	Gens     []Generator
	PerImage int
}

// Next draws the next noise tensor for the whole batch.
func (g *GeneratorNoise) Next(_, _ float64) ([]float32, error) {
	if len(g.Gens) == 0 || g.PerImage <= 0 {
		return nil, fmt.Errorf("sample: generator noise: %d generators, %d values per image", len(g.Gens), g.PerImage)
	}
	out := make([]float32, 0, len(g.Gens)*g.PerImage)
	for _, gen := range g.Gens {
		out = append(out, gen.Randn(g.PerImage)...)
	}
	return out, nil
}

// ReplayNoise hands out recorded noise tensors in order and records the
// (sigma, sigmaNext) of every call.
type ReplayNoise struct {
	Draws [][]float32
	Calls [][2]float64
}

// Next returns the next recorded tensor, or an error when all are used.
func (r *ReplayNoise) Next(sigma, sigmaNext float64) ([]float32, error) {
	i := len(r.Calls)
	r.Calls = append(r.Calls, [2]float64{sigma, sigmaNext})
	if i >= len(r.Draws) {
		return nil, fmt.Errorf("sample: replay noise: call %d, only %d recorded", i+1, len(r.Draws))
	}
	return r.Draws[i], nil
}
