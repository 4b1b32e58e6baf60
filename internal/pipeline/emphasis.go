package pipeline

import (
	"fmt"
	"strings"
)

// ApplyEmphasis applies webui's "Original" emphasis (modules/sd_emphasis.py,
// EmphasisOriginal) to text-encoder hidden states and returns a new slice.
//
// z holds one or more chunks of tokens rows of width values each ([chunks *
// tokens, width], e.g. tokens = 77 and the chunks of one prompt
// concatenated on the token axis); multipliers has one weight per row (the
// prompt.Chunk multipliers, concatenated the same way). Each chunk is
// handled on its own, as webui does in process_tokens:
//
//	z *= multiplier of its token
//	z *= mean(z before) / mean(z after)   (means over the whole chunk)
//
// The products are float32 like torch's; the means are summed in float64
// and rounded to float32, which stays within 1e-7 relative of torch's
// float32 reduction. Pass tokens = len(z)/width to treat z as one chunk.
// It panics when the lengths do not fit (a caller bug, not bad input).
func ApplyEmphasis(z []float32, tokens, width int, multipliers []float64) []float32 {
	per := tokens * width
	if tokens <= 0 || width <= 0 || len(z)%per != 0 || len(multipliers)*width != len(z) {
		panic(fmt.Sprintf("pipeline: emphasis: %d values, %d multipliers, chunks of %d tokens x %d", len(z), len(multipliers), tokens, width))
	}
	out := make([]float32, len(z))
	for start := 0; start < len(z); start += per {
		var before, after float64
		for i := start; i < start+per; i++ {
			out[i] = z[i] * float32(multipliers[i/width])
			before += float64(z[i])
			after += float64(out[i])
		}
		n := float64(per)
		ratio := float32(before/n) / float32(after/n)
		for i := start; i < start+per; i++ {
			out[i] *= ratio
		}
	}
	return out
}

// The values of webui's "emphasis" option (modules/sd_emphasis.py).
const (
	// EmphasisOriginal multiplies by the weights and restores the mean
	// (webui's default).
	EmphasisOriginal = "Original"
	// EmphasisNoNorm multiplies by the weights without restoring the mean.
	EmphasisNoNorm = "No norm"
	// EmphasisIgnore parses the brackets but applies no weights.
	EmphasisIgnore = "Ignore"
	// EmphasisNone treats brackets as literal text (no attention parsing,
	// no BREAK).
	EmphasisNone = "None"
)

// Emphases lists the emphasis modes in webui's order.
var Emphases = []string{EmphasisOriginal, EmphasisNoNorm, EmphasisIgnore, EmphasisNone}

// ParseEmphasis returns the canonical name of an emphasis mode, matched
// case-insensitively ("" is Original).
func ParseEmphasis(s string) (string, error) {
	if s == "" {
		return EmphasisOriginal, nil
	}
	for _, e := range Emphases {
		if strings.EqualFold(s, e) || strings.EqualFold(strings.ReplaceAll(s, "-", " "), e) {
			return e, nil
		}
	}
	return "", fmt.Errorf("emphasis %q: want one of %s", s, strings.Join(Emphases, ", "))
}

// ApplyEmphasisNoNorm applies webui's "No norm" emphasis
// (EmphasisOriginalNoNorm): every token's hidden state times its
// multiplier, without restoring the mean. z and multipliers are laid out
// as for ApplyEmphasis; it returns a new slice.
func ApplyEmphasisNoNorm(z []float32, width int, multipliers []float64) []float32 {
	if width <= 0 || len(multipliers)*width != len(z) {
		panic(fmt.Sprintf("pipeline: emphasis: %d values, %d multipliers of width %d", len(z), len(multipliers), width))
	}
	out := make([]float32, len(z))
	for i, v := range z {
		out[i] = v * float32(multipliers[i/width])
	}
	return out
}

// emphasize applies mode to one encoder's hidden states ([chunks * tokens,
// width]). Ignore and None leave them as they are.
func emphasize(mode string, z []float32, tokens, width int, multipliers []float64) []float32 {
	switch mode {
	case EmphasisNoNorm:
		return ApplyEmphasisNoNorm(z, width, multipliers)
	case EmphasisIgnore, EmphasisNone:
		return z
	}
	return ApplyEmphasis(z, tokens, width, multipliers)
}
