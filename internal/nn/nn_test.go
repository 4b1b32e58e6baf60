package nn

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

var goBackend backends.Backend

func testBackend(t *testing.T) backends.Backend {
	if goBackend == nil {
		b, err := backends.NewWithConfig("go:ops_sequential") // the parallel scheduler can deadlock on 2 cores
		if err != nil {
			t.Fatal(err)
		}
		goBackend = b
	}
	return goBackend
}

// run builds fn over the given named weights and returns its flat output.
func run(t *testing.T, weights map[string]*tensors.Tensor, fn func(s *Scope, x *Node) *Node, x *tensors.Tensor) []float32 {
	t.Helper()
	backend := testBackend(t)
	ctx := context.New()
	for key, v := range weights {
		SetVariable(ctx, key, v)
	}
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) *Node {
		return fn(NewScope(ctx, x.Graph(), dtypes.Float32).In("m"), x)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0])
}

func seq(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.Sin(float64(i)*0.7+0.3)) * scale
	}
	return v
}

func near(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > tol {
			t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

func TestLayersAgainstLoops(t *testing.T) {
	const b, h, w, cin, cout = 1, 4, 5, 3, 2
	xs := seq(b*h*w*cin, 1)
	kw := seq(cout*cin*3*3, 0.5)
	bias := []float32{0.25, -0.5}
	x := tensors.FromFlatDataAndDimensions(xs, b, h, w, cin)

	t.Run("conv3x3 pad1", func(t *testing.T) {
		got := run(t, map[string]*tensors.Tensor{
			"m.weight": tensors.FromFlatDataAndDimensions(kw, cout, cin, 3, 3),
			"m.bias":   tensors.FromFlatDataAndDimensions(bias, cout),
		}, func(s *Scope, x *Node) *Node { return Conv2D(s, x, 1, 1) }, x)
		want := make([]float32, b*h*w*cout)
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				for o := 0; o < cout; o++ {
					acc := float64(bias[o])
					for i := 0; i < cin; i++ {
						for ky := 0; ky < 3; ky++ {
							for kx := 0; kx < 3; kx++ {
								sy, sx := y+ky-1, xx+kx-1
								if sy < 0 || sy >= h || sx < 0 || sx >= w {
									continue
								}
								acc += float64(xs[(sy*w+sx)*cin+i]) * float64(kw[((o*cin+i)*3+ky)*3+kx])
							}
						}
					}
					want[(y*w+xx)*cout+o] = float32(acc)
				}
			}
		}
		near(t, "conv", got, want, 1e-5)
	})

	t.Run("linear", func(t *testing.T) {
		lw := seq(cout*cin, 1)
		got := run(t, map[string]*tensors.Tensor{
			"m.weight": tensors.FromFlatDataAndDimensions(lw, cout, cin),
			"m.bias":   tensors.FromFlatDataAndDimensions(bias, cout),
		}, Linear, x)
		want := make([]float32, b*h*w*cout)
		for p := 0; p < b*h*w; p++ {
			for o := 0; o < cout; o++ {
				acc := float64(bias[o])
				for i := 0; i < cin; i++ {
					acc += float64(xs[p*cin+i]) * float64(lw[o*cin+i])
				}
				want[p*cout+o] = float32(acc)
			}
		}
		near(t, "linear", got, want, 1e-5)
	})

	t.Run("groupnorm one group per channel", func(t *testing.T) {
		gamma := []float32{1, 2, 0.5}
		beta := []float32{0, 1, -1}
		got := run(t, map[string]*tensors.Tensor{
			"m.weight": tensors.FromFlatDataAndDimensions(gamma, cin),
			"m.bias":   tensors.FromFlatDataAndDimensions(beta, cin),
		}, func(s *Scope, x *Node) *Node { return GroupNorm(s, x, cin, 1e-5) }, x)
		want := make([]float32, len(xs))
		for c := 0; c < cin; c++ {
			var m, v float64
			for p := 0; p < h*w; p++ {
				m += float64(xs[p*cin+c])
			}
			m /= h * w
			for p := 0; p < h*w; p++ {
				d := float64(xs[p*cin+c]) - m
				v += d * d
			}
			v /= h * w
			for p := 0; p < h*w; p++ {
				want[p*cin+c] = float32((float64(xs[p*cin+c])-m)/math.Sqrt(v+1e-5)*float64(gamma[c]) + float64(beta[c]))
			}
		}
		near(t, "groupnorm", got, want, 1e-5)
	})

	t.Run("upsample2x", func(t *testing.T) {
		got := run(t, nil, func(s *Scope, x *Node) *Node { return Upsample2x(x) }, x)
		for y := 0; y < 2*h; y++ {
			for xx := 0; xx < 2*w; xx++ {
				for c := 0; c < cin; c++ {
					if g, w0 := got[(y*2*w+xx)*cin+c], xs[((y/2)*w+xx/2)*cin+c]; g != w0 {
						t.Fatalf("upsample at %d,%d,%d = %v, want %v", y, xx, c, g, w0)
					}
				}
			}
		}
	})
}

func TestAttentionUniformKeys(t *testing.T) {
	// With all-equal keys the softmax is uniform, so every output row is the
	// mean of v over tokens.
	const b, l, heads, d = 1, 3, 2, 2
	v := seq(b*l*heads*d, 1)
	x := tensors.FromFlatDataAndDimensions(v, b, l, heads*d)
	got := run(t, nil, func(s *Scope, x *Node) *Node {
		k := OnesLike(x)
		return Attention(x, k, x, heads, nil)
	}, x)
	for i := 0; i < l; i++ {
		for j := 0; j < heads*d; j++ {
			var mean float32
			for tok := 0; tok < l; tok++ {
				mean += v[tok*heads*d+j]
			}
			mean /= l
			if math.Abs(float64(got[i*heads*d+j]-mean)) > 1e-5 {
				t.Fatalf("attention[%d,%d] = %v, want %v", i, j, got[i*heads*d+j], mean)
			}
		}
	}
}

// TestAttentionChunksMatchWhole checks the query-chunked attention (used
// when the logits exceed AttentionChunkBytes) against the one-piece
// computation: the same values, for chunk sizes that divide the queries
// evenly and one that must shrink to a divisor.
func TestAttentionChunksMatchWhole(t *testing.T) {
	const b, l, heads, d = 2, 12, 2, 4
	x := tensors.FromFlatDataAndDimensions(seq(b*l*heads*d, 1.3), b, l, heads*d)
	attn := func(s *Scope, x *Node) *Node {
		k := MulScalar(Cos(x), 0.7)
		return Attention(x, k, Sin(x), heads, nil)
	}
	whole := run(t, nil, attn, x)
	defer func(old int64) { AttentionChunkBytes = old }(AttentionChunkBytes)
	per := int64(b * heads * l * 4) // logits bytes per query (float32)
	for _, queries := range []int64{1, 3, 4, 5, 6} {
		AttentionChunkBytes = per * queries
		got := run(t, nil, attn, x)
		near(t, fmt.Sprintf("chunks of %d queries", queries), got, whole, 1e-6)
	}
}

// TestIm2ColMatchesConvolution checks the matrix-product convolution against
// the backend's convolution for the shapes SD uses: 3x3 pad 1, 3x3 stride 2
// with the VAE's (0,1) padding, and 1x1.
func TestIm2ColMatchesConvolution(t *testing.T) {
	const b, h, w, cin, cout = 2, 6, 5, 3, 4
	x := tensors.FromFlatDataAndDimensions(seq(b*h*w*cin, 1), b, h, w, cin)
	tests := []struct {
		name   string
		k      int
		stride int
		pads   [][2]int
	}{
		{"3x3 pad 1", 3, 1, [][2]int{{1, 1}, {1, 1}}},
		{"3x3 stride 2 pad (0,1)", 3, 2, [][2]int{{0, 1}, {0, 1}}},
		{"3x3 stride 2 pad 1", 3, 2, [][2]int{{1, 1}, {1, 1}}},
		{"1x1", 1, 1, [][2]int{{0, 0}, {0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			weights := map[string]*tensors.Tensor{
				"m.weight": tensors.FromFlatDataAndDimensions(seq(cout*cin*tt.k*tt.k, 0.3), cout, cin, tt.k, tt.k),
				"m.bias":   tensors.FromFlatDataAndDimensions([]float32{0.1, -0.2, 0.3, 0}, cout),
			}
			conv := func(im2col bool) func(s *Scope, x *Node) *Node {
				return func(s *Scope, x *Node) *Node {
					s.Im2Col = im2col
					return Conv2DPad(s, x, tt.stride, tt.pads)
				}
			}
			want := run(t, weights, conv(false), x)
			got := run(t, weights, conv(true), x)
			near(t, "im2col", got, want, 1e-5)
		})
	}
}

// TestGroupNormAddAgainstLoops checks GroupNormAdd (statistics summed in
// runs of positions, applied as a scale and shift) against the textbook
// loop: groups of several channels, an added [B, C] term, batches of two,
// run lengths that split the positions or not, and a mean far from zero.
func TestGroupNormAddAgainstLoops(t *testing.T) {
	const b, h, w, c, groups = 2, 6, 8, 6, 2
	saved := groupNormRows
	defer func() { groupNormRows = saved }()
	for _, tc := range []struct {
		name   string
		rows   int
		offset float32
		add    bool
	}{
		{"one reduction", 0, 0, false},
		{"runs of 12", 12, 0, false},
		{"runs of 8 with an added term", 8, 0, true},
		{"mean far from zero", 16, 30, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			groupNormRows = tc.rows
			xs := seq(b*h*w*c, 2)
			for i := range xs {
				xs[i] += tc.offset
			}
			adds := seq(b*c, 1.5)
			gamma := []float32{1, 2, 0.5, -1, 0.25, 3}
			beta := []float32{0, 1, -1, 0.5, 2, -0.25}
			weights := map[string]*tensors.Tensor{
				"m.weight": tensors.FromFlatDataAndDimensions(gamma, c),
				"m.bias":   tensors.FromFlatDataAndDimensions(beta, c),
			}
			got := run(t, weights, func(s *Scope, x *Node) *Node {
				var add *Node
				if tc.add {
					add = Const(x.Graph(), tensors.FromFlatDataAndDimensions(adds, b, c))
				}
				return GroupNormAdd(s, x, add, groups, 1e-5)
			}, tensors.FromFlatDataAndDimensions(xs, b, h, w, c))
			want := make([]float32, len(xs))
			cg, hw := c/groups, h*w
			val := func(n, p, ch int) float64 {
				v := float64(xs[(n*hw+p)*c+ch])
				if tc.add {
					v += float64(adds[n*c+ch])
				}
				return v
			}
			for n := 0; n < b; n++ {
				for g := 0; g < groups; g++ {
					var m, v float64
					for p := 0; p < hw; p++ {
						for ch := g * cg; ch < (g+1)*cg; ch++ {
							m += val(n, p, ch)
						}
					}
					m /= float64(hw * cg)
					for p := 0; p < hw; p++ {
						for ch := g * cg; ch < (g+1)*cg; ch++ {
							d := val(n, p, ch) - m
							v += d * d
						}
					}
					v /= float64(hw * cg)
					for p := 0; p < hw; p++ {
						for ch := g * cg; ch < (g+1)*cg; ch++ {
							want[(n*hw+p)*c+ch] = float32((val(n, p, ch)-m)/math.Sqrt(v+1e-5)*float64(gamma[ch]) + float64(beta[ch]))
						}
					}
				}
			}
			near(t, "groupnorm", got, want, 2e-4)
		})
	}
}

func TestGroupNormRun(t *testing.T) {
	saved := groupNormRows
	defer func() { groupNormRows = saved }()
	groupNormRows = 64
	for _, tc := range []struct{ hw, want int }{
		{4096, 64}, {1024, 64}, {16384, 64}, {64, 64}, {40, 40}, {3600, 60}, {3721, 61}, {4093, 4093}, {262144, 64},
	} {
		if got := groupNormRun(tc.hw); got != tc.want {
			t.Errorf("groupNormRun(%d) = %d, want %d", tc.hw, got, tc.want)
		}
	}
}

func TestMergedParts(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want []string
	}{
		{"a.b.@to_k+to_v.weight", []string{"a.b.to_k.weight", "a.b.to_v.weight"}},
		{"m.attn2.@to_q+to_k+to_v.bias", []string{"m.attn2.to_q.bias", "m.attn2.to_k.bias", "m.attn2.to_v.bias"}},
		{"a.b.to_k.weight", nil},
		{"weight", nil},
	} {
		got, ok := MergedParts(tc.key)
		if ok != (tc.want != nil) || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("MergedParts(%q) = %q, %v; want %q", tc.key, got, ok, tc.want)
		}
	}
}

// joinLoader serves weights by checkpoint key and joins merged keys (see
// MergedParts) along the first axis, as the model's loader does.
type joinLoader map[string][]float32

func (l joinLoader) LoadVariable(_ *context.Context, scope, name string) (*tensors.Tensor, bool) {
	key := strings.ReplaceAll(strings.Trim(scope, "/"), "/", ".") + "." + name
	parts, ok := MergedParts(key)
	if !ok {
		parts = []string{key}
	}
	var v []float32
	for _, p := range parts {
		pv, ok := l[p]
		if !ok {
			return nil, false
		}
		v = append(v, pv...)
	}
	if strings.HasSuffix(key, ".bias") {
		return tensors.FromFlatDataAndDimensions(v, len(v)), true
	}
	return tensors.FromFlatDataAndDimensions(v, len(v)/3, 3), true // weights [out, 3]
}

func (joinLoader) DeleteVariable(*context.Context, string, string) error { return nil }

// TestLinearJoined: joined modules of different widths give what each
// Linear gives alone; with a bias on only some modules, or without a
// loader that joins weights, LinearJoined declines.
func TestLinearJoined(t *testing.T) {
	ws := joinLoader{"m.a.weight": seq(6, 0.5), "m.b.weight": seq(9, -0.25), "m.a.bias": {1, 2}, "m.b.bias": {3, 4, 5}}
	joined := func(l joinLoader, withLoader bool) (parts []*Node) {
		ctx := context.New()
		if withLoader {
			ctx.SetLoader(l)
		}
		exec, err := context.NewExec(testBackend(t), ctx, func(ctx *context.Context, x *Node) []*Node {
			s := NewScope(ctx, x.Graph(), dtypes.Float32).In("m")
			parts = LinearJoined(s, x, []string{"a", "b"}, []int{2, 3})
			if parts == nil {
				return []*Node{x, x}
			}
			return []*Node{Concatenate(parts, -1), Concatenate([]*Node{Linear(s.In("a"), x), Linear(s.In("b"), x)}, -1)}
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := exec.Exec(tensors.FromFlatDataAndDimensions(seq(6, 1), 2, 3))
		if err != nil {
			t.Fatal(err)
		}
		if parts != nil {
			near(t, "joined vs alone", tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1]), 1e-6)
		}
		return parts
	}
	if p := joined(ws, true); len(p) != 2 {
		t.Fatalf("LinearJoined gave %d parts, want 2", len(p))
	}
	mixed := joinLoader{"m.a.weight": ws["m.a.weight"], "m.b.weight": ws["m.b.weight"], "m.a.bias": ws["m.a.bias"]}
	if p := joined(mixed, true); p != nil {
		t.Error("LinearJoined joined modules of which only one has a bias")
	}
	if p := joined(ws, false); p != nil {
		t.Error("LinearJoined joined weights without a loader that joins them")
	}
}

func TestJoinRows(t *testing.T) {
	a := tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4}, 2, 2)
	b := tensors.FromFlatDataAndDimensions([]float32{5, 6}, 1, 2)
	for _, tc := range []struct {
		name string
		ts   []*tensors.Tensor
		want []float32 // nil: refused
		dims []int
	}{
		{"matrices", []*tensors.Tensor{a, b}, []float32{1, 2, 3, 4, 5, 6}, []int{3, 2}},
		{"vectors", []*tensors.Tensor{tensors.FromFlatDataAndDimensions([]float32{1}, 1), tensors.FromFlatDataAndDimensions([]float32{2, 3}, 2)}, []float32{1, 2, 3}, []int{3}},
		{"other widths", []*tensors.Tensor{a, tensors.FromFlatDataAndDimensions([]float32{1, 2, 3}, 1, 3)}, nil, nil},
		{"other ranks", []*tensors.Tensor{a, tensors.FromFlatDataAndDimensions([]float32{1, 2}, 2)}, nil, nil},
		{"other dtypes", []*tensors.Tensor{a, tensors.FromFlatDataAndDimensions([]float64{5, 6}, 1, 2)}, nil, nil},
		{"none", nil, nil, nil},
	} {
		got, ok := JoinRows(tc.ts)
		if ok != (tc.want != nil) {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.want != nil)
			continue
		}
		if ok && (fmt.Sprint(got.Shape().Dimensions) != fmt.Sprint(tc.dims) || fmt.Sprint(tensors.MustCopyFlatData[float32](got)) != fmt.Sprint(tc.want)) {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got.Shape().Dimensions, tensors.MustCopyFlatData[float32](got), tc.dims, tc.want)
		}
	}
}
