package prompt_test

// These tests run the chunker with the real CLIP tokenizer against webui's
// numbers. They live in the external test package so that prompt itself
// never imports tokenizer.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sdgo/internal/prompt"
	"sdgo/internal/tokenizer"
)

func sharedDir(t *testing.T, name string) string {
	t.Helper()
	if fx := os.Getenv("SDGO_FIXTURES"); fx != "" {
		return filepath.Join(fx, "..", name)
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", name)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no shared/%s above the working directory; set SDGO_FIXTURES", name)
		}
		dir = parent
	}
}

type chunkJSON struct {
	Tokens      []int     `json:"tokens"`
	Multipliers []float64 `json:"multipliers"`
}

func TestChunksFixtures(t *testing.T) {
	tok, err := tokenizer.Load(sharedDir(t, "clip"))
	if err != nil {
		t.Fatal(err)
	}
	fixtures := os.Getenv("SDGO_FIXTURES")
	if fixtures == "" {
		fixtures = sharedDir(t, "fixtures")
	}
	raw, err := os.ReadFile(filepath.Join(fixtures, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Cases []struct {
			ID     string `json:"id"`
			Kind   string `json:"kind"`
			Inputs struct {
				Prompt   string  `json:"prompt"`
				Negative *string `json:"negative_prompt"`
			} `json:"inputs"`
			Expected struct {
				Chunks       []chunkJSON `json:"chunks"`
				ChunksCond   []chunkJSON `json:"chunks_cond"`
				ChunksUncond []chunkJSON `json:"chunks_uncond"`
			} `json:"expected"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, text string, want []chunkJSON) {
		t.Helper()
		got := prompt.Chunks(prompt.ParseAttention(text), tok.Encode, tokenizer.EOS)
		if len(got) != len(want) {
			t.Fatalf("%q: %d chunks, want %d", text, len(got), len(want))
		}
		for i := range got {
			if !slices.Equal(got[i].Tokens, want[i].Tokens) {
				t.Errorf("%q chunk %d tokens\n got %v\nwant %v", text, i, got[i].Tokens, want[i].Tokens)
			}
			if !slices.Equal(got[i].Multipliers, want[i].Multipliers) {
				t.Errorf("%q chunk %d multipliers\n got %v\nwant %v", text, i, got[i].Multipliers, want[i].Multipliers)
			}
		}
	}
	n := 0
	for _, c := range m.Cases {
		switch c.Kind {
		case "a1111_emphasis":
			t.Run(c.ID, func(t *testing.T) { check(t, c.Inputs.Prompt, c.Expected.Chunks) })
			n++
		case "txt2img":
			t.Run(c.ID, func(t *testing.T) {
				check(t, c.Inputs.Prompt, c.Expected.ChunksCond)
				if c.Inputs.Negative != nil {
					check(t, *c.Inputs.Negative, c.Expected.ChunksUncond)
				}
			})
			n++
		}
	}
	if n == 0 {
		t.Fatal("no a1111_emphasis or txt2img cases")
	}
}

// TestChunksRealTokenizer checks long prompts, BREAK and SD2 padding with
// the real vocabulary.
func TestChunksRealTokenizer(t *testing.T) {
	tok, err := tokenizer.Load(sharedDir(t, "clip"))
	if err != nil {
		t.Fatal(err)
	}
	long := "a highly detailed matte painting of a sprawling futuristic city at dusk, neon lights reflecting on wet streets, flying cars, towering skyscrapers with holographic billboards, crowds of people with umbrellas, steam rising from vents, cinematic lighting, volumetric fog, ultra wide angle, octane render, unreal engine, trending on artstation, by greg rutkowski and alphonse mucha, 8k resolution, sharp focus"
	ids := tok.Encode(long) // 81 tokens
	chunks := prompt.Chunks(prompt.ParseAttention(long), tok.Encode, tokenizer.EOS)
	if len(chunks) != 2 {
		t.Fatalf("%d chunks, want 2", len(chunks))
	}
	// Token 75 is a comma, so the first chunk is full and nothing moves.
	var got []int
	for _, c := range chunks {
		if len(c.Tokens) != 77 || c.Tokens[0] != tokenizer.BOS || c.Tokens[76] != tokenizer.EOS {
			t.Fatalf("chunk shape: %v", c.Tokens)
		}
		for _, id := range c.Tokens[1:76] {
			if id != tokenizer.EOS {
				got = append(got, id)
			}
		}
	}
	if !slices.Equal(got, ids) {
		t.Errorf("chunks hold %v\nwant %v", got, ids)
	}
	if !slices.Equal(chunks[0].Tokens[1:76], ids[:75]) {
		t.Errorf("first chunk %v\nwant %v", chunks[0].Tokens[1:76], ids[:75])
	}

	sd2 := prompt.Chunks(prompt.ParseAttention("a cat BREAK a dog"), tok.Encode, tokenizer.PadSD2)
	if len(sd2) != 2 {
		t.Fatalf("BREAK: %d chunks", len(sd2))
	}
	want := append([]int{tokenizer.BOS, 320, 2368, tokenizer.EOS}, make([]int, 73)...)
	if !slices.Equal(sd2[0].Tokens, want) {
		t.Errorf("SD2 chunk %v\nwant %v", sd2[0].Tokens, want)
	}
}
