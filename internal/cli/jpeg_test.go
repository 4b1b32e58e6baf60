package cli_test

import (
	"bytes"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTxt2ImgJPEG writes -o out.jpg on the tiny model and reads its
// infotext back with `sdgo pnginfo`.
func TestTxt2ImgJPEG(t *testing.T) {
	isolateCaches(t)
	path := filepath.Join(t.TempDir(), "out.jpg")
	code, stdout, stderr := run(t, nil, append(tinyArgs(t), "--seed", "5", "-o", path)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := path + " (seed 5)\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	if bb := img.Bounds(); bb.Dx() != 64 || bb.Dy() != 64 {
		t.Errorf("image is %v, want 64x64", bb)
	}
	code, stdout, stderr = run(t, nil, "pnginfo", path)
	if want := "a (small:1.1) boat, sunset\nNegative prompt: ugly\nSteps: 3, "; code != 0 || !strings.HasPrefix(stdout, want) || !strings.Contains(stdout, "Seed: 5, Size: 64x64") {
		t.Errorf("pnginfo: exit %d, %q (stderr %q), want it to start %q", code, stdout, stderr, want)
	}
}
