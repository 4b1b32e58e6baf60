package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestFixtureCases(t *testing.T) {
	cases := tokenizerCases(t)
	for name, tok := range testTokenizers(t) {
		for _, c := range cases {
			t.Run(name+"/"+c.ID, func(t *testing.T) {
				p := c.Inputs.Prompt
				check := func(what string, got, want []int) {
					t.Helper()
					if !slices.Equal(got, want) {
						t.Errorf("%s(%q)\n got %v\nwant %v", what, p, got, want)
					}
				}
				check("Encode", tok.Encode(p), c.Expected.IDsNoSpecial)
				check("EncodeWithSpecial", tok.EncodeWithSpecial(p), c.Expected.IDs)
				check("Context77 SD1", tok.Context77(p, EOS), c.Expected.Padded77SD1)
				check("Context77 SD2", tok.Context77(p, PadSD2), c.Expected.Padded77SD2)
				if c.Expected.OpenAI != nil {
					check("OpenAI Encode", tok.WithNormalizer(NormalizeOpenAI).Encode(p), c.Expected.OpenAI)
				}
			})
		}
	}
}

// TestBPEMatchesVocabJSON checks that the vocabulary derived from the BPE
// file is vocab.json, id for id, and that the merges agree.
func TestBPEMatchesVocabJSON(t *testing.T) {
	toks := testTokenizers(t)
	a, b := toks["vocab.json"], toks["bpe.gz"]
	if a.Len() != 49408 || b.Len() != 49408 {
		t.Fatalf("vocabulary sizes %d, %d; want 49408", a.Len(), b.Len())
	}
	for id := range a.Len() {
		if a.Token(id) != b.Token(id) {
			t.Fatalf("id %d: vocab.json %q, bpe file %q", id, a.Token(id), b.Token(id))
		}
	}
	if len(a.merges) != len(b.merges) {
		t.Fatalf("merge counts %d, %d", len(a.merges), len(b.merges))
	}
	for k, m := range a.merges {
		if b.merges[k] != m {
			t.Fatalf("merge %x: %v vs %v", k, m, b.merges[k])
		}
	}
	if id, ok := a.ID(",</w>"); !ok || id != 267 {
		t.Errorf(`ID(",</w>") = %d, %v; want 267`, id, ok)
	}
	if a.BOS() != BOS || a.EOS() != EOS {
		t.Errorf("BOS, EOS = %d, %d", a.BOS(), a.EOS())
	}
}

func TestNormalization(t *testing.T) {
	tok := testTokenizers(t)["vocab.json"]
	for _, tc := range []struct{ a, b string }{
		{"cafe\u0301", "café"},                // NFD input is composed first
		{"A\u00a0B\u2003\u3000c", "a b c"},    // every Unicode space is a separator
		{"CAT", "cat"},                        // lowercase
		{"\u0130stanbul", "i\u0307stanbul"},   // the one two-rune lowercase
		{"don't", "don 't"},                   // contractions are words of their own
		{"<|endoftext|>x", "<|endoftext|> x"}, // special tokens are cut out first
		{"!<|endoftext|>", "! <|endoftext|>"}, // ... even after punctuation
		{"a\t\n b", "a b"},                    // whitespace collapse
		{"x'sy", "x 's y"},                    // 's is split off a word
	} {
		if got, want := tok.Encode(tc.a), tok.Encode(tc.b); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want Encode(%q) = %v", tc.a, got, tc.b, want)
		}
	}
}

func TestNextWord(t *testing.T) {
	split := func(s string, inline bool) []string {
		var words []string
		for s != "" {
			w, rest, skip := nextWord(s, inline)
			if !skip {
				words = append(words, w)
			}
			s = rest
		}
		return words
	}
	for _, tc := range []struct {
		in     string
		inline bool
		want   string
	}{
		{"hello, world!", false, "hello|,|world|!"},
		{"1024x768", false, "1|0|2|4|x|7|6|8"},
		{"it's they'll we've i'm he'd", false, "it|'s|they|'ll|we|'ve|i|'m|he|'d"},
		{"'sun ''s !'s", false, "'s|un|''|s|!'|s"},
		{"a+b=c ~x~", false, "a|+|b|=|c|~|x|~"},
		{"東京タワー", false, "東京タワー"},
		{"🙂🚀", false, "🙂🚀"},
		{"a<|endoftext|>b", true, "a|<|endoftext|>|b"},
		{"!<|endoftext|>", true, "!<||endoftext||>"},
		{"a<|endoftext|>b", false, "a|<||endoftext||>|b"},
	} {
		if got := strings.Join(split(tc.in, tc.inline), "|"); got != tc.want {
			t.Errorf("words(%q, %v) = %q, want %q", tc.in, tc.inline, got, tc.want)
		}
	}
}

func TestOpenAINormalizer(t *testing.T) {
	tok := testTokenizers(t)["vocab.json"]
	oa := tok.WithNormalizer(NormalizeOpenAI)
	for _, tc := range []struct{ a, b string }{
		{"fish &amp;amp; chips", "fish & chips"}, // unescaped twice
		{"&lt;3 &#x41;", "<3 a"},
		{"ΟΔΟΣ ΣΑΣ", "οδος σας"}, // Python's final sigma
		{"  a \x1c b  ", "a b"},
	} {
		if got, want := oa.Encode(tc.a), tok.Encode(tc.b); !slices.Equal(got, want) {
			t.Errorf("OpenAI Encode(%q) = %v, want Encode(%q) = %v", tc.a, got, tc.b, want)
		}
	}
	if got := oa.Encode("a<|endoftext|>b"); !slices.Equal(got, []int{320, EOS, 321}) {
		t.Errorf("OpenAI inline special token: %v", got)
	}
}

func TestPad77(t *testing.T) {
	long := make([]int, 100)
	for i := range long {
		long[i] = i + 1
	}
	got := Pad77(long, 0)
	if len(got) != ContextLen || got[0] != BOS || got[76] != EOS || got[75] != 75 {
		t.Errorf("Pad77(100 ids) = %v", got)
	}
	got = Pad77(nil, 0)
	if len(got) != ContextLen || got[0] != BOS || got[1] != EOS || got[2] != 0 || got[76] != 0 {
		t.Errorf("Pad77(nil) = %v", got)
	}
}

func TestDecode(t *testing.T) {
	tok := testTokenizers(t)["vocab.json"]
	for s, want := range map[string]string{
		"a photo of a cat": "<|startoftext|>a photo of a cat <|endoftext|>",
		"東京タワー and 北京":     "<|startoftext|>東京タワー and 北京 <|endoftext|>",
		"Emoji 🙂🚀":         "<|startoftext|>emoji 🙂🚀 <|endoftext|>",
		"hello, world!":    "<|startoftext|>hello , world ! <|endoftext|>",
	} {
		if got := tok.Decode(tok.EncodeWithSpecial(s)); got != want {
			t.Errorf("Decode(EncodeWithSpecial(%q)) = %q, want %q", s, got, want)
		}
	}
	if got := tok.Decode(tok.Encode("a photo of a cat")); got != "a photo of a cat" {
		t.Errorf("Decode = %q", got)
	}
}

// TestLongWord checks the priority-queue BPE on a word far longer than any
// cache entry, against the same text cut into cached pieces' expectations:
// a run of one letter merges the same way wherever it occurs.
func TestLongWord(t *testing.T) {
	tok := testTokenizers(t)["vocab.json"]
	word := strings.Repeat("ab", 50000)
	ids := tok.Encode(word)
	if len(ids) == 0 || len(ids) > len(word) {
		t.Fatalf("%d ids for %d bytes", len(ids), len(word))
	}
	if got := strings.ReplaceAll(tok.Decode(ids), " ", ""); got != word {
		t.Fatalf("decode of long word differs (len %d)", len(got))
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := testTokenizers(t)["vocab.json"]
	want := make([][]int, 50)
	texts := make([]string, 50)
	for i := range texts {
		texts[i] = fmt.Sprintf("a painting number %d of a fox%d, trending on artstation %c", i, i*7, 'A'+i%26)
		want[i] = tok.Encode(texts[i])
	}
	fresh := tok.WithNormalizer(NormalizeHF)
	fresh.cache = newWordCache()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 20 {
				i := (g*13 + r) % len(texts)
				if got := fresh.Encode(texts[i]); !slices.Equal(got, want[i]) {
					t.Errorf("concurrent Encode(%q) = %v, want %v", texts[i], got, want[i])
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkEncode(b *testing.B) {
	tok := testTokenizers(b)["vocab.json"]
	text := "a highly detailed matte painting of a sprawling futuristic city at dusk, neon lights reflecting on wet streets, (masterpiece:1.2)"
	b.ReportAllocs()
	for b.Loop() {
		tok.Encode(text)
	}
}

func BenchmarkEncodeUncached(b *testing.B) {
	tok := testTokenizers(b)["vocab.json"]
	text := "a highly detailed matte painting of a sprawling futuristic city at dusk, neon lights reflecting on wet streets, (masterpiece:1.2)"
	b.ReportAllocs()
	for b.Loop() {
		tok.cache = newWordCache()
		tok.Encode(text)
	}
}

func BenchmarkLoadFiles(b *testing.B) {
	testTokenizers(b)
	dir := sharedDir(b, "clip")
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}
