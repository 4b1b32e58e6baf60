package clip_test

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"sdgo/internal/clip"
	"sdgo/internal/fixture"
	"sdgo/internal/nn"
	"sdgo/internal/testutil"
)

// TestHalfPrecisionCompute runs the text_encoder cases with BFloat16
// activations (weights stored as float32, cast by the scope) and checks them
// against the float32 references with a half-precision tolerance: the graph
// must not mix dtypes anywhere. (Float16 cannot run here: the simplego
// backend of GoMLX v0.26.0 has no Float16 constants.)
func TestHalfPrecisionCompute(t *testing.T) {
	m := testutil.Fixtures(t)
	w := loadWeights(t, m.Path("tiny-sd1/model.safetensors"), sd1Prefix)
	cfg := tinyConfig(t, m, w, sd1Prefix)
	ids := textEncoderIDs(t, m)
	cases := m.CasesOfKind("text_encoder")
	for _, tc := range []struct {
		dtype dtypes.DType
		atol  float64
	}{{dtypes.BFloat16, 1e-1}} {
		t.Run(tc.dtype.String(), func(t *testing.T) {
			outs := run(t, w.context(), tc.dtype, sd1Prefix, func(s *nn.Scope, ids *Node) []*Node {
				h, _ := clip.Forward(s, cfg, ids, 1)
				if h.DType() != tc.dtype {
					t.Errorf("hidden dtype %s, want %s", h.DType(), tc.dtype)
				}
				return []*Node{h}
			}, ids)
			per := len(outs[0]) / len(cases)
			for i, c := range cases {
				testutil.Check(t, m, c.ID+" last_hidden_state", c.ExpectedTensors["last_hidden_state"],
					outs[0][i*per:(i+1)*per], fixture.Tolerance{Atol: tc.atol, Rtol: 1e-2})
			}
		})
	}
}

// TestSkipBeyondLayers checks that asking for more skipped layers than the
// encoder has fails with an error naming the problem.
func TestSkipBeyondLayers(t *testing.T) {
	m := testutil.Fixtures(t)
	w := loadWeights(t, m.Path("tiny-sd1/model.safetensors"), sd1Prefix)
	cfg := tinyConfig(t, m, w, sd1Prefix)
	b, err := backend()
	if err != nil {
		t.Fatal(err)
	}
	exec, err := context.NewExec(b, w.context(), func(ctx *context.Context, ids *Node) *Node {
		h, _ := clip.Forward(nn.NewScope(ctx, ids.Graph(), dtypes.Float32).In(strings.TrimSuffix(sd1Prefix, ".")), cfg, ids, cfg.Layers+1)
		return h
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = exec.Exec(tensors.FromFlatDataAndDimensions(make([]int32, 77), 1, 77))
	if err == nil || !strings.Contains(err.Error(), "skip 3") {
		t.Fatalf("error %v, want one about skip 3", err)
	}
}
