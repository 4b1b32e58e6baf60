package pipeline_test

import (
	"context"
	"image"
	"image/color"
	"path/filepath"
	"sync"
	"testing"

	"sdgo/internal/fixture"
	"sdgo/internal/model"
	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
	"sdgo/internal/tokenizer"
)

// i2iModel is the tiny SD1 model shared by the img2img tests (one copy:
// its compiled graphs are reused across tests).
var i2iModel struct {
	once sync.Once
	m    *model.Model
	tok  *tokenizer.Tokenizer
	err  error
	mu   sync.Mutex // one job at a time on the model
}

func i2iJob(t *testing.T) pipeline.Job {
	t.Helper()
	i2iModel.once.Do(func() {
		dir, err := fixture.FindDir()
		if err != nil {
			i2iModel.err = err
			return
		}
		if i2iModel.tok, err = tokenizer.Find("", filepath.Join(dir, "..", "clip")); err != nil {
			i2iModel.err = err
			return
		}
		i2iModel.m, i2iModel.err = model.Load(filepath.Join(dir, "tiny-sd1", "model.safetensors"), model.Options{Backend: "go"})
	})
	if i2iModel.err != nil {
		t.Skip(i2iModel.err)
	}
	i2iModel.mu.Lock()
	t.Cleanup(i2iModel.mu.Unlock)
	return pipeline.Job{Model: i2iModel.m, Tok: i2iModel.tok}
}

// testImage is a w x h picture with smooth colour ramps and a dark
// square, so that resizing and cropping are visible.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{uint8(255 * x / w), uint8(255 * y / h), 128, 255}
			if x > w/4 && x < w/2 && y > h/4 && y < h/2 {
				c = color.NRGBA{20, 20, 20, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func i2iParams(init image.Image) pipeline.Img2ImgParams {
	return pipeline.Img2ImgParams{
		Params: pipeline.Params{Prompt: "a cat", Width: 64, Height: 64, Steps: 4, CFGScale: 7, Sampler: "Euler",
			Seed: 7, Subseed: 1},
		Init: []image.Image{init}, DenoisingStrength: 0.5,
	}
}

func TestImg2ImgSmoke(t *testing.T) {
	j := i2iJob(t)
	steps := 0
	j.OnStep = func(_, _ int, s sample.Step) { steps++ }
	res, err := pipeline.Img2Img(context.Background(), j, i2iParams(testImage(96, 64)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d results, %v, steps %d, %q", len(res), res[0].Image.Bounds(), steps, res[0].Infotext)
}
