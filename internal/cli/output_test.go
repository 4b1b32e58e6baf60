package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xwebp "golang.org/x/image/webp"

	"sdgo/internal/imagefile"
)

// TestTxt2ImgOutputNames runs the tiny model into folders the way webui
// names files: sequence numbers continue across runs (nothing is
// overwritten), --filename-pattern expands webui's tags, --format webp
// writes WebP with the infotext in Exif, and without -o images go to
// <outputs>/txt2img-images/<date>.
func TestTxt2ImgOutputNames(t *testing.T) {
	isolateCaches(t)
	out := t.TempDir()
	gen := func(env map[string]string, extra ...string) []string {
		t.Helper()
		args := append(tinyArgs(t), "--steps", "1", "--seed", "40")
		code, stdout, stderr := run(t, env, append(args, extra...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		return strings.Split(strings.TrimSpace(stdout), "\n")
	}
	want := func(got []string, want ...string) {
		t.Helper()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("stdout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, line := range want {
			if _, err := os.Stat(strings.TrimSuffix(line, line[strings.LastIndex(line, " ("):])); err != nil {
				t.Error(err)
			}
		}
	}

	want(gen(nil, "-o", out, "--batch-size", "2"),
		filepath.Join(out, "00000-40.png")+" (seed 40)", filepath.Join(out, "00001-41.png")+" (seed 41)")
	want(gen(nil, "-o", out), filepath.Join(out, "00002-40.png")+" (seed 40)")

	pattern := "[seed]-[steps]-[cfg]-[sampler]-[model_name]-[prompt_words]-[width]x[height]"
	name := "00003-40-1-7.0-Euler a-model-a small 1 1 boat sunset-64x64.webp"
	want(gen(nil, "-o", out, "--format", "webp", "--filename-pattern", pattern), filepath.Join(out, name)+" (seed 40)")
	b, err := os.ReadFile(filepath.Join(out, name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xwebp.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("the WebP file does not decode: %v", err)
	}
	code, info, stderr := run(t, nil, "pnginfo", filepath.Join(out, name))
	if code != 0 || !strings.HasPrefix(info, "a (small:1.1) boat, sunset\nNegative prompt: ugly\nSteps: 1, Sampler: Euler a") {
		t.Errorf("pnginfo of the WebP file: exit %d, %q %s", code, info, stderr)
	}

	// Without -o: webui's dated folders, the script's grid in txt2img-grids.
	root := t.TempDir()
	before := time.Now().Format("2006-01-02")
	got := gen(map[string]string{"SDGO_OUTPUTS_DIR": root}, "--prompt", "a boat|sunset", "--script", "prompt-matrix")
	day := time.Now().Format("2006-01-02")
	if day != before { // the run crossed midnight
		t.Skip("date changed during the run")
	}
	want(got, filepath.Join(root, "txt2img-images", day, "00000-40.png")+" (seed 40)",
		filepath.Join(root, "txt2img-images", day, "00001-40.png")+" (seed 40)",
		filepath.Join(root, "txt2img-grids", day, "prompt_matrix-0000-40.png")+" (grid)")
}

// TestTxt2ImgWebPFile writes -o out.webp losslessly and reads it back.
func TestTxt2ImgWebPFile(t *testing.T) {
	isolateCaches(t)
	path := filepath.Join(t.TempDir(), "out.webp")
	code, stdout, stderr := run(t, nil, append(tinyArgs(t), "--steps", "1", "--seed", "3", "--webp-lossless", "-o", path)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != path+" (seed 3)\n" {
		t.Errorf("stdout %q", stdout)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	text, err := imagefile.ReadInfotext(f)
	if err != nil || !strings.Contains(text, "Seed: 3, Size: 64x64") {
		t.Errorf("infotext %q, %v", text, err)
	}
}

func TestTxt2ImgOutputFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "gif"}, "--format"},
		{[]string{"--quality", "0"}, "--quality"},
	} {
		code, _, stderr := run(t, nil, append([]string{"txt2img", "--prompt", "x"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
	}
}

// TestImg2ImgOutputFolder runs img2img without -o: the image goes to
// <outputs>/img2img-images/<date> as JPEG, named by the pattern, and a
// second run continues the numbers.
func TestImg2ImgOutputFolder(t *testing.T) {
	dir := fixtureDir(t)
	isolateCaches(t)
	tmp, root := t.TempDir(), t.TempDir()
	initPath := filepath.Join(tmp, "init.png")
	writeTestPNG(t, initPath, 64, 64, false)
	args := []string{"img2img", "--model", filepath.Join(dir, "tiny-sd1", "model.safetensors"),
		"--clip-vocab", filepath.Join(dir, "..", "clip"), "--backend", "go", "-W", "64", "-H", "64", "--steps", "2",
		"--prompt", "a barn", "--init-image", initPath, "--denoising-strength", "0.5", "--seed", "9",
		"--format", "jpg", "--filename-pattern", "[seed]-[denoising]"}
	before := time.Now().Format("2006-01-02")
	for i, name := range []string{"00000-9-0.5.jpg", "00001-9-0.5.jpg"} {
		code, stdout, stderr := run(t, map[string]string{"SDGO_OUTPUTS_DIR": root}, args...)
		if code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, stderr)
		}
		if time.Now().Format("2006-01-02") != before {
			t.Skip("date changed during the run")
		}
		path := filepath.Join(root, "img2img-images", before, name)
		if stdout != path+" (seed 9)\n" {
			t.Errorf("run %d: stdout %q, want %s", i, stdout, path)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		text, err := imagefile.ReadInfotext(f)
		f.Close()
		if err != nil || !strings.Contains(text, "Denoising strength: 0.5") {
			t.Errorf("run %d: infotext %q, %v", i, text, err)
		}
	}
}
