package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestImg2ImgSDUpscale runs `sdgo img2img --script sd-upscale` on the tiny
// model: a 48x40 image x2 becomes one 96x80 PNG (four 64x64 tiles in two
// batches) whose infotext carries the script's fields.
func TestImg2ImgSDUpscale(t *testing.T) {
	dir := fixtureDir(t)
	isolateCaches(t)
	tmp := t.TempDir()
	initPath, out := filepath.Join(tmp, "init.png"), filepath.Join(tmp, "up.png")
	writeTestPNG(t, initPath, 48, 40, false)
	args := []string{"img2img", "--model", filepath.Join(dir, "tiny-sd1", "model.safetensors"),
		"--clip-vocab", filepath.Join(dir, "..", "clip"), "--backend", "go",
		"-W", "64", "-H", "64", "--steps", "2", "--prompt", "a red barn", "--sampler", "Euler", "--seed", "5",
		"--batch-size", "2", "--init-image", initPath, "--denoising-strength", "0.5",
		"--script", "sd-upscale", "--sd-upscale-overlap", "16", "--sd-upscale-upscaler", "nearest", "--sd-upscale-scale", "2", "-o", out}
	code, stdout, stderr := run(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := out + " (seed 5)\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	img, text := readPNG(t, out)
	if bb := img.Bounds(); bb.Dx() != 96 || bb.Dy() != 80 {
		t.Errorf("image is %v, want 96x80", bb)
	}
	for _, want := range []string{"a red barn\nSteps: 2, Sampler: Euler, ", "Seed: 5, Size: 64x64, ", ", Denoising strength: 0.5, ",
		", SD upscale overlap: 16, SD upscale upscaler: Nearest, Version: "} {
		if !strings.Contains(text, want) {
			t.Errorf("infotext lacks %q:\n%s", want, text)
		}
	}
}

// TestImg2ImgSDUpscaleBadFlags: script mistakes are reported before any
// model is loaded, naming what is available.
func TestImg2ImgSDUpscaleBadFlags(t *testing.T) {
	tmp := t.TempDir()
	initPath := filepath.Join(tmp, "init.png")
	writeTestPNG(t, initPath, 16, 16, false)
	base := []string{"img2img", "--model", filepath.Join(tmp, "no-model.safetensors"), "-o", filepath.Join(tmp, "o.png"),
		"-W", "64", "-H", "64", "--init-image", initPath}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown script", []string{"--script", "loopback"}, `--script "loopback": want sd-upscale`},
		{"unknown upscaler", []string{"--script", "sd-upscale", "--sd-upscale-upscaler", "R-ESRGAN 4x+"}, "choose one of None, Lanczos, Nearest"},
		{"overlap", []string{"--script", "sd-upscale", "--sd-upscale-overlap", "64"}, "overlap 64 must be smaller than the tile size 64x64"},
		{"scale", []string{"--script", "sd-upscale", "--sd-upscale-scale", "0.5"}, "scale factor 0.5 must be between 1 and 8"},
		{"mask", []string{"--script", "sd-upscale", "--mask", initPath}, "drop the mask"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, nil, append(append([]string{}, base...), tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 mentioning %q", code, stderr, tc.want)
			}
		})
	}
}
