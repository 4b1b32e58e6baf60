package pipeline_test

import (
	"math"
	"testing"

	"sdgo/internal/pipeline"
)

// maxDiff is the largest absolute difference of two latents.
func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestTxt2ImgPromptEditingAndAND runs prompt editing and AND on the tiny
// model, comparing sampled latents: an edit that never switches gives the
// plain prompt's latent exactly, one that switches mid-way differs from
// both of its prompts, and AND parts in a batch give each image as alone.
func TestTxt2ImgPromptEditingAndAND(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: real images")
	}
	pool, tok := tinyPool(t, 1)
	lat := func(prompt, negative string, seed int64, batch int) []float32 {
		p := pipeline.Params{Prompt: prompt, NegativePrompt: negative, Width: 64, Height: 64, Steps: 4,
			Sampler: "Euler", Seed: seed, BatchSize: batch, CFGScale: 7}
		_, x, _ := generate(t, pool, tok, p)
		return x
	}
	boat := lat("a red boat", "fog", 99, 1)
	car := lat("a green car", "fog", 99, 1)
	if d := maxDiff(boat, car); d == 0 {
		t.Fatal("the two prompts give the same latent")
	}
	if d := maxDiff(lat("[a red boat:a green car:10]", "fog", 99, 1), boat); d != 0 {
		t.Errorf("an edit after the last step changed the latent by %g", d)
	}
	edit := lat("[a red boat:a green car:0.5]", "fog", 99, 1)
	for name, other := range map[string][]float32{"boat": boat, "car": car} {
		if d := maxDiff(edit, other); d == 0 {
			t.Errorf("the edited prompt gives the %s latent", name)
		}
	}
	if d := maxDiff(lat("a red boat", "[fog:haze:0.5]", 99, 1), boat); d == 0 {
		t.Error("negative prompt editing had no effect")
	}
	and := lat("a red boat AND a green car:0.5", "fog", 99, 2)
	if d := maxDiff(and[:len(boat)], boat); d == 0 {
		t.Error("AND gives the first part's latent")
	}
	single := lat("a red boat AND a green car:0.5", "fog", 100, 1)
	if d := maxDiff(and[len(boat):], single); d != 0 {
		t.Errorf("AND: the batch's second latent differs from the same seed alone by %g", d)
	}
}
