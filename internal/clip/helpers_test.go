package clip_test

import (
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the "go" backend
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"sdgo/internal/clip"
	"sdgo/internal/fixture"
	"sdgo/internal/nn"
	"sdgo/internal/safetensors"
)

// sd1Prefix is where SD1 checkpoints keep the text encoder.
const sd1Prefix = "cond_stage_model.transformer.text_model."

// weight is a host tensor: values and shape.
type weight struct {
	v     []float32
	shape []int
}

// weights maps checkpoint keys to host tensors.
type weights map[string]weight

// loadWeights reads every float tensor of a safetensors file whose key
// starts with prefix.
func loadWeights(t testing.TB, path, prefix string) weights {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := weights{}
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		if !strings.HasPrefix(name, prefix) || !info.DType.IsFloat() {
			continue
		}
		v, shape, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		w[name] = weight{v, shape}
	}
	return w
}

func (w weights) shapes() map[string][]int {
	s := make(map[string][]int, len(w))
	for k, t := range w {
		s[k] = t.shape
	}
	return s
}

func (w weights) context() *context.Context {
	ctx := context.New()
	for k, t := range w {
		nn.SetVariable(ctx, k, tensors.FromFlatDataAndDimensions(t.v, t.shape...))
	}
	return ctx
}

// tinyConfig detects the tiny SD1 text encoder's config and applies the
// manifest's hints (heads 4, quick_gelu).
func tinyConfig(t testing.TB, m *fixture.Manifest, w weights, prefix string) clip.Config {
	t.Helper()
	cfg, err := clip.DetectConfig(w.shapes(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var model struct {
		LDM struct {
			Text json.RawMessage `json:"text"`
		} `json:"ldm"`
	}
	if err := json.Unmarshal(m.Models["tiny-sd1"], &model); err != nil {
		t.Fatal(err)
	}
	if err := cfg.ApplyHints(model.LDM.Text); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// backend returns this package's pure-Go backend. It is not
// testutil.Backend: GoMLX v0.26.0's simplego deadlocks on small machines
// when it runs independent ops in parallel (each op holds a worker while its
// DotGeneral waits for another; with 2 CPUs all 4 workers end up waiting),
// which the CLIP graph triggers. ops_sequential runs one op at a time and
// still parallelises inside each DotGeneral.
var backend = sync.OnceValues(func() (backends.Backend, error) {
	return backends.NewWithConfig("go:ops_sequential")
})

// encoder compiles fn over the weights of ctx and runs it on ids [B, L].
type encoder func(s *nn.Scope, ids *Node) []*Node

func run(t testing.TB, ctx *context.Context, dtype dtypes.DType, prefix string, fn encoder, ids [][]int32) [][]float32 {
	t.Helper()
	b, err := backend()
	if err != nil {
		t.Fatal(err)
	}
	exec, err := context.NewExec(b, ctx, func(ctx *context.Context, ids *Node) []*Node {
		s := nn.NewScope(ctx, ids.Graph(), dtype).In(strings.TrimSuffix(prefix, "."))
		outs := fn(s, ids)
		for i, o := range outs {
			outs[i] = ConvertDType(o, dtypes.Float32)
		}
		return outs
	})
	if err != nil {
		t.Fatal(err)
	}
	flat := make([]int32, 0, len(ids)*len(ids[0]))
	for _, row := range ids {
		flat = append(flat, row...)
	}
	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(flat, len(ids), len(ids[0])))
	if err != nil {
		t.Fatal(err)
	}
	res := make([][]float32, len(outs))
	for i, o := range outs {
		res[i] = tensors.MustCopyFlatData[float32](o)
	}
	return res
}

func toInt32(ids []int) []int32 {
	out := make([]int32, len(ids))
	for i, v := range ids {
		out[i] = int32(v)
	}
	return out
}

// maxDiff returns max |a-b|, or +Inf when the lengths differ.
func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// layerNorm normalises every row of width values of x on the host.
func layerNorm(x []float32, width int, gamma, beta []float32, eps float64) []float32 {
	out := make([]float32, len(x))
	for r := 0; r < len(x)/width; r++ {
		row := x[r*width : (r+1)*width]
		var mean, variance float64
		for _, v := range row {
			mean += float64(v)
		}
		mean /= float64(width)
		for _, v := range row {
			variance += (float64(v) - mean) * (float64(v) - mean)
		}
		variance /= float64(width)
		for i, v := range row {
			out[r*width+i] = float32((float64(v)-mean)/math.Sqrt(variance+eps)*float64(gamma[i]) + float64(beta[i]))
		}
	}
	return out
}
