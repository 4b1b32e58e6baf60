package verify

import (
	"context"
	"fmt"
	"image/png"
	"math"
	"os"
	"strings"

	"sdgo/internal/fixture"
	"sdgo/internal/pipeline"
)

func init() {
	kinds["txt2img"] = runTxt2Img
}

// runTxt2Img runs the whole webui path through sdgo's own pipeline — the
// seed's generator (not replayed noise), conditioning, sampler, VAE and the
// uint8 conversion — and checks every intermediate the case stores.
func runTxt2Img(r *Runner, c *fixture.Case) []Result {
	var in struct {
		Model          string  `json:"model"`
		Prompt         string  `json:"prompt"`
		NegativePrompt string  `json:"negative_prompt"`
		Seed           int64   `json:"seed"`
		RNG            string  `json:"rng"`
		Sampler        string  `json:"sampler"`
		Schedule       string  `json:"schedule"`
		Steps          int     `json:"steps"`
		CFGScale       float64 `json:"cfg_scale"`
		LatentShape    []int   `json:"latent_shape"`
		ImagePNG       string  `json:"image_png"`
		ClipSkip       int     `json:"clip_skip"`
	}
	if err := c.DecodeInputs(&in); err != nil {
		return []Result{errResult(c, "", err)}
	}
	m, err := r.env.model(modelKey{name: in.Model})
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	tok, err := r.env.tokenizer()
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	got := map[string][]float32{}
	job := pipeline.Job{Model: m, Tok: tok, Trace: func(name string, v []float32) { got[name] = v }}
	p := pipeline.Params{
		Prompt: in.Prompt, NegativePrompt: in.NegativePrompt, Seed: in.Seed, RNG: in.RNG,
		Sampler: in.Sampler, Scheduler: in.Schedule, Steps: in.Steps, CFGScale: in.CFGScale,
		Width: 8 * in.LatentShape[3], Height: 8 * in.LatentShape[2], ClipSkip: in.ClipSkip,
	}
	results, err := pipeline.Txt2Img(context.Background(), job, p)
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	res := r.newNetResult(c, "")
	r.noteTol(&res, c, "x_final", sampledOut)
	r.noteTol(&res, c, "image", guidedOut)
	for role, name := range c.ExpectedTensors {
		if role == "image_uint8_hwc" {
			continue
		}
		v, ok := got[role]
		if !ok {
			res.Status, res.Detail = Error, "pipeline gave no "+role
			break
		}
		tol := r.tol(c, forwardOut)
		switch role {
		case "sigmas":
			tol = fixture.Tolerance{Exact: true}
		case "x_final":
			tol = r.tol(c, sampledOut)
		case "image":
			tol = r.tol(c, guidedOut)
		}
		r.compareTensor(&res, role, name, v, tol)
	}
	out := []Result{res}
	// The 8-bit image, against the stored tensor and the PNG file.
	maxAbs := r.uint8Tol(c)
	img := results[0].Image
	pix := make([]float64, 0, len(img.Pix)/4*3)
	for i := 0; i < len(img.Pix); i += 4 {
		pix = append(pix, float64(img.Pix[i]), float64(img.Pix[i+1]), float64(img.Pix[i+2]))
	}
	u8 := newResult(c, "uint8", fixture.Tolerance{Atol: maxAbs})
	u8.Tol = fmt.Sprintf("max_abs %g", maxAbs)
	want, _, err := r.M.Raw(c.ExpectedTensors["image_uint8_hwc"])
	if err == nil && len(want) == len(pix) {
		for i, w := range want {
			u8.MaxErr = math.Max(u8.MaxErr, math.Abs(pix[i]-float64(w)))
		}
	} else if err == nil {
		err = fmt.Errorf("image has %d values, expected %d", len(pix), len(want))
	}
	if err == nil && in.ImagePNG != "" {
		err = comparePNG(r.M.Path(in.ImagePNG), pix, &u8)
	}
	if err != nil {
		u8 = errResult(c, "uint8", err)
	} else if u8.MaxErr > maxAbs {
		u8.Status = Fail
	}
	return append(out, u8)
}

// comparePNG folds the difference to a reference PNG into res.
func comparePNG(path string, pix []float64, res *Result) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	b := img.Bounds()
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			rr, gg, bb, _ := img.At(x, y).RGBA()
			for _, v := range []uint32{rr >> 8, gg >> 8, bb >> 8} {
				if i >= len(pix) {
					return fmt.Errorf("%s is larger than the generated image", path)
				}
				res.MaxErr = math.Max(res.MaxErr, math.Abs(pix[i]-float64(v)))
				i++
			}
		}
	}
	if i != len(pix) {
		return fmt.Errorf("%s has %d values, the image %d", path, i, len(pix))
	}
	res.Detail = strings.TrimSpace(res.Detail + " (stored tensor and " + path[strings.LastIndex(path, "/")+1:] + ")")
	return nil
}
