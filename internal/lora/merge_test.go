package lora

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"sdgo/internal/checkpoint"
	"sdgo/internal/safetensors"
	"sdgo/internal/testutil"
)

const u = "model.diffusion_model."

// The fixture LoRA merged at 0.7 gives W + float32(up@down) * float32(0.7*alpha/r),
// bit for bit, for linear, 1x1 and 3x3 conv and text-encoder modules.
func TestBindMergesFixtureLoRA(t *testing.T) {
	m := testutil.Fixtures(t)
	ck := tinyCheckpoint(t, m)
	f, err := Open(m.Path(m.Lora.File))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Bind(ck, checkpoint.SD1, 0.7, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Keys()) != len(m.Lora.Targets) || len(p.Unmatched) != 0 {
		t.Fatalf("%d keys changed, %d unmatched; want %d, 0", len(p.Keys()), len(p.Unmatched), len(m.Lora.Targets))
	}
	raw, err := safetensors.Open(m.Path(m.Lora.File))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, mod := range []string{
		"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q",
		"lora_unet_up_blocks_2_attentions_1_proj_in",
		"lora_unet_down_blocks_0_resnets_1_conv2",
		"lora_unet_up_blocks_3_resnets_2_conv_shortcut",
		"lora_unet_down_blocks_0_resnets_0_time_emb_proj",
		"lora_te_text_model_encoder_layers_1_mlp_fc1",
	} {
		t.Run(mod, func(t *testing.T) {
			key := m.Lora.Targets[mod]
			up, upShape, err := raw.Float32(mod + ".lora_up.weight")
			if err != nil {
				t.Fatal(err)
			}
			down, downShape, _ := raw.Float32(mod + ".lora_down.weight")
			alpha, _, _ := raw.Float32(mod + ".alpha")
			w, _, err := ck.Float32(key)
			if err != nil {
				t.Fatal(err)
			}
			r, out := downShape[0], upShape[0]
			cols := len(down) / r
			scale := float32(0.7 * float64(alpha[0]) / float64(r))
			want := make([]float32, len(w))
			for o := 0; o < out; o++ {
				for j := 0; j < cols; j++ {
					var s float32
					for k := 0; k < r; k++ {
						s += up[o*r+k] * down[k*cols+j]
					}
					want[o*cols+j] = w[o*cols+j] + float32(s*scale)
				}
			}
			if err := p.Apply(key, w); err != nil {
				t.Fatal(err)
			}
			for i := range w {
				if w[i] != want[i] {
					t.Fatalf("%s[%d] = %v, want %v", key, i, w[i], want[i])
				}
			}
		})
	}
	if d, _, _ := p.Delta(u + "out.2.weight"); d != nil {
		t.Errorf("Delta of a weight no module changes = %d values, want nil", len(d))
	}
}

// vals returns n small exactly representable values, different per seed.
func vals(seed, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((i*7+seed*13+3)%17-8) / 16
	}
	return v
}

func writeFile(t *testing.T, name string, ts []safetensors.Tensor, meta map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := safetensors.WriteFile(path, ts, meta); err != nil {
		t.Fatal(err)
	}
	return path
}

// at indexes a row-major tensor of shape sh.
func at(v []float32, sh []int, idx ...int) float32 {
	off := 0
	for i, x := range idx {
		off = off*sh[i] + x
	}
	return v[off]
}

// lycoCase is one synthetic module: its tensors and the delta it should
// give (before the multiplier), computed here by the textbook formula.
type lycoCase struct {
	module, key string
	tensors     map[string][]int // part -> shape (values from vals)
	want        func(get func(string) []float32, shape []int) []float32
}

func TestLyCORISDeltas(t *testing.T) {
	m := testutil.Fixtures(t)
	ck := tinyCheckpoint(t, m)
	cases := []lycoCase{
		{
			module: "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q", key: u + "input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight",
			tensors: map[string][]int{"hada_w1_a": {32, 2}, "hada_w1_b": {2, 32}, "hada_w2_a": {32, 2}, "hada_w2_b": {2, 32}, "alpha": {}},
			want: func(g func(string) []float32, sh []int) []float32 { // LoHa: (w1a@w1b) * (w2a@w2b) * alpha/r
				out := make([]float32, 32*32)
				for o := 0; o < 32; o++ {
					for i := 0; i < 32; i++ {
						var a, b float32
						for k := 0; k < 2; k++ {
							a += g("hada_w1_a")[o*2+k] * g("hada_w1_b")[k*32+i]
							b += g("hada_w2_a")[o*2+k] * g("hada_w2_b")[k*32+i]
						}
						out[o*32+i] = a * b * g("alpha")[0] / 2
					}
				}
				return out
			},
		},
		{
			module: "lora_unet_down_blocks_0_resnets_0_conv1", key: u + "input_blocks.1.0.in_layers.2.weight",
			tensors: map[string][]int{"hada_t1": {2, 2, 3, 3}, "hada_w1_a": {2, 32}, "hada_w1_b": {2, 32},
				"hada_t2": {2, 2, 3, 3}, "hada_w2_a": {2, 32}, "hada_w2_b": {2, 32}},
			want: func(g func(string) []float32, sh []int) []float32 { // LoHa with Tucker cores, no alpha
				tucker := func(n string) func(o, i, s int) float32 {
					return func(o, i, s int) float32 {
						var x float32
						for a := 0; a < 2; a++ {
							for b := 0; b < 2; b++ {
								x += at(g("hada_t"+n), []int{2, 2, 9}, a, b, s) * g("hada_w" + n + "_a")[a*32+o] * g("hada_w" + n + "_b")[b*32+i]
							}
						}
						return x
					}
				}
				w1, w2 := tucker("1"), tucker("2")
				out := make([]float32, 32*32*9)
				for o := 0; o < 32; o++ {
					for i := 0; i < 32; i++ {
						for s := 0; s < 9; s++ {
							out[(o*32+i)*9+s] = w1(o, i, s) * w2(o, i, s)
						}
					}
				}
				return out
			},
		},
		{
			module: "lora_te_text_model_encoder_layers_0_mlp_fc1", key: "cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight",
			tensors: map[string][]int{"lokr_w1": {4, 2}, "lokr_w2_a": {16, 2}, "lokr_w2_b": {2, 16}, "alpha": {}},
			want: func(g func(string) []float32, sh []int) []float32 { // LoKr: kron(w1, w2a@w2b) * alpha/dim(w2_b)
				out := make([]float32, 64*32)
				for i1 := 0; i1 < 4; i1++ {
					for j1 := 0; j1 < 2; j1++ {
						for i2 := 0; i2 < 16; i2++ {
							for j2 := 0; j2 < 16; j2++ {
								var w2 float32
								for k := 0; k < 2; k++ {
									w2 += g("lokr_w2_a")[i2*2+k] * g("lokr_w2_b")[k*16+j2]
								}
								out[(i1*16+i2)*32+j1*16+j2] = g("lokr_w1")[i1*2+j1] * w2 * g("alpha")[0] / 2
							}
						}
					}
				}
				return out
			},
		},
		{
			module: "lora_unet_down_blocks_0_resnets_0_conv2", key: u + "input_blocks.1.0.out_layers.3.weight",
			tensors: map[string][]int{"lokr_w1_a": {2, 1}, "lokr_w1_b": {1, 2}, "lokr_w2": {16, 16, 3, 3}, "alpha": {}},
			want: func(g func(string) []float32, sh []int) []float32 { // LoKr conv: kron(w1a@w1b, w2[c,d,3,3])
				out := make([]float32, 32*32*9)
				for i1 := 0; i1 < 2; i1++ {
					for j1 := 0; j1 < 2; j1++ {
						w1 := g("lokr_w1_a")[i1] * g("lokr_w1_b")[j1]
						for i2 := 0; i2 < 16; i2++ {
							for j2 := 0; j2 < 16; j2++ {
								for s := 0; s < 9; s++ {
									out[((i1*16+i2)*32+j1*16+j2)*9+s] = w1 * at(g("lokr_w2"), []int{16, 16, 9}, i2, j2, s) * g("alpha")[0] / 1
								}
							}
						}
					}
				}
				return out
			},
		},
		{
			module: "lora_unet_down_blocks_0_resnets_1_conv1", key: u + "input_blocks.2.0.in_layers.2.weight",
			tensors: map[string][]int{"lora_up.weight": {32, 2, 1, 1}, "lora_mid.weight": {2, 2, 3, 3}, "lora_down.weight": {2, 32, 1, 1}, "alpha": {}},
			want: func(g func(string) []float32, sh []int) []float32 { // LoCon CP: up · mid · down
				out := make([]float32, 32*32*9)
				for o := 0; o < 32; o++ {
					for i := 0; i < 32; i++ {
						for s := 0; s < 9; s++ {
							var x float32
							for n := 0; n < 2; n++ {
								for k := 0; k < 2; k++ {
									x += g("lora_up.weight")[o*2+n] * at(g("lora_mid.weight"), []int{2, 2, 9}, n, k, s) * g("lora_down.weight")[k*32+i]
								}
							}
							out[(o*32+i)*9+s] = x * g("alpha")[0] / 2
						}
					}
				}
				return out
			},
		},
		{
			module: "lora_unet_input_blocks_4_1_proj_in", key: u + "input_blocks.4.1.proj_in.weight", // LDM name, no alpha
			tensors: map[string][]int{"lora_up.weight": {64, 2}, "lora_down.weight": {2, 64}},
			want: func(g func(string) []float32, sh []int) []float32 {
				out := make([]float32, 64*64)
				for o := 0; o < 64; o++ {
					for i := 0; i < 64; i++ {
						for k := 0; k < 2; k++ {
							out[o*64+i] += g("lora_up.weight")[o*2+k] * g("lora_down.weight")[k*64+i]
						}
					}
				}
				return out
			},
		},
		{
			module: "lora_unet_conv_in", key: u + "input_blocks.0.0.weight",
			tensors: map[string][]int{"diff": {32, 4, 3, 3}, "diff_b": {32}},
			want:    func(g func(string) []float32, sh []int) []float32 { return g("diff") },
		},
	}
	var ts []safetensors.Tensor
	values := map[string][]float32{}
	for ci, c := range cases {
		for part, sh := range c.tensors {
			v := vals(ci*10+len(part), prodInts(sh))
			if part == "alpha" {
				v = []float32{float32(ci + 1)}
			}
			values[c.module+"."+part] = v
			ts = append(ts, safetensors.F32Tensor(c.module+"."+part, sh, v))
		}
	}
	ts = append(ts, safetensors.F32Tensor("lora_unet_down_blocks_9_attentions_0_proj_in.lora_up.weight", []int{4, 1}, vals(1, 4)),
		safetensors.F32Tensor("lora_unet_down_blocks_9_attentions_0_proj_in.lora_down.weight", []int{1, 4}, vals(2, 4)))
	safetensors.SortTensors(ts)
	f, err := Open(writeFile(t, "lyco.safetensors", ts, nil))
	if err != nil {
		t.Fatal(err)
	}
	const te, unet = 0.5, 0.75
	p, err := f.Bind(ck, checkpoint.SD1, te, unet)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Unmatched) != 1 || p.Unmatched[0] != "lora_unet_down_blocks_9_attentions_0_proj_in" {
		t.Errorf("unmatched = %v", p.Unmatched)
	}
	for _, c := range cases {
		t.Run(c.module, func(t *testing.T) {
			get := func(part string) []float32 { return values[c.module+"."+part] }
			info, _ := ck.Info(c.key)
			want := c.want(get, info.Shape)
			mult := float32(unet)
			if strings.HasPrefix(c.module, "lora_te_") {
				mult = te
			}
			got, shape, err := p.Delta(c.key)
			if err != nil {
				t.Fatal(err)
			}
			if prodInts(shape) != len(want) {
				t.Fatalf("delta shape %v, want %d values", shape, len(want))
			}
			checkClose(t, c.key, got, want, mult)
		})
	}
	bias, _, err := p.Delta(u + "input_blocks.0.0.bias")
	if err != nil || bias == nil {
		t.Fatalf("bias delta: %v, %v", bias, err)
	}
	checkClose(t, "conv_in bias", bias, values["lora_unet_conv_in.diff_b"], unet)
}

func checkClose(t *testing.T, label string, got, want []float32, mult float32) {
	t.Helper()
	for i := range want {
		w := want[i] * mult
		if d := math.Abs(float64(got[i] - w)); d > 1e-6*(1+math.Abs(float64(w))) {
			t.Fatalf("%s[%d] = %v, want %v", label, i, got[i], w)
		}
	}
}

func prodInts(sh []int) int {
	n := 1
	for _, d := range sh {
		n *= d
	}
	return n
}

// q, k and v modules of an OpenCLIP encoder change their rows of
// in_proj_weight and nothing else.
func TestOpenCLIPRows(t *testing.T) {
	target := shapeTarget{
		"cond_stage_model.model.ln_final.weight":                             {8},
		"cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight": {24, 8},
		"cond_stage_model.model.transformer.resblocks.0.attn.in_proj_bias":   {24},
	}
	mod := "lora_te_text_model_encoder_layers_0_self_attn_k_proj"
	path := writeFile(t, "sd2.safetensors", []safetensors.Tensor{
		safetensors.F32Tensor(mod+".lora_down.weight", []int{1, 8}, vals(1, 8)),
		safetensors.F32Tensor(mod+".lora_up.weight", []int{8, 1}, vals(2, 8)),
	}, nil)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Bind(target, "", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := p.Delta("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight")
	if err != nil {
		t.Fatal(err)
	}
	down, up := vals(1, 8), vals(2, 8)
	for r := 0; r < 24; r++ {
		for c := 0; c < 8; c++ {
			var want float32
			if r >= 8 && r < 16 {
				want = up[r-8] * down[c]
			}
			if d[r*8+c] != want {
				t.Fatalf("delta[%d,%d] = %v, want %v", r, c, d[r*8+c], want)
			}
		}
	}
}
