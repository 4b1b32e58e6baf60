package vae_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX graph DSL
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"sdgo/internal/fixture"
	"sdgo/internal/nn"
	"sdgo/internal/safetensors"
	"sdgo/internal/testutil"
	"sdgo/internal/vae"
)

// fileShapes returns the shape of every tensor of a safetensors file.
func fileShapes(t *testing.T, path string) map[string][]int {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	shapes := map[string][]int{}
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		shapes[name] = info.Shape
	}
	return shapes
}

// weights is one VAE in a fixture folder: the file and its key prefix.
type weights struct {
	file, prefix string
}

// load returns the VAE's context and detected config.
func load(t *testing.T, m *fixture.Manifest, w weights) (*context.Context, vae.Config) {
	t.Helper()
	path := m.Path(w.file)
	cfg, err := vae.DetectConfig(fileShapes(t, path), w.prefix)
	if err != nil {
		t.Fatal(err)
	}
	return testutil.Context(t, path, w.prefix, ""), cfg
}

// run builds fn at the VAE's scope over input x, runs it once and returns
// the flat outputs and the keys (without prefix) of the variables the graph
// read.
func run(t *testing.T, ctx *context.Context, prefix string, x *tensors.Tensor,
	fn func(s *nn.Scope, x *Node) []*Node) ([][]float32, []string) {
	t.Helper()
	var g *Graph
	exec, err := context.NewExec(testutil.Backend(t), ctx, func(ctx *context.Context, x *Node) []*Node {
		g = x.Graph()
		return fn(nn.NewScope(ctx, g, dtypes.Float32).In(strings.TrimSuffix(prefix, ".")), x)
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := exec.Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compile+run %v", time.Since(start))
	var used []string
	ctx.EnumerateVariables(func(v *context.Variable) {
		if v.InUseByGraph(g) {
			key := strings.ReplaceAll(strings.TrimPrefix(v.Scope(), "/"), "/", ".") + "." + v.Name()
			used = append(used, strings.TrimPrefix(key, prefix))
		}
	})
	sort.Strings(used)
	flat := make([][]float32, len(out))
	for i, o := range out {
		flat[i] = tensors.MustCopyFlatData[float32](o)
	}
	return flat, used
}

// input reads a case's input tensor.
func input(t *testing.T, m *fixture.Manifest, c *fixture.Case, role string) *tensors.Tensor {
	t.Helper()
	v, shape, err := m.Tensor(c.InputTensors[role])
	if err != nil {
		t.Fatal(err)
	}
	return tensors.FromFlatDataAndDimensions(v, shape...)
}

// checkKeys asserts that the graph read exactly the keys of Keys(cfg) that
// start with one of the given roots.
func checkKeys(t *testing.T, cfg vae.Config, used []string, roots ...string) {
	t.Helper()
	var want []string
	for _, k := range vae.Keys(cfg) {
		for _, r := range roots {
			if strings.HasPrefix(k, r) {
				want = append(want, k)
				break
			}
		}
	}
	if len(want) == 0 {
		t.Fatalf("Keys(cfg) lists nothing under %v", roots)
	}
	if strings.Join(used, "\n") != strings.Join(want, "\n") {
		t.Errorf("graph read %d keys, Keys(cfg) lists %d under %v:\nread %v\nlisted %v", len(used), len(want), roots, used, want)
	}
}

var (
	checkpointVAE = weights{"tiny-sd1/model.safetensors", "first_stage_model."}
	standaloneVAE = weights{"tiny-sd1/vae.safetensors", ""}
)

func TestDecode(t *testing.T) {
	m := testutil.Fixtures(t)
	cases := m.CasesOfKind("vae_decode")
	if len(cases) == 0 {
		t.Fatal("no vae_decode cases")
	}
	for _, c := range cases {
		var in struct {
			ScaleFactor float64 `json:"scale_factor"`
			Model       string  `json:"model"`
		}
		if err := c.DecodeInputs(&in); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			role string
			w    weights
		}{
			{"image", weights{in.Model + "/model.safetensors", checkpointVAE.prefix}},
			{"image_vae_ft", weights{in.Model + "/vae.safetensors", standaloneVAE.prefix}},
		} {
			if c.ExpectedTensors[tc.role] == "" {
				continue
			}
			t.Run(c.ID+"/"+tc.role, func(t *testing.T) {
				ctx, cfg := load(t, m, tc.w)
				out, used := run(t, ctx, tc.w.prefix, input(t, m, c, "latent"), func(s *nn.Scope, z *Node) []*Node {
					return []*Node{vae.Decode(s, cfg, DivScalar(z, in.ScaleFactor))}
				})
				testutil.Check(t, m, c.ID+"/"+tc.role, c.ExpectedTensors[tc.role], out[0], c.Tolerance)
				checkKeys(t, cfg, used, "decoder.", "post_quant_conv.")
				t.Logf("graph read %d keys", len(used))
			})
		}
	}
}

func TestEncode(t *testing.T) {
	m := testutil.Fixtures(t)
	cases := m.CasesOfKind("vae_encode")
	if len(cases) == 0 {
		t.Fatal("no vae_encode cases")
	}
	roles := []string{"moments", "mean", "logvar_clamped", "latent_scaled"}
	for _, c := range cases {
		t.Run(c.ID, func(t *testing.T) {
			var in struct {
				ScaleFactor float64 `json:"scale_factor"`
				Model       string  `json:"model"`
			}
			if err := c.DecodeInputs(&in); err != nil {
				t.Fatal(err)
			}
			w := weights{in.Model + "/model.safetensors", checkpointVAE.prefix}
			ctx, cfg := load(t, m, w)
			out, used := run(t, ctx, w.prefix, input(t, m, c, "image"), func(s *nn.Scope, x *Node) []*Node {
				moments := vae.Encode(s, cfg, x)
				mean, logvar := vae.MeanLogVar(moments)
				return []*Node{moments, mean, logvar, MulScalar(mean, in.ScaleFactor)}
			})
			for i, role := range roles {
				if name := c.ExpectedTensors[role]; name != "" {
					testutil.Check(t, m, c.ID+"/"+role, name, out[i], c.Tolerance)
				}
			}
			checkKeys(t, cfg, used, "encoder.", "quant_conv.")

			// Converted files store the attention projections as Linear
			// [C,C]: the graph must read them the same way.
			t.Run("linear attention weights", func(t *testing.T) {
				lctx := linearAttentionContext(t, m.Path(w.file), w.prefix)
				lout, _ := run(t, lctx, w.prefix, input(t, m, c, "image"), func(s *nn.Scope, x *Node) []*Node {
					return []*Node{vae.Encode(s, cfg, x)}
				})
				testutil.Check(t, m, c.ID+"/moments (linear attention)", c.ExpectedTensors["moments"], lout[0], c.Tolerance)
			})
		})
	}
}

// linearAttentionContext loads the VAE tensors of path under prefix like
// testutil.Context, but stores every attention q/k/v/proj_out weight as a
// Linear [C,C] instead of a 1x1 conv [C,C,1,1].
func linearAttentionContext(t *testing.T, path, prefix string) *context.Context {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.New()
	n := 0
	for _, name := range f.Names() {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		v, shape, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(name, ".attn_1.") && strings.HasSuffix(name, ".weight") && len(shape) == 4 {
			shape, n = shape[:2], n+1
		}
		nn.SetVariable(ctx, name, tensors.FromFlatDataAndDimensions(v, shape...))
	}
	if n != 8 {
		t.Fatalf("reshaped %d attention weights, want 8", n)
	}
	return ctx
}
