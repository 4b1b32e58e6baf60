package tokenizer

import (
	"slices"
	"testing"
)

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "a photo of a cat", "café naïve", "東京タワー", "🙂🚀", "<|startoftext|>x<|endoftext|>",
		"fish &amp; chips", "\xff\xfe bad utf8", "ΣΑΣ", "İ", "'s'll", "1024x768"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tok := testTokenizers(t)["vocab.json"]
		for _, tk := range []*Tokenizer{tok, tok.WithNormalizer(NormalizeOpenAI)} {
			ids := tk.Encode(text)
			for _, id := range ids {
				if id < 0 || id >= tk.Len() {
					t.Fatalf("Encode(%q): id %d out of range", text, id)
				}
			}
			if again := tk.Encode(text); !slices.Equal(ids, again) {
				t.Fatalf("Encode(%q) not deterministic: %v vs %v", text, ids, again)
			}
			if got := Pad77(ids, PadSD2); len(got) != ContextLen {
				t.Fatalf("Pad77: %d ids", len(got))
			}
		}
	})
}
