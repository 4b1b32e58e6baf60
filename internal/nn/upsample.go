package nn

import (
	"fmt"
	"os"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph"

	"sdgo/internal/par"
)

// UpsampleConv is LDM's Upsample with conv, Conv2D(s, Upsample2xTo(x, h, w),
// 1, 1) for x [B, H, W, C]. With SDGO_FOLD_UPSAMPLE set it is computed
// without the upsampled image: each of the four output pixels a
// nearest-neighbour block makes sees only two rows and two columns of x, so
// the 3x3 kernel folds into four 2x2 kernels (the "subpixel" derived
// weight, see SubpixelKernel), 4/9 of the multiply-adds. "1" runs them as
// one 2x2 convolution of four times the output channels, "phases" as four
// convolutions of x's size; the outputs are interleaved.
//
// Folding is off by default. On an H100 it made the VAE decoder 17-19%
// faster (b2 15.1 -> 12.3-12.6 ms) and 20 SD 1.5 steps ~2 ms faster, but
// cuDNN offers algorithms for 2x2 convolutions with enormous workspaces: with
// an empty autotune cache XLA's autotuner asked for 140 and 557 GB, took
// the card's whole memory (77-80 GB at VAE batch 8, 15-56 GB at UNet batch
// 16, against 4.2 and 5.8 GB unfolded) and one batch-8 first run crashed
// (tools/gpu/diag23.sh, diag24.sh).
//
// Without a loader that derives the kernel (weights set one by one), or
// for an odd h or w (the convolution's zero padding then meets the cut
// upsampled edge, not x's), it upsamples and convolves.
func UpsampleConv(s *Scope, x *Node, h, w int) *Node {
	d := x.Shape().Dimensions
	b, ih, iw := d[0], d[1], d[2]
	var k *Node
	if mode := foldUpsample(); h == 2*ih && w == 2*iw && mode != "" && mode != "0" {
		if mode == "phases" {
			if y := upsamplePhases(s, x); y != nil {
				return y
			}
		}
		k = s.Derived("subpixel", "weight")
	}
	if k == nil {
		return Conv2D(s, Upsample2xTo(x, h, w), 1, 1)
	}
	o := k.Shape().Dimensions[0] / 4
	// z[i, j] is the 2x2 window of x padded by one starting at (i, j):
	// output pixel (2i+a, 2j+c) is phase (a, c) of window (i+a, j+c).
	z := conv(s, x, k, 1, [][2]int{{1, 1}, {1, 1}})
	z = Reshape(z, b, ih+1, iw+1, 2, 2, o)
	rows := make([]*Node, 2)
	for a := range 2 {
		cols := make([]*Node, 2)
		for c := range 2 {
			p := Slice(z, AxisRange(), AxisRange(a, a+ih), AxisRange(c, c+iw), AxisElem(a), AxisElem(c), AxisRange())
			cols[c] = Reshape(p, b, ih, iw, 1, o)
		}
		rows[a] = Reshape(Concatenate(cols, 3), b, ih, 1, iw, 2, o)
	}
	y := Reshape(Concatenate(rows, 2), b, h, w, o)
	if s.Has("bias") {
		y = AddLast(y, s.W("bias"))
	}
	return y
}

// foldUpsample is SDGO_FOLD_UPSAMPLE (see UpsampleConv), read when a graph
// is built: "" or "0" upsamples and convolves, "1" folds into one
// convolution, "phases" into four.
func foldUpsample() string { return os.Getenv("SDGO_FOLD_UPSAMPLE") }

// upsamplePhases is UpsampleConv as four convolutions, one per output
// phase, each padded so that it gives x's size; nil without the derived
// kernels.
func upsamplePhases(s *Scope, x *Node) *Node {
	d := x.Shape().Dimensions
	b, ih, iw := d[0], d[1], d[2]
	phases := make([]*Node, 4)
	for p := range phases {
		k := s.Derived(fmt.Sprintf("subpixel%d", p), "weight")
		if k == nil {
			return nil
		}
		a, c := p/2, p%2
		y := conv(s, x, k, 1, [][2]int{{1 - a, a}, {1 - c, c}})
		phases[p] = Reshape(y, b, ih, 1, iw, 1, -1)
	}
	o := phases[0].Shape().Dimensions[5]
	rows := []*Node{Concatenate(phases[0:2], 4), Concatenate(phases[2:4], 4)}
	y := Reshape(Concatenate(rows, 2), b, 2*ih, 2*iw, o)
	if s.Has("bias") {
		y = AddLast(y, s.W("bias"))
	}
	return y
}

// subpixelTaps lists, for output phase a (0: even row, 1: odd row) and tap
// t of the 2x2 kernel, the rows of the 3x3 kernel it sums: an even output
// row 2i sees input rows i-1 (kernel row 0) and i (rows 1 and 2), an odd
// one rows i (kernel rows 0 and 1) and i+1 (row 2). Columns alike.
var subpixelTaps = [2][2][]int{{{0}, {1, 2}}, {{0, 1}, {2}}}

// SubpixelKernel folds a 3x3 convolution kernel w [O, I, 3, 3] (PyTorch
// layout, float32) into the four 2x2 kernels of UpsampleConv, giving
// [4*O, I, 2, 2] with output channel (2a+c)*O+o for output phase (a, c).
func SubpixelKernel(w []float32, shape []int) ([]float32, []int, error) {
	if len(shape) != 4 || shape[2] != 3 || shape[3] != 3 || len(w) != shape[0]*shape[1]*9 {
		return nil, nil, fmt.Errorf("nn: subpixel kernel of a %v tensor: want a 3x3 convolution kernel [out, in, 3, 3]", shape)
	}
	o, in := shape[0], shape[1]
	out := make([]float32, 4*o*in*4)
	par.For(o, max(1, (1<<16)/in), func(lo, hi int) {
		for oc := lo; oc < hi; oc++ {
			for ic := range in {
				src := w[(oc*in+ic)*9:]
				for a := range 2 {
					for c := range 2 {
						dst := out[(((2*a+c)*o+oc)*in+ic)*4:]
						for ty := range 2 {
							for tx := range 2 {
								var sum float32
								for _, ky := range subpixelTaps[a][ty] {
									for _, kx := range subpixelTaps[c][tx] {
										sum += src[ky*3+kx]
									}
								}
								dst[ty*2+tx] = sum
							}
						}
					}
				}
			}
		}
	})
	return out, []int{4 * o, in, 2, 2}, nil
}

// derivedMark starts the transform of a derived key (see Scope.Derived).
const derivedMark = "~"

// derivations are the transforms Scope.Derived may name.
var derivations = map[string]func([]float32, []int) ([]float32, []int, error){
	"subpixel":  SubpixelKernel,
	"subpixel0": subpixelPhase(0),
	"subpixel1": subpixelPhase(1),
	"subpixel2": subpixelPhase(2),
	"subpixel3": subpixelPhase(3),
}

// subpixelPhase is SubpixelKernel's kernel of output phase p alone,
// [O, I, 2, 2].
func subpixelPhase(p int) func([]float32, []int) ([]float32, []int, error) {
	return func(w []float32, shape []int) ([]float32, []int, error) {
		k, ks, err := SubpixelKernel(w, shape)
		if err != nil {
			return nil, nil, err
		}
		n := len(k) / 4
		return k[p*n : (p+1)*n], []int{ks[0] / 4, ks[1], 2, 2}, nil
	}
}

// DerivedKey splits a derived key ("a.conv.~subpixel.weight", see
// Scope.Derived) into the checkpoint key it is computed from
// ("a.conv.weight") and the transform; ok is false for any other key.
func DerivedKey(key string) (base, transform string, ok bool) {
	at := strings.LastIndex(key, "."+derivedMark)
	dot := strings.LastIndexByte(key, '.')
	if at < 0 || dot <= at+1 {
		return "", "", false
	}
	return key[:at] + key[dot:], key[at+1+len(derivedMark) : dot], true
}

// Derive computes the named transform of a checkpoint tensor (PyTorch
// layout, float32): what the loader hands out for a derived key.
func Derive(transform string, v []float32, shape []int) ([]float32, []int, error) {
	fn, ok := derivations[transform]
	if !ok {
		return nil, nil, fmt.Errorf("nn: unknown weight transform %q", transform)
	}
	return fn(v, shape)
}
