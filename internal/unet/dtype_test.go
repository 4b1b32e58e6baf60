package unet_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"sdgo/internal/nn"
	"sdgo/internal/testutil"
	"sdgo/internal/unet"
)

// TestForwardBFloat16 builds the tiny UNet with BFloat16 activations (the
// go backend has no Float16) to check that the graph mixes dtypes correctly
// (norms and softmax in Float32, the rest in the compute dtype) and stays
// close to the Float32 reference: bfloat16 keeps about 3 significant digits.
func TestForwardBFloat16(t *testing.T) {
	m := testutil.Fixtures(t)
	path := m.Path("tiny-sd1/model.safetensors")
	ctx := testutil.Context(t, path, prefix, "")
	cfg, err := unet.DetectConfig(fileShapes(t, path), prefix)
	if err != nil {
		t.Fatal(err)
	}
	c := m.CasesOfKind("unet")[0]
	x, ts, cc := caseInputs(t, m, c)
	exec, err := context.NewExec(goBackend(t), ctx, func(ctx *context.Context, x, ts, c *Node) *Node {
		s := nn.NewScope(ctx, x.Graph(), dtypes.BFloat16).In("model.diffusion_model")
		return unet.Forward(s, cfg, x, ts, c, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(x, ts, cc)
	if err != nil {
		t.Fatal(err)
	}
	if dt := out[0].DType(); dt != dtypes.Float32 {
		t.Errorf("output dtype %s, want Float32", dt)
	}
	got := tensors.MustCopyFlatData[float32](out[0])
	want, _, err := m.Tensor(c.ExpectedTensors["eps"])
	if err != nil {
		t.Fatal(err)
	}
	var maxErr, maxAbs float64
	for i := range got {
		maxErr = max(maxErr, math.Abs(float64(got[i]-want[i])))
		maxAbs = max(maxAbs, math.Abs(float64(want[i])))
	}
	t.Logf("%s: bfloat16 max abs err %.3g (outputs up to %.3g)", c.ID, maxErr, maxAbs)
	if maxErr > 0.05*max(maxAbs, 1) {
		t.Errorf("%s: bfloat16 max abs err %.3g, want < %.3g", c.ID, maxErr, 0.05*max(maxAbs, 1))
	}
}
