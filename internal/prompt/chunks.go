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
// padding). Fixes say where textual-inversion embeddings go.
type Chunk struct {
	Tokens      []int
	Multipliers []float64
	Fixes       []Fix
}

// Fix places a textual-inversion embedding in a chunk: Tokens[Pos :
// Pos+Vectors] hold the placeholder id 0 (as webui) and the text encoder
// must take its input vectors there from the embedding called Name instead
// of from its token table. Pos counts BOS, so it is at least 1.
type Fix struct {
	Pos     int
	Name    string
	Vectors int
}

// EmbeddingFinder finds textual-inversion trigger words in token ids.
type EmbeddingFinder interface {
	// FindEmbedding reports the embedding whose trigger word's ids start
	// at tokens[pos] (the longest if several do): its name, how many ids
	// the word covers and how many vectors replace them.
	FindEmbedding(tokens []int, pos int) (name string, ids, vectors int, ok bool)
}

// Chunker packs weighted spans into chunks the way webui's
// FrozenCLIPEmbedderWithCustomWords.tokenize_line does. For webui's
// emphasis setting "None" pass []Span{{prompt, 1}} instead of
// ParseAttention(prompt); for "Ignore" use the chunks' tokens and ignore
// their multipliers. Textual-inversion embeddings are found by the
// Embeddings field.
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
	// Embeddings, when set, finds textual-inversion trigger words: their
	// vectors are placed whole in one chunk (moving to the next one when
	// they do not fit) with the weight of the surrounding text. An
	// embedding of more than ChunkTokens vectors gets a chunk of its own
	// and is cut to ChunkTokens vectors.
	Embeddings EmbeddingFinder
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
	b := chunkBuilder{c: c, lastComma: -1}
	for _, span := range spans {
		if span.IsBreak() {
			b.next()
			continue
		}
		tokens := tokenize(span.Text)
		for pos := 0; pos < len(tokens); {
			tok := tokens[pos]
			if tok == c.Comma {
				b.lastComma = len(b.toks)
			} else if c.CommaBacktrack != 0 && len(b.toks) == ChunkTokens && b.lastComma != -1 && len(b.toks)-b.lastComma <= c.CommaBacktrack {
				b.backtrack()
			}
			if len(b.toks) == ChunkTokens {
				b.next()
			}
			var name string
			var ids, vectors int
			ok := false
			if c.Embeddings != nil {
				name, ids, vectors, ok = c.Embeddings.FindEmbedding(tokens, pos)
			}
			if !ok || ids <= 0 || vectors <= 0 {
				b.toks = append(b.toks, tok)
				b.mults = append(b.mults, span.Weight)
				pos++
				continue
			}
			vectors = min(vectors, ChunkTokens)
			if len(b.toks)+vectors > ChunkTokens {
				b.next()
			}
			b.fixes = append(b.fixes, Fix{Pos: len(b.toks), Name: name, Vectors: vectors})
			for range vectors {
				b.toks = append(b.toks, 0)
				b.mults = append(b.mults, span.Weight)
			}
			pos += ids
		}
	}
	if len(b.toks) > 0 || len(b.chunks) == 0 {
		b.next()
	}
	return b.chunks
}

// chunkBuilder holds the chunk being filled: its tokens and multipliers
// without BOS and EOS, and its fixes with positions counted the same way.
type chunkBuilder struct {
	c         Chunker
	chunks    []Chunk
	toks      []int
	mults     []float64
	fixes     []Fix
	lastComma int
}

// next closes the current chunk: EOS padding to ChunkTokens, then BOS and
// EOS around it.
func (b *chunkBuilder) next() {
	for len(b.toks) < ChunkTokens {
		b.toks = append(b.toks, b.c.EOS)
		b.mults = append(b.mults, 1)
	}
	ch := Chunk{
		Tokens:      make([]int, 0, ChunkTokens+2),
		Multipliers: make([]float64, 0, ChunkTokens+2),
	}
	ch.Tokens = append(append(append(ch.Tokens, b.c.BOS), b.toks...), b.c.EOS)
	ch.Multipliers = append(append(append(ch.Multipliers, 1), b.mults...), 1)
	for _, f := range b.fixes {
		f.Pos++ // BOS
		ch.Fixes = append(ch.Fixes, f)
	}
	b.c.pad(ch.Tokens)
	b.chunks = append(b.chunks, ch)
	b.toks, b.mults, b.fixes, b.lastComma = nil, nil, nil, -1
}

// backtrack moves the text after the last comma to a new chunk. An
// embedding there moves with it (webui moves its placeholder ids but
// leaves the vectors behind, a bug sdgo does not copy).
func (b *chunkBuilder) backtrack() {
	cut := b.lastComma + 1
	relocT := append([]int(nil), b.toks[cut:]...)
	relocM := append([]float64(nil), b.mults[cut:]...)
	var keep, moved []Fix
	for _, f := range b.fixes {
		if f.Pos >= cut {
			f.Pos -= cut
			moved = append(moved, f)
		} else {
			keep = append(keep, f)
		}
	}
	b.toks, b.mults, b.fixes = b.toks[:cut], b.mults[:cut], keep
	b.next()
	b.toks, b.mults, b.fixes = relocT, relocM, moved
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
