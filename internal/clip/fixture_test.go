package clip_test

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"

	"sdgo/internal/clip"
	"sdgo/internal/fixture"
	"sdgo/internal/nn"
	"sdgo/internal/safetensors"
	"sdgo/internal/testutil"
)

type encoderInputs struct {
	IDs        []int   `json:"ids"`
	Multiplier float64 `json:"multiplier"`
	LoraFile   string  `json:"lora_file"`
}

// TestTextEncoderCases runs the text_encoder and lora_text_encoder cases
// (last_hidden_state and penultimate_final_ln), each kind as one batch.
func TestTextEncoderCases(t *testing.T) {
	m := testutil.Fixtures(t)
	base := loadWeights(t, m.Path("tiny-sd1/model.safetensors"), sd1Prefix)
	cfg := tinyConfig(t, m, base, sd1Prefix)
	for _, kind := range []string{"text_encoder", "lora_text_encoder"} {
		t.Run(kind, func(t *testing.T) {
			cases := m.CasesOfKind(kind)
			if len(cases) == 0 {
				t.Fatalf("no %s cases", kind)
			}
			w := base
			ids := make([][]int32, len(cases))
			for i, c := range cases {
				var in encoderInputs
				if err := c.DecodeInputs(&in); err != nil {
					t.Fatal(err)
				}
				ids[i] = toInt32(in.IDs)
				if in.LoraFile != "" {
					w = mergeLora(t, m, base, m.Path(in.LoraFile), in.Multiplier)
				}
			}
			outs := run(t, w.context(), dtypes.Float32, sd1Prefix, func(s *nn.Scope, ids *Node) []*Node {
				last, pooled := clip.Forward(s, cfg, ids, 1)
				penult, _ := clip.Forward(s, cfg, ids, 2)
				if pooled != nil {
					t.Error("Forward returned a pooled output for an encoder without projection")
				}
				return []*Node{last, penult}
			}, ids)
			per := len(outs[0]) / len(cases)
			for i, c := range cases {
				for j, role := range []string{"last_hidden_state", "penultimate_final_ln"} {
					testutil.Check(t, m, c.ID+" "+role, c.ExpectedTensors[role], outs[j][i*per:(i+1)*per], c.Tolerance)
				}
			}
		})
	}
}

// mergeLora returns base with the text-encoder modules of a kohya LoRA
// merged in: W' = W + up @ down * (multiplier * alpha / rank).
func mergeLora(t *testing.T, m *fixture.Manifest, base weights, path string, multiplier float64) weights {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := func(name string) ([]float32, []int) {
		v, s, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		return v, s
	}
	out := weights{}
	for k, v := range base {
		out[k] = v
	}
	merged := 0
	for module, key := range m.Lora.Targets {
		if !strings.HasPrefix(module, "lora_te_") {
			continue
		}
		w, ok := base[key]
		if !ok {
			t.Fatalf("lora target %s: %s not in the model", module, key)
		}
		down, ds := read(module + ".lora_down.weight") // [r, in]
		up, _ := read(module + ".lora_up.weight")      // [out, r]
		alpha, _ := read(module + ".alpha")
		r, in, outDim := ds[0], ds[1], w.shape[0]
		scale := float32(multiplier * float64(alpha[0]) / float64(r))
		nw := append([]float32(nil), w.v...)
		for o := 0; o < outDim; o++ {
			for i := 0; i < in; i++ {
				var acc float32
				for k := 0; k < r; k++ {
					acc += up[o*r+k] * down[k*in+i]
				}
				nw[o*in+i] += acc * scale
			}
		}
		out[key] = weight{nw, w.shape}
		merged++
	}
	if merged != 12 {
		t.Fatalf("merged %d text-encoder LoRA modules, want 12", merged)
	}
	return out
}

type emphasisExpected struct {
	Chunks []struct {
		Tokens      []int     `json:"tokens"`
		Multipliers []float64 `json:"multipliers"`
	} `json:"chunks"`
}

// TestEmphasisCases encodes each chunk of the a1111_emphasis cases, checks
// the concatenation against z_before_emphasis, then applies webui's
// "Original" emphasis (z *= w per token; z *= mean_before/mean_after per
// chunk) and checks z_after_emphasis.
func TestEmphasisCases(t *testing.T) {
	m := testutil.Fixtures(t)
	w := loadWeights(t, m.Path("tiny-sd1/model.safetensors"), sd1Prefix)
	cfg := tinyConfig(t, m, w, sd1Prefix)
	ctx := w.context()
	cases := m.CasesOfKind("a1111_emphasis")
	if len(cases) == 0 {
		t.Fatal("no a1111_emphasis cases")
	}
	for _, c := range cases {
		t.Run(c.ID, func(t *testing.T) {
			var exp emphasisExpected
			if err := c.DecodeExpected(&exp); err != nil {
				t.Fatal(err)
			}
			var before, after []float32
			for _, ch := range exp.Chunks {
				z := run(t, ctx, dtypes.Float32, sd1Prefix, func(s *nn.Scope, ids *Node) []*Node {
					h, _ := clip.Encode(s, cfg, ids, clip.SD1Output(1))
					return []*Node{h}
				}, [][]int32{toInt32(ch.Tokens)})[0]
				before = append(before, z...)
				after = append(after, emphasize(z, ch.Multipliers, cfg.Width)...)
			}
			testutil.Check(t, m, c.ID+" z_before_emphasis", c.ExpectedTensors["z_before_emphasis"], before, c.Tolerance)
			testutil.Check(t, m, c.ID+" z_after_emphasis", c.ExpectedTensors["z_after_emphasis"], after, c.Tolerance)
		})
	}
}

// emphasize applies webui's "Original" emphasis to one chunk z [tokens, width]
// in float32, as torch does: z *= w, then z *= mean(z_before)/mean(z_after).
func emphasize(z []float32, mult []float64, width int) []float32 {
	out := make([]float32, len(z))
	var sumBefore, sumAfter float64
	for i, v := range z {
		out[i] = v * float32(mult[i/width])
		sumBefore += float64(v)
		sumAfter += float64(out[i])
	}
	ratio := float32(sumBefore/float64(len(z))) / float32(sumAfter/float64(len(z)))
	for i := range out {
		out[i] *= ratio
	}
	return out
}
