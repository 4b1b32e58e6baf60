package nn

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// GEGLU is the gated feed-forward input of LDM's transformer blocks
// (ff.net.0): the Linear s projects x [..., in] to [..., 2*inner], whose
// first half is gated by the exact GELU of its second half, giving
// [..., inner].
func GEGLU(s *Scope, x *Node) *Node {
	p := Linear(s, x)
	axis := p.Rank() - 1
	inner := p.Shape().Dimensions[axis] / 2
	a := SliceAxis(p, axis, AxisRange(0, inner))
	gate := SliceAxis(p, axis, AxisRange(inner, 2*inner))
	return Mul(a, GELU(gate))
}

// Upsample2xTo is nearest-neighbour upsampling of x [B, H, W, C] to
// [B, h, w, C] with h in {2H-1, 2H} and w in {2W-1, 2W}: every pixel is
// repeated twice and the extra last row/column dropped. For these sizes it
// equals PyTorch's interpolate(mode="nearest", size=(h, w)), which the
// diffusers and ComfyUI UNets use to meet a skip connection of odd size.
func Upsample2xTo(x *Node, h, w int) *Node {
	y := Upsample2x(x)
	d := y.Shape().Dimensions
	if d[1] == h && d[2] == w {
		return y
	}
	return Slice(y, AxisRange(), AxisRange(0, h), AxisRange(0, w), AxisRange())
}
