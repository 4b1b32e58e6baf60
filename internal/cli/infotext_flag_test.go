package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sdgo/internal/imagefile"
)

// tinyModelArgs are txt2img's model flags for the tiny SD1 model.
func tinyModelArgs(t *testing.T) []string {
	dir := fixtureDir(t)
	return []string{"txt2img", "--model", filepath.Join(dir, "tiny-sd1", "model.safetensors"),
		"--clip-vocab", filepath.Join(dir, "..", "clip"), "--backend", "go"}
}

func txt2imgFile(t *testing.T, path string, args ...string) ([]byte, string) {
	t.Helper()
	code, _, stderr := run(t, nil, append(append(tinyModelArgs(t), args...), "-o", path)...)
	if code != 0 {
		t.Fatalf("txt2img %q: exit %d: %s", args, code, stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text, err := imagefile.ReadParameters(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return b, text
}

// TestTxt2ImgInfotextReproduces generates an image, passes its own
// infotext back with --infotext and wants the same PNG bytes; an explicit
// flag beside --infotext wins.
func TestTxt2ImgInfotextReproduces(t *testing.T) {
	isolateCaches(t)
	out := t.TempDir()
	orig, text := txt2imgFile(t, filepath.Join(out, "a.png"),
		"-W", "64", "-H", "72", "--steps", "4", "--seed", "4242", "--sampler", "DPM++ 2M", "--scheduler", "Exponential",
		"--cfg-scale", "5.5", "--subseed", "77", "--subseed-strength", "0.25", "--clip-skip", "2",
		"--prompt", "a [boat:car:0.5], (sunset:1.2)\nsecond line", "-n", "ugly AND blurry")
	for _, want := range []string{"Steps: 4", "Schedule type: Exponential", "CFG scale: 5.5", "Seed: 4242", "Size: 64x72", "Variation seed: 77", "Clip skip: 2"} {
		if !strings.Contains(text, want) {
			t.Fatalf("infotext lacks %q:\n%s", want, text)
		}
	}
	again, _ := txt2imgFile(t, filepath.Join(out, "b.png"), "--infotext", text)
	if !bytes.Equal(orig, again) {
		t.Error("--infotext with the image's own infotext gave a different PNG")
	}
	_, text2 := txt2imgFile(t, filepath.Join(out, "c.png"), "--infotext", text, "--seed", "5", "--steps", "2")
	for _, want := range []string{"Steps: 2", "Seed: 5,", "Size: 64x72", "a [boat:car:0.5], (sunset:1.2)\nsecond line\nNegative prompt: ugly AND blurry\n"} {
		if !strings.Contains(text2, want) {
			t.Errorf("explicit flags beside --infotext: infotext lacks %q:\n%s", want, text2)
		}
	}
}

// TestTxt2ImgInfotextHiresAndEmphasis reproduces a hires-fix image with a
// non-default emphasis mode from its infotext alone: the hires fields turn
// hires fix on with the same settings and "Emphasis" sets the mode.
func TestTxt2ImgInfotextHiresAndEmphasis(t *testing.T) {
	isolateCaches(t)
	out := t.TempDir()
	orig, text := txt2imgFile(t, filepath.Join(out, "a.png"),
		"-W", "64", "-H", "64", "--steps", "2", "--seed", "99", "--sampler", "Euler", "--emphasis", "No norm",
		"--prompt", "a (red:1.3) barn", "--enable-hr", "--hr-resize-x", "80", "--hr-resize-y", "72",
		"--hr-second-pass-steps", "2", "--hr-denoising-strength", "0.45", "--hr-upscaler", "Nearest",
		"--hr-sampler", "DPM++ 2M", "--hr-prompt", "a (blue:1.2) barn")
	for _, want := range []string{"Emphasis: No norm", "Denoising strength: 0.45", "Hires resize: 80x72", "Hires steps: 2",
		"Hires upscaler: Nearest", "Hires sampler: DPM++ 2M", `Hires prompt: "a (blue:1.2) barn"`} {
		if !strings.Contains(text, want) {
			t.Fatalf("infotext lacks %q:\n%s", want, text)
		}
	}
	again, text2 := txt2imgFile(t, filepath.Join(out, "b.png"), "--infotext", text)
	if text2 != text {
		t.Errorf("--infotext gave another infotext:\n%s\nwant\n%s", text2, text)
	}
	if !bytes.Equal(orig, again) {
		t.Error("--infotext of a hires-fix image gave a different PNG")
	}
}

func TestTxt2ImgStyles(t *testing.T) {
	isolateCaches(t)
	out := t.TempDir()
	styles := filepath.Join(out, "styles.csv")
	if err := os.WriteFile(styles, []byte("name,prompt,negative_prompt\nphoto,\"a photo of {prompt}, 35mm\",cartoon\nsharp,sharp focus,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, text := txt2imgFile(t, filepath.Join(out, "a.png"), "-W", "64", "-H", "64", "--steps", "1", "--seed", "1",
		"--prompt", "a boat", "-n", "ugly", "--styles-file", styles, "--style", "photo", "--style", "sharp")
	if want := "a photo of a boat, 35mm, sharp focus\nNegative prompt: ugly, cartoon\n"; !strings.HasPrefix(text, want) {
		t.Errorf("infotext %q, want it to start with %q", text, want)
	}
	code, _, stderr := run(t, nil, append(tinyModelArgs(t), "--prompt", "x", "--styles-file", styles, "--style", "nope", "-o", filepath.Join(out, "b.png"))...)
	if code == 0 || !strings.Contains(stderr, `"nope"`) || !strings.Contains(stderr, "photo, sharp") {
		t.Errorf("unknown style: exit %d, stderr %q", code, stderr)
	}
}
