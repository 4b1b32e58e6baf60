package sample

import (
	"fmt"
	"math"
	"strings"
	"sync"
)

// Source is webui's "Random number generator source" (randn_source).
type Source int

const (
	// SourceGPU is webui's default: torch's CUDA generator. sdgo reproduces
	// it with Philox on any device (see Philox), so it equals SourceNV.
	SourceGPU Source = iota
	// SourceCPU is torch's CPU generator (bit-exact, TorchCPU).
	SourceCPU
	// SourceNV is webui's numpy Philox imitation of the CUDA generator.
	SourceNV
)

// ParseSource reads "GPU", "CPU" or "NV" (case-insensitive).
func ParseSource(s string) (Source, error) {
	switch strings.ToUpper(s) {
	case "GPU", "":
		return SourceGPU, nil
	case "CPU":
		return SourceCPU, nil
	case "NV":
		return SourceNV, nil
	}
	return 0, fmt.Errorf("sample: unknown RNG source %q (GPU, CPU or NV)", s)
}

// NewGenerator returns a generator seeded like webui's create_generator.
func NewGenerator(src Source, seed int64) Generator {
	if src == SourceCPU {
		return NewTorchCPU(uint64(seed))
	}
	return NewPhilox(uint64(seed))
}

// SeedParams are webui's per-job seed settings for one batch.
type SeedParams struct {
	Source   Source
	Seeds    []int64 // one per image (webui: seed + index)
	Subseeds []int64 // variation seeds, one per image (missing ones count as 0)
	// SubseedStrength mixes in the variation noise (0 = off).
	SubseedStrength float64
	// ResizeFromW, ResizeFromH ("Resize seed from", pixels; 0 = off): the
	// seed's noise is made at that size and pasted centred.
	ResizeFromW, ResizeFromH int
	// ENSD is the eta noise seed delta: after the initial noise every
	// image's generator is re-seeded with seed + ENSD.
	ENSD int64
}

// ImageRNG is webui's ImageRNG: one generator per image, so a batch gives
// the same noise as single runs. Its first Next is the initial noise (with
// variation seed and seed resize applied); later calls are the samplers'
// noise. It implements Noise.
type ImageRNG struct {
	p     SeedParams
	shape [3]int // C, H, W of one latent
	gens  []Generator
	draws int // Next calls so far
}

// NewImageRNG makes the noise stream of a batch of latents of shape
// (C, H, W).
func NewImageRNG(shape [3]int, p SeedParams) (*ImageRNG, error) {
	if len(p.Seeds) == 0 {
		return nil, fmt.Errorf("sample: image rng: no seeds")
	}
	if shape[0] <= 0 || shape[1] <= 0 || shape[2] <= 0 {
		return nil, fmt.Errorf("sample: image rng: bad latent shape %v", shape)
	}
	r := &ImageRNG{p: p, shape: shape}
	for _, s := range p.Seeds {
		r.gens = append(r.gens, NewGenerator(p.Source, s))
	}
	return r, nil
}

// Next returns the next noise tensor for the whole batch.
func (r *ImageRNG) Next(_, _ float64) ([]float32, error) {
	r.draws++
	if r.draws == 1 {
		return r.first(), nil
	}
	n := r.shape[0] * r.shape[1] * r.shape[2]
	draw := func(i int) []float32 { return r.gens[i].Randn(n) }
	if r.draws == 2 {
		// The first step's noise: the first step waits for it as for the
		// initial noise (see firstChunk).
		draw = func(i int) []float32 { return firstRandn(r.gens[i], n) }
	}
	return perImage(len(r.gens), n, draw), nil
}

// perImage returns the n values draw(i) gives for each of count images,
// one after another; the images are drawn in parallel (each has its own
// generator, so the values do not depend on the order).
func perImage(count, n int, draw func(i int) []float32) []float32 {
	out := make([]float32, count*n)
	var wg sync.WaitGroup
	for i := 0; i < count; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			copy(out[i*n:(i+1)*n], draw(i))
		}()
	}
	wg.Wait()
	return out
}

// firstChunk is how many values of a job's first two noise tensors (the
// initial noise and the first step's) one goroutine draws where the
// generator allows it (Philox): the first step waits for both, about 2 ms
// each for a 512x512 latent on one core.
const firstChunk = 4096

// firstRandn draws n values from g, on several cores where g can.
func firstRandn(g Generator, n int) []float32 {
	if p, ok := g.(*Philox); ok {
		return p.RandnChunks(n, firstChunk)
	}
	return g.Randn(n)
}

func (r *ImageRNG) first() []float32 {
	p := r.p
	c, h, w := r.shape[0], r.shape[1], r.shape[2]
	nh, nw := h, w
	resized := p.ResizeFromW > 0 && p.ResizeFromH > 0
	if resized {
		nh, nw = p.ResizeFromH/8, p.ResizeFromW/8
	}
	out := perImage(len(p.Seeds), c*h*w, func(i int) []float32 {
		seed := p.Seeds[i]
		var sub []float32
		if p.Subseeds != nil && p.SubseedStrength != 0 {
			var ss int64
			if i < len(p.Subseeds) {
				ss = p.Subseeds[i]
			}
			sub = NewGenerator(p.Source, ss).Randn(c * nh * nw)
		}
		var noise []float32
		if resized && (nh != h || nw != w) {
			noise = NewGenerator(p.Source, seed).Randn(c * nh * nw)
		} else {
			noise = firstRandn(r.gens[i], c*h*w)
		}
		if sub != nil {
			noise = Slerp(p.SubseedStrength, noise, sub, c, nh, nw)
		}
		if resized && (nh != h || nw != w) {
			full := r.gens[i].Randn(c * h * w)
			pasteCentered(full, noise, c, h, w, nh, nw)
			noise = full
		}
		return noise
	})
	if p.ENSD != 0 {
		for i, seed := range p.Seeds {
			r.gens[i] = NewGenerator(p.Source, seed+p.ENSD)
		}
	}
	return out
}

// pasteCentered copies the centre of src (c, sh, sw) into the centre of dst
// (c, h, w), cropping whichever is larger, as webui's seed resize does.
func pasteCentered(dst, src []float32, c, h, w, sh, sw int) {
	dx, dy := (w-sw)/2, (h-sh)/2
	cw, ch := sw, sh
	if dx < 0 {
		cw = sw + 2*dx
	}
	if dy < 0 {
		ch = sh + 2*dy
	}
	tx, ty := max(dx, 0), max(dy, 0)
	sx, sy := max(-dx, 0), max(-dy, 0)
	for k := 0; k < c; k++ {
		for y := 0; y < ch; y++ {
			copy(dst[k*h*w+(ty+y)*w+tx:][:cw], src[k*sh*sw+(sy+y)*sw+sx:][:cw])
		}
	}
}

// Slerp is webui's variation-seed blend of two (c, h, w) noises: every
// (channel, column) vector along the height gets its own spherical
// interpolation, t of the way from a to b. When the mean cosine over those
// vectors exceeds 0.9995 it falls back to a*t + b*(1-t) - webui's reversed
// lerp weights, kept on purpose.
func Slerp(t float64, a, b []float32, c, h, w int) []float32 {
	out := make([]float32, len(a))
	cols := c * w
	dots := make([]float64, cols)
	mean := 0.0
	for k := 0; k < c; k++ {
		for x := 0; x < w; x++ {
			var na, nb, ab float64
			for y := 0; y < h; y++ {
				i := k*h*w + y*w + x
				na += float64(a[i]) * float64(a[i])
				nb += float64(b[i]) * float64(b[i])
				ab += float64(a[i]) * float64(b[i])
			}
			d := ab / math.Sqrt(na*nb)
			dots[k*w+x] = d
			mean += d
		}
	}
	if mean/float64(cols) > 0.9995 {
		for i := range out {
			out[i] = float32(float64(a[i])*t + float64(b[i])*(1-t))
		}
		return out
	}
	for k := 0; k < c; k++ {
		for x := 0; x < w; x++ {
			om := math.Acos(dots[k*w+x])
			so := math.Sin(om)
			ka, kb := math.Sin((1-t)*om)/so, math.Sin(t*om)/so
			for y := 0; y < h; y++ {
				i := k*h*w + y*w + x
				out[i] = float32(ka*float64(a[i]) + kb*float64(b[i]))
			}
		}
	}
	return out
}
