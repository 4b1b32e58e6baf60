package prompt

// CLIP's ids for the default Chunker.
const (
	clipBOS   = 49406
	clipEOS   = 49407
	clipComma = 267 // ",</w>"
)

// ChunkTokens is the number of prompt tokens in one chunk; with BOS and EOS
// a chunk fills CLIP's 77 positions.
const ChunkTokens = 75

// Chunk is one 77-token text-encoder input: BOS, 75 prompt or padding
// tokens, EOS, and one emphasis multiplier per token (1 on BOS, EOS and
// padding).
type Chunk struct {
	Tokens      []int
	Multipliers []float64
}

// Chunker packs weighted spans into chunks the way webui's
// FrozenCLIPEmbedderWithCustomWords.tokenize_line does. For webui's
// emphasis setting "None" pass []Span{{prompt, 1}} instead of
// ParseAttention(prompt); for "Ignore" use the chunks' tokens and ignore
// their multipliers. Textual-inversion embeddings are not handled here.
type Chunker struct {
	BOS, EOS int
	// Pad is the padding id. With Pad == EOS (SD1) chunks are padded with
	// EOS; otherwise (OpenCLIP: SD2, SDXL's second encoder, Pad 0) every
	// token after a chunk's first EOS becomes Pad.
	Pad int
	// Comma is the id of ",</w>", -1 for none.
	Comma int
	// CommaBacktrack is webui's comma_padding_backtrack (default 20): when
	// a chunk is full and its last comma is at most this many tokens back,
	// the tokens after the comma move to the next chunk. 0 disables it.
	CommaBacktrack int
}

// NewChunker returns webui's defaults for CLIP's vocabulary with the given
// padding id (tokenizer.EOS for SD1, 0 for SD2).
func NewChunker(padID int) Chunker {
	return Chunker{BOS: clipBOS, EOS: clipEOS, Pad: padID, Comma: clipComma, CommaBacktrack: 20}
}

// Chunks packs spans with NewChunker(padID).
func Chunks(spans []Span, tokenize func(string) []int, padID int) []Chunk {
	return NewChunker(padID).Chunks(spans, tokenize)
}

// Chunks tokenizes every span separately (tokenize must add no BOS/EOS) and
// packs the tokens into chunks of ChunkTokens, each token carrying its
// span's weight. A chunk closes when full (moving the text after a recent
// comma along, see CommaBacktrack) or at a BREAK span, which closes the
// current chunk even when it is empty. There is always at least one chunk.
func (c Chunker) Chunks(spans []Span, tokenize func(string) []int) []Chunk {
	var chunks []Chunk
	var toks []int
	var mults []float64
	lastComma := -1
	next := func() {
		for len(toks) < ChunkTokens {
			toks = append(toks, c.EOS)
			mults = append(mults, 1)
		}
		ch := Chunk{
			Tokens:      make([]int, 0, ChunkTokens+2),
			Multipliers: make([]float64, 0, ChunkTokens+2),
		}
		ch.Tokens = append(append(append(ch.Tokens, c.BOS), toks...), c.EOS)
		ch.Multipliers = append(append(append(ch.Multipliers, 1), mults...), 1)
		c.pad(ch.Tokens)
		chunks = append(chunks, ch)
		toks, mults, lastComma = nil, nil, -1
	}
	for _, span := range spans {
		if span.IsBreak() {
			next()
			continue
		}
		for _, tok := range tokenize(span.Text) {
			if tok == c.Comma {
				lastComma = len(toks)
			} else if c.CommaBacktrack != 0 && len(toks) == ChunkTokens && lastComma != -1 && len(toks)-lastComma <= c.CommaBacktrack {
				cut := lastComma + 1
				relocT := append([]int(nil), toks[cut:]...)
				relocM := append([]float64(nil), mults[cut:]...)
				toks, mults = toks[:cut], mults[:cut]
				next()
				toks, mults = relocT, relocM
			}
			if len(toks) == ChunkTokens {
				next()
			}
			toks = append(toks, tok)
			mults = append(mults, span.Weight)
		}
	}
	if len(toks) > 0 || len(chunks) == 0 {
		next()
	}
	return chunks
}

// pad replaces every token after the first EOS by Pad (OpenCLIP models).
func (c Chunker) pad(tokens []int) {
	if c.Pad == c.EOS {
		return
	}
	for i, t := range tokens {
		if t == c.EOS {
			for j := i + 1; j < len(tokens); j++ {
				tokens[j] = c.Pad
			}
			return
		}
	}
}
