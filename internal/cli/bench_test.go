package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchTiny runs `sdgo bench` on the tiny model on the pure-Go backend
// (UNet calls, the chained steps and whole txt2img calls with a new prompt
// each) and checks what it reports, on stdout and as JSON. It asserts no
// timing beyond "measured at all".
func TestBenchTiny(t *testing.T) {
	isolateCaches(t)
	dir := fixtureDir(t)
	out := filepath.Join(t.TempDir(), "bench.json")
	code, stdout, stderr := run(t, nil, "bench", "--model", filepath.Join(dir, "tiny-sd1", "model.safetensors"),
		"--clip-vocab", filepath.Join(dir, "..", "clip"), "--backend", "go", "-W", "64", "-H", "64",
		"--what", "text,unet,chain,txt2img", "--steps", "2", "--iters", "2", "--new-prompts", "--json", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"text     SD1", "unet     SD1", "chain    SD1", "txt2img  SD1", "txt2img stages (median of 2): cond "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		What      string  `json:"what"`
		Batch     int     `json:"batch"`
		Width     int     `json:"width"`
		Iters     int     `json:"iters"`
		MedianMS  float64 `json:"median_ms"`
		PerSecond float64 `json:"images_per_second"`
		CondMS    float64 `json:"cond_ms"`
		Sampling  float64 `json:"sampling_ms"`
		Steps     int     `json:"device_steps"`
		QueueMS   float64 `json:"queue_ms"`
	}
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4:\n%s", len(recs), b)
	}
	for i, what := range []string{"text", "unet", "chain", "txt2img"} {
		r := recs[i]
		if r.What != what || r.Width != 64 || r.Iters != 2 || r.MedianMS <= 0 {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if r := recs[3]; r.PerSecond <= 0 || r.CondMS <= 0 || r.Batch != 1 {
		t.Errorf("txt2img record %+v: want images per second, the cond stage and batch 1", r)
	}
	// The steps ran on the device loop: their launch time is reported, and
	// it is part of the sampling stage.
	if r := recs[3]; r.Steps != 2 || r.QueueMS <= 0 || r.QueueMS > r.Sampling {
		t.Errorf("txt2img record %+v: want 2 device steps and their host time within the sampling stage", r)
	}
}
