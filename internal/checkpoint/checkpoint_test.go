package checkpoint

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sdgo/internal/safetensors"
)

func tinyPath(t *testing.T, file string) string {
	return filepath.Join(fixturesDir(t), "tiny-sd1", file)
}

func TestOpenTiny(t *testing.T) {
	st, err := Open(tinyPath(t, "model.safetensors"), WithHashCache("-"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ck, err := Open(tinyPath(t, "model.ckpt"), WithHashCache("-"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	for _, c := range []*Checkpoint{st, ck} {
		m := c.Model()
		if c.Family() != SD1 || c.Prediction() != Epsilon || c.Inpainting() || m.ContextDim != 32 || c.LatentScale() != 0.18215 {
			t.Errorf("%s: model %+v", c.Path(), m)
		}
		want := map[Component]int{UNet: 684, VAE: 244, TextEncoder: 37} // + 3 schedule buffers = 968
		for _, ci := range c.Components() {
			if want[ci.Component] != ci.Tensors {
				t.Errorf("%s: component %+v, want %d tensors", c.Path(), ci, want[ci.Component])
			}
			delete(want, ci.Component)
		}
		if len(want) != 0 {
			t.Errorf("%s: missing components %v", c.Path(), want)
		}
		if len(c.Names()) != 968 {
			t.Errorf("%s: %d names", c.Path(), len(c.Names()))
		}
	}
	for _, n := range st.Names() {
		a, err1 := st.Raw(n)
		b, err2 := ck.Raw(n)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s: ckpt and safetensors differ (%v, %v)", n, err1, err2)
		}
	}
	v, shape, err := ck.Float32("alphas_cumprod")
	if err != nil || len(v) != 1000 || shape[0] != 1000 {
		t.Errorf("alphas_cumprod: %d values %v %v", len(v), shape, err)
	}
}

func TestOpenOptionsAndErrors(t *testing.T) {
	c, err := Open(tinyPath(t, "model.safetensors"), WithPrediction(VPrediction))
	if err != nil {
		t.Fatal(err)
	}
	if c.Prediction() != VPrediction || c.Model().PredictionSource != FromOption {
		t.Errorf("override: %+v", c.Model())
	}
	c.Close()
	if _, err := Open(tinyPath(t, "model.safetensors"), WithPrediction("x0")); err == nil || !strings.Contains(err.Error(), `unknown prediction "x0"`) {
		t.Errorf("bad prediction: %v", err)
	}
	tests := []struct {
		path string
		want string
	}{
		{tinyPath(t, "lora.safetensors"), "looks like a LoRA file"},
		{tinyPath(t, "vae.safetensors"), "looks like a VAE file"},
		{filepath.Join(fixturesDir(t), "cases.json"), "invalid safetensors file"},
		{filepath.Join(t.TempDir(), "none.safetensors"), "no such file"},
		{t.TempDir(), "not a diffusers folder"},
		{truncated(t, "model.safetensors"), "truncated"},
		{truncated(t, "model.ckpt"), "truncated"},
	}
	for _, tc := range tests {
		_, err := Open(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s) error = %v, want %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}

func TestWithVAE(t *testing.T) {
	c, err := Open(tinyPath(t, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	vae, err := safetensors.Open(tinyPath(t, "vae.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer vae.Close()
	const key = "decoder.conv_in.weight"
	before, _ := c.Raw(PrefixVAE + key)
	before = append([]byte(nil), before...)
	want, _ := vae.Raw(key)
	if bytes.Equal(before, want) {
		t.Fatal("fixture VAE equals the checkpoint's: test cannot tell them apart")
	}
	if err := c.WithVAE(tinyPath(t, "vae.safetensors")); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Raw(PrefixVAE + key); !bytes.Equal(got, want) {
		t.Error("VAE not replaced")
	}
	if ti, _ := c.Info(PrefixVAE + key); ti.DType != "F32" {
		t.Errorf("replaced VAE dtype %s, want F32 (the VAE file's)", ti.DType)
	}
	if len(c.Names()) != 968 || c.VAEPath() == "" {
		t.Errorf("%d names after swap, VAEPath %q", len(c.Names()), c.VAEPath())
	}
	// A whole checkpoint as VAE source (first_stage_model. prefix) restores the original.
	if err := c.WithVAE(tinyPath(t, "model.ckpt")); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Raw(PrefixVAE + key); !bytes.Equal(got, before) {
		t.Error("VAE from a .ckpt not applied")
	}

	// Diffusers layout: written from the VAE file through the inverse table.
	dir := t.TempDir()
	var ts []safetensors.Tensor
	for _, n := range vae.Names() {
		ti, _ := vae.Info(n)
		raw, _ := vae.Raw(n)
		dn, reshape := ldmVAEToDiffusers(n, 4)
		shape := ti.Shape
		if reshape {
			shape = shape[:2]
		}
		ts = append(ts, safetensors.Tensor{Name: dn, DType: ti.DType, Shape: shape, Data: raw})
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "diffusion_pytorch_model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.WithVAE(dir); err != nil {
		t.Fatal(err)
	}
	for _, n := range vae.Names() {
		got, err := c.Raw(PrefixVAE + n)
		want, _ := vae.Raw(n)
		ti, _ := c.Info(PrefixVAE + n)
		wi, _ := vae.Info(n)
		if err != nil || !bytes.Equal(got, want) || !equalInts(ti.Shape, wi.Shape) {
			t.Fatalf("diffusers VAE %s: shape %v want %v, err %v", n, ti.Shape, wi.Shape, err)
		}
	}

	// Misfits leave the checkpoint unchanged.
	bad := filepath.Join(t.TempDir(), "bad.safetensors")
	var badTs []safetensors.Tensor
	for _, n := range vae.Names() {
		ti, _ := vae.Info(n)
		raw, _ := vae.Raw(n)
		if n == "decoder.conv_out.weight" {
			ti.Shape = []int{ti.Shape[0] * ti.Shape[1] * 9}
		}
		if n == "encoder.conv_in.bias" {
			continue
		}
		badTs = append(badTs, safetensors.Tensor{Name: n, DType: ti.DType, Shape: ti.Shape, Data: raw})
	}
	safetensors.WriteFile(bad, badTs, nil)
	err = c.WithVAE(bad)
	if err == nil || !strings.Contains(err.Error(), "decoder.conv_out.weight is [") || !strings.Contains(err.Error(), bad) {
		t.Errorf("misfit VAE error = %v", err)
	}
	if err := c.WithVAE(tinyPath(t, "lora.safetensors")); err == nil || !strings.Contains(err.Error(), "no VAE tensors") {
		t.Errorf("LoRA as VAE error = %v", err)
	}
	if got, _ := c.Raw(PrefixVAE + "decoder.conv_in.weight"); !bytes.Equal(got, want) {
		t.Error("failed swap changed the VAE")
	}
}

func TestHashes(t *testing.T) {
	cache := t.TempDir()
	tests := []struct {
		file, hash, legacy string
	}{
		// sha256sum and Python hashlib on the fixture files.
		{"model.safetensors", "7c4e1508e0", "f6308b4d"},
		{"model.ckpt", "eb0c699231", "38e40a70"},
	}
	for _, tc := range tests {
		c, err := Open(tinyPath(t, tc.file), WithHashCache(cache))
		if err != nil {
			t.Fatal(err)
		}
		h, err := c.Hash()
		if err != nil || h != tc.hash {
			t.Errorf("%s: Hash = %q, %v; want %s", tc.file, h, err, tc.hash)
		}
		l, err := c.LegacyHash()
		if err != nil || l != tc.legacy {
			t.Errorf("%s: LegacyHash = %q, %v; want %s", tc.file, l, err, tc.legacy)
		}
		c.Close()
	}
	if l, err := LegacyHash(tinyPath(t, "vae.safetensors")); err != nil || l != "dde535dd" {
		t.Errorf("vae legacy hash %q %v", l, err)
	}

	// The cache is used while size and mtime match, and refreshed after.
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	os.WriteFile(p, []byte("hello"), 0o644)
	const helloSHA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	if s, err := FileSHA256(p, dir); err != nil || s != helloSHA {
		t.Fatalf("FileSHA256 = %q, %v", s, err)
	}
	var hc hashCache
	b, _ := os.ReadFile(filepath.Join(dir, "hashes.json"))
	if err := json.Unmarshal(b, &hc); err != nil || len(hc.Entries) != 1 {
		t.Fatalf("cache file: %s (%v)", b, err)
	}
	abs, _ := filepath.Abs(p)
	e := hc.Entries[abs]
	e.SHA256 = strings.Repeat("ab", 32)
	hc.Entries[abs] = e
	b, _ = json.Marshal(hc)
	os.WriteFile(filepath.Join(dir, "hashes.json"), b, 0o644)
	if s, _ := FileSHA256(p, dir); s != e.SHA256 {
		t.Errorf("cache not used: %s", s)
	}
	later := time.Now().Add(time.Hour)
	os.Chtimes(p, later, later)
	if s, _ := FileSHA256(p, dir); s != helloSHA {
		t.Errorf("stale cache entry used after mtime change: %s", s)
	}
	if s, _ := FileSHA256(p, "-"); s != helloSHA {
		t.Errorf("no-cache hash %s", s)
	}
}

// truncated copies a fixture file cut to half its size, as an interrupted
// download leaves it.
func truncated(t *testing.T, file string) string {
	b, err := os.ReadFile(tinyPath(t, file))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), file)
	os.WriteFile(p, b[:len(b)/2], 0o644)
	return p
}

// TestOldTextEncoderKeys checks that SD1 files from before transformers'
// text_model level are renamed.
func TestOldTextEncoderKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "old.safetensors")
	ts := []safetensors.Tensor{
		safetensors.F16Tensor(unetSentinel, []int{1, 4, 1, 1}, make([]float32, 4)),
		safetensors.F16Tensor(PrefixSD1Text+"embeddings.token_embedding.weight", []int{2, 2}, make([]float32, 4)),
	}
	if err := safetensors.WriteFile(p, ts, nil); err != nil {
		t.Fatal(err)
	}
	c, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.Info(PrefixSD1Text + "text_model.embeddings.token_embedding.weight"); !ok || c.Family() != SD1 {
		t.Errorf("names %v, family %s", c.Names(), c.Family())
	}
}
