package checkpoint

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// realShapes loads a key/shape list of a real-size checkpoint as a fake
// source (no data).
func realShapes(t *testing.T, name string) fakeSource {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir(t), "real-shapes", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Tensors [][3]json.RawMessage `json:"tensors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	src := fakeSource{}
	for _, row := range f.Tensors {
		var k, dt string
		var shape []int
		json.Unmarshal(row[0], &k)
		json.Unmarshal(row[1], &shape)
		json.Unmarshal(row[2], &dt)
		src[k] = fakeTensor{info: TensorInfo{DType: dt, Shape: shape}}
	}
	return src
}

func TestDetectRealShapes(t *testing.T) {
	tests := []struct {
		file, name string
		family     Family
		ctx        int
		pred       Prediction
		predFrom   string
		comps      []Component
	}{
		{"sd15", "v1-5-pruned-emaonly.safetensors", SD1, 768, Epsilon, FromDefault, []Component{UNet, VAE, TextEncoder}},
		{"sd21_768v", "v2-1_768-ema-pruned.safetensors", SD2, 1024, VPrediction, FromFileName, []Component{UNet, VAE, TextEncoder}},
		{"sd21_768v", "v2-1_512-ema-pruned.safetensors", SD2, 1024, Epsilon, FromDefault, []Component{UNet, VAE, TextEncoder}},
		{"sdxl_base", "sd_xl_base_1.0.safetensors", SDXL, 2048, Epsilon, FromDefault, []Component{UNet, VAE, TextEncoder, TextEncoder2}},
		{"sdxl_base", "noob-xl-vpred-1.0.safetensors", SDXL, 2048, VPrediction, FromFileName, []Component{UNet, VAE, TextEncoder, TextEncoder2}},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.name, func(t *testing.T) {
			m, err := Detect(realShapes(t, tc.file), tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if m.Family != tc.family || m.ContextDim != tc.ctx || m.Prediction != tc.pred || m.PredictionSource != tc.predFrom || m.Inpainting || m.InChannels != 4 {
				t.Errorf("got %+v", m)
			}
			var comps []Component
			for _, c := range m.Components {
				comps = append(comps, c.Component)
			}
			if strings.Trim(strings.Join(toStrings(comps), ","), ",") != strings.Join(toStrings(tc.comps), ",") {
				t.Errorf("components %v, want %v", m.Components, tc.comps)
			}
		})
	}
}

func toStrings(cs []Component) []string {
	var s []string
	for _, c := range cs {
		s = append(s, string(c))
	}
	return s
}

func TestDetectVariants(t *testing.T) {
	inpaint := realShapes(t, "sd15")
	in := inpaint[unetSentinel]
	in.info.Shape = []int{320, 9, 3, 3}
	inpaint[unetSentinel] = in
	m, err := Detect(inpaint, "sd-v1-5-inpainting.ckpt")
	if err != nil || m.Family != SD1 || !m.Inpainting || m.InChannels != 9 {
		t.Errorf("inpainting: %+v, %v", m, err)
	}

	// The refiner: label_emb, bigG as embedders.0, no CLIP-L.
	refiner := fakeSource{}
	for k, v := range realShapes(t, "sdxl_base") {
		switch {
		case strings.HasPrefix(k, PrefixSDXLText1):
		case strings.HasPrefix(k, PrefixSDXLText2):
			refiner[PrefixRefinerText+strings.TrimPrefix(k, PrefixSDXLText2)] = v
		default:
			refiner[k] = v
		}
	}
	if m, err := Detect(refiner, "sd_xl_refiner_1.0.safetensors"); err != nil || m.Family != SDXLRefiner || m.LatentScale() != 0.13025 {
		t.Errorf("refiner: %+v, %v", m, err)
	}

	// UNet only: the family comes from the cross-attention width.
	unetOnly := fakeSource{}
	for k, v := range realShapes(t, "sd21_768v") {
		if strings.HasPrefix(k, PrefixUNet) {
			unetOnly[k] = v
		}
	}
	if m, err := Detect(unetOnly, "unet.safetensors"); err != nil || m.Family != SD2 {
		t.Errorf("UNet only: %+v, %v", m, err)
	}

	// A v_pred marker key wins over the name.
	vp := realShapes(t, "sd15")
	vp["v_pred"] = fakeTensor{info: TensorInfo{DType: "F32", Shape: []int{}}}
	if m, _ := Detect(vp, "x.safetensors"); m.Prediction != VPrediction || m.PredictionSource != FromKey {
		t.Errorf("v_pred key: %+v", m)
	}
	if SD1.LatentScale() != 0.18215 || SD2.LatentScale() != 0.18215 || SDXL.LatentScale() != 0.13025 {
		t.Error("latent scales")
	}
}

func TestDetectNotACheckpoint(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		want []string
	}{
		{"lora", []string{"lora_unet_down_blocks_0_attentions_0_proj_in.alpha", "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", "lora_te_text_model_encoder_layers_0_mlp_fc1.alpha"},
			[]string{"no UNet keys (model.diffusion_model.*) found", "found 3 tensors", "lora_unet_ (2)", "lora_te_ (1)", "looks like a LoRA"}},
		{"vae", []string{"encoder.down.0.block.0.conv1.weight", "decoder.up.0.block.0.conv1.weight"}, []string{"VAE file"}},
		{"diffusers unet", []string{"down_blocks.0.resnets.0.conv1.weight", "conv_in.weight"}, []string{"diffusers folder"}},
		{"embedding", []string{"emb_params"}, []string{"textual-inversion"}},
		{"controlnet", []string{"control_model.input_hint_block.0.weight"}, []string{"ControlNet"}},
		{"empty", nil, []string{"no tensors"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := fakeSource{}
			for _, k := range tc.keys {
				src[k] = fakeTensor{info: TensorInfo{DType: "F16", Shape: []int{1}}}
			}
			_, err := Detect(src, "x.safetensors")
			if !errors.Is(err, ErrUnknownModel) {
				t.Fatalf("error %v does not wrap ErrUnknownModel", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
