package upscale

import (
	"fmt"
	"math"
	"strings"
)

// LatentMode is one of webui's latent upscale modes: a torch
// interpolate mode and whether it antialiases.
type LatentMode struct {
	Name      string // webui's label, "Latent (nearest)"
	Interp    string // torch mode: "bilinear", "bicubic", "nearest", "nearest-exact"
	Antialias bool
}

// LatentModes are webui's latent upscale modes (shared.latent_upscale_modes),
// in its order.
var LatentModes = []LatentMode{
	{"Latent", "bilinear", false},
	{"Latent (antialiased)", "bilinear", true},
	{"Latent (bicubic)", "bicubic", false},
	{"Latent (bicubic antialiased)", "bicubic", true},
	{"Latent (nearest)", "nearest", false},
	{"Latent (nearest-exact)", "nearest-exact", false},
}

// LookupLatentMode finds a latent mode by webui label (case-insensitive).
func LookupLatentMode(name string) (LatentMode, bool) {
	for _, m := range LatentModes {
		if strings.EqualFold(m.Name, name) {
			return m, true
		}
	}
	return LatentMode{}, false
}

// taps says which inputs (idx) with which weights make each output of one
// axis.
type taps struct {
	idx [][]int
	w   [][]float64
}

// ResizeLatent resizes latents x [B, C, H, W] (shape) to [B, C, h, w] as
// torch.nn.functional.interpolate(x, size=(h, w), mode=m.Interp,
// align_corners=False, antialias=m.Antialias) does: the two axes are
// resampled one after the other (the same weights torch multiplies; sums
// may round differently in the last bit).
func ResizeLatent(x []float32, shape []int, h, w int, m LatentMode) ([]float32, error) {
	if len(shape) != 4 || shape[0]*shape[1]*shape[2]*shape[3] != len(x) {
		return nil, fmt.Errorf("upscale: resize latent: shape %v does not hold %d values", shape, len(x))
	}
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("upscale: resize latent: target %dx%d must be positive", w, h)
	}
	th, err := axisTaps(shape[2], h, m)
	if err != nil {
		return nil, err
	}
	tw, _ := axisTaps(shape[3], w, m)
	planes := shape[0] * shape[1]
	inH, inW := shape[2], shape[3]
	mid := make([]float64, planes*inH*w)
	for p := range planes {
		for y := range inH {
			row := x[(p*inH+y)*inW : (p*inH+y+1)*inW]
			for ox := range w {
				var s float64
				for j, i := range tw.idx[ox] {
					s += tw.w[ox][j] * float64(row[i])
				}
				mid[(p*inH+y)*w+ox] = s
			}
		}
	}
	out := make([]float32, planes*h*w)
	for p := range planes {
		for oy := range h {
			for ox := range w {
				var s float64
				for j, i := range th.idx[oy] {
					s += th.w[oy][j] * mid[(p*inH+i)*w+ox]
				}
				out[(p*h+oy)*w+ox] = float32(s)
			}
		}
	}
	return out, nil
}

// axisTaps are torch's weights for one axis of in -> out samples.
func axisTaps(in, out int, m LatentMode) (taps, error) {
	t := taps{idx: make([][]int, out), w: make([][]float64, out)}
	scale := float64(float32(in) / float32(out)) // torch: (float)in / out
	clampIdx := func(i int) int { return min(max(i, 0), in-1) }
	if m.Antialias {
		k := kernel{1, triangle}
		if m.Interp == "bicubic" {
			k = kernel{2, func(x float64) float64 { return cubic(x, -0.5) }}
		} else if m.Interp != "bilinear" {
			return t, fmt.Errorf("upscale: antialiasing needs bilinear or bicubic, not %q", m.Interp)
		}
		c := precompute(in, 0, float64(in), out, k)
		for o := range out {
			for j := range c.w[o] {
				t.idx[o] = append(t.idx[o], c.start[o]+j)
			}
			t.w[o] = c.w[o]
		}
		return t, nil
	}
	for o := range out {
		switch m.Interp {
		case "nearest", "nearest-exact":
			var src int
			switch {
			case in == out:
				src = o
			case m.Interp == "nearest" && out == 2*in:
				src = o >> 1
			case m.Interp == "nearest":
				src = int(math.Floor(float64(float32(o) * float32(scale))))
			default:
				src = int(math.Floor(float64((float32(o) + 0.5) * float32(scale))))
			}
			t.idx[o], t.w[o] = []int{min(src, in-1)}, []float64{1}
		case "bilinear":
			src := max(scale*(float64(o)+0.5)-0.5, 0)
			i0 := int(src)
			i1 := min(i0+1, in-1)
			l1 := src - float64(i0)
			t.idx[o], t.w[o] = []int{i0, i1}, []float64{1 - l1, l1}
		case "bicubic":
			src := scale*(float64(o)+0.5) - 0.5
			i := int(math.Floor(src))
			f := src - float64(i)
			for k := -1; k <= 2; k++ {
				t.idx[o] = append(t.idx[o], clampIdx(i+k))
				t.w[o] = append(t.w[o], cubic(f-float64(k), -0.75))
			}
		default:
			return t, fmt.Errorf("upscale: unknown interpolation %q (bilinear, bicubic, nearest, nearest-exact)", m.Interp)
		}
	}
	return t, nil
}
