package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sdgo/internal/safetensors"
)

// writeComponent writes a fake source as one safetensors file.
func writeComponent(t *testing.T, path string, src fakeSource) {
	t.Helper()
	var ts []safetensors.Tensor
	for _, n := range src.Names() {
		ft := src[n]
		ts = append(ts, safetensors.Tensor{Name: n, DType: safetensors.DType(ft.info.DType), Shape: ft.info.Shape, Data: ft.data})
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(path, ts, nil); err != nil {
		t.Fatal(err)
	}
}

func loadFake(t *testing.T, path string) fakeSource {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src := fakeSource{}
	for _, n := range f.Names() {
		ti, _ := f.Info(n)
		raw, _ := f.Raw(n)
		src[n] = fakeTensor{info: TensorInfo{DType: string(ti.DType), Shape: ti.Shape}, data: append([]byte(nil), raw...)}
	}
	return src
}

// TestDiffusersFolderRoundTrip writes tiny-sd1 as a diffusers folder through
// the test's inverse table and checks that Open gives back the original
// keys, shapes and bytes.
func TestDiffusersFolderRoundTrip(t *testing.T) {
	orig := loadFake(t, tinyPath(t, "model.safetensors"))
	parts := toDiffusers(orig, 2, 4)
	dir := t.TempDir()
	writeComponent(t, filepath.Join(dir, "unet", "diffusion_pytorch_model.safetensors"), parts.unet)
	writeComponent(t, filepath.Join(dir, "vae", "diffusion_pytorch_model.fp16.safetensors"), parts.vae)
	writeComponent(t, filepath.Join(dir, "text_encoder", "model.safetensors"), parts.te)
	os.WriteFile(filepath.Join(dir, "text_encoder", "config.json"), []byte(`{"hidden_act": "quick_gelu", "hidden_size": 32}`), 0o644)
	os.WriteFile(filepath.Join(dir, "model_index.json"), []byte(`{"_class_name": "StableDiffusionPipeline"}`), 0o644)

	c, err := Open(dir, WithHashCache("-"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Family() != SD1 || c.Prediction() != Epsilon {
		t.Errorf("model %+v", c.Model())
	}
	var want []string
	for _, n := range orig.Names() {
		if !strings.Contains(n, ".") { // betas, alphas_cumprod...: diffusers folders do not carry them
			continue
		}
		want = append(want, n)
	}
	if got := c.Names(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %d names, want %d; first got %v", len(got), len(want), got[:3])
	}
	for _, n := range want {
		ti, _ := c.Info(n)
		raw, err := c.Raw(n)
		if err != nil || ti.DType != orig[n].info.DType || !equalInts(ti.Shape, orig[n].info.Shape) || !bytes.Equal(raw, orig[n].data) {
			t.Fatalf("%s: got %s%v (err %v), want %s%v", n, ti.DType, ti.Shape, err, orig[n].info.DType, orig[n].info.Shape)
		}
	}
	if h, err := c.Hash(); err != nil || len(h) != 10 {
		t.Errorf("folder hash %q, %v", h, err)
	}
}

// TestDiffusersRealShapes converts the real-size key lists to diffusers
// names and back: every LDM key and shape must come back.
func TestDiffusersRealShapes(t *testing.T) {
	tests := []struct {
		file   string
		family Family
		openTE bool
	}{
		{"sd15", SD1, false},
		{"sd21_768v", SD2, true},
		{"sdxl_base", SDXL, false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			orig := realShapes(t, tc.file)
			p := toDiffusers(orig, 2, 4)
			c := &Checkpoint{entries: map[string]*entry{}}
			var te, te2 Source
			if len(p.te) > 0 {
				te = p.te
			}
			if len(p.te2) > 0 {
				te2 = p.te2
			}
			if err := c.fromDiffusers(p.unet, p.vae, te, te2, tc.openTE); err != nil {
				t.Fatal(err)
			}
			for _, n := range orig.Names() {
				if !strings.Contains(n, ".") {
					continue
				}
				ti, ok := c.Info(n)
				if !ok || !equalInts(ti.Shape, orig[n].info.Shape) {
					t.Errorf("%s: got %v (present %v), want %v", n, ti.Shape, ok, orig[n].info.Shape)
				}
			}
			if len(c.names) != len(orig)-3*boolInt(tc.family != SDXL) {
				t.Errorf("%d converted names for %d original", len(c.names), len(orig))
			}
			m, err := Detect(c, tc.file)
			if err != nil || m.Family != tc.family {
				t.Errorf("detect: %+v %v", m, err)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestOpenCLIPData checks the bytes of the two tensors OpenCLIP stores
// differently from Hugging Face: q/k/v concatenated and the projection
// transposed.
func TestOpenCLIPData(t *testing.T) {
	f32 := func(shape []int, start float32) fakeTensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = start + float32(i)
		}
		st := safetensors.F32Tensor("", shape, vals)
		return fakeTensor{info: TensorInfo{DType: "F32", Shape: shape}, data: st.Data}
	}
	hf := fakeSource{
		"text_model.encoder.layers.0.self_attn.q_proj.weight": f32([]int{2, 3}, 0),
		"text_model.encoder.layers.0.self_attn.k_proj.weight": f32([]int{2, 3}, 100),
		"text_model.encoder.layers.0.self_attn.v_proj.weight": f32([]int{2, 3}, 200),
		"text_projection.weight":                              f32([]int{2, 3}, 0),
	}
	rs, unknown := openCLIPRenames(hf.Names())
	if len(unknown) != 0 {
		t.Fatal(unknown)
	}
	c := &Checkpoint{entries: map[string]*entry{}}
	if err := c.addRenames(hf, PrefixSD2Text, rs); err != nil {
		t.Fatal(err)
	}
	c.sortNames()
	v, shape, err := c.Float32(PrefixSD2Text + "transformer.resblocks.0.attn.in_proj_weight")
	want := []float32{0, 1, 2, 3, 4, 5, 100, 101, 102, 103, 104, 105, 200, 201, 202, 203, 204, 205}
	if err != nil || !equalInts(shape, []int{6, 3}) || !equalF32(v, want) {
		t.Errorf("in_proj_weight = %v %v %v", v, shape, err)
	}
	v, shape, err = c.Float32(PrefixSD2Text + "text_projection")
	if err != nil || !equalInts(shape, []int{3, 2}) || !equalF32(v, []float32{0, 3, 1, 4, 2, 5}) {
		t.Errorf("text_projection = %v %v %v", v, shape, err)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLoRATargets checks the UNet rename against the reference mapping in
// cases.json (kohya LoRA module name -> LDM key), made by the reference
// tooling: the diffusers path of each module, with dots as underscores, is
// the LoRA name.
func TestLoRATargets(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixturesDir(t), "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases struct {
		LoRA struct {
			Targets map[string]string `json:"targets"`
		} `json:"lora"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	orig := loadFake(t, tinyPath(t, "model.safetensors"))
	var diffusersNames []string
	for _, n := range orig.Names() {
		if strings.HasPrefix(n, PrefixUNet) {
			diffusersNames = append(diffusersNames, ldmUNetToDiffusers(strings.TrimPrefix(n, PrefixUNet), 2))
		}
	}
	layout := UNetLayoutOf(diffusersNames)
	byLoRA := map[string]string{}
	for _, d := range diffusersNames {
		if mod, leaf := splitLast(d); leaf == "weight" {
			byLoRA["lora_unet_"+strings.ReplaceAll(mod, ".", "_")] = d
		}
	}
	checked := 0
	for lora, target := range cases.LoRA.Targets {
		if !strings.HasPrefix(lora, "lora_unet_") {
			if _, ok := orig[target]; !ok || !strings.HasPrefix(target, PrefixSD1Text+"text_model.") {
				t.Errorf("text-encoder target %s -> %s is not a checkpoint key", lora, target)
			}
			continue
		}
		d, ok := byLoRA[lora]
		if !ok {
			t.Errorf("LoRA module %s has no diffusers key", lora)
			continue
		}
		got, ok := UNetKeyToLDM(d, layout)
		if !ok || PrefixUNet+got != target {
			t.Errorf("%s: %s -> %s, reference %s", lora, d, PrefixUNet+got, target)
		}
		checked++
	}
	if checked != 210 {
		t.Errorf("checked %d UNet targets, want 210", checked)
	}
}

func TestShardedComponent(t *testing.T) {
	dir := t.TempDir()
	a := safetensors.F32Tensor("a", []int{2}, []float32{1, 2})
	b := safetensors.F32Tensor("b", []int{1}, []float32{3})
	safetensors.WriteFile(filepath.Join(dir, "model-00001-of-00002.safetensors"), []safetensors.Tensor{a}, nil)
	safetensors.WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors"), []safetensors.Tensor{b}, nil)
	idx := `{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}`
	os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(idx), 0o644)
	src, err := openComponent(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if strings.Join(src.Names(), ",") != "a,b" {
		t.Fatalf("names %v", src.Names())
	}
	if v, _, err := src.Float32("b"); err != nil || v[0] != 3 {
		t.Errorf("b = %v %v", v, err)
	}
	raw, _ := src.Raw("a")
	if binary.LittleEndian.Uint32(raw[4:]) != 0x40000000 {
		t.Errorf("a raw %x", raw)
	}
	os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(`{"weight_map": {"a": "../x.safetensors"}}`), 0o644)
	if _, err := openComponent(dir); err == nil || !strings.Contains(err.Error(), "outside its folder") {
		t.Errorf("escaping shard: %v", err)
	}
}
