package cli_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sdgo/internal/imagefile"
)

// TestTxt2ImgPromptMatrix runs a 2-part prompt matrix on the tiny model:
// two images with one seed and a labelled 2-column grid whose infotext is
// the first image's.
func TestTxt2ImgPromptMatrix(t *testing.T) {
	isolateCaches(t)
	out := t.TempDir()
	args := append(tinyArgs(t), "--steps", "2", "--seed", "7", "--prompt", "a boat|sunset", "--script", "prompt-matrix", "-o", out)
	code, stdout, stderr := run(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	want := []string{filepath.Join(out, "00000-7.png") + " (seed 7)", filepath.Join(out, "00001-7.png") + " (seed 7)", filepath.Join(out, "prompt_matrix-0000-7.png") + " (grid)"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stdout:\n%s\nwant:\n%s", stdout, strings.Join(want, "\n"))
	}
	texts := map[string]string{}
	for _, name := range []string{"00000-7.png", "00001-7.png", "prompt_matrix-0000-7.png"} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		texts[name], err = imagefile.ReadParameters(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasPrefix(texts["00000-7.png"], "a boat\n") || !strings.HasPrefix(texts["00001-7.png"], "a boat, sunset\n") {
		t.Errorf("prompts: %q / %q", texts["00000-7.png"], texts["00001-7.png"])
	}
	if texts["prompt_matrix-0000-7.png"] != texts["00000-7.png"] {
		t.Error("grid infotext is not the first image's")
	}
	f, _ := os.Open(filepath.Join(out, "prompt_matrix-0000-7.png"))
	defer f.Close()
	g, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := g.Bounds(); b.Dx() != 128 || b.Dy() <= 64+13 {
		t.Errorf("grid is %v, want 128 wide with a label margin over 64", b)
	}
}

func TestTxt2ImgScriptBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--script", "bogus"}, "want prompt-matrix, prompts-from-file or xyz"},
		{[]string{"--script", "prompts-from-file"}, "needs --prompts-file"},
		{[]string{"--script", "xyz"}, "--script xyz needs an axis"},
		{[]string{"--script", "xyz", "--x-type", "cfgg", "--x-values", "1"}, `--x-type/--x-values: unknown axis type "cfgg"`},
		{[]string{"--script", "xyz", "--x-type", "steps", "--x-values", "1", "--y-type", "steps", "--y-values", "1-3, x"}, `--y-type/--y-values: Steps: "x" is not an integer`},
		{[]string{"--script", "xyz", "--x-type", "steps", "--x-values", "1", "--xyz-margin", "-2"}, "--xyz-margin -2: want 0-500"},
	} {
		code, _, stderr := run(t, nil, append([]string{"txt2img", "--prompt", "x"}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
}

// readPNG decodes a PNG file and its infotext.
func readPNG(t *testing.T, path string) (image.Image, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	text, err := imagefile.ReadParameters(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img, text
}

// TestTxt2ImgXYZ plots steps across and CFG down on the tiny model: four
// images in X-fastest order and a grid of 2x2 cells with label margins and
// the cell margin, its infotext the first image's.
func TestTxt2ImgXYZ(t *testing.T) {
	isolateCaches(t)
	out := t.TempDir()
	args := append(tinyArgs(t), "--seed", "7", "--script", "xyz", "--x-type", "steps", "--x-values", "1,2",
		"--y-type", "CFG Scale", "--y-values", "3-7 [2]", "--xyz-margin", "4", "-o", out)
	code, stdout, stderr := run(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var want []string
	for i := 0; i < 4; i++ {
		want = append(want, filepath.Join(out, fmt.Sprintf("%05d-7.png", i))+" (seed 7)")
	}
	want = append(want, filepath.Join(out, "xyz_grid-0000-7.png")+" (grid)")
	if got := strings.Split(strings.TrimSpace(stdout), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stdout:\n%s\nwant:\n%s", stdout, strings.Join(want, "\n"))
	}
	for i, c := range []string{"Steps: 1, Sampler: Euler a, Schedule type: Automatic, CFG scale: 3,", "Steps: 2, Sampler: Euler a, Schedule type: Automatic, CFG scale: 3,",
		"Steps: 1, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7,", "Steps: 2, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7,"} {
		if _, text := readPNG(t, filepath.Join(out, fmt.Sprintf("%05d-7.png", i))); !strings.Contains(text, c) {
			t.Errorf("image %d infotext lacks %q:\n%s", i, c, text)
		}
	}
	grid, text := readPNG(t, filepath.Join(out, "xyz_grid-0000-7.png"))
	if _, first := readPNG(t, filepath.Join(out, "00000-7.png")); text != first {
		t.Errorf("grid infotext %q is not the first image's %q", text, first)
	}
	if b := grid.Bounds(); b.Dx() != 48+2*64+4 || b.Dy() <= 2*64+4+13 {
		t.Errorf("grid is %v, want %d wide (row labels, 2 cells, margin) with a label margin on top", b, 48+2*64+4)
	}
}

// TestTxt2ImgXYZCheckpoints plots the tiny model's .safetensors and .ckpt
// files (the same tensors) across and steps down: the .safetensors value
// is --model itself, the .ckpt loads once for both of its cells, and the
// two files give the same pixels with their own model hashes.
func TestTxt2ImgXYZCheckpoints(t *testing.T) {
	isolateCaches(t)
	out := t.TempDir()
	args := append(tinyArgs(t), "--seed", "7", "--script", "xyz", "--x-type", "Checkpoint name", "--x-values", "model.safetensors, model.ckpt",
		"--y-type", "steps", "--y-values", "1,2", "-o", out)
	code, _, stderr := run(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count(stderr, "xyz: loaded "); n != 1 || !strings.Contains(stderr, "xyz: loaded model.ckpt in ") {
		t.Errorf("want one load, of model.ckpt; stderr:\n%s", stderr)
	}
	var imgs [4]image.Image
	var hashes [4]string
	for i := range imgs {
		var text string
		imgs[i], text = readPNG(t, filepath.Join(out, fmt.Sprintf("%05d-7.png", i)))
		_, rest, _ := strings.Cut(text, "Model hash: ")
		hashes[i], _, _ = strings.Cut(rest, ",")
	}
	if hashes[0] != hashes[2] || hashes[1] != hashes[3] || hashes[0] == hashes[1] {
		t.Errorf("model hashes %q: want one per file", hashes)
	}
	for _, pair := range [][2]int{{0, 1}, {2, 3}} {
		a, b := imgs[pair[0]].(*image.RGBA), imgs[pair[1]].(*image.RGBA) // opaque PNGs decode as RGBA
		if !bytes.Equal(a.Pix, b.Pix) {
			t.Errorf("images %d and %d (same tensors, .safetensors and .ckpt) differ", pair[0], pair[1])
		}
	}
	if code, _, stderr := run(t, nil, append(tinyArgs(t), "--script", "xyz", "--x-type", "checkpoint", "--x-values", "nope.ckpt", "-o", out)...); code == 0 ||
		!strings.Contains(stderr, `X axis: Checkpoint name "nope.ckpt": checkpoint "nope.ckpt": no such file, not next to --model in`) {
		t.Errorf("missing checkpoint: exit %d, stderr %q", code, stderr)
	}
}
