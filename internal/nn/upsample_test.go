package nn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// deriveLoader serves PyTorch-layout tensors by checkpoint key in the graph
// layout, and derived keys (DerivedKey) through Derive, as the model's
// loader does.
type deriveLoader map[string]*tensors.Tensor

func (l deriveLoader) LoadVariable(_ *context.Context, scope, name string) (*tensors.Tensor, bool) {
	key := strings.ReplaceAll(strings.Trim(scope, "/"), "/", ".") + "." + name
	base, transform, derived := DerivedKey(key)
	if !derived {
		base = key
	}
	t, ok := l[base]
	if !ok {
		return nil, false
	}
	if derived {
		v, shape, err := Derive(transform, tensors.MustCopyFlatData[float32](t), t.Shape().Dimensions)
		if err != nil {
			return nil, false
		}
		t = tensors.FromFlatDataAndDimensions(v, shape...)
	}
	return KernelTensor(t), true
}

func (deriveLoader) DeleteVariable(*context.Context, string, string) error { return nil }

// TestUpsampleConv checks the folded 2x2 kernels against upsampling and
// then convolving with the 3x3 kernel, at even and odd output sizes, with
// and without a bias, by convolution and by im2col (odd sizes take the
// plain path); without a loader that derives the kernel it must take the
// plain path too.
func TestUpsampleConv(t *testing.T) {
	for _, mode := range []string{"1", "phases"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("SDGO_FOLD_UPSAMPLE", mode)
			testUpsampleConv(t)
		})
	}
}

func testUpsampleConv(t *testing.T) {
	for _, tc := range []struct {
		h, w, oh, ow, in, out int
		bias, im2col          bool
	}{
		{3, 4, 6, 8, 3, 5, true, false},
		{3, 4, 5, 7, 2, 3, false, false},
		{1, 1, 2, 2, 4, 2, true, true},
		{4, 3, 7, 6, 3, 4, true, true},
	} {
		t.Run(fmt.Sprintf("%dx%d-to-%dx%d-bias%v-im2col%v", tc.h, tc.w, tc.oh, tc.ow, tc.bias, tc.im2col), func(t *testing.T) {
			weights := deriveLoader{"m.weight": tensors.FromFlatDataAndDimensions(seq(tc.out*tc.in*9, 0.4), tc.out, tc.in, 3, 3)}
			if tc.bias {
				weights["m.bias"] = tensors.FromFlatDataAndDimensions(seq(tc.out, -0.7), tc.out)
			}
			x := tensors.FromFlatDataAndDimensions(seq(2*tc.h*tc.w*tc.in, 1.3), 2, tc.h, tc.w, tc.in)
			ctx := context.New()
			ctx.SetLoader(weights)
			exec, err := context.NewExec(testBackend(t), ctx, func(ctx *context.Context, x *Node) []*Node {
				s := NewScope(ctx, x.Graph(), dtypes.Float32).In("m")
				s.Im2Col = tc.im2col
				return []*Node{UpsampleConv(s, x, tc.oh, tc.ow), Conv2D(s, Upsample2xTo(x, tc.oh, tc.ow), 1, 1)}
			})
			if err != nil {
				t.Fatal(err)
			}
			res, err := exec.Exec(x)
			if err != nil {
				t.Fatal(err)
			}
			folded := false
			for v := range ctx.IterVariables() {
				folded = folded || strings.HasPrefix(v.Scope(), "/m/~subpixel")
			}
			if even := tc.oh%2 == 0 && tc.ow%2 == 0; folded != even {
				t.Fatalf("subpixel kernel loaded: %v, want %v", folded, even)
			}
			if d := res[0].Shape().Dimensions; fmt.Sprint(d) != fmt.Sprint([]int{2, tc.oh, tc.ow, tc.out}) {
				t.Fatalf("shape %v, want [2 %d %d %d]", d, tc.oh, tc.ow, tc.out)
			}
			near(t, "folded vs upsampled", tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1]), 1e-5)
		})
	}
}

// TestUpsampleConvPlain: folding off (the default), or weights set one by
// one (no derived kernel), give the plain path.
func TestUpsampleConvPlain(t *testing.T) {
	folded := func() (n int) {
		ctx := context.New()
		ctx.SetLoader(deriveLoader{"m.weight": tensors.FromFlatDataAndDimensions(seq(2*2*9, 0.4), 2, 2, 3, 3)})
		exec, err := context.NewExec(testBackend(t), ctx, func(ctx *context.Context, x *Node) *Node {
			return UpsampleConv(NewScope(ctx, x.Graph(), dtypes.Float32).In("m"), x, 4, 4)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := exec.Exec(tensors.FromFlatDataAndDimensions(seq(8, 1), 1, 2, 2, 2)); err != nil {
			t.Fatal(err)
		}
		for v := range ctx.IterVariables() {
			if strings.Contains(v.Scope(), "~") {
				n++
			}
		}
		return n
	}
	for mode, want := range map[string]int{"": 0, "0": 0, "1": 1, "phases": 4} {
		t.Setenv("SDGO_FOLD_UPSAMPLE", mode)
		if n := folded(); n != want {
			t.Errorf("SDGO_FOLD_UPSAMPLE=%q: %d derived kernels loaded, want %d", mode, n, want)
		}
	}
	t.Setenv("SDGO_FOLD_UPSAMPLE", "1")
	w := map[string]*tensors.Tensor{"m.weight": tensors.FromFlatDataAndDimensions(seq(2*2*9, 0.4), 2, 2, 3, 3)}
	x := tensors.FromFlatDataAndDimensions(seq(2*2*2, 1), 1, 2, 2, 2)
	got := run(t, w, func(s *Scope, x *Node) *Node { return UpsampleConv(s, x, 4, 4) }, x)
	want := run(t, w, func(s *Scope, x *Node) *Node { return Conv2D(s, Upsample2x(x), 1, 1) }, x)
	near(t, "without a deriving loader", got, want, 0)
}

func TestDerivedKey(t *testing.T) {
	for _, tc := range []struct{ key, base, transform string }{
		{"a.b.conv.~subpixel.weight", "a.b.conv.weight", "subpixel"},
		{"~subpixel.weight", "", ""},
		{"a.conv.weight", "", ""},
		{"a.@to_k+to_v.weight", "", ""},
	} {
		base, transform, ok := DerivedKey(tc.key)
		if ok != (tc.base != "") || base != tc.base || transform != tc.transform {
			t.Errorf("DerivedKey(%q) = %q, %q, %v; want %q, %q", tc.key, base, transform, ok, tc.base, tc.transform)
		}
	}
	if _, _, err := Derive("subpixel", seq(2*2*9, 1), []int{2, 2, 1, 9}); err == nil {
		t.Error("Derive folded a 1x9 kernel")
	}
	if _, _, err := Derive("rotate", seq(4, 1), []int{4}); err == nil {
		t.Error("Derive accepted an unknown transform")
	}
}

// TestConv2DNarrow: zero output channels added and cut back change nothing,
// with and without a bias, and a kernel with enough outputs is left alone.
func TestConv2DNarrow(t *testing.T) {
	for _, tc := range []struct {
		out, n int
		bias   bool
	}{{3, 8, true}, {3, 8, false}, {1, 4, true}, {8, 8, true}} {
		w := map[string]*tensors.Tensor{"m.weight": tensors.FromFlatDataAndDimensions(seq(tc.out*5*9, 0.3), tc.out, 5, 3, 3)}
		if tc.bias {
			w["m.bias"] = tensors.FromFlatDataAndDimensions(seq(tc.out, 2), tc.out)
		}
		x := tensors.FromFlatDataAndDimensions(seq(2*4*3*5, 1), 2, 4, 3, 5)
		got := run(t, w, func(s *Scope, x *Node) *Node { return Conv2DNarrow(s, x, 1, 1, tc.n) }, x)
		want := run(t, w, func(s *Scope, x *Node) *Node { return Conv2D(s, x, 1, 1) }, x)
		if len(got) != 2*4*3*tc.out {
			t.Fatalf("%+v: %d values, want %d", tc, len(got), 2*4*3*tc.out)
		}
		near(t, fmt.Sprintf("%+v", tc), got, want, 1e-6)
	}
}
