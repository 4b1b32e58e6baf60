package verify

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"sdgo/internal/fixture"
	"sdgo/internal/model"
)

// outputKind classifies a network output by how far half precision's
// rounding carries in it.
type outputKind int

const (
	forwardOut outputKind = iota // one network call: values of order 1
	guidedOut                    // CFG's combination (a difference of two calls times the scale), or an image decoded from sampled latents
	sampledOut                   // latents after a whole sampling loop (magnitude up to ~60 on the tiny models)
)

// halfPrecision is how network outputs computed in a half-precision dtype
// are checked. The fixtures' tolerances are float32's (ten times the
// float32-to-float64 difference); in f16 or bf16 every activation keeps 11
// or 8 significant bits. Measured on the tiny models (docs/PERFORMANCE.md,
// "Correctness on the GPU"):
//   - f16 (cuda, cuDNN's fused attention): single forwards within 5.0e-3,
//     CFG-combined UNet outputs within 3.4e-2, txt2img latents within 0.60,
//     the 8-bit image within 1-2 levels;
//   - bf16: single forwards within 4.1e-2 on cuda and 7.0e-2 on the pure-Go
//     backend (which rounds more often than cuBLAS and cuDNN), CFG-combined
//     outputs within 1.2e-1, latents within 0.99, the image within 3-5 levels.
type halfPrecision struct {
	name  string
	atol  [3]float64 // absolute tolerance per outputKind
	uint8 float64    // 8-bit image tolerance in levels
}

var halfPrecisions = map[dtypes.DType]halfPrecision{
	dtypes.Float16:  {name: "f16", atol: [3]float64{6e-3, 5e-2, 1}, uint8: 2},
	dtypes.BFloat16: {name: "bf16", atol: [3]float64{1e-1, 5e-1, 2}, uint8: 6},
}

// precision is the dtype the run's networks compute in (see
// model.ComputeDType), resolved on first use; Float32 when the options
// cannot be resolved (loading the model then reports why).
func (r *Runner) precision() dtypes.DType {
	if r.dtype == dtypes.InvalidDType {
		r.dtype = dtypes.Float32
		if dt, err := model.ComputeDType(r.Opts.DType, r.Opts.Backend); err == nil {
			r.dtype = dt
		}
	}
	return r.dtype
}

// half returns how the run's half precision is checked; false in float32.
func (r *Runner) half() (halfPrecision, bool) {
	h, ok := halfPrecisions[r.precision()]
	return h, ok
}

// tol is the tolerance for an output of kind k of network case c: the
// case's own in float32; in half precision the wider of it and the
// precision's.
func (r *Runner) tol(c *fixture.Case, k outputKind) fixture.Tolerance {
	t := c.Tolerance
	h, ok := r.half()
	if !ok || t.Exact {
		return t
	}
	t.Atol = max(t.Atol, h.atol[k])
	return t
}

// newNetResult starts a passing result for network case c, its tolerance
// that of single forwards, named with the precision when that is half.
func (r *Runner) newNetResult(c *fixture.Case, variant string) Result {
	res := newResult(c, variant, r.tol(c, forwardOut))
	if h, ok := r.half(); ok {
		res.Tol += " (" + h.name + ")"
	}
	return res
}

// noteTol adds to res's tolerance the one role was held to, where that
// differs from single forwards'.
func (r *Runner) noteTol(res *Result, c *fixture.Case, role string, k outputKind) {
	if _, ok := r.half(); ok && k != forwardOut {
		res.Tol += fmt.Sprintf(", %s atol %g", role, r.tol(c, k).Atol)
	}
}

// uint8Tol is the 8-bit image tolerance in levels: the case's (2 when it
// gives none), at least the precision's in half precision.
func (r *Runner) uint8Tol(c *fixture.Case) float64 {
	maxAbs := 2.0
	if c.ToleranceUint8 != nil {
		maxAbs = c.ToleranceUint8.MaxAbs
	}
	h, _ := r.half() // uint8 0 in float32
	return max(maxAbs, h.uint8)
}
