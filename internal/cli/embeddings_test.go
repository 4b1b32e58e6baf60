package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sdgo/internal/imagefile"
	"sdgo/internal/safetensors"
)

// TestTxt2ImgEmbeddingsAndEmphasis runs txt2img with --embeddings-dir and
// --emphasis: stderr lists the loaded and skipped embeddings and the
// infotext records the TI hash and the emphasis mode; a missing folder is
// a usage error.
func TestTxt2ImgEmbeddingsAndEmphasis(t *testing.T) {
	isolateCaches(t)
	emb := t.TempDir()
	vec := make([]float32, 2*32)
	for i := range vec {
		vec[i] = float32(i%5) / 5
	}
	if err := safetensors.WriteFile(filepath.Join(emb, "shiny.safetensors"), []safetensors.Tensor{safetensors.F32Tensor("emb_params", []int{2, 32}, vec)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(filepath.Join(emb, "xl.safetensors"), []safetensors.Tensor{
		safetensors.F32Tensor("clip_l", []int{1, 768}, make([]float32, 768)), safetensors.F32Tensor("clip_g", []int{1, 1280}, make([]float32, 1280))}, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "a.png")
	args := tinyArgs(t)
	for i, a := range args {
		if a == "--prompt" {
			args[i+1] = "a (shiny:1.2) boat"
		}
	}
	code, _, stderr := run(t, nil, append(args, "--embeddings-dir", emb, "--emphasis", "No norm", "--seed", "1", "-o", out)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"embeddings loaded(1): shiny", "skipped(1): xl (width 2048"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	text, err := imagefile.ReadParameters(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`TI hashes: "shiny: `, "Emphasis: No norm"} {
		if !strings.Contains(text, want) {
			t.Errorf("infotext lacks %q:\n%s", want, text)
		}
	}
	code, _, stderr = run(t, nil, append(tinyArgs(t), "--embeddings-dir", filepath.Join(emb, "nope"), "-o", out)...)
	if code == 0 || !strings.Contains(stderr, "--embeddings-dir") {
		t.Errorf("missing folder: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = run(t, nil, append(tinyArgs(t), "--emphasis", "loud", "-o", out)...)
	if code == 0 || !strings.Contains(stderr, "emphasis") {
		t.Errorf("bad emphasis: exit %d, stderr %q", code, stderr)
	}
}
