package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"sdgo/internal/embedding"
	"sdgo/internal/prompt"
)

// tiFinder adapts an embedding.Finder to the prompt chunker, finding only
// embeddings of the model's width (webui skips the others at load).
type tiFinder struct {
	f     *embedding.Finder
	width int
}

func (t tiFinder) FindEmbedding(tokens []int, pos int) (string, int, int, bool) {
	e, n, ok := t.f.Find(tokens, pos)
	if !ok || e.Shape != t.width {
		return "", 0, 0, false
	}
	return e.Name, n, e.Vectors, true
}

// finder returns the trigger-word finder for text encoder i (nil without
// embeddings), tokenizing the trigger words once per Conditioner.
func (c *Conditioner) finder(i int, tokenize func(string) []int) *tiFinder {
	if c.Embeddings == nil || len(c.Embeddings.Loaded) == 0 {
		return nil
	}
	if len(c.finders) != len(c.Model.Text) {
		c.finders = make([]*embedding.Finder, len(c.Model.Text))
	}
	if c.finders[i] == nil {
		c.finders[i] = c.Embeddings.Finder(tokenize)
	}
	return &tiFinder{c.finders[i], TextWidth(c.Model)}
}

// fixVectors returns the input vectors of a chunk's embedding for an
// encoder of the given width and records the embedding as used.
func (c *Conditioner) fixVectors(fix prompt.Fix, width int, negative bool) ([]float32, error) {
	e, ok := c.Embeddings.Get(fix.Name)
	if !ok {
		return nil, fmt.Errorf("pipeline: encode prompt: embedding %q vanished", fix.Name)
	}
	v, ok := e.VectorsFor(width)
	if !ok {
		return nil, fmt.Errorf("pipeline: encode prompt: embedding %s (%s) has no vectors of width %d for this model's text encoder", e.Name, e.Path, width)
	}
	side := 0
	if negative {
		side = 1
	}
	if !slices.Contains(c.used[side], e) {
		c.used[side] = append(c.used[side], e)
	}
	return v[:fix.Vectors*width], nil
}

// Used returns the embeddings the encoded prompts used: the positive
// prompts' first, then the negative prompts', each in order of first use.
func (c *Conditioner) Used() []*embedding.Embedding {
	return append(slices.Clone(c.used[0]), c.used[1]...)
}

// TIHashes is the infotext's "TI hashes" value for what was encoded, as
// webui writes it: "name: hash12" for each embedding of the positive
// prompts, then of the negative prompts (an embedding used in both is
// listed twice, as webui does), with ":" and "," removed from names. It is
// "" when no embedding was used.
func (c *Conditioner) TIHashes() string {
	var parts []string
	for _, side := range [][]*embedding.Embedding{c.used[0], c.used[1]} {
		for _, e := range side {
			if h := e.ShortHash(); h != "" {
				name := strings.NewReplacer(":", "", ",", "").Replace(e.Name)
				parts = append(parts, name+": "+h)
			}
		}
	}
	return strings.Join(parts, ", ")
}

// EmphasisInfo is the infotext's "Emphasis" value: the mode when it is not
// Original and an encoded text had "(" or "[" (webui's rule), else "".
func (c *Conditioner) EmphasisInfo() string {
	mode, err := ParseEmphasis(c.Emphasis)
	if err != nil || mode == EmphasisOriginal || !c.brackets {
		return ""
	}
	return mode
}

// conditioner is the Conditioner a job's settings ask for.
func (j Job) conditioner(p Params) *Conditioner {
	return &Conditioner{Model: j.Model, Tok: j.Tok, ClipSkip: p.ClipSkip, Embeddings: j.Embeddings, Emphasis: p.Emphasis}
}
