package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestTxt2ImgHiresFlags runs txt2img with the hires flags: the PNG has the
// hires size and the infotext the hires fields; a hires size that is not a
// multiple of 8 is a usage error.
func TestTxt2ImgHiresFlags(t *testing.T) {
	isolateCaches(t)
	path := filepath.Join(t.TempDir(), "hr.png")
	code, _, stderr := run(t, nil, append(tinyArgs(t), "--seed", "7", "--steps", "2", "--enable-hr", "--hr-resize-x", "128",
		"--hr-upscaler", "Latent (nearest-exact)", "--hr-second-pass-steps", "2", "--hr-denoising-strength", "0.6", "-o", path)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	img, text := readPNG(t, path)
	if bb := img.Bounds(); bb.Dx() != 128 || bb.Dy() != 128 {
		t.Errorf("image is %v, want 128x128", bb)
	}
	if want := "Denoising strength: 0.6, Hires resize: 128x0, Hires steps: 2, Hires upscaler: Latent (nearest-exact), Version"; !strings.Contains(text, want) {
		t.Errorf("infotext lacks %q:\n%s", want, text)
	}
	code, _, stderr = run(t, nil, append(tinyArgs(t), "--enable-hr", "--hr-scale", "1.3", "-o", filepath.Join(t.TempDir(), "x.png"))...)
	if code == 0 || !strings.Contains(stderr, "multiple of 8") {
		t.Errorf("--hr-scale 1.3 at 64x64: exit %d, stderr %q; want a multiple-of-8 error", code, stderr)
	}
}
