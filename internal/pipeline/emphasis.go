package pipeline

import "fmt"

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
