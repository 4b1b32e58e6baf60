package unet_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"sdgo/internal/fixture"
	"sdgo/internal/nn"
	"sdgo/internal/safetensors"
	"sdgo/internal/testutil"
	"sdgo/internal/unet"
)

// goBackend is testutil's shared pure-Go backend (ops run sequentially:
// GoMLX v0.26's parallel scheduler can deadlock on 2 cores).
func goBackend(t testing.TB) backends.Backend { return testutil.Backend(t) }

// tinyUNet is the tiny SD1 UNet compiled on the go backend.
type tinyUNet struct {
	cfg  unet.Config
	exec *context.Exec
}

// newTinyUNet detects the tiny-sd1 config and builds an Exec over ctx.
func newTinyUNet(t testing.TB, m *fixture.Manifest, ctx *context.Context) *tinyUNet {
	t.Helper()
	cfg, err := unet.DetectConfig(fileShapes(t, m.Path("tiny-sd1/model.safetensors")), prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ApplyHints(m.Models["tiny-sd1"]); err != nil {
		t.Fatal(err)
	}
	exec, err := context.NewExec(goBackend(t), ctx, func(ctx *context.Context, x, ts, c *Node) *Node {
		s := nn.NewScope(ctx, x.Graph(), dtypes.Float32).In("model.diffusion_model")
		return unet.Forward(s, cfg, x, ts, c, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	return &tinyUNet{cfg: cfg, exec: exec}
}

// run evaluates eps for x [B,4,H,W], timesteps [B] and context [B,L,D].
func (u *tinyUNet) run(t testing.TB, x, ts, c *tensors.Tensor) []float32 {
	t.Helper()
	out, err := u.exec.Exec(x, ts, c)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0])
}

// input reads a fixture tensor as a GoMLX tensor.
func input(t testing.TB, m *fixture.Manifest, name string) *tensors.Tensor {
	t.Helper()
	v, shape, err := m.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.FromFlatDataAndDimensions(v, shape...)
}

// unetInputs holds one case's inputs, batched: CFG cases stack [x, x] with
// contexts [cond, uncond].
type unetInputs struct {
	Timestep json.RawMessage `json:"timestep"`
}

func caseInputs(t *testing.T, m *fixture.Manifest, c *fixture.Case) (x, ts, ctx *tensors.Tensor) {
	t.Helper()
	var in unetInputs
	if err := c.DecodeInputs(&in); err != nil {
		t.Fatal(err)
	}
	var steps []float32
	if err := json.Unmarshal(in.Timestep, &steps); err != nil {
		var one float32
		if err := json.Unmarshal(in.Timestep, &one); err != nil {
			t.Fatalf("%s: timestep: %v", c.ID, err)
		}
		steps = []float32{one}
	}
	xv, xs, err := m.Tensor(c.InputTensors["x"])
	if err != nil {
		t.Fatal(err)
	}
	var cv []float32
	var cs []int
	if name, ok := c.InputTensors["context"]; ok {
		if cv, cs, err = m.Tensor(name); err != nil {
			t.Fatal(err)
		}
	} else {
		cond, condShape, err := m.Tensor(c.InputTensors["context_cond"])
		if err != nil {
			t.Fatal(err)
		}
		uncond, _, err := m.Tensor(c.InputTensors["context_uncond"])
		if err != nil {
			t.Fatal(err)
		}
		cv = append(append([]float32{}, cond...), uncond...)
		cs = append([]int{2}, condShape[1:]...)
	}
	one := xv
	for len(xv) < len(steps)*len(one)/xs[0] {
		xv = append(xv, one...)
	}
	xs = append([]int{len(steps)}, xs[1:]...)
	return tensors.FromFlatDataAndDimensions(xv, xs...),
		tensors.FromFlatDataAndDimensions(steps, len(steps)),
		tensors.FromFlatDataAndDimensions(cv, cs...)
}

// checkCase runs one unet or lora_unet case and checks every expected tensor.
func checkCase(t *testing.T, m *fixture.Manifest, u *tinyUNet, c *fixture.Case) {
	x, ts, ctx := caseInputs(t, m, c)
	eps := u.run(t, x, ts, ctx)
	if name, ok := c.ExpectedTensors["eps"]; ok {
		testutil.Check(t, m, c.ID, name, eps, c.Tolerance)
		return
	}
	testutil.Check(t, m, c.ID+" batch", c.ExpectedTensors["eps_batch"], eps, c.Tolerance)
	var in struct {
		CFGScale float32 `json:"cfg_scale"`
	}
	if err := c.DecodeInputs(&in); err != nil {
		t.Fatal(err)
	}
	half := len(eps) / 2
	cfg := make([]float32, half)
	for i := range cfg {
		cond, uncond := eps[i], eps[half+i]
		cfg[i] = uncond + (cond-uncond)*in.CFGScale
	}
	testutil.Check(t, m, c.ID+" cfg", c.ExpectedTensors["eps_cfg"], cfg, c.Tolerance)
}

func TestForwardFixtures(t *testing.T) {
	m := testutil.Fixtures(t)
	ctx := testutil.Context(t, m.Path("tiny-sd1/model.safetensors"), prefix, "")
	u := newTinyUNet(t, m, ctx)
	for _, c := range m.CasesOfKind("unet") {
		t.Run(c.ID, func(t *testing.T) { checkCase(t, m, u, c) })
	}
}

func TestForwardLoRAFixtures(t *testing.T) {
	m := testutil.Fixtures(t)
	cases := m.CasesOfKind("lora_unet")
	if len(cases) == 0 {
		t.Skip("no lora_unet cases")
	}
	var in struct {
		Multiplier float32 `json:"multiplier"`
		LoraFile   string  `json:"lora_file"`
	}
	if err := cases[0].DecodeInputs(&in); err != nil {
		t.Fatal(err)
	}
	ctx := mergedContext(t, m, m.Path("tiny-sd1/model.safetensors"), m.Path(in.LoraFile), in.Multiplier)
	u := newTinyUNet(t, m, ctx)
	for _, c := range cases {
		t.Run(c.ID, func(t *testing.T) { checkCase(t, m, u, c) })
	}
}

// mergedContext loads the UNet weights of model with the UNet modules of
// the kohya LoRA merged in at multiplier, following the fixture README:
// W' = W + (up.reshape(out,r) @ down.reshape(r,-1)).reshape(W.shape) * (multiplier*alpha/r).
// (The LoRA loader proper belongs to the checkpoint package; this is the
// test's own minimal version.)
func mergedContext(t *testing.T, m *fixture.Manifest, model, lora string, multiplier float32) *context.Context {
	t.Helper()
	mf, err := safetensors.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	lf, err := safetensors.Open(lora)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	read := func(f *safetensors.File, name string) ([]float32, []int) {
		v, s, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		return v, s
	}
	weights := map[string][]float32{}
	shapes := map[string][]int{}
	for _, name := range mf.Names() {
		if strings.HasPrefix(name, prefix) {
			weights[name], shapes[name] = read(mf, name)
		}
	}
	merged := 0
	for module, key := range m.Lora.Targets {
		if !strings.HasPrefix(module, "lora_unet_") {
			continue
		}
		w, ok := weights[key]
		if !ok {
			t.Fatalf("lora module %s targets %s, not in the model", module, key)
		}
		up, upShape := read(lf, module+".lora_up.weight")
		down, downShape := read(lf, module+".lora_down.weight")
		alpha, _ := read(lf, module+".alpha")
		out, r := upShape[0], upShape[1]
		in := len(down) / downShape[0]
		if out*in != len(w) {
			t.Fatalf("lora module %s: up %v down %v do not fit %s %v", module, upShape, downShape, key, shapes[key])
		}
		scale := multiplier * alpha[0] / float32(r)
		for o := 0; o < out; o++ {
			for i := 0; i < in; i++ {
				var acc float32
				for k := 0; k < r; k++ {
					acc += up[o*r+k] * down[k*in+i]
				}
				w[o*in+i] += acc * scale
			}
		}
		merged++
	}
	if merged == 0 {
		t.Fatal("no lora_unet modules in the manifest's lora.targets")
	}
	ctx := context.New()
	for name, v := range weights {
		nn.SetVariable(ctx, name, tensors.FromFlatDataAndDimensions(v, shapes[name]...))
	}
	return ctx
}
