package model

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"sdgo/internal/fixture"
	"sdgo/internal/safetensors"
	"sdgo/internal/testutil"
)

func loadTiny(t *testing.T, m *fixture.Manifest) *Model {
	t.Helper()
	mdl, err := Load(m.Path("tiny-sd1/model.safetensors"), Options{Backend: "go", Hints: m.Models["tiny-sd1"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mdl.Close() })
	return mdl
}

type loraInputs struct {
	Model      string  `json:"model"`
	LoraFile   string  `json:"lora_file"`
	Multiplier float64 `json:"multiplier"`
	Timestep   float64 `json:"timestep"`
	IDs        []int   `json:"ids"`
}

// skipOf says which clip skip gives a text case's expected tensor.
var skipOf = map[string]int{"last_hidden_state": 1, "penultimate_final_ln": 2}

// The lora_unet and lora_text_encoder cases: the tiny model with the
// fixture LoRA merged at 0.7.
func TestLoRAFixtureCases(t *testing.T) {
	m := testutil.Fixtures(t)
	cases := m.CasesOfKind("lora_unet", "lora_text_encoder")
	if len(cases) == 0 {
		t.Fatal("no LoRA cases in the fixtures")
	}
	models := map[string]*Model{} // one per LoRA file and multiplier
	parent := t
	for _, c := range cases {
		t.Run(c.ID, func(t *testing.T) {
			var in loraInputs
			if err := c.DecodeInputs(&in); err != nil {
				t.Fatal(err)
			}
			if in.Model != "tiny-sd1" {
				t.Skipf("model %s is not in this fixture set", in.Model)
			}
			key := fmt.Sprintf("%s@%g", in.LoraFile, in.Multiplier)
			mdl := models[key]
			if mdl == nil {
				mdl = loadTiny(parent, m) // closed when the whole test ends
				if err := mdl.ApplyLoRA(m.Path(in.LoraFile), in.Multiplier); err != nil {
					t.Fatal(err)
				}
				models[key] = mdl
			}
			switch c.Kind {
			case "lora_unet":
				x, xShape, ctx, ctxShape := unetInputs(t, m, c)
				eps, err := mdl.RunUNet(x, xShape, []float32{float32(in.Timestep)}, ctx, ctxShape, nil)
				if err != nil {
					t.Fatal(err)
				}
				testutil.Check(t, m, c.ID, c.ExpectedTensors["eps"], eps, c.Tolerance)
			case "lora_text_encoder":
				for role, name := range c.ExpectedTensors {
					enc, err := mdl.EncodeText(0, [][]int{in.IDs}, skipOf[role])
					if err != nil {
						t.Fatal(err)
					}
					testutil.Check(t, m, c.ID+" "+role, name, enc.Hidden, c.Tolerance)
				}
			}
		})
	}
}

// LoRAs add up, each multiplier applies to its part, and ClearLoRAs gives
// back the plain model; all checked on the text encoder (fast).
func TestLoRAComposition(t *testing.T) {
	m := testutil.Fixtures(t)
	mdl := loadTiny(t, m)
	path := m.Path(m.Lora.File)
	ids := textIDs(t, m, "lora/sd1/m0_7/text_000")
	tol := fixture.Tolerance{Atol: 2e-5, Rtol: 1e-4}
	encode := func() []float32 {
		t.Helper()
		enc, err := mdl.EncodeText(0, [][]int{ids}, 1)
		if err != nil {
			t.Fatal(err)
		}
		return enc.Hidden
	}
	const merged = "lora/sd1/m0_7/text_000/out/last_hidden_state"
	const plain = "text_encoder/sd1/000/out/last_hidden_state"

	for _, mult := range []float64{0.35, 0.35} {
		if err := mdl.ApplyLoRA(path, mult); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Check(t, m, "0.35 twice", merged, encode(), tol)
	if l := mdl.LoRAs(); len(l) != 2 || l[0].Name != "lora" || l[1].String() != "<lora:lora:0.35>" {
		t.Errorf("LoRAs() = %+v", l)
	}

	mdl.ClearLoRAs()
	testutil.Check(t, m, "cleared", plain, encode(), tol)
	if len(mdl.LoRAs()) != 0 {
		t.Errorf("LoRAs() after ClearLoRAs = %v", mdl.LoRAs())
	}

	if err := mdl.ApplyLoRAParts(path, 0.7, 0); err != nil {
		t.Fatal(err)
	}
	testutil.Check(t, m, "te 0.7 unet 0", merged, encode(), tol)
	mdl.ClearLoRAs()
	if err := mdl.ApplyLoRAParts(path, 0, 0.7); err != nil {
		t.Fatal(err)
	}
	testutil.Check(t, m, "te 0 unet 0.7", plain, encode(), tol)
	if h, err := mdl.LoRAs()[0].Hash(); err != nil || len(h) != 12 {
		t.Errorf("Hash() = %q, %v", h, err)
	}
}

// unetInputs are a UNet case's latents and context with their shapes.
func unetInputs(t *testing.T, m *fixture.Manifest, c *fixture.Case) (x []float32, xShape []int, ctx []float32, ctxShape []int) {
	t.Helper()
	x, xShape, err := m.Tensor(c.InputTensors["x"])
	if err != nil {
		t.Fatal(err)
	}
	ctx, ctxShape, err = m.Tensor(c.InputTensors["context"])
	if err != nil {
		t.Fatal(err)
	}
	return x, xShape, ctx, ctxShape
}

func textIDs(t *testing.T, m *fixture.Manifest, id string) []int {
	t.Helper()
	for _, c := range m.Cases {
		if c.ID == id {
			var in loraInputs
			if err := c.DecodeInputs(&in); err != nil {
				t.Fatal(err)
			}
			return in.IDs
		}
	}
	t.Fatalf("no case %s", id)
	return nil
}

// A LoRA that cannot be applied leaves the model as it was.
func TestApplyLoRAErrorsLeaveModelUnchanged(t *testing.T) {
	m := testutil.Fixtures(t)
	mdl := loadTiny(t, m)
	sdxl := filepath.Join(t.TempDir(), "xl.safetensors")
	mod := "lora_te2_text_model_encoder_layers_0_mlp_fc1"
	if err := safetensors.WriteFile(sdxl, []safetensors.Tensor{
		safetensors.F32Tensor(mod+".lora_down.weight", []int{1, 1280}, make([]float32, 1280)),
		safetensors.F32Tensor(mod+".lora_up.weight", []int{5120, 1}, make([]float32, 5120)),
	}, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, want string }{
		{"missing file", m.Path("tiny-sd1/missing.safetensors"), "missing.safetensors"},
		{"not a LoRA", m.Path("tiny-sd1/model.safetensors"), "no kohya-style LoRA modules"},
		{"other family", sdxl, "lora: xl.safetensors is an SDXL LoRA, the model is SD1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := mdl.Runner()
			err := mdl.ApplyLoRA(tt.path, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if mdl.Runner() != before || len(mdl.LoRAs()) != 0 {
				t.Error("a failed ApplyLoRA changed the model")
			}
		})
	}
}

// Cross-attention reads every block's to_k and to_v joined into one
// weight, and the ResBlocks their emb_layers (nn.Scope.Merged, unet's
// conds). A LoRA applied after the UNet has run must reach the
// joined copy: the output then matches the fixture's LoRA case.
func TestLoRAReachesJoinedWeights(t *testing.T) {
	m := testutil.Fixtures(t)
	var c *fixture.Case
	for _, cc := range m.CasesOfKind("lora_unet") {
		c = cc
		break
	}
	if c == nil {
		t.Fatal("no lora_unet case in the fixtures")
	}
	var in loraInputs
	if err := c.DecodeInputs(&in); err != nil {
		t.Fatal(err)
	}
	x, xShape, ctx, ctxShape := unetInputs(t, m, c)
	mdl := loadTiny(t, m)
	run := func() []float32 {
		t.Helper()
		eps, err := mdl.RunUNet(x, xShape, []float32{float32(in.Timestep)}, ctx, ctxShape, nil)
		if err != nil {
			t.Fatal(err)
		}
		return eps
	}
	plain := run()
	joined, single, embs := 0, 0, 0
	for v := range mdl.nets[netUNet].ctx.IterVariables() {
		key := keyOf(v.Scope(), v.Name())
		switch {
		case strings.Contains(key, ".@") && strings.Contains(key, ".emb_layers.1+"):
			embs++
		case strings.Contains(key, ".emb_layers.1."):
			single++
		case strings.Contains(key, ".@") && strings.Contains(key, ".attn2.to_k+"):
			joined++
		case strings.Contains(key, ".attn2.to_k.") || strings.Contains(key, ".attn2.to_v."):
			single++
		}
	}
	if joined != 1 || embs != 2 || single != 0 {
		t.Fatalf("loaded %d joined to_k/to_v weights, %d joined emb_layers tensors and %d single ones; want 1, 2 and 0", joined, embs, single)
	}
	if err := mdl.ApplyLoRA(m.Path(in.LoraFile), in.Multiplier); err != nil {
		t.Fatal(err)
	}
	withLoRA := run()
	testutil.Check(t, m, c.ID, c.ExpectedTensors["eps"], withLoRA, c.Tolerance)
	if fmt.Sprint(plain[:8]) == fmt.Sprint(withLoRA[:8]) {
		t.Error("the LoRA changed nothing")
	}
}

// TestChanged: a merged key changes with any tensor it joins, a derived key
// with the tensor it is computed from, a plain key with itself.
func TestChanged(t *testing.T) {
	keys := map[string]bool{"a.attn2.to_v.weight": true, "a.up.conv.weight": true}
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"a.attn2.to_v.weight", true},
		{"a.attn2.to_k.weight", false},
		{"a.attn2.@to_k+to_v.weight", true},
		{"a.attn1.@to_k+to_v.weight", false},
		{"a.up.conv.~subpixel.weight", true},
		{"a.down.conv.~subpixel.weight", false},
		{"a.up.conv.bias", false},
	} {
		if got := changed(keys, tc.key); got != tc.want {
			t.Errorf("changed(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}
