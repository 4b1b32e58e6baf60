package pipeline_test

import (
	"math"
	"testing"

	"sdgo/internal/checkpoint"
	"sdgo/internal/clip"
	"sdgo/internal/model"
	"sdgo/internal/pipeline"
	"sdgo/internal/unet"
)

// TestSDXLEmptyNegativeIsZeros checks SDXL's empty negative prompt: zero
// context (one 77-token chunk over both encoders' widths) and a vector
// conditioning of a zero pooled embedding followed by the size embeddings,
// as webui gives it, without running the text encoders (the model here has
// no weights at all: an encoder call would fail).
func TestSDXLEmptyNegativeIsZeros(t *testing.T) {
	m := &model.Model{Family: checkpoint.SDXL,
		Text: []model.TextEncoder{{Config: clip.Config{Width: 768}}, {Config: clip.Config{Width: 1280, ProjDim: 1280}}},
		UNet: unet.Config{ADMInChannels: 2816}}
	cd := pipeline.Conditioner{Model: m}
	size := pipeline.Size{W: 1024, H: 768}
	c, err := cd.Encode("", true, size)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tokens != 77 || c.Width != 2048 || len(c.Context) != 77*2048 || len(c.Y) != 2816 {
		t.Fatalf("got %d tokens x %d (%d values), y %d values; want 77 x 2048, y 2816", c.Tokens, c.Width, len(c.Context), len(c.Y))
	}
	for i, v := range c.Context {
		if v != 0 {
			t.Fatalf("context[%d] = %g, want 0", i, v)
		}
	}
	for i, v := range c.Y[:1280] {
		if v != 0 {
			t.Fatalf("pooled[%d] = %g, want 0", i, v)
		}
	}
	// The first size embedding is of the height, 768: cos(768) at
	// frequency 1 opens it.
	if got, want := c.Y[1280], float32(math.Cos(768)); math.Abs(float64(got-want)) > 1e-6 {
		t.Errorf("y[1280] = %g, want cos(768) = %g", got, want)
	}
}
