package lora

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"sdgo/internal/checkpoint"
	"sdgo/internal/safetensors"
	"sdgo/internal/testutil"
)

// loraTensors builds one LoRA module with down [r, in] and up [out, r].
func loraTensors(module string, in, out int) []safetensors.Tensor {
	return []safetensors.Tensor{
		safetensors.F32Tensor(module+".lora_down.weight", []int{1, in}, vals(1, in)),
		safetensors.F32Tensor(module+".lora_up.weight", []int{out, 1}, vals(2, out)),
	}
}

func TestFamily(t *testing.T) {
	tests := []struct {
		name string
		ts   []safetensors.Tensor
		meta map[string]string
		want checkpoint.Family
	}{
		{"sd1 context", loraTensors("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k", 768, 320), nil, checkpoint.SD1},
		{"sd2 context", loraTensors("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_v", 1024, 320), nil, checkpoint.SD2},
		{"sdxl context", loraTensors("lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k", 2048, 640), nil, checkpoint.SDXL},
		{"sdxl te2", loraTensors("lora_te2_text_model_encoder_layers_0_mlp_fc1", 1280, 5120), nil, checkpoint.SDXL},
		{"sd2 text", loraTensors("lora_te_text_model_encoder_layers_0_self_attn_q_proj", 1024, 1024), nil, checkpoint.SD2},
		{"sd1 text", loraTensors("lora_te_text_model_encoder_layers_0_self_attn_q_proj", 768, 768), nil, checkpoint.SD1},
		{"sdxl metadata", loraTensors("lora_unet_conv_in", 36, 320), map[string]string{"ss_base_model_version": "sdxl_base_v1-0"}, checkpoint.SDXL},
		{"sd2 metadata", loraTensors("lora_unet_conv_in", 36, 320), map[string]string{"ss_v2": "True"}, checkpoint.SD2},
		{"unknown", loraTensors("lora_unet_conv_in", 36, 320), map[string]string{"ss_v2": "False"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Open(writeFile(t, "x.safetensors", tt.ts, tt.meta))
			if err != nil {
				t.Fatal(err)
			}
			if f.Family() != tt.want {
				t.Errorf("family %q, want %q", f.Family(), tt.want)
			}
		})
	}
	m := testutil.Fixtures(t)
	f, err := Open(m.Path(m.Lora.File))
	if err != nil {
		t.Fatal(err)
	}
	if f.Family() != "" {
		t.Errorf("the 32-wide fixture LoRA detected as %q; its widths match no family", f.Family())
	}
}

func TestBindErrors(t *testing.T) {
	m := testutil.Fixtures(t)
	ck := tinyCheckpoint(t, m)
	toQ := "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
	tests := []struct {
		name   string
		ts     []safetensors.Tensor
		family checkpoint.Family
		want   string
	}{
		{"other family", loraTensors("lora_te2_text_model_encoder_layers_0_mlp_fc1", 32, 64), checkpoint.SD1,
			"lora: x.safetensors is an SDXL LoRA, the model is SD1"},
		{"wrong shape", loraTensors(toQ, 32, 64), checkpoint.SD1, "does not fit the model"},
		{"nothing matches", loraTensors("lora_unet_down_blocks_7_resnets_0_conv1", 32, 32), checkpoint.SD1, "none of its 1 modules matches"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Open(writeFile(t, "x.safetensors", tt.ts, nil))
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Bind(ck, tt.family, 1, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	m := testutil.Fixtures(t)
	mod := "lora_unet_conv_in"
	tests := []struct {
		name string
		path string
		want string
	}{
		{"a checkpoint", m.Path("tiny-sd1/model.safetensors"), "no kohya-style LoRA modules"},
		{"dora", writeFile(t, "d.safetensors", append(loraTensors(mod, 4, 4),
			safetensors.F32Tensor(mod+".dora_scale", []int{1, 4}, vals(3, 4))), nil), "DoRA"},
		{"unknown parts", writeFile(t, "u.safetensors", []safetensors.Tensor{
			safetensors.F32Tensor(mod+".lora_A.weight", []int{1, 4}, vals(3, 4))}, nil), "lora_A.weight"},
		{"missing", m.Path("tiny-sd1/no-such.safetensors"), "no-such.safetensors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "lora: open ") {
				t.Fatalf("err = %v, want lora: open ... %q", err, tt.want)
			}
		})
	}
}

// The hash is webui's "addnet" hash: SHA-256 of the bytes after the
// header, unless the file's metadata carries sshs_model_hash.
func TestHash(t *testing.T) {
	m := testutil.Fixtures(t)
	path := m.Path(m.Lora.File)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	sum := sha256.Sum256(b[8+n:])
	want := hex.EncodeToString(sum[:])
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.SHA256(); err != nil || got != want {
		t.Errorf("SHA256 = %q, %v; want %q", got, err, want)
	}
	if got, _ := f.Hash(); got != want[:12] {
		t.Errorf("Hash = %q, want %q", got, want[:12])
	}
	whole := sha256.Sum256(b)
	if want == hex.EncodeToString(whole[:]) {
		t.Fatal("header not skipped")
	}

	meta := map[string]string{"sshs_model_hash": "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789", "ss_output_name": "detail"}
	f, err = Open(writeFile(t, "tagged.safetensors", loraTensors("lora_unet_conv_in", 4, 4), meta))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Hash(); got != "abcdef012345" {
		t.Errorf("Hash with sshs_model_hash = %q", got)
	}
	if f.Name() != "tagged" || f.Alias() != "detail" {
		t.Errorf("name %q alias %q", f.Name(), f.Alias())
	}
}
