package lora

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"sdgo/internal/checkpoint"
	"sdgo/internal/fixture"
	"sdgo/internal/testutil"
)

// shapeTarget is a Target from a name -> shape table.
type shapeTarget map[string][]int

func (s shapeTarget) Names() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	return out
}

func (s shapeTarget) Info(n string) (checkpoint.TensorInfo, bool) {
	sh, ok := s[n]
	return checkpoint.TensorInfo{DType: "F16", Shape: sh}, ok
}

// realShapes reads a key/shape list of a real-size checkpoint.
func realShapes(t *testing.T, file string) shapeTarget {
	t.Helper()
	dir, err := fixture.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "real-shapes", file))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tensors [][]json.RawMessage `json:"tensors"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	out := shapeTarget{}
	for _, row := range doc.Tensors {
		var name string
		var shape []int
		if json.Unmarshal(row[0], &name) != nil || json.Unmarshal(row[1], &shape) != nil {
			t.Fatalf("bad row %s", row)
		}
		out[name] = shape
	}
	return out
}

func tinyCheckpoint(t *testing.T, m *fixture.Manifest) *checkpoint.Checkpoint {
	t.Helper()
	ck, err := checkpoint.Open(m.Path("tiny-sd1/model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	return ck
}

// Every module of the fixture LoRA maps to the LDM key cases.json gives.
func TestSitesMatchFixtureTargets(t *testing.T) {
	m := testutil.Fixtures(t)
	f, err := Open(m.Path(m.Lora.File))
	if err != nil {
		t.Fatal(err)
	}
	sites, unmatched := f.Sites(tinyCheckpoint(t, m))
	if len(unmatched) > 0 {
		t.Errorf("unmatched modules: %v", unmatched)
	}
	if len(f.Modules()) != len(m.Lora.Targets) {
		t.Errorf("%d modules, cases.json lists %d", len(f.Modules()), len(m.Lora.Targets))
	}
	for mod, want := range m.Lora.Targets {
		got, ok := sites[mod]
		if !ok || got != (Site{Key: want}) {
			t.Errorf("%s -> %+v, want %s", mod, got, want)
		}
	}
	if k := f.Kinds(); k[KindLoRA] != 222 || len(k) != 1 {
		t.Errorf("kinds %v, want 222 LoRA modules", k)
	}
}

// Module names of each family map onto real checkpoints' keys.
func TestSitesOnRealLayouts(t *testing.T) {
	const u = "model.diffusion_model."
	tests := []struct {
		file, module string
		want         Site // zero = unmatched
	}{
		{"sd15.json", "lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_attn2_to_out_0", Site{Key: u + "output_blocks.11.1.transformer_blocks.0.attn2.to_out.0.weight"}},
		{"sd15.json", "lora_unet_down_blocks_1_downsamplers_0_conv", Site{Key: u + "input_blocks.6.0.op.weight"}},
		{"sd15.json", "lora_unet_up_blocks_0_upsamplers_0_conv", Site{Key: u + "output_blocks.2.1.conv.weight"}},
		{"sd15.json", "lora_unet_up_blocks_1_upsamplers_0_conv", Site{Key: u + "output_blocks.5.2.conv.weight"}},
		{"sd15.json", "lora_unet_mid_block_resnets_1_conv2", Site{Key: u + "middle_block.2.out_layers.3.weight"}},
		{"sd15.json", "lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj", Site{Key: u + "middle_block.1.transformer_blocks.0.ff.net.0.proj.weight"}},
		{"sd15.json", "lora_unet_down_blocks_2_resnets_0_conv_shortcut", Site{Key: u + "input_blocks.7.0.skip_connection.weight"}},
		{"sd15.json", "lora_unet_time_embedding_linear_1", Site{Key: u + "time_embed.0.weight"}},
		{"sd15.json", "lora_unet_conv_in", Site{Key: u + "input_blocks.0.0.weight"}},
		{"sd15.json", "lora_unet_conv_out", Site{Key: u + "out.2.weight"}},
		{"sd15.json", "lora_unet_input_blocks_4_1_proj_in", Site{Key: u + "input_blocks.4.1.proj_in.weight"}},
		{"sd15.json", "lora_unet_output_blocks_2_1_conv", Site{Key: u + "output_blocks.2.1.conv.weight"}},
		{"sd15.json", "lora_unet_input_blocks_1_0_emb_layers_1", Site{Key: u + "input_blocks.1.0.emb_layers.1.weight"}},
		{"sd15.json", "lora_te_text_model_encoder_layers_11_mlp_fc2", Site{Key: "cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2.weight"}},
		{"sd15.json", "lora_unet_down_blocks_3_attentions_0_proj_in", Site{}}, // SD1 has no attention at the last level
		{"sd15.json", "lora_te1_text_model_encoder_layers_0_mlp_fc1", Site{}},
		{"sd15.json", "lora_unet_no_such_module", Site{}},
		{"sd21_768v.json", "lora_te_text_model_encoder_layers_0_self_attn_q_proj", Site{Key: "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", Row: 0, Rows: 1024}},
		{"sd21_768v.json", "lora_te_text_model_encoder_layers_3_self_attn_k_proj", Site{Key: "cond_stage_model.model.transformer.resblocks.3.attn.in_proj_weight", Row: 1024, Rows: 1024}},
		{"sd21_768v.json", "lora_te_text_model_encoder_layers_22_self_attn_out_proj", Site{Key: "cond_stage_model.model.transformer.resblocks.22.attn.out_proj.weight"}},
		{"sd21_768v.json", "lora_te_text_model_encoder_layers_0_mlp_fc1", Site{Key: "cond_stage_model.model.transformer.resblocks.0.mlp.c_fc.weight"}},
		{"sd21_768v.json", "lora_unet_down_blocks_0_attentions_1_proj_out", Site{Key: u + "input_blocks.2.1.proj_out.weight"}},
		{"sdxl_base.json", "lora_unet_input_blocks_4_1_transformer_blocks_1_attn2_to_k", Site{Key: u + "input_blocks.4.1.transformer_blocks.1.attn2.to_k.weight"}},
		{"sdxl_base.json", "lora_unet_down_blocks_2_attentions_1_transformer_blocks_9_ff_net_2", Site{Key: u + "input_blocks.8.1.transformer_blocks.9.ff.net.2.weight"}},
		{"sdxl_base.json", "lora_unet_up_blocks_0_attentions_2_proj_out", Site{Key: u + "output_blocks.2.1.proj_out.weight"}},
		{"sdxl_base.json", "lora_unet_up_blocks_0_upsamplers_0_conv", Site{Key: u + "output_blocks.2.2.conv.weight"}},
		{"sdxl_base.json", "lora_unet_up_blocks_2_resnets_2_conv1", Site{Key: u + "output_blocks.8.0.in_layers.2.weight"}},
		{"sdxl_base.json", "lora_unet_add_embedding_linear_1", Site{Key: u + "label_emb.0.0.weight"}},
		{"sdxl_base.json", "lora_unet_label_emb_0_2", Site{Key: u + "label_emb.0.2.weight"}},
		{"sdxl_base.json", "lora_te1_text_model_encoder_layers_11_self_attn_q_proj", Site{Key: "conditioner.embedders.0.transformer.text_model.encoder.layers.11.self_attn.q_proj.weight"}},
		{"sdxl_base.json", "lora_te2_text_model_encoder_layers_31_self_attn_v_proj", Site{Key: "conditioner.embedders.1.model.transformer.resblocks.31.attn.in_proj_weight", Row: 2560, Rows: 1280}},
		{"sdxl_base.json", "lora_te2_text_model_encoder_layers_0_mlp_fc2", Site{Key: "conditioner.embedders.1.model.transformer.resblocks.0.mlp.c_proj.weight"}},
		{"sdxl_base.json", "lora_te_text_model_encoder_layers_0_mlp_fc2", Site{}}, // SDXL LoRAs say te1/te2
	}
	resolvers := map[string]*resolver{}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.module, func(t *testing.T) {
			r := resolvers[tt.file]
			if r == nil {
				r = newResolver(realShapes(t, tt.file))
				resolvers[tt.file] = r
			}
			got, ok := r.site(tt.module)
			if ok != (tt.want.Key != "") || got != tt.want && ok {
				t.Errorf("site = %+v, %v; want %+v", got, ok, tt.want)
			}
		})
	}
}

func TestDotted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"down_blocks_0_attentions_1_transformer_blocks_0_attn1_to_out_0", "down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_out.0"},
		{"up_blocks_3_resnets_2_conv_shortcut", "up_blocks.3.resnets.2.conv_shortcut"},
		{"mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj", "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj"},
		{"time_embedding_linear_2", "time_embedding.linear_2"},
		{"conv_norm_out", "conv_norm_out"},
		{"input_blocks_4_1_proj_in", ""}, // an LDM name: not diffusers
	}
	for _, tt := range tests {
		got, ok := dotted(tt.in, diffusersWords)
		if !ok {
			got = ""
		}
		if got != tt.want {
			t.Errorf("dotted(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
