package nn

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// conv2DIm2Col computes the same convolution as Conv2DPad by gathering the
// kh*kw shifted (and strided) views of the padded input along the channel
// axis and doing one matrix product with the kernel reshaped to
// [out, kh*kw*in] (w is [out, kh, kw, in]). GoMLX's pure-Go backend runs convolutions as a one-core
// loop but matrix products on every core, so this is several times faster
// there; XLA gets the native convolution instead.
func conv2DIm2Col(x, w *Node, stride int, pads [][2]int) *Node {
	wd := w.Shape().Dimensions
	out, kh, kw, in := wd[0], wd[1], wd[2], wd[3]
	if kh == 1 && kw == 1 && stride == 1 && pads[0] == [2]int{} && pads[1] == [2]int{} {
		return DotGeneral(x, []int{3}, nil, Reshape(w, out, in), []int{1}, nil)
	}
	zero := ScalarZero(x.Graph(), x.DType())
	xp := x
	if pads[0] != [2]int{} || pads[1] != [2]int{} {
		xp = padHW(x, zero, pads)
	}
	d := xp.Shape().Dimensions
	hp, wp := d[1], d[2]
	oh := (hp-kh)/stride + 1
	ow := (wp-kw)/stride + 1
	views := make([]*Node, 0, kh*kw)
	for ky := 0; ky < kh; ky++ {
		for kx := 0; kx < kw; kx++ {
			views = append(views, Slice(xp, AxisRange(),
				AxisRange(ky, ky+(oh-1)*stride+1).Stride(stride),
				AxisRange(kx, kx+(ow-1)*stride+1).Stride(stride),
				AxisRange()))
		}
	}
	cols := Concatenate(views, 3)     // [B, oh, ow, kh*kw*in], (ky, kx, in) order
	kmat := Reshape(w, out, kh*kw*in) // [out, kh, kw, in]: already (ky, kx, in) order
	return DotGeneral(cols, []int{3}, nil, kmat, []int{1}, nil)
}

// padHW zero-pads the two spatial axes of an NHWC tensor (by
// concatenation: the pure-Go backend has no Pad op).
func padHW(x, zero *Node, pads [][2]int) *Node {
	for i, p := range pads {
		axis := 1 + i
		parts := make([]*Node, 0, 3)
		for _, n := range []int{p[0], -1, p[1]} {
			switch {
			case n < 0:
				parts = append(parts, x)
			case n > 0:
				dims := append([]int(nil), x.Shape().Dimensions...)
				dims[axis] = n
				parts = append(parts, BroadcastToDims(zero, dims...))
			}
		}
		if len(parts) > 1 {
			x = Concatenate(parts, axis)
		}
	}
	return x
}
