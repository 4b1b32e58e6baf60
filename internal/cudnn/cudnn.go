package cudnn

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/gomlx/go-xla/pkg/stablehlo"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"

	"sdgo/internal/unexported"
)

// Target is the custom-call name XLA's GPU compiler maps to cuDNN's fused
// attention with a softmax.
const Target = "__cudnn$fmhaSoftmax"

// disabled turns the fused path off: SDGO_FMHA=0 (for A/B measurements), or
// Disable after XLA refused to compile it (a GPU or cuDNN without flash
// attention; cuDNN's needs an Ampere or newer GPU).
var disabled atomic.Bool

// fusedGraphs holds (weakly) the graphs that have a fused attention call.
var fusedGraphs sync.Map // weak.Pointer[graph.Graph] -> struct{}

func init() { disabled.Store(os.Getenv("SDGO_FMHA") == "0") }

// Disable turns the fused path off for the rest of the process.
func Disable() { disabled.Store(true) }

// Enabled reports whether the fused path may be used.
func Enabled() bool { return !disabled.Load() }

// UsedIn reports whether fused attention was put into graph g: a caller
// whose new graph fails to compile can then Disable the path and build
// again, whatever other graphs were built meanwhile.
func UsedIn(g *graph.Graph) bool {
	if g == nil {
		return false
	}
	_, ok := fusedGraphs.Load(weak.Make(g))
	return ok
}

// Eligible reports whether attention over q [B, Lq, heads*d] (with k and v
// [B, Lk, heads*d]) can use the fused kernel: the graph runs on XLA's CUDA
// backend, the values are float16 or bfloat16, and the head size is a
// multiple of 8 no larger than 256 (cuDNN's limits, as JAX checks them).
func Eligible(q, k, v *graph.Node, heads int) bool {
	if !Enabled() || !Available() || heads <= 0 {
		return false
	}
	b := q.Graph().Backend()
	if b == nil || b.Name() != "xla" || !strings.Contains(strings.ToLower(b.Description()), "cuda") {
		return false
	}
	dt := q.DType()
	if dt != dtypes.Float16 && dt != dtypes.BFloat16 || k.DType() != dt || v.DType() != dt {
		return false
	}
	if q.Rank() != 3 || k.Rank() != 3 || v.Rank() != 3 {
		return false
	}
	inner := q.Shape().Dimensions[2]
	if inner%heads != 0 || k.Shape().Dimensions[2] != inner || v.Shape().Dimensions[2] != inner {
		return false
	}
	d := inner / heads
	if d%8 != 0 || d > 256 {
		return false
	}
	_, err := valueOf(q)
	return err == nil
}

// Attention returns softmax(q k^T * scale) v per head for q [B, Lq, H, D]
// and k, v [B, Lk, H, D], as [B, Lq, H, D], computed by one cuDNN fused
// kernel. The caller checks Eligible first.
func Attention(q, k, v *graph.Node, scale float64) *graph.Node {
	qd, kd := q.Shape().Dimensions, k.Shape().Dimensions
	b, lq, h := qd[0], qd[1], qd[2]
	lk := kd[1]
	// The placeholder has the custom call's first result shape, [B, H, Lq, D]
	// (with the physical layout [B, Lq, H, D], see resultLayouts), and is
	// created after q, k and v, so its statement may use them.
	place := graph.TransposeAllAxes(q, 0, 2, 1, 3)
	fusedGraphs.Store(weak.Make(q.Graph()), struct{}{})
	if err := rewrite(place, []*graph.Node{q, k, v}, backendConfig(b, h, lq, lk, scale, q.DType())); err != nil {
		panic(fmt.Errorf("cudnn: fused attention: %w", err))
	}
	return graph.TransposeAllAxes(place, 0, 2, 1, 3)
}

// backendConfig is XLA's CudnnfMHABackendConfig for a plain (unmasked,
// no dropout) flash attention, in the JSON form JAX writes.
func backendConfig(b, h, lq, lk int, scale float64, dt dtypes.DType) string {
	dims := func(xs ...int) []string {
		s := make([]string, len(xs))
		for i, x := range xs {
			s[i] = fmt.Sprint(x)
		}
		return s
	}
	elem := "F16"
	if dt == dtypes.BFloat16 {
		elem = "BF16"
	}
	cfg := map[string]any{
		"operation_queue_id": "0",
		"cudnn_fmha_backend_config": map[string]any{
			"algorithm": map[string]any{
				"algo_id": "0", "math_type": "TENSOR_OP_MATH",
				"tuning_knobs":      map[string]string{"17": "1", "24": "0"},
				"is_cudnn_frontend": true, "workspace_size": "0",
			},
			"fmha_scale": scale,
			"intermediate_tensor_shape": map[string]any{
				"element_type": elem, "dimensions": dims(b, h, lq, lk), "tuple_shapes": []any{},
				"layout": map[string]any{
					"dim_level_types": []any{}, "dim_unique": []any{}, "dim_ordered": []any{},
					"minor_to_major": dims(3, 2, 1, 0), "tiles": []any{}, "element_size_in_bits": "0",
					"memory_space": "0", "index_primitive_type": "PRIMITIVE_TYPE_INVALID",
					"pointer_primitive_type": "PRIMITIVE_TYPE_INVALID", "dynamic_shape_metadata_prefix_bytes": "0",
				},
				"is_dynamic_dimension": []bool{false, false, false, false},
			},
			"is_flash_attention": true,
			"mask_type":          "NO_MASK",
			// Q [B, Lq, H, D] . K [B, Lk, H, D] over D, batched over B and H.
			"bmm1_dot_dimension_numbers": map[string]any{
				"lhs_contracting_dimensions": dims(3), "rhs_contracting_dimensions": dims(3),
				"lhs_batch_dimensions": dims(0, 2), "rhs_batch_dimensions": dims(0, 2),
			},
			// P [B, H, Lq, Lk] . V [B, Lk, H, D] over Lk.
			"bmm2_dot_dimension_numbers": map[string]any{
				"lhs_contracting_dimensions": dims(3), "rhs_contracting_dimensions": dims(1),
				"lhs_batch_dimensions": dims(0, 1), "rhs_batch_dimensions": dims(0, 2),
			},
			"dropout_rate": 0.0, "seed": 42, "sliding_window_length": 0,
			"max_seg_per_batch": 1, "is_paged_attention": false,
		},
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // plain maps of strings and numbers always marshal
	}
	return string(js)
}

// raw is an attribute value already written in StableHLO syntax.
type raw string

// ToStableHLO implements go-xla's attribute writer interface.
func (r raw) ToStableHLO() string { return string(r) }

// mlirString quotes s as an MLIR string literal (hex escapes for quotes,
// backslashes and control characters).
func mlirString(s string) raw {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&sb, "\\%02X", c)
		} else {
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return raw(sb.String())
}

// rewrite turns the statement that defines place's value into the fused
// attention custom call over inputs, adding the call's second result (cuDNN's
// workspace, u8[0] here; XLA sizes it).
func rewrite(place *graph.Node, inputs []*graph.Node, config string) error {
	out, err := valueOf(place)
	if err != nil {
		return err
	}
	ins := make([]*stablehlo.Value, len(inputs))
	for i, n := range inputs {
		if ins[i], err = valueOf(n); err != nil {
			return err
		}
	}
	fn, err := functionOf(out)
	if err != nil {
		return err
	}
	return rewriteStatement(fn, out, ins, config)
}

// rewriteStatement replaces the statement of fn that defines out with the fused
// attention custom call over ins (q, k, v, each [B, L, H, D]) configured by
// config, and gives it the workspace result. out must be [B, H, Lq, D].
func rewriteStatement(fn *stablehlo.Function, out *stablehlo.Value, ins []*stablehlo.Value, config string) error {
	at := -1
	for i := len(fn.Statements) - 1; i >= 0; i-- {
		if s := fn.Statements[i]; len(s.Outputs) == 1 && s.Outputs[0] == out {
			at = i
			break
		}
	}
	if at < 0 {
		return fmt.Errorf("no statement defines the placeholder value %s", out)
	}
	ws, err := fn.ConstantFromFlatAndDimensions([]uint8{}, 0)
	if err != nil {
		return fmt.Errorf("workspace value: %w", err)
	}
	last := len(fn.Statements) - 1
	if fn.Statements[last].Outputs[0] != ws {
		return fmt.Errorf("workspace constant was not the last statement")
	}
	fn.Statements = fn.Statements[:last]
	s := fn.Statements[at]
	if err := setCustomCall(s); err != nil {
		return err
	}
	s.Inputs = ins
	s.Outputs = append(s.Outputs, ws)
	layout := "dense<[3, 2, 1, 0]> : tensor<4xindex>"
	s.Attributes = map[string]any{
		"call_target_name": Target,
		"api_version":      int32(2),
		"backend_config":   mlirString(config),
		"operand_layouts":  raw("[" + strings.Repeat(layout+", ", len(ins)-1) + layout + "]"),
		// The result is logically [B, H, Lq, D] but laid out as [B, Lq, H, D],
		// so transposing it back is free.
		"result_layouts": raw("[dense<[3, 1, 2, 0]> : tensor<4xindex>, dense<0> : tensor<1xindex>]"),
	}
	return nil
}

var (
	customCallOnce sync.Once
	customCallOp   int64 = -1
)

// setCustomCall sets s's operation to stablehlo.custom_call. go-xla's
// operation enum is internal; its value is found by name once.
func setCustomCall(s *stablehlo.Statement) error {
	customCallOnce.Do(func() {
		var probe stablehlo.Statement
		op := reflect.ValueOf(&probe.OpType).Elem()
		for i := int64(0); i < 1024; i++ {
			op.SetInt(i)
			if probe.OpType.ToStableHLO() == "stablehlo.custom_call" {
				customCallOp = i
				return
			}
		}
	})
	if customCallOp < 0 {
		return fmt.Errorf("go-xla has no stablehlo.custom_call operation")
	}
	reflect.ValueOf(&s.OpType).Elem().SetInt(customCallOp)
	return nil
}

// valueOf returns the StableHLO value behind a node built on GoMLX's XLA
// backend: graph.Node.outputOps[0] is an *xla.Node whose value field is it.
func valueOf(n *graph.Node) (*stablehlo.Value, error) {
	ops, err := unexported.Field(reflect.ValueOf(n).Elem(), "outputOps")
	if err != nil {
		return nil, err
	}
	if ops.Kind() != reflect.Slice || ops.Len() != 1 {
		return nil, fmt.Errorf("node %s has no single output op", n)
	}
	op := ops.Index(0)
	for op.Kind() == reflect.Interface || op.Kind() == reflect.Pointer {
		if op.IsNil() {
			return nil, fmt.Errorf("node %s has a nil output op", n)
		}
		op = op.Elem()
	}
	val, err := unexported.Field(op, "value")
	if err != nil {
		return nil, err
	}
	v, ok := val.Interface().(*stablehlo.Value)
	if !ok || v == nil {
		return nil, fmt.Errorf("node %s: output op holds %s, not a StableHLO value", n, val.Type())
	}
	return v, nil
}

// functionOf returns the function a StableHLO value belongs to.
func functionOf(v *stablehlo.Value) (*stablehlo.Function, error) {
	f, err := unexported.Field(reflect.ValueOf(v).Elem(), "fn")
	if err != nil {
		return nil, err
	}
	fn, ok := f.Interface().(*stablehlo.Function)
	if !ok || fn == nil {
		return nil, fmt.Errorf("value %s has no function", v)
	}
	return fn, nil
}

var (
	availableOnce sync.Once
	availableErr  error
)

// Available reports whether the GoMLX and go-xla internals this package
// reaches are laid out as expected (checked on the types, once).
func Available() bool {
	availableOnce.Do(func() { availableErr = checkLayout() })
	return availableErr == nil
}

// checkLayout checks the fields valueOf and functionOf read, as far as the
// types can be named here (GoMLX's XLA node type belongs to its backend,
// which only the model package imports; Eligible checks that part on the
// graph's own nodes).
func checkLayout() error {
	want := []struct {
		t     reflect.Type
		name  string
		field reflect.Type
	}{
		{reflect.TypeOf(graph.Node{}), "outputOps", nil},
		{reflect.TypeOf(stablehlo.Value{}), "fn", reflect.TypeOf(&stablehlo.Function{})},
	}
	for _, w := range want {
		f, ok := w.t.FieldByName(w.name)
		if !ok {
			return fmt.Errorf("%s has no field %q", w.t, w.name)
		}
		if w.field != nil && f.Type != w.field {
			return fmt.Errorf("%s.%s is %s, want %s", w.t, w.name, f.Type, w.field)
		}
	}
	var probe stablehlo.Statement
	if err := setCustomCall(&probe); err != nil {
		return err
	}
	return nil
}
