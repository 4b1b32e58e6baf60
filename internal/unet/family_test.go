package unet_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"sdgo/internal/nn"
	"sdgo/internal/safetensors"
	"sdgo/internal/testutil"
	"sdgo/internal/unet"
)

// randomWeights fills every tensor Shapes(cfg) names with deterministic
// values of scale 1/sqrt(fan-in), so a graph of any config can run.
func randomWeights(cfg unet.Config) *context.Context {
	ctx := context.New()
	for key, v := range randomValues(cfg) {
		nn.SetVariable(ctx, key, v)
	}
	return ctx
}

// randomValues are randomWeights' tensors by checkpoint key.
func randomValues(cfg unet.Config) map[string]*tensors.Tensor {
	out := map[string]*tensors.Tensor{}
	seed := uint32(1)
	shapes := unet.Shapes(cfg, prefix)
	for _, key := range unet.Keys(cfg, prefix) {
		shape := shapes[key]
		n, fanIn := 1, 1
		for i, d := range shape {
			n *= d
			if i > 0 {
				fanIn *= d
			}
		}
		scale := float32(1 / math.Sqrt(float64(fanIn)))
		v := make([]float32, n)
		for i := range v {
			seed = seed*1664525 + 1013904223
			v[i] = (float32(seed>>8)/float32(1<<24)*2 - 1) * scale
			if len(shape) == 1 && strings.HasSuffix(key, "norm.weight") {
				v[i] += 1
			}
		}
		out[key] = tensors.FromFlatDataAndDimensions(v, shape...)
	}
	return out
}

// joiningLoader serves tensors by checkpoint key as the model's loader
// does: convolution kernels in the graph layout, the tensors of a merged
// key (nn.MergedParts) joined along their first axis, and derived keys
// (nn.DerivedKey) through nn.Derive.
type joiningLoader map[string]*tensors.Tensor

func (l joiningLoader) LoadVariable(_ *context.Context, scope, name string) (*tensors.Tensor, bool) {
	key := strings.ReplaceAll(strings.Trim(scope, "/"), "/", ".") + "." + name
	if base, transform, ok := nn.DerivedKey(key); ok {
		t, ok := l[base]
		if !ok {
			return nil, false
		}
		v, shape, err := nn.Derive(transform, tensors.MustCopyFlatData[float32](t), t.Shape().Dimensions)
		if err != nil {
			return nil, false
		}
		return nn.KernelTensor(tensors.FromFlatDataAndDimensions(v, shape...)), true
	}
	parts, merged := nn.MergedParts(key)
	if !merged {
		t, ok := l[key]
		if !ok {
			return nil, false
		}
		return nn.KernelTensor(t), true
	}
	var ts []*tensors.Tensor
	for _, p := range parts {
		t, ok := l[p]
		if !ok {
			return nil, false
		}
		ts = append(ts, t)
	}
	return nn.JoinRows(ts)
}

func (joiningLoader) DeleteVariable(*context.Context, string, string) error { return nil }

// loadedVariables counts the context's variables whose scope contains
// mark: "@" for merged keys, "~" for derived ones.
func loadedVariables(ctx *context.Context, mark string) int {
	n := 0
	for v := range ctx.IterVariables() {
		if strings.Contains(v.Scope(), mark) {
			n++
		}
	}
	return n
}

// ramp returns n values in [-1, 1).
func ramp(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.Sin(float64(i) * 0.37))
	}
	return v
}

// runForward builds and runs Forward once, giving the output and its shape.
func runForward(t *testing.T, ctx *context.Context, cfg unet.Config, b, h, w, tokens int) ([]float32, []int) {
	t.Helper()
	x := tensors.FromFlatDataAndDimensions(ramp(b*cfg.InChannels*h*w), b, cfg.InChannels, h, w)
	ts := tensors.FromFlatDataAndDimensions([]float32{999, 1.5}[:b], b)
	c := tensors.FromFlatDataAndDimensions(ramp(b*tokens*cfg.ContextDim), b, tokens, cfg.ContextDim)
	y := tensors.FromFlatDataAndDimensions(ramp(b*max(cfg.ADMInChannels, 1)), b, max(cfg.ADMInChannels, 1))
	exec, err := context.NewExec(goBackend(t), ctx, func(ctx *context.Context, x, ts, c, y *Node) *Node {
		s := nn.NewScope(ctx, x.Graph(), dtypes.Float32).In("model.diffusion_model")
		if cfg.ADMInChannels == 0 {
			y = nil
		}
		return unet.Forward(s, cfg, x, ts, c, y)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(x, ts, c, y)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0]), out[0].Shape().Dimensions
}

// TestForwardFamilies runs scaled-down SD2- and SDXL-style UNets (linear
// projections, head width instead of head count, per-level depths with a
// level without attention, label_emb) and a 9-channel inpainting UNet on
// random weights, at latent sizes that are not multiples of 8, and checks
// the output shape and that every value is finite.
func TestForwardFamilies(t *testing.T) {
	tests := []struct {
		name   string
		cfg    unet.Config
		h, w   int
		folded int // upsampling convolutions whose size doubles exactly
	}{
		{"sd2-like 8x8", unet.Config{InChannels: 4, OutChannels: 4, ModelChannels: 32, ChannelMult: []int{1, 2, 2},
			NumResBlocks: 1, TransformerDepth: []int{1, 1, 0}, MiddleDepth: 1, ContextDim: 24, UseLinearProj: true,
			NumHeadChannels: 16, TimeEmbedDim: 64, NormGroups: 32}, 8, 8, 2},
		{"sdxl-like 12x7", unet.Config{InChannels: 4, OutChannels: 4, ModelChannels: 32, ChannelMult: []int{1, 2, 2},
			NumResBlocks: 2, TransformerDepth: []int{0, 1, 2}, MiddleDepth: 2, ContextDim: 24, UseLinearProj: true,
			NumHeadChannels: 16, TimeEmbedDim: 64, ADMInChannels: 40, NormGroups: 32}, 12, 7, 1},
		{"inpaint 5x11", unet.Config{InChannels: 9, OutChannels: 4, ModelChannels: 32, ChannelMult: []int{1, 2, 2, 2},
			NumResBlocks: 1, TransformerDepth: []int{1, 1, 1, 0}, MiddleDepth: 1, ContextDim: 16,
			NumHeads: 4, TimeEmbedDim: 64, NormGroups: 32}, 5, 11, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The config must also be what DetectConfig reads back.
			got, err := unet.DetectConfig(unet.Shapes(tc.cfg, prefix), prefix)
			if err != nil {
				t.Fatal(err)
			}
			got.NumHeads, got.NumHeadChannels, got.Parameterization = tc.cfg.NumHeads, tc.cfg.NumHeadChannels, ""
			if !reflect.DeepEqual(got, tc.cfg) {
				t.Errorf("DetectConfig(Shapes(cfg))\n got %+v\nwant %+v", got, tc.cfg)
			}
			out, shape := runForward(t, randomWeights(tc.cfg), tc.cfg, 2, tc.h, tc.w, 5)
			// Weights from a loader that joins them (as the model's does)
			// take the joined emb_layers and to_k/to_v path, and the folded
			// upsampling convolutions (SDGO_FOLD_UPSAMPLE) where the size
			// doubles: same output.
			t.Setenv("SDGO_FOLD_UPSAMPLE", "1")
			ctx := context.New()
			ctx.SetLoader(joiningLoader(randomValues(tc.cfg)))
			joined, _ := runForward(t, ctx, tc.cfg, 2, tc.h, tc.w, 5)
			for i := range out {
				if d := math.Abs(float64(out[i] - joined[i])); d > 1e-5 {
					t.Fatalf("joined weights: output[%d] = %v, want %v", i, joined[i], out[i])
				}
			}
			if n := loadedVariables(ctx, "@"); n != 3 {
				t.Errorf("%d joined tensors loaded, want 3 (emb_layers' weight and bias, to_k/to_v's weight)", n)
			}
			if n := loadedVariables(ctx, "~"); n != tc.folded {
				t.Errorf("%d folded upsampling kernels loaded, want %d", n, tc.folded)
			}
			if want := []int{2, tc.cfg.OutChannels, tc.h, tc.w}; !reflect.DeepEqual(shape, want) {
				t.Fatalf("output shape %v, want %v", shape, want)
			}
			for i, v := range out {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("output[%d] = %v", i, v)
				}
			}
		})
	}
}

// TestLinearProjMatchesConv checks the Linear proj_in/proj_out path (SD2,
// SDXL) against the 1x1-conv path (SD1) on the tiny model: the same weights
// reshaped from [C, C, 1, 1] to [C, C] must give the same output, also at
// an odd latent size.
func TestLinearProjMatchesConv(t *testing.T) {
	m := testutil.Fixtures(t)
	path := m.Path("tiny-sd1/model.safetensors")
	cfg, err := unet.DetectConfig(fileShapes(t, path), prefix)
	if err != nil {
		t.Fatal(err)
	}
	conv, _ := runForward(t, testutil.Context(t, path, prefix, ""), cfg, 1, 9, 7, 77)

	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.New()
	for _, name := range f.Names() {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		v, shape, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(name, ".proj_") && len(shape) == 4 {
			shape = shape[:2]
		}
		nn.SetVariable(ctx, name, tensors.FromFlatDataAndDimensions(v, shape...))
	}
	lin := cfg
	lin.UseLinearProj = true
	linear, _ := runForward(t, ctx, lin, 1, 9, 7, 77)
	var maxDiff float64
	for i := range conv {
		maxDiff = max(maxDiff, math.Abs(float64(conv[i]-linear[i])))
	}
	if maxDiff > 1e-6 {
		t.Errorf("linear and conv projections differ by %g", maxDiff)
	}
}
