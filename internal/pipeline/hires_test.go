package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"sdgo/internal/pipeline"
	"sdgo/internal/upscale"
)

// hiresRun runs a 64x64 2-step txt2img with hires fix on the tiny model and
// returns the result and the traced latents by name.
func hiresRun(t *testing.T, hr pipeline.Hires) (pipeline.Result, map[string][]float32) {
	t.Helper()
	pool, tok := tinyPool(t, 1)
	m := <-pool
	defer func() { pool <- m }()
	tr := map[string][]float32{}
	job := pipeline.Job{Model: m, Tok: tok, Trace: func(name string, v []float32) {
		if strings.HasPrefix(name, "x_") {
			tr[name] = append([]float32(nil), v...)
		}
	}}
	p := pipeline.Params{Prompt: "a red cube", Width: 64, Height: 64, Steps: 2, Seed: 42, Sampler: "Euler", CFGScale: 5, Hires: hr}
	res, err := pipeline.Txt2Img(context.Background(), job, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("%d results, want 1", len(res))
	}
	return res[0], tr
}

func TestHiresFix(t *testing.T) {
	tests := []struct {
		name       string
		hr         pipeline.Hires
		w, h       int
		wantInfo   []string
		exactInit  bool // x_final is the upscaled first pass (denoising 0, latent)
		sameAsInit bool // x_final is x_hires_init (denoising 0)
	}{
		{name: "latent 2x", hr: pipeline.Hires{Enable: true, Scale: 2, Steps: 2, DenoisingStrength: 0.7}, w: 128, h: 128,
			wantInfo: []string{"Size: 64x64", "Denoising strength: 0.7", "Hires upscale: 2, Hires steps: 2, Hires upscaler: Latent, Version"}},
		{name: "lanczos resize", hr: pipeline.Hires{Enable: true, ResizeX: 128, Upscaler: "Lanczos", DenoisingStrength: 0.5, Sampler: "DPM++ 2M"}, w: 128, h: 128,
			wantInfo: []string{"Denoising strength: 0.5", "Hires resize: 128x0, Hires upscaler: Lanczos, Hires sampler: DPM++ 2M, Version"}},
		{name: "latent denoise 0", hr: pipeline.Hires{Enable: true, Scale: 2, Upscaler: "Latent (nearest-exact)"}, w: 128, h: 128,
			wantInfo: []string{"Denoising strength: 0,", "Hires upscaler: Latent (nearest-exact)"}, exactInit: true, sameAsInit: true},
		{name: "nearest denoise 0 crop", hr: pipeline.Hires{Enable: true, ResizeX: 128, ResizeY: 96, Upscaler: "Nearest"}, w: 128, h: 96,
			wantInfo: []string{"Hires resize: 128x96"}, sameAsInit: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, tr := hiresRun(t, tc.hr)
			if b := r.Image.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("image %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
			for _, s := range tc.wantInfo {
				if !strings.Contains(r.Infotext, s) {
					t.Errorf("infotext %q lacks %q", r.Infotext, s)
				}
			}
			if got, want := len(tr["x_final"]), 4*tc.w*tc.h/64; got != want {
				t.Fatalf("final latent has %d values, want %d", got, want)
			}
			if tc.sameAsInit && !equal(tr["x_final"], tr["x_hires_init"]) {
				t.Error("denoising 0: final latent is not the upscaled first pass")
			}
			if tc.exactInit {
				m, _ := upscale.LookupLatentMode(tc.hr.Upscaler)
				want, err := upscale.ResizeLatent(tr["x_first"], []int{1, 4, 8, 8}, tc.h/8, tc.w/8, m)
				if err != nil {
					t.Fatal(err)
				}
				if !equal(tr["x_final"], want) {
					t.Error("denoising 0: final latent differs from ResizeLatent(first pass)")
				}
			}
			if !tc.sameAsInit && equal(tr["x_final"], tr["x_hires_init"]) {
				t.Error("second pass did not change the latent")
			}
		})
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHiresValidation(t *testing.T) {
	tests := []struct {
		name string
		hr   pipeline.Hires
		want string
	}{
		{"scale not multiple of 8", pipeline.Hires{Enable: true, Scale: 1.3}, "hires upscale width 83"},
		{"resize not multiple of 8", pipeline.Hires{Enable: true, ResizeX: 100}, "multiple of 8"},
		{"bad upscaler", pipeline.Hires{Enable: true, Upscaler: "ESRGAN"}, "hires upscaler"},
		{"denoise > 1", pipeline.Hires{Enable: true, DenoisingStrength: 1.5}, "hires denoising"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pipeline.Params{Width: 64, Height: 64, Hires: tc.hr}
			err := p.Validate()
			var ve *pipeline.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want a validation error mentioning %q", err, tc.want)
			}
		})
	}
	p := pipeline.Params{Width: 64, Height: 64, Hires: pipeline.Hires{Enable: true, DenoisingStrength: -1}}
	if err := p.Validate(); err != nil || p.Hires.Scale != 2 || p.Hires.DenoisingStrength != 0.7 {
		t.Errorf("defaults: err %v, scale %v, denoise %v; want nil, 2, 0.7", err, p.Hires.Scale, p.Hires.DenoisingStrength)
	}
}

// TestHiresPromptEditingTimeline runs hires fix on the tiny model with
// prompt editing on webui's hires timeline (2 first-pass steps, 4 hires
// steps): [a:b:1.5] and [a:b:4] both switch at the second pass's last
// step, so they give the same image, while the first pass sees only a.
func TestHiresPromptEditingTimeline(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: real images")
	}
	pool, tok := tinyPool(t, 1)
	run := func(prompt string) map[string][]float32 {
		m := <-pool
		defer func() { pool <- m }()
		tr := map[string][]float32{}
		job := pipeline.Job{Model: m, Tok: tok, Trace: func(name string, v []float32) {
			if strings.HasPrefix(name, "x_") {
				tr[name] = append([]float32(nil), v...)
			}
		}}
		p := pipeline.Params{Prompt: prompt, Width: 64, Height: 64, Steps: 2, Seed: 7, Sampler: "Euler", CFGScale: 5,
			Hires: pipeline.Hires{Enable: true, Scale: 2, Steps: 4, DenoisingStrength: 0.7}}
		if _, err := pipeline.Txt2Img(context.Background(), job, p); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	cube, ball := run("a red cube"), run("a blue ball")
	frac, step := run("[a red cube:a blue ball:1.5]"), run("[a red cube:a blue ball:4]")
	for name, tr := range map[string]map[string][]float32{"[..:1.5]": frac, "[..:4]": step} {
		if !equal(tr["x_first"], cube["x_first"]) {
			t.Errorf("%s: the first pass did not use the first prompt only", name)
		}
		if equal(tr["x_final"], cube["x_final"]) || equal(tr["x_final"], ball["x_final"]) {
			t.Errorf("%s: the hires pass did not switch prompts mid-way", name)
		}
	}
	if !equal(frac["x_final"], step["x_final"]) {
		t.Error("[a:b:1.5] and [a:b:4] switch at different hires steps")
	}
}
