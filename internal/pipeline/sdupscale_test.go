package pipeline_test

import (
	"context"
	"image"
	"strings"
	"testing"

	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
	"sdgo/internal/upscale"
)

// TestSDUpscaleTinyModel runs SD upscale on the tiny model: a 48x48 image
// x2 is 96x96, four 64x64 tiles with overlap 16, two img2img batches of
// two. At denoising strength 0 with zero noise every tile's sampled latent
// stays at the VAE encoding of its crop of the Lanczos-upscaled image.
// (The check is on latents: the tiny model's random VAE does not give the
// picture back, so pixels cannot show "unchanged".)
func TestSDUpscaleTinyModel(t *testing.T) {
	j := i2iJob(t)
	init := testImage(48, 48)
	up := upscale.Resize(init, 96, 96, upscale.Lanczos)
	var want [][]float32
	for _, o := range []image.Point{{0, 0}, {32, 0}, {0, 32}, {32, 32}} {
		tile := image.NewNRGBA(image.Rect(0, 0, 64, 64))
		for y := 0; y < 64; y++ {
			copy(tile.Pix[y*tile.Stride:(y+1)*tile.Stride], up.Pix[up.PixOffset(o.X, o.Y+y):])
		}
		lat, _ := encodeRef(t, j.Model, tile)
		want = append(want, lat)
	}
	j.Noise = func(int) sample.Noise { return zeroNoise{2 * 4 * 8 * 8} }
	var finals [][]float32
	j.Trace = func(name string, v []float32) {
		if name == "x_final" {
			finals = append(finals, append([]float32(nil), v...))
		}
	}
	type progress struct{ image, images int }
	seen := map[progress]bool{}
	j.OnStep = func(image, images int, _ sample.Step) { seen[progress{image, images}] = true }
	p := i2iParams(init)
	p.Steps, p.BatchSize, p.DenoisingStrength, p.CFGScale = 2, 2, 0, 1
	res, err := pipeline.SDUpscale(context.Background(), j, p, pipeline.SDUpscaleOptions{Overlap: 16, Upscaler: "Lanczos", ScaleFactor: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(finals) != 2 {
		t.Fatalf("%d results from %d img2img batches, want 1 from 2", len(res), len(finals))
	}
	if b := res[0].Image.Bounds(); b.Dx() != 96 || b.Dy() != 96 {
		t.Errorf("result is %v, want 96x96", b)
	}
	for i, w := range want {
		got := finals[i/2][(i%2)*256 : (i%2+1)*256]
		if d := maxAbsDiff(got, w); d > 0.05 {
			t.Errorf("tile %d: latent %g from its init latent at strength 0", i, d)
		}
	}
	if !seen[progress{0, 4}] || !seen[progress{2, 4}] || len(seen) != 2 {
		t.Errorf("progress reports %v, want tiles 0 and 2 of 4", seen)
	}
	text := res[0].Infotext
	for _, f := range []string{"a cat\n", "Seed: 7,", "Size: 64x64,", "Denoising strength: 0,", "SD upscale overlap: 16, SD upscale upscaler: Lanczos, Version: "} {
		if !strings.Contains(text, f) {
			t.Errorf("infotext lacks %q:\n%s", f, text)
		}
	}
	if res[0].Seed != 7 {
		t.Errorf("seed %d", res[0].Seed)
	}
}
