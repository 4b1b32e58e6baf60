package cudnn

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gomlx/go-xla/pkg/stablehlo"
	gxdtypes "github.com/gomlx/go-xla/pkg/types/dtypes"
	gxshapes "github.com/gomlx/go-xla/pkg/types/shapes"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// The GoMLX and go-xla fields this package reaches must be where it looks;
// a dependency upgrade that moves them fails here (and switches the fused
// path off at run time rather than breaking graphs).
func TestInternalsAvailable(t *testing.T) {
	if err := checkLayout(); err != nil {
		t.Fatalf("GoMLX/go-xla internals moved: %v", err)
	}
	if !Available() {
		t.Fatal("Available() = false with a valid layout")
	}
}

// The rewritten statement is the custom call JAX emits for
// jax.nn.dot_product_attention(implementation="cudnn"): three operands, the
// [B, H, Lq, D] result laid out as [B, Lq, H, D] plus a u8[0] workspace, and
// the backend config with the scale and the logits' shape.
func TestRewriteEmitsCustomCall(t *testing.T) {
	b := stablehlo.New("attn")
	fn := b.Main()
	shape := gxshapes.Make(gxdtypes.Float16, 2, 64, 4, 8)
	kshape := gxshapes.Make(gxdtypes.Float16, 2, 77, 4, 8)
	q, err := fn.NamedInput("q", shape)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := fn.NamedInput("k", kshape)
	v, _ := fn.NamedInput("v", kshape)
	place, err := stablehlo.Transpose(q, 0, 2, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	before := len(fn.Statements)
	cfg := backendConfig(2, 4, 64, 77, 0.125, dtypes.Float16)
	if err := rewriteStatement(fn, place, []*stablehlo.Value{q, k, v}, cfg); err != nil {
		t.Fatal(err)
	}
	if len(fn.Statements) != before {
		t.Fatalf("statements %d after the rewrite, want %d (the workspace constant must be removed)", len(fn.Statements), before)
	}
	back, _ := stablehlo.Transpose(place, 0, 2, 1, 3)
	if err := fn.Return(back); err != nil {
		t.Fatal(err)
	}
	prog, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	text := string(prog)
	call := regexp.MustCompile(`(%\w+), (%\w+) = "stablehlo.custom_call"\(%q, %k, %v\)`).FindStringSubmatch(text)
	if call == nil {
		t.Fatalf("no custom call over q, k, v in:\n%s", text)
	}
	for _, want := range []string{
		`call_target_name = "__cudnn$fmhaSoftmax"`,
		`api_version = 2 : i32`,
		`-> (tensor<2x4x64x8xf16>, tensor<0xui8>)`,
		`result_layouts = [dense<[3, 1, 2, 0]> : tensor<4xindex>, dense<0> : tensor<1xindex>]`,
		`operand_layouts = [dense<[3, 2, 1, 0]> : tensor<4xindex>, dense<[3, 2, 1, 0]> : tensor<4xindex>, dense<[3, 2, 1, 0]> : tensor<4xindex>]`,
		`stablehlo.transpose"(` + call[1] + `)`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("program lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "stablehlo.constant") {
		t.Errorf("the workspace constant is still defined:\n%s", text)
	}
	m := regexp.MustCompile(`backend_config = "((?:[^"\\]|\\[0-9A-F]{2})*)"`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no backend_config string in:\n%s", text)
	}
	js := regexp.MustCompile(`\\[0-9A-F]{2}`).ReplaceAllStringFunc(m[1], func(e string) string {
		c, _ := strconv.ParseUint(e[1:], 16, 8)
		return string(rune(c))
	})
	var parsed struct {
		Cfg struct {
			Scale  float64                       `json:"fmha_scale"`
			Flash  bool                          `json:"is_flash_attention"`
			Mask   string                        `json:"mask_type"`
			Logits struct{ Dimensions []string } `json:"intermediate_tensor_shape"`
		} `json:"cudnn_fmha_backend_config"`
	}
	if err := json.Unmarshal([]byte(js), &parsed); err != nil {
		t.Fatalf("backend_config is not JSON after unquoting: %v\n%s", err, js)
	}
	c := parsed.Cfg
	if c.Scale != 0.125 || !c.Flash || c.Mask != "NO_MASK" || strings.Join(c.Logits.Dimensions, ",") != "2,4,64,77" {
		t.Errorf("backend config = %+v", c)
	}
}

func TestMLIRString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`plain`, `"plain"`},
		{`{"a": "b\c"}`, `"{\22a\22: \22b\5Cc\22}"`},
		{"tab\there", `"tab\09here"`},
	} {
		if got := mlirString(tc.in).ToStableHLO(); got != tc.want {
			t.Errorf("mlirString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
