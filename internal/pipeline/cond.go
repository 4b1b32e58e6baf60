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

	// encodeHook, when set, runs a text encoder instead of
	// Model.EncodeTextVectors (tests count the calls with it).
	encodeHook func(i int, rows [][]int, vecs []model.InputVectors, skip int) (model.TextOutput, error)
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
// zeroes an empty one, as webui does). It is the one-text case of
// encodeTexts.
func (c *Conditioner) Encode(text string, negative bool, size Size) (Cond, error) {
	conds, err := c.encodeTexts([]condText{{text, negative}}, size)
	if err != nil {
		return Cond{}, err
	}
	return conds[0], nil
}

// condText is one text a job conditions: a positive prompt's AND part or
// schedule entry, or a negative prompt's schedule entry.
type condText struct {
	text     string
	negative bool
}

// textRows is one text's share of the batched encoder calls: its chunks'
// rows, per text encoder, and its emphasis mode. A text that takes no rows
// (SDXL's empty negative) has zero set.
type textRows struct {
	emphasis string
	first    []int       // first row of each encoder's batch
	mult     [][]float64 // per encoder: the chunks' multipliers, concatenated
	n        []int       // rows per encoder
	zero     bool
}

// encodeTexts conditions texts with one call per text encoder: every
// text's 77-token chunks are rows of one batch, one text after another,
// and the outputs are split back per text (each row of the batch is
// encoded independently, so the values are those of encoding each text
// alone).
func (c *Conditioner) encodeTexts(texts []condText, size Size) ([]Cond, error) {
	m := c.Model
	// 1. Chunk every text for every encoder; its rows follow the previous text's.
	plans := make([]textRows, len(texts))
	rows := make([][][]int, len(m.Text))
	vecs := make([][]model.InputVectors, len(m.Text))
	for k, t := range texts {
		if m.Family == checkpoint.SDXL && t.negative && t.text == "" {
			// What the encoders would give is zeroed: skip them (about 10
			// ms on a GPU for a call of its own).
			plans[k].zero = true
			continue
		}
		p, err := c.planText(t, rows, vecs)
		if err != nil {
			return nil, err
		}
		plans[k] = p
	}
	// 2. One call per text encoder over all rows.
	outs := make([]model.TextOutput, len(m.Text))
	for i := range m.Text {
		if len(rows[i]) == 0 {
			continue
		}
		out, err := c.runEncoder(i, rows[i], vecs[i])
		if err != nil {
			return nil, fmt.Errorf("pipeline: encode prompt: %w", err)
		}
		outs[i] = out
	}
	// 3. Split the outputs back per text.
	conds := make([]Cond, len(texts))
	for k, p := range plans {
		var err error
		if conds[k], err = c.splitCond(p, rows, outs, size); err != nil {
			return nil, err
		}
	}
	return conds, nil
}

// planText chunks t for every text encoder, appending its rows and input
// vectors (rows renumbered from the encoder's batch) to rows and vecs.
func (c *Conditioner) planText(t condText, rows [][][]int, vecs [][]model.InputVectors) (textRows, error) {
	emphasis, spans, err := c.spans(t.text)
	if err != nil {
		return textRows{}, err
	}
	c.brackets = c.brackets || strings.ContainsAny(t.text, "([")
	n := len(c.Model.Text)
	p := textRows{emphasis: emphasis, first: make([]int, n), mult: make([][]float64, n), n: make([]int, n)}
	for i, te := range c.Model.Text {
		chunks := c.chunks(i, spans)
		p.first[i], p.n[i] = len(rows[i]), len(chunks)
		for j, chunk := range chunks {
			rows[i] = append(rows[i], chunk.Tokens)
			p.mult[i] = append(p.mult[i], chunk.Multipliers...)
			for _, fix := range chunk.Fixes {
				v, err := c.fixVectors(fix, te.Config.Width, t.negative)
				if err != nil {
					return textRows{}, err
				}
				vecs[i] = append(vecs[i], model.InputVectors{Row: p.first[i] + j, Pos: fix.Pos, Data: v})
			}
		}
	}
	return p, nil
}

// splitCond is one text's conditioning from the batched encoder outputs:
// its rows of each encoder's hidden states with its emphasis applied (per
// 77-token chunk, as webui), the encoders concatenated on the channel
// axis, and for SDXL the pooled row of its first chunk.
func (c *Conditioner) splitCond(p textRows, rows [][][]int, outs []model.TextOutput, size Size) (Cond, error) {
	m := c.Model
	if p.zero {
		// One 77-token chunk, as the chunker makes of an empty prompt.
		w := TextWidth(m)
		pooled := make([]float32, m.UNet.ADMInChannels-len(sdxlVector(nil, size)))
		return Cond{Context: make([]float32, 77*w), Tokens: 77, Width: w, Y: sdxlVector(pooled, size)}, nil
	}
	var parts [][]float32
	var width, tokens int
	var pooled []float32
	for i, out := range outs {
		l := len(rows[i][0])
		per := l * out.Width
		a, b := p.first[i]*per, (p.first[i]+p.n[i])*per
		z := emphasize(p.emphasis, out.Hidden[a:b:b], l, out.Width, p.mult[i])
		n := p.n[i] * l
		if tokens != 0 && tokens != n {
			return Cond{}, fmt.Errorf("pipeline: encode prompt: text encoders gave %d and %d tokens", tokens, n)
		}
		tokens = n
		parts = append(parts, z)
		width += out.Width
		if out.Pooled != nil {
			wp := len(out.Pooled) / len(rows[i])
			pooled = out.Pooled[p.first[i]*wp : (p.first[i]+1)*wp] // the first chunk's, as webui
		}
	}
	cond := Cond{Context: concatChannels(parts, tokens), Tokens: tokens, Width: width}
	if m.Family == checkpoint.SDXL {
		cond.Y = sdxlVector(pooled, size)
	}
	return cond, nil
}

// runEncoder runs text encoder i on rows, through the test seam
// encodeHook when one is set.
func (c *Conditioner) runEncoder(i int, rows [][]int, vecs []model.InputVectors) (model.TextOutput, error) {
	if c.encodeHook != nil {
		return c.encodeHook(i, rows, vecs, c.ClipSkip)
	}
	return c.Model.EncodeTextVectors(i, rows, vecs, c.ClipSkip)
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
