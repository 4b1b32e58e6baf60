package tokenizer

import (
	"fmt"
	"strings"
)

// Ids of CLIP's special tokens in the standard 49408-token vocabulary, and
// the sizes Stable Diffusion's text encoders work with.
const (
	BOS = 49406 // <|startoftext|>
	EOS = 49407 // <|endoftext|>

	// PadSD2 is the padding id of OpenCLIP text encoders (SD2, SDXL's
	// second encoder); SD1's Hugging Face CLIP pads with EOS.
	PadSD2 = 0

	// ContextLen is the number of positions of CLIP's text encoder.
	ContextLen = 77
	// ChunkLen is the number of prompt tokens that fit in one context
	// between BOS and EOS.
	ChunkLen = ContextLen - 2
)

// Special-token strings of the CLIP vocabulary.
const (
	startText = "<|startoftext|>"
	endText   = "<|endoftext|>"
	wordEnd   = "</w>"
)

// Normalizer selects how text is cleaned before it is split into words.
type Normalizer int

const (
	// NormalizeHF is Hugging Face CLIPTokenizer: special-token strings are
	// cut out of the raw text first; each remaining piece gets Unicode NFC,
	// every run of whitespace becomes one space, and it is lowercased.
	// Stable Diffusion 1.x pipelines (webui, diffusers) tokenize this way.
	NormalizeHF Normalizer = iota
	// NormalizeOpenAI is OpenAI's and OpenCLIP's simple_tokenizer without
	// ftfy: HTML entities are unescaped twice, whitespace collapsed and
	// trimmed, the text lowercased (no NFC); special-token strings are found
	// by the word pattern itself. webui tokenizes SD2 prompts this way.
	NormalizeOpenAI
)

// merge is one BPE rule: the rank decides the order, id is the result.
type merge struct {
	rank int32
	id   int32
}

// Tokenizer is a CLIP BPE tokenizer. It is safe for concurrent use.
type Tokenizer struct {
	tokens  []string         // id -> token
	ids     map[string]int   // token -> id
	merges  map[uint64]merge // pairKey(left, right) -> rule
	byteID  [256]int32       // id of each byte's symbol, -1 if absent
	byteEnd [256]int32       // id of each byte's symbol + "</w>", -1 if absent
	bos     int
	eos     int
	norm    Normalizer
	cache   *wordCache
}

func pairKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

// newTokenizer builds the tables from a vocabulary (token -> id) and the
// merge rules in rank order. Every merge's parts and result must be in the
// vocabulary, and so must both special tokens.
func newTokenizer(vocab map[string]int, merges [][2]string) (*Tokenizer, error) {
	t := &Tokenizer{ids: vocab, merges: make(map[uint64]merge, len(merges)), cache: newWordCache()}
	maxID := -1
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer: vocabulary: token %q has negative id %d", tok, id)
		}
		maxID = max(maxID, id)
	}
	if maxID >= 1<<31-1 {
		return nil, fmt.Errorf("tokenizer: vocabulary: id %d is too large", maxID)
	}
	t.tokens = make([]string, maxID+1)
	for tok, id := range vocab {
		t.tokens[id] = tok
	}
	var ok bool
	if t.bos, ok = vocab[startText]; !ok {
		return nil, fmt.Errorf("tokenizer: vocabulary: no %s token", startText)
	}
	if t.eos, ok = vocab[endText]; !ok {
		return nil, fmt.Errorf("tokenizer: vocabulary: no %s token", endText)
	}
	for b := 0; b < 256; b++ {
		t.byteID[b], t.byteEnd[b] = -1, -1
		if id, ok := vocab[string(byteRunes[b])]; ok {
			t.byteID[b] = int32(id)
		}
		if id, ok := vocab[string(byteRunes[b])+wordEnd]; ok {
			t.byteEnd[b] = int32(id)
		}
	}
	for rank, m := range merges {
		l, lok := vocab[m[0]]
		r, rok := vocab[m[1]]
		res, resok := vocab[m[0]+m[1]]
		if !lok || !rok || !resok {
			return nil, fmt.Errorf("tokenizer: merge %d %q %q: token not in the vocabulary", rank+1, m[0], m[1])
		}
		key := pairKey(int32(l), int32(r))
		if _, dup := t.merges[key]; !dup { // the first (lowest) rank wins
			t.merges[key] = merge{rank: int32(rank), id: int32(res)}
		}
	}
	return t, nil
}

// WithNormalizer returns a tokenizer that shares t's vocabulary and cache but
// cleans text the way n says.
func (t *Tokenizer) WithNormalizer(n Normalizer) *Tokenizer {
	c := *t
	c.norm = n
	return &c
}

// BOS returns the id of <|startoftext|>.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS returns the id of <|endoftext|>.
func (t *Tokenizer) EOS() int { return t.eos }

// Len returns the vocabulary size (the largest id + 1).
func (t *Tokenizer) Len() int { return len(t.tokens) }

// ID returns the id of a vocabulary entry in its byte-level spelling, e.g.
// ID(",</w>") is 267 in CLIP's vocabulary.
func (t *Tokenizer) ID(token string) (int, bool) {
	id, ok := t.ids[token]
	return id, ok
}

// Token returns the vocabulary entry of id ("" when id is out of range).
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// Encode returns the token ids of text without BOS, EOS, truncation or
// padding. Special-token strings typed in the text become their ids.
func (t *Tokenizer) Encode(text string) []int {
	out := make([]int, 0, len(text)/3+1)
	if t.norm == NormalizeOpenAI {
		return t.encodeWords(cleanOpenAI(text), true, out)
	}
	for text != "" {
		i, special := nextSpecial(text)
		if i < 0 {
			return t.encodeWords(normalizeHF(text), false, out)
		}
		out = t.encodeWords(normalizeHF(text[:i]), false, out)
		out = append(out, t.ids[special])
		text = text[i+len(special):]
	}
	return out
}

// EncodeWithSpecial returns BOS + Encode(text) + EOS, not truncated.
func (t *Tokenizer) EncodeWithSpecial(text string) []int {
	ids := t.Encode(text)
	out := make([]int, 0, len(ids)+2)
	out = append(out, t.bos)
	out = append(out, ids...)
	return append(out, t.eos)
}

// Context77 returns the 77 ids a single-context text encoder takes for
// text: BOS, at most 75 prompt tokens, EOS, then padID up to 77 (EOS for
// SD1, PadSD2 for OpenCLIP). This is Hugging Face's
// tokenizer(text, padding="max_length", max_length=77, truncation=True).
func (t *Tokenizer) Context77(text string, padID int) []int {
	return Pad77(t.Encode(text), padID)
}

// Pad77 wraps prompt ids (without special tokens) into one 77-token context:
// BOS, the first 75 ids, EOS, then padID to length 77.
func Pad77(ids []int, padID int) []int {
	out := make([]int, 0, ContextLen)
	out = append(out, BOS)
	out = append(out, ids[:min(len(ids), ChunkLen)]...)
	out = append(out, EOS)
	for len(out) < ContextLen {
		out = append(out, padID)
	}
	return out
}

// Decode turns ids back into text: byte-level symbols become bytes again
// and "</w>" a space. Unknown ids are skipped; the result is trimmed.
func (t *Tokenizer) Decode(ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(t.Token(id))
	}
	var out []byte
	for _, r := range strings.ReplaceAll(sb.String(), wordEnd, " ") {
		if b, ok := runeBytes[r]; ok {
			out = append(out, b)
		} else {
			out = append(out, string(r)...)
		}
	}
	return strings.TrimSpace(string(out))
}

// nextSpecial finds the first special-token string in s.
func nextSpecial(s string) (int, string) {
	i := strings.Index(s, startText)
	j := strings.Index(s, endText)
	switch {
	case i < 0 && j < 0:
		return -1, ""
	case j < 0 || (i >= 0 && i < j):
		return i, startText
	default:
		return j, endText
	}
}

// encodeWords splits normalized text into words and appends their BPE ids.
// With inlineSpecial the special-token strings are words of their own (the
// OpenAI pattern); otherwise they were cut out before.
func (t *Tokenizer) encodeWords(s string, inlineSpecial bool, out []int) []int {
	for s != "" {
		word, rest, skip := nextWord(s, inlineSpecial)
		s = rest
		if skip {
			continue
		}
		if inlineSpecial && (word == startText || word == endText) {
			out = append(out, t.ids[word])
			continue
		}
		out = t.bpe(word, out)
	}
	return out
}
