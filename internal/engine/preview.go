package engine

import (
	"image"
	"image/color"
	"sync"
	"sync/atomic"
)

// latentRGB maps SD's 4 latent channels to RGB in [-1, 1]: a linear fit of
// the SD1 VAE decoder at 1/8 resolution (the "cheap approximation" webui
// offers for live previews). It is only a preview; other families get the
// same rough colours.
var latentRGB = [4][3]float32{
	{0.298, 0.207, 0.208},
	{0.187, 0.286, 0.173},
	{-0.158, 0.189, 0.264},
	{-0.184, -0.271, -0.473},
}

// latentPreview keeps the latest denoised latent of the first image of the
// batch being sampled.
type latentPreview struct {
	mu      sync.Mutex
	data    []float32 // [C, H, W]
	c, h, w int
	// wanted is set when the preview is rendered and cleared when new
	// latents are stored: the sampler copies a step's latents off the GPU
	// only once someone has looked at the last preview
	// (pipeline.Job.WantLatents), not at every step.
	wanted atomic.Bool
}

// set copies the first image's [c, h, w] latent out of x.
func (p *latentPreview) set(x []float32, c, h, w int) {
	n := c * h * w
	if n == 0 || len(x) < n {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cap(p.data) < n {
		p.data = make([]float32, n)
	}
	p.data = p.data[:n]
	copy(p.data, x[:n])
	p.c, p.h, p.w = c, h, w
	p.wanted.Store(false)
}

// render returns the preview at latent resolution, or nil, and asks for
// newer latents.
func (p *latentPreview) render() *image.NRGBA {
	p.wanted.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.data == nil || p.c < 4 {
		return nil
	}
	img := image.NewNRGBA(image.Rect(0, 0, p.w, p.h))
	plane := p.h * p.w
	for i := 0; i < plane; i++ {
		var rgb [3]float32
		for ch := 0; ch < 4; ch++ {
			v := p.data[ch*plane+i]
			for k := 0; k < 3; k++ {
				rgb[k] += v * latentRGB[ch][k]
			}
		}
		img.SetNRGBA(i%p.w, i/p.w, color.NRGBA{to8(rgb[0]), to8(rgb[1]), to8(rgb[2]), 255})
	}
	return img
}

func to8(v float32) uint8 {
	v = (v + 1) * 127.5
	switch {
	case v <= 0 || v != v:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v)
}
