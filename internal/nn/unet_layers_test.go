package nn

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestUpsample2xTo checks the odd-size upsampling against PyTorch's
// interpolate(mode="nearest", size=...) rule src = floor(dst * in / out).
func TestUpsample2xTo(t *testing.T) {
	for _, tc := range []struct{ h, w, oh, ow int }{{3, 2, 5, 4}, {2, 5, 4, 9}, {1, 1, 1, 2}, {4, 3, 7, 5}} {
		const c = 2
		xs := seq(tc.h*tc.w*c, 1)
		x := tensors.FromFlatDataAndDimensions(xs, 1, tc.h, tc.w, c)
		got := run(t, nil, func(s *Scope, x *Node) *Node { return Upsample2xTo(x, tc.oh, tc.ow) }, x)
		if len(got) != tc.oh*tc.ow*c {
			t.Fatalf("%v: %d values, want %d", tc, len(got), tc.oh*tc.ow*c)
		}
		for y := 0; y < tc.oh; y++ {
			for xx := 0; xx < tc.ow; xx++ {
				sy := int(math.Floor(float64(y) * float64(float32(tc.h)/float32(tc.oh))))
				sx := int(math.Floor(float64(xx) * float64(float32(tc.w)/float32(tc.ow))))
				for ch := 0; ch < c; ch++ {
					if g, w := got[(y*tc.ow+xx)*c+ch], xs[(sy*tc.w+sx)*c+ch]; g != w {
						t.Fatalf("%v: out[%d,%d,%d] = %v, want %v", tc, y, xx, ch, g, w)
					}
				}
			}
		}
	}
}

// TestGEGLU checks x*gelu(gate) with the first half as x.
func TestGEGLU(t *testing.T) {
	const in, inner = 3, 2
	xs := seq(2*in, 1)
	lw := seq(2*inner*in, 0.8)
	got := run(t, map[string]*tensors.Tensor{
		"m.weight": tensors.FromFlatDataAndDimensions(lw, 2*inner, in),
	}, GEGLU, tensors.FromFlatDataAndDimensions(xs, 2, in))
	for r := 0; r < 2; r++ {
		proj := make([]float64, 2*inner)
		for o := range proj {
			for i := 0; i < in; i++ {
				proj[o] += float64(xs[r*in+i]) * float64(lw[o*in+i])
			}
		}
		for o := 0; o < inner; o++ {
			g := proj[inner+o]
			want := proj[o] * 0.5 * g * (1 + math.Erf(g/math.Sqrt2))
			if math.Abs(float64(got[r*inner+o])-want) > 1e-6 {
				t.Fatalf("GEGLU[%d,%d] = %v, want %v", r, o, got[r*inner+o], want)
			}
		}
	}
}
