package pipeline_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"sdgo/internal/fixture"
	"sdgo/internal/pipeline"
)

// TestPromptLoRA runs <lora:name:w> through txt2img on the tiny model: the
// image equals the plain prompt's on a model with that LoRA merged by hand
// (the tag is cut from the text encoder's prompt, kept in the infotext with
// webui's "Lora hashes"); the next prompt without the tag takes the LoRA off
// again; an unknown name, or no LoRA folder, is an error naming the tag.
func TestPromptLoRA(t *testing.T) {
	dir, err := fixture.FindDir()
	if err != nil {
		t.Skip(err)
	}
	pool, tok := tinyPool(t, 1)
	m := <-pool
	defer func() { pool <- m }()
	loraPath := filepath.Join(dir, "tiny-sd1", "lora.safetensors")
	run := func(prompt string, finder pipeline.NetworkFinder) (pipeline.Result, error) {
		p := pipeline.Params{Prompt: prompt, NegativePrompt: "blurry", Width: 64, Height: 64, Steps: 2, Sampler: "Euler", Seed: 11}
		res, err := pipeline.Txt2Img(context.Background(), pipeline.Job{Model: m, Tok: tok, Networks: finder}, p)
		if err != nil {
			return pipeline.Result{}, err
		}
		return res[0], nil
	}
	finder := pipeline.LoRAFinder(filepath.Join(dir, "tiny-sd1"))

	plain, err := run("a red barn", finder)
	if err != nil {
		t.Fatal(err)
	}
	tagged, err := run("a red <lora:lora:0.7>barn", finder)
	if err != nil {
		t.Fatal(err)
	}
	if l := m.LoRAs(); len(l) != 1 || l[0].Path != loraPath || l[0].TE != 0.7 || l[0].UNet != 0.7 {
		t.Fatalf("applied LoRAs %v, want lora.safetensors at 0.7", l)
	}
	hash, err := m.LoRAs()[0].Hash()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tagged.Infotext, "a red <lora:lora:0.7>barn\n") || !strings.Contains(tagged.Infotext, `Lora hashes: "lora: `+hash+`"`) {
		t.Errorf("infotext %q: want the prompt as written and Lora hashes with %s", tagged.Infotext, hash)
	}
	// The same LoRA merged by hand, the tag-free prompt.
	m.ClearLoRAs()
	if err := m.ApplyLoRA(loraPath, 0.7); err != nil {
		t.Fatal(err)
	}
	byHand, err := pipeline.Txt2Img(context.Background(), pipeline.Job{Model: m, Tok: tok, Networks: finder},
		pipeline.Params{Prompt: "a red <lora:lora:0.7>barn", NegativePrompt: "blurry", Width: 64, Height: 64, Steps: 2, Sampler: "Euler", Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := pixelDiff(byHand[0].Image, tagged.Image); d != 0 {
		t.Errorf("<lora:lora:0.7> and a hand-merged LoRA differ by %d/255", d)
	}
	if d, _ := pixelDiff(plain.Image, tagged.Image); d == 0 {
		t.Error("the LoRA changed nothing")
	}
	again, err := run("a red barn", finder)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.LoRAs()) != 0 {
		t.Errorf("a prompt without tags left LoRAs %v applied", m.LoRAs())
	}
	if d, _ := pixelDiff(plain.Image, again.Image); d != 0 || again.Infotext != plain.Infotext {
		t.Errorf("after the LoRA is taken off the image differs by %d/255", d)
	}
	for _, c := range []struct {
		prompt string
		finder pipeline.NetworkFinder
		want   []string
	}{
		{"a <lora:nope:1> barn", finder, []string{"nope", "--lora-dir"}},
		{"a <lora:lora:1> barn", nil, []string{"<lora:lora>", "no LoRA folder"}},
		{"a <lora:lora:x> barn", finder, []string{"multiplier", `"x"`}},
		{"a <hypernet:h:1> barn", finder, []string{"hypernet"}},
	} {
		_, err := run(c.prompt, c.finder)
		if err == nil {
			t.Errorf("%q: no error", c.prompt)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not mention %q", c.prompt, err, w)
			}
		}
	}
	if len(m.LoRAs()) != 0 {
		t.Errorf("failed prompts left LoRAs %v", m.LoRAs())
	}
}
