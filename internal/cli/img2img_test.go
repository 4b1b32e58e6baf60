package cli_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTestPNG writes a w x h PNG: colour ramps, or for a mask white on
// the left third.
func writeTestPNG(t *testing.T, path string, w, h int, mask bool) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{uint8(4 * x), uint8(3 * y), 90, 255}
			if mask {
				c = color.NRGBA{0, 0, 0, 255}
				if x < w/3 {
					c = color.NRGBA{255, 255, 255, 255}
				}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestImg2ImgAndPNGInfo runs `sdgo img2img` with a mask on the tiny model,
// then reads the result back with `sdgo pnginfo`.
func TestImg2ImgAndPNGInfo(t *testing.T) {
	dir := fixtureDir(t)
	isolateCaches(t)
	tmp := t.TempDir()
	initPath, maskPath, out := filepath.Join(tmp, "init.png"), filepath.Join(tmp, "mask.png"), filepath.Join(tmp, "out.png")
	writeTestPNG(t, initPath, 96, 64, false)
	writeTestPNG(t, maskPath, 96, 64, true)
	args := []string{"img2img", "--model", filepath.Join(dir, "tiny-sd1", "model.safetensors"),
		"--clip-vocab", filepath.Join(dir, "..", "clip"), "--backend", "go",
		"-W", "64", "-H", "64", "--steps", "4", "--prompt", "a red barn, (snow:1.2)", "-n", "blurry",
		"--init-image", initPath, "--mask", maskPath, "--denoising-strength", "0.5", "--resize-mode", "crop and resize",
		"--inpainting-fill", "latent nothing", "--sampler", "Euler", "--seed", "77", "-o", out}
	code, stdout, stderr := run(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := out + " (seed 77)\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	img, text := readPNG(t, out)
	if bb := img.Bounds(); bb.Dx() != 64 || bb.Dy() != 64 {
		t.Errorf("image is %v, want 64x64", bb)
	}
	for _, want := range []string{
		"a red barn, (snow:1.2)\nNegative prompt: blurry\nSteps: 4, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Seed: 77, Size: 64x64, ",
		", Denoising strength: 0.5, ", ", Mask blur: 4, Masked content: latent nothing, Version: ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("infotext lacks %q:\n%s", want, text)
		}
	}

	// pnginfo prints the text as it is, the file name before or after flags
	code, stdout, stderr = run(t, nil, "pnginfo", out)
	if code != 0 || stdout != text+"\n" {
		t.Errorf("pnginfo: exit %d, %q (stderr %q), want %q", code, stdout, stderr, text+"\n")
	}
	code, stdout, stderr = run(t, nil, "pnginfo", out, "--json")
	if code != 0 {
		t.Fatalf("pnginfo --json: exit %d: %s", code, stderr)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(stdout), &fields); err != nil {
		t.Fatalf("pnginfo --json printed %q: %v", stdout, err)
	}
	for k, want := range map[string]any{"Prompt": "a red barn, (snow:1.2)", "Negative prompt": "blurry", "Steps": "4",
		"Size-1": "64", "Size-2": "64", "Denoising strength": "0.5", "Seed": "77", "Masked content": "latent nothing",
		"Mask blur": "4", "Inpaint area": "Whole picture", "Clip skip": "1"} {
		if fields[k] != want {
			t.Errorf("pnginfo --json: %s = %#v, want %#v", k, fields[k], want)
		}
	}
}

func TestPNGInfoErrors(t *testing.T) {
	tmp := t.TempDir()
	plain := filepath.Join(tmp, "plain.png")
	writeTestPNG(t, plain, 8, 8, false)
	notPNG := filepath.Join(tmp, "x.png")
	os.WriteFile(notPNG, []byte("hello"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file", []string{"pnginfo"}, 2, "give one PNG file"},
		{"missing", []string{"pnginfo", filepath.Join(tmp, "none.png")}, 1, "no such file"},
		{"no text", []string{"pnginfo", plain}, 1, `has no "parameters" text`},
		{"not png", []string{"pnginfo", notPNG}, 1, "not a PNG"},
		{"bad flag", []string{"pnginfo", "--yaml", plain}, 2, "yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, nil, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

// TestImg2ImgBadInput: mistakes are reported before any model is loaded,
// with the flag and the fix, and no file is written.
func TestImg2ImgBadInput(t *testing.T) {
	tmp := t.TempDir()
	initPath := filepath.Join(tmp, "init.png")
	writeTestPNG(t, initPath, 16, 16, false)
	out := filepath.Join(tmp, "out.png")
	base := []string{"img2img", "--model", filepath.Join(tmp, "no-model.safetensors"), "-o", out, "-W", "64", "-H", "64"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no init image", nil, "--init-image is required"},
		{"unreadable init", []string{"--init-image", filepath.Join(tmp, "none.png")}, "none.png"},
		{"bad resize mode", []string{"--init-image", initPath, "--resize-mode", "7"}, "--resize-mode \"7\""},
		{"bad fill", []string{"--init-image", initPath, "--inpainting-fill", "blur"}, "--inpainting-fill"},
		{"strength", []string{"--init-image", initPath, "--denoising-strength", "1.5"}, "denoising strength 1.5 must be between 0 and 1"},
		{"too many images", []string{"--init-image", initPath, "--init-image", initPath}, "2 init images for a batch of 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, nil, append(append([]string{}, base...), tc.args...)...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want failure mentioning %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("an output file was written")
			}
		})
	}
}
