package cli_test

import (
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
	want := []string{filepath.Join(out, "00000-7.png") + " (seed 7)", filepath.Join(out, "00001-7.png") + " (seed 7)", filepath.Join(out, "grid-7.png") + " (grid)"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stdout:\n%s\nwant:\n%s", stdout, strings.Join(want, "\n"))
	}
	texts := map[string]string{}
	for _, name := range []string{"00000-7.png", "00001-7.png", "grid-7.png"} {
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
	if texts["grid-7.png"] != texts["00000-7.png"] {
		t.Error("grid infotext is not the first image's")
	}
	f, _ := os.Open(filepath.Join(out, "grid-7.png"))
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
		{[]string{"--script", "xyz"}, "want prompt-matrix or prompts-from-file"},
		{[]string{"--script", "prompts-from-file"}, "needs --prompts-file"},
	} {
		code, _, stderr := run(t, nil, append([]string{"txt2img", "--prompt", "x"}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
}
