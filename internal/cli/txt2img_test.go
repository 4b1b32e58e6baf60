package cli_test

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sdgo/internal/imagefile"
)

// tinyArgs are the txt2img arguments that run the tiny SD1 model fast on
// the pure-Go backend.
func tinyArgs(t *testing.T) []string {
	dir := fixtureDir(t)
	return []string{"txt2img", "--model", filepath.Join(dir, "tiny-sd1", "model.safetensors"),
		"--clip-vocab", filepath.Join(dir, "..", "clip"), "--backend", "go",
		"-W", "64", "-H", "64", "--steps", "3", "--prompt", "a (small:1.1) boat, sunset", "-n", "ugly"}
}

// TestTxt2ImgSameSeedSameBytes runs the command twice with one seed and
// once with another: the first two PNG files must be byte-identical (image
// and infotext), the third must differ.
func TestTxt2ImgSameSeedSameBytes(t *testing.T) {
	isolateCaches(t)
	out := t.TempDir()
	files := map[string][]byte{}
	for _, r := range []struct{ name, seed string }{{"a.png", "31337"}, {"b.png", "31337"}, {"c.png", "31338"}} {
		path := filepath.Join(out, r.name)
		code, stdout, stderr := run(t, nil, append(tinyArgs(t), "--seed", r.seed, "--sampler", "DPM++ 2M", "-o", path)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", r.name, code, stderr)
		}
		if want := path + " (seed " + r.seed + ")\n"; stdout != want {
			t.Errorf("stdout %q, want %q", stdout, want)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[r.name] = b
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s is not a PNG: %v", r.name, err)
		}
		if bb := img.Bounds(); bb.Dx() != 64 || bb.Dy() != 64 {
			t.Errorf("%s is %v, want 64x64", r.name, bb)
		}
		text, err := imagefile.ReadParameters(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"a (small:1.1) boat, sunset\nNegative prompt: ugly\n", "Steps: 3, Sampler: DPM++ 2M, Schedule type: Automatic, CFG scale: 7, Seed: " + r.seed + ", Size: 64x64, Model hash: "} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: infotext lacks %q:\n%s", r.name, want, text)
			}
		}
	}
	if !bytes.Equal(files["a.png"], files["b.png"]) {
		t.Error("the same seed gave different PNG files")
	}
	if bytes.Equal(files["a.png"], files["c.png"]) {
		t.Error("seeds 31337 and 31338 gave the same PNG file")
	}
}

// TestTxt2ImgBadInput checks that bad command lines fail with a non-zero
// exit, an error that names the problem and how to fix it, and no output
// file.
func TestTxt2ImgBadInput(t *testing.T) {
	dir := fixtureDir(t)
	isolateCaches(t)
	model := filepath.Join(dir, "tiny-sd1", "model.safetensors")
	vocab := filepath.Join(dir, "..", "clip")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"width not a multiple of 8", []string{"--model", model, "--clip-vocab", vocab, "-W", "65"}, 2,
			[]string{"width 65 must be a multiple of 8 between 64 and 8192"}},
		{"unknown sampler", []string{"--model", model, "--clip-vocab", vocab, "--sampler", "Eulr a"}, 2,
			[]string{`unknown sampler "Eulr a"`, "known: dpmpp_2m", "euler_a"}},
		{"unknown scheduler", []string{"--model", model, "--clip-vocab", vocab, "--scheduler", "Karas"}, 2,
			[]string{`unknown scheduler "Karas"`, "known: ", "karras"}},
		{"every problem at once", []string{"--model", model, "-W", "65", "-H", "12", "--sampler", "nope", "--cfg-scale", "-1"}, 2,
			[]string{"width 65", "height 12", `unknown sampler "nope"`, "cfg scale -1 must be between 0 and 100"}},
		{"no model", []string{"--clip-vocab", vocab}, 2,
			[]string{"--model is required", "e.g. --model"}},
		{"model file missing", []string{"--model", filepath.Join(dir, "tiny-sd1", "nope.safetensors"), "--clip-vocab", vocab}, 2,
			[]string{"nope.safetensors: no such file or folder", "give the path of a .safetensors or .ckpt checkpoint"}},
		{"not a checkpoint", []string{"--model", filepath.Join(dir, "tiny-sd1", "lora.safetensors"), "--clip-vocab", vocab}, 1,
			[]string{"unknown model", "looks like a LoRA file", "<lora:name:weight>"}},
		{"no vocabulary anywhere", []string{"--model", model}, 1,
			[]string{"CLIP vocabulary not found", "looked in:", "fix: copy bpe_simple_vocab_16e6.txt.gz", "--clip-vocab"}},
		{"vocabulary path missing", []string{"--model", model, "--clip-vocab", filepath.Join(dir, "no-clip-here")}, 1,
			[]string{"no-clip-here", "no such file or folder", "fix: point --clip-vocab"}},
		{"bad flag value", []string{"--model", model, "--steps", "many"}, 2,
			[]string{`invalid value "many" for flag -steps`}},
		{"bad seed resize", []string{"--model", model, "--seed-resize-from", "big"}, 2,
			[]string{`--seed-resize-from "big": want WxH`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"txt2img", "-W", "64", "-H", "64", "--steps", "2", "--backend", "go", "-o", filepath.Join(out, "x.png")}, tc.args...)
			code, stdout, stderr := run(t, nil, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("wrote %d files (%s...), want none", len(entries), entries[0].Name())
			}
		})
	}
}
