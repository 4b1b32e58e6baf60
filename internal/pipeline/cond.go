package pipeline

import (
	"fmt"
	"math"
	"strings"

	"sdgo/internal/checkpoint"
	"sdgo/internal/embedding"
	"sdgo/internal/model"
	"sdgo/internal/prompt"
	"sdgo/internal/tokenizer"
)

// Conditioner turns prompts into UNet conditioning the way webui does:
// attention syntax, 75-token chunks with comma backtracking, one text
// encoder pass per chunk, emphasis with mean restoration, chunks
// concatenated on the token axis; for SDXL both encoders concatenated on
// the channel axis plus the vector conditioning y.
type Conditioner struct {
	Model    *model.Model
	Tok      *tokenizer.Tokenizer
	ClipSkip int // 0 or 1 = last layer (SD1 only; SD2 and SDXL fix it)
	// Embeddings are the textual-inversion embeddings prompts may name
	// (nil = none). Only those of the model's width (TextWidth) are found.
	Embeddings *embedding.Database
	// Emphasis is webui's emphasis mode: "" or EmphasisOriginal,
	// EmphasisNoNorm, EmphasisIgnore or EmphasisNone.
	Emphasis string

	finders  []*embedding.Finder // per text encoder, built on first use
	used     [2][]*embedding.Embedding
	brackets bool // an encoded text had "(" or "["
}

// TextWidth is the width a textual-inversion embedding must have for m:
// the sum of its text encoders' widths (768 SD1, 1024 SD2, 2048 SDXL), as
// webui's expected embedding shape.
func TextWidth(m *model.Model) int {
	w := 0
	for _, te := range m.Text {
		w += te.Config.Width
	}
	return w
}

// Size is the pixel size SDXL's vector conditioning records.
type Size struct{ W, H int }

// Encode conditions one prompt. negative marks a negative prompt (SDXL
// zeroes an empty one, as webui does).
func (c *Conditioner) Encode(text string, negative bool, size Size) (Cond, error) {
	m := c.Model
	if m.Family == checkpoint.SDXL && negative && text == "" {
		// What the encoders would give is zeroed below: skip them (two
		// encoder calls, about 10 ms on a GPU). One 77-token chunk, as
		// the chunker makes of an empty prompt.
		w := TextWidth(m)
		pooled := make([]float32, m.UNet.ADMInChannels-len(sdxlVector(nil, size)))
		return Cond{Context: make([]float32, 77*w), Tokens: 77, Width: w, Y: sdxlVector(pooled, size)}, nil
	}
	emphasis, spans, err := c.spans(text)
	if err != nil {
		return Cond{}, err
	}
	c.brackets = c.brackets || strings.ContainsAny(text, "([")
	var parts [][]float32
	var width, tokens int
	var pooled []float32
	for i, te := range m.Text {
		chunks := c.chunks(i, spans)
		rows := make([][]int, len(chunks))
		var mult []float64
		var vecs []model.InputVectors
		for j, chunk := range chunks {
			rows[j] = chunk.Tokens
			mult = append(mult, chunk.Multipliers...)
			for _, fix := range chunk.Fixes {
				v, err := c.fixVectors(fix, te.Config.Width, negative)
				if err != nil {
					return Cond{}, err
				}
				vecs = append(vecs, model.InputVectors{Row: j, Pos: fix.Pos, Data: v})
			}
		}
		out, err := m.EncodeTextVectors(i, rows, vecs, c.ClipSkip)
		if err != nil {
			return Cond{}, fmt.Errorf("pipeline: encode prompt: %w", err)
		}
		n := len(rows) * len(rows[0])
		z := emphasize(emphasis, out.Hidden, len(rows[0]), out.Width, mult) // per 77-token chunk, as webui
		if tokens != 0 && tokens != n {
			return Cond{}, fmt.Errorf("pipeline: encode prompt: text encoders gave %d and %d tokens", tokens, n)
		}
		tokens = n
		parts = append(parts, z)
		width += out.Width
		if out.Pooled != nil {
			pooled = out.Pooled[:len(out.Pooled)/len(rows)] // the first chunk's, as webui
		}
	}
	ctx := concatChannels(parts, tokens)
	cond := Cond{Context: ctx, Tokens: tokens, Width: width}
	if m.Family == checkpoint.SDXL {
		cond.Y = sdxlVector(pooled, size)
	}
	return cond, nil
}

// spans parses text's attention syntax under the emphasis mode.
func (c *Conditioner) spans(text string) (string, []prompt.Span, error) {
	emphasis, err := ParseEmphasis(c.Emphasis)
	if err != nil {
		return "", nil, fmt.Errorf("pipeline: encode prompt: %w", err)
	}
	if emphasis == EmphasisNone {
		return emphasis, []prompt.Span{{Text: text, Weight: 1}}, nil
	}
	return emphasis, prompt.ParseAttention(text), nil
}

// chunks splits spans into the 77-token chunks of text encoder i.
func (c *Conditioner) chunks(i int, spans []prompt.Span) []prompt.Chunk {
	te := c.Model.Text[i]
	tok := c.Tok
	if te.OpenCLIP() {
		tok = tok.WithNormalizer(tokenizer.NormalizeOpenAI)
	}
	ch := prompt.NewChunker(te.PadID)
	if f := c.finder(i, tok.Encode); f != nil {
		ch.Embeddings = f
	}
	return ch.Chunks(spans, tok.Encode)
}

// Tokens is the context length Encode gives text (77 per chunk) without
// running a text encoder. For a prompt with scheduling or AND syntax it
// counts the whole text, which can overstate the longest part's length.
func (c *Conditioner) Tokens(text string) (int, error) {
	_, spans, err := c.spans(text)
	if err != nil {
		return 0, err
	}
	return 77 * len(c.chunks(0, spans)), nil
}

// concatChannels joins per-encoder [tokens, w_i] tensors into
// [tokens, sum w_i].
func concatChannels(parts [][]float32, tokens int) []float32 {
	if len(parts) == 1 {
		return parts[0]
	}
	var out []float32
	for t := 0; t < tokens; t++ {
		for _, p := range parts {
			w := len(p) / tokens
			out = append(out, p[t*w:(t+1)*w]...)
		}
	}
	return out
}

// sdxlVector is SDXL's vector conditioning: the pooled text embedding, then
// sinusoidal embeddings (256 each) of original size (h, w), crop (0, 0) and
// target size (h, w), as webui sets them.
func sdxlVector(pooled []float32, s Size) []float32 {
	y := append([]float32{}, pooled...)
	for _, v := range []float64{float64(s.H), float64(s.W), 0, 0, float64(s.H), float64(s.W)} {
		y = append(y, timestepEmbedding(v, 256)...)
	}
	return y
}

// timestepEmbedding is the sinusoidal embedding [cos(v f), sin(v f)] with
// f_i = 10000^(-i/half), in float32 like the reference.
func timestepEmbedding(v float64, dim int) []float32 {
	half := dim / 2
	out := make([]float32, dim)
	for i := 0; i < half; i++ {
		f := float32(math.Exp(-math.Log(10000) * float64(i) / float64(half)))
		a := float32(v) * f
		out[i] = float32(math.Cos(float64(a)))
		out[half+i] = float32(math.Sin(float64(a)))
	}
	return out
}
