package clip_test

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"

	"sdgo/internal/clip"
	"sdgo/internal/fixture"
	"sdgo/internal/nn"
	"sdgo/internal/testutil"
)

const openclipPrefix = "cond_stage_model.model."

// toOpenCLIP renames the tiny HF text encoder's weights into OpenCLIP's
// layout (q, k, v stacked into in_proj) and adds a text projection proj
// [width, p] (HF: its transpose as text_projection.weight).
func toOpenCLIP(hf weights, layers int, proj weight) (oc, hfProj weights) {
	oc, hfProj = weights{}, weights{}
	for k, v := range hf {
		hfProj[k] = v
	}
	width, p := proj.shape[0], proj.shape[1]
	projT := make([]float32, len(proj.v))
	for i := 0; i < width; i++ {
		for j := 0; j < p; j++ {
			projT[j*width+i] = proj.v[i*p+j]
		}
	}
	hfProj[sd1Prefix+"text_projection.weight"] = weight{projT, []int{p, width}}
	oc[openclipPrefix+"text_projection"] = proj
	ren := map[string]string{
		"embeddings.token_embedding.weight":    "token_embedding.weight",
		"embeddings.position_embedding.weight": "positional_embedding",
		"final_layer_norm.weight":              "ln_final.weight",
		"final_layer_norm.bias":                "ln_final.bias",
	}
	parts := map[string]string{
		"layer_norm1": "ln_1", "layer_norm2": "ln_2", "self_attn.out_proj": "attn.out_proj",
		"mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj",
	}
	for i := 0; i < layers; i++ {
		from := sd1Prefix + "encoder.layers." + strconv.Itoa(i) + "."
		to := openclipPrefix + "transformer.resblocks." + strconv.Itoa(i) + "."
		for a, b := range parts {
			for _, n := range []string{".weight", ".bias"} {
				oc[to+b+n] = hf[from+a+n]
			}
		}
		for _, n := range []string{"weight", "bias"} {
			var cat []float32
			var rows int
			for _, qkv := range []string{"q_proj.", "k_proj.", "v_proj."} {
				t := hf[from+"self_attn."+qkv+n]
				cat = append(cat, t.v...)
				rows += t.shape[0]
			}
			shape := []int{rows}
			if n == "weight" {
				shape = append(shape, hf[from+"self_attn.q_proj.weight"].shape[1])
			}
			oc[to+"attn.in_proj_"+n] = weight{cat, shape}
		}
	}
	for a, b := range ren {
		oc[openclipPrefix+b] = hf[sd1Prefix+a]
	}
	return oc, hfProj
}

// TestOpenCLIPLayoutMatchesHF converts the tiny HF weights into OpenCLIP's
// layout and checks that both layouts give the same hidden states and
// pooled outputs, that pooled picks the first EOS and projects it, and that
// SDXL's output is the penultimate state without the final LayerNorm.
func TestOpenCLIPLayoutMatchesHF(t *testing.T) {
	m := testutil.Fixtures(t)
	base := loadWeights(t, m.Path("tiny-sd1/model.safetensors"), sd1Prefix)
	hfCfg := tinyConfig(t, m, base, sd1Prefix)
	const p = 16
	proj := weight{make([]float32, hfCfg.Width*p), []int{hfCfg.Width, p}}
	for i := range proj.v {
		proj.v[i] = float32(math.Sin(float64(i)*0.37)) * 0.25
	}
	oc, hfw := toOpenCLIP(base, hfCfg.Layers, proj)
	ocCfg, err := clip.DetectConfig(oc.shapes(), openclipPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if ocCfg.Layout != clip.LayoutOpenCLIP || ocCfg.Act != clip.GELU || ocCfg.ProjDim != p {
		t.Fatalf("detected %+v, want OpenCLIP layout, GELU, projection %d", ocCfg, p)
	}
	if err := ocCfg.ApplyHints(json.RawMessage(`{"heads": 4, "act": "quick_gelu"}`)); err != nil {
		t.Fatal(err)
	}
	if hfCfg, err = clip.DetectConfig(hfw.shapes(), sd1Prefix); err != nil || hfCfg.ProjDim != p {
		t.Fatalf("HF with projection: %+v, %v", hfCfg, err)
	}
	hfCfg.Heads = 4

	ids := textEncoderIDs(t, m)
	// An SD2-style row: one EOS, then pad id 0.
	sd2 := append([]int32(nil), ids[0]...)
	for i := 7; i < len(sd2); i++ {
		sd2[i] = 0
	}
	ids = append(ids, sd2)
	graph := func(cfg clip.Config) encoder {
		return func(s *nn.Scope, ids *Node) []*Node {
			last, pooled := clip.Encode(s, cfg, ids, clip.Output{Skip: 1, FinalNorm: true, Pooled: true})
			penult, _ := clip.Encode(s, cfg, ids, clip.SD1Output(2))
			xl, xlPooled := clip.Encode(s, cfg, ids, clip.SDXLOutput(true))
			return []*Node{last, pooled, penult, xl, xlPooled}
		}
	}
	got := run(t, hfw.context(), dtypes.Float32, sd1Prefix, graph(hfCfg), ids)
	want := run(t, oc.context(), dtypes.Float32, openclipPrefix, graph(ocCfg), ids)
	for i, name := range []string{"last", "pooled", "penultimate", "sdxl hidden", "sdxl pooled"} {
		if d := maxDiff(got[i], want[i]); d > 1e-6 {
			t.Errorf("%s: HF and OpenCLIP layouts differ by %g", name, d)
		}
	}
	last, pooled, penult, xl := got[0], got[1], got[2], got[3]
	w := hfCfg.Width
	for b, row := range ids {
		eos := 0
		for i, id := range row {
			if id > row[eos] {
				eos = i
			}
		}
		tok := last[(b*len(row)+eos)*w : (b*len(row)+eos+1)*w]
		want := make([]float32, p)
		for j := range want {
			var acc float64
			for i := 0; i < w; i++ {
				acc += float64(tok[i]) * float64(proj.v[i*p+j])
			}
			want[j] = float32(acc)
		}
		if d := maxDiff(pooled[b*p:(b+1)*p], want); d > 1e-5 {
			t.Errorf("row %d: pooled differs from last_hidden_state[%d] @ projection by %g", b, eos, d)
		}
	}
	normed := layerNorm(xl, w, base[sd1Prefix+"final_layer_norm.weight"].v, base[sd1Prefix+"final_layer_norm.bias"].v, 1e-5)
	if d := maxDiff(normed, penult); d > 1e-5 {
		t.Errorf("final_layer_norm(SDXL hidden) differs from the penultimate_final_ln output by %g", d)
	}
	if d := maxDiff(xl, penult); d < 1e-3 {
		t.Errorf("SDXL hidden is within %g of the normed penultimate state: final norm not skipped?", d)
	}
}

// textEncoderIDs returns the ids of the text_encoder cases.
func textEncoderIDs(t *testing.T, m *fixture.Manifest) [][]int32 {
	t.Helper()
	var ids [][]int32
	for _, c := range m.CasesOfKind("text_encoder") {
		var in encoderInputs
		if err := c.DecodeInputs(&in); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, toInt32(in.IDs))
	}
	if len(ids) == 0 {
		t.Fatal("no text_encoder cases")
	}
	return ids
}

type realShapes struct {
	Tensors [][3]json.RawMessage `json:"tensors"`
}

func readRealShapes(t *testing.T, path string) map[string][]int {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rs realShapes
	if err := json.Unmarshal(raw, &rs); err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]int, len(rs.Tensors))
	for _, row := range rs.Tensors {
		var key string
		var shape []int
		if err := json.Unmarshal(row[0], &key); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(row[1], &shape); err != nil {
			t.Fatal(err)
		}
		out[key] = shape
	}
	return out
}

func TestDetectConfigRealShapes(t *testing.T) {
	m := testutil.Fixtures(t)
	clipL := clip.Config{Layout: clip.LayoutHF, Width: 768, Layers: 12, Heads: 12, MLP: 3072,
		Vocab: 49408, Positions: 77, Act: clip.QuickGELU, Eps: 1e-5}
	tests := []struct {
		file, prefix string
		want         clip.Config
		err          string
	}{
		{"sd15", "cond_stage_model.transformer.text_model.", clipL, ""},
		{"sd21_768v", "cond_stage_model.model.", clip.Config{Layout: clip.LayoutOpenCLIP, Width: 1024, Layers: 24,
			Heads: 16, MLP: 4096, Vocab: 49408, Positions: 77, Act: clip.GELU, Eps: 1e-5}, ""},
		{"sdxl_base", "conditioner.embedders.0.transformer.text_model.", clipL, ""},
		{"sdxl_base", "conditioner.embedders.1.model", clip.Config{Layout: clip.LayoutOpenCLIP, Width: 1280, Layers: 32,
			Heads: 20, MLP: 5120, Vocab: 49408, Positions: 77, Act: clip.GELU, ProjDim: 1280, Eps: 1e-5}, ""},
		{"sd15", "conditioner.embedders.1.model.", clip.Config{}, `missing "conditioner.embedders.1.model.`},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.prefix, func(t *testing.T) {
			got, err := clip.DetectConfig(readRealShapes(t, m.Path("real-shapes/"+tc.file+".json")), tc.prefix)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			checkWeightShapes(t, got, readRealShapes(t, m.Path("real-shapes/"+tc.file+".json")), tc.prefix)
		})
	}
}

// checkWeightShapes checks that cfg.WeightShapes names exactly the tensors
// the file has under prefix (position_ids aside), with the same shapes.
func checkWeightShapes(t *testing.T, cfg clip.Config, file map[string][]int, prefix string) {
	t.Helper()
	prefix = strings.TrimSuffix(prefix, ".") + "."
	want := cfg.WeightShapes()
	for k, shape := range want {
		if got, ok := file[prefix+k]; !ok {
			t.Errorf("WeightShapes names %q, which the file lacks", prefix+k)
		} else if !slices.Equal(got, shape) {
			t.Errorf("%s: WeightShapes says %v, file has %v", prefix+k, shape, got)
		}
	}
	for k := range file {
		rel, ok := strings.CutPrefix(k, prefix)
		if ok && !strings.HasSuffix(rel, "position_ids") && want[rel] == nil {
			t.Errorf("file tensor %q is missing from WeightShapes", k)
		}
	}
}

func TestWeightShapesTiny(t *testing.T) {
	m := testutil.Fixtures(t)
	w := loadWeights(t, m.Path("tiny-sd1/model.safetensors"), sd1Prefix)
	checkWeightShapes(t, tinyConfig(t, m, w, sd1Prefix), w.shapes(), sd1Prefix)
}

func TestApplyHints(t *testing.T) {
	base := clip.Config{Layout: clip.LayoutOpenCLIP, Width: 32, Layers: 2, Heads: 1, MLP: 64,
		Vocab: 49408, Positions: 77, Act: clip.GELU, Eps: 1e-5}
	tests := []struct {
		hints     string
		heads     int
		act       clip.Activation
		wantError bool
	}{
		{`null`, 1, clip.GELU, false},
		{`{"kind": "x", "width": 32, "heads": 4, "act": "quick_gelu"}`, 4, clip.QuickGELU, false},
		{`{"num_heads": 8}`, 8, clip.GELU, false},
		{`{"head_dim": 8, "hidden_act": "gelu"}`, 4, clip.GELU, false},
		{`{"act": "relu"}`, 0, 0, true},
		{`{"heads": 3}`, 0, 0, true},
		{`[1]`, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.hints, func(t *testing.T) {
			c := base
			err := c.ApplyHints(json.RawMessage(tc.hints))
			if tc.wantError {
				if err == nil {
					t.Fatalf("no error, config %+v", c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Heads != tc.heads || c.Act != tc.act {
				t.Errorf("heads %d act %v, want %d %v", c.Heads, c.Act, tc.heads, tc.act)
			}
		})
	}
}
