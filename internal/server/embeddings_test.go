package server

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sdgo/api"
	"sdgo/internal/imagefile"
	"sdgo/internal/safetensors"
)

// TestEmbeddings lists the models folder's embeddings/ as webui does (the
// one that fits the tiny model's 32-wide encoder loaded, an SDXL one
// skipped), picks up a new file on refresh, and uses an embedding in a
// txt2img prompt (its hash in the infotext).
func TestEmbeddings(t *testing.T) {
	ts := newTestServer(t, true, nil)
	dir := filepath.Join(ts.cfg.ModelsDir, "embeddings")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, ts ...safetensors.Tensor) {
		if err := safetensors.WriteFile(filepath.Join(dir, name), ts, nil); err != nil {
			t.Fatal(err)
		}
	}
	vec := make([]float32, 3*32)
	for i := range vec {
		vec[i] = float32(i%9) / 9
	}
	write("glow.safetensors", safetensors.F32Tensor("emb_params", []int{3, 32}, vec))
	write("xl.safetensors", safetensors.F32Tensor("clip_l", []int{1, 768}, make([]float32, 768)),
		safetensors.F32Tensor("clip_g", []int{1, 1280}, make([]float32, 1280)))
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if _, _, ok := ts.eng.Loaded(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the model did not load")
		}
	}
	type entry struct {
		Step             *int    `json:"step"`
		SDCheckpoint     *string `json:"sd_checkpoint"`
		SDCheckpointName *string `json:"sd_checkpoint_name"`
		Shape            int     `json:"shape"`
		Vectors          int     `json:"vectors"`
	}
	var got struct{ Loaded, Skipped map[string]entry }
	ts.callJSON(t, "GET", "/sdapi/v1/embeddings", nil, 200, &got)
	if e, ok := got.Loaded["glow"]; !ok || len(got.Loaded) != 1 || e.Shape != 32 || e.Vectors != 3 || e.Step != nil {
		t.Errorf("loaded %+v, want glow (shape 32, 3 vectors, step null)", got.Loaded)
	}
	if e, ok := got.Skipped["xl"]; !ok || e.Shape != 2048 || e.Vectors != 1 {
		t.Errorf("skipped %+v, want xl (shape 2048)", got.Skipped)
	}

	write("spark.safetensors", safetensors.F32Tensor("emb_params", []int{1, 32}, vec[:32]))
	ts.callJSON(t, "POST", "/sdapi/v1/refresh-embeddings", nil, 200, &got)
	if _, ok := got.Loaded["spark"]; !ok {
		t.Errorf("after refresh: loaded %v, want spark too", got.Loaded)
	}

	var resp api.Txt2ImgResponse
	ts.callJSON(t, "POST", "/sdapi/v1/txt2img", small("a (glow:1.1) lamp", 3), 200, &resp)
	b, err := base64.StdEncoding.DecodeString(resp.Images[0])
	if err != nil {
		t.Fatal(err)
	}
	text, _ := imagefile.ReadParameters(bytes.NewReader(b))
	if !strings.Contains(text, `TI hashes: "glow: `) {
		t.Errorf("infotext %q has no TI hashes for glow", text)
	}
}
