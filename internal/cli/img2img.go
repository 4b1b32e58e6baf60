package cli

import (
	"context"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // init and mask images may be JPEG
	_ "image/png"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"sdgo/internal/config"
	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
	"sdgo/internal/upscale"
)

func init() {
	register("img2img", "repaint an image (and inpaint with a mask) from a prompt", runImg2Img)
}

// genFlags are the generation flags txt2img and img2img share, with the
// values that need converting after parsing.
type genFlags struct {
	out, resize string
	eta         float64
}

// addGenFlags registers the txt2img generation flags on fs, writing into p.
func addGenFlags(fs *flag.FlagSet, p *pipeline.Params) *genFlags {
	g := &genFlags{}
	fs.StringVar(&p.Prompt, "prompt", "", "the prompt (webui syntax: (word:1.2), [word], BREAK)")
	stringFlag(fs, &p.NegativePrompt, []string{"negative-prompt", "n"}, "", "the negative prompt")
	fs.IntVar(&p.Steps, "steps", 20, "sampling steps (img2img runs int(steps * denoising strength) + 1 of them)")
	fs.Float64Var(&p.CFGScale, "cfg-scale", 7, "classifier-free guidance scale")
	intFlag(fs, &p.Width, []string{"W", "width"}, 512, "width in pixels (multiple of 8)")
	intFlag(fs, &p.Height, []string{"H", "height"}, 512, "height in pixels (multiple of 8)")
	fs.Int64Var(&p.Seed, "seed", -1, "seed (-1 = random)")
	fs.Int64Var(&p.Subseed, "subseed", -1, "variation seed (-1 = random)")
	fs.Float64Var(&p.SubseedStrength, "subseed-strength", 0, "variation strength 0..1")
	fs.StringVar(&g.resize, "seed-resize-from", "", "resize seed from WxH")
	fs.StringVar(&p.Sampler, "sampler", "Euler a", "sampler, as webui names it: "+strings.Join(samplerNames(), ", "))
	fs.StringVar(&p.Scheduler, "scheduler", "", "schedule type: Automatic, Uniform, Karras, Exponential, Polyexponential, SGM Uniform, KL Optimal, Align Your Steps, Simple, Normal, DDIM, Beta")
	fs.IntVar(&p.BatchSize, "batch-size", 1, "images per batch")
	fs.IntVar(&p.BatchCount, "batch-count", 1, "number of batches")
	fs.IntVar(&p.ClipSkip, "clip-skip", 1, "clip skip (SD1): 1 = last layer, 2 = penultimate")
	fs.StringVar(&p.Emphasis, "emphasis", pipeline.EmphasisOriginal, emphasisUsage)
	fs.StringVar(&p.RNG, "rng", "GPU", "random number source as webui: GPU (default, CUDA-compatible Philox on any device), CPU or NV")
	fs.Int64Var(&p.ENSD, "ensd", 0, "eta noise seed delta")
	fs.Float64Var(&g.eta, "eta", -1, "eta for ancestral/SDE samplers (-1 = the sampler's default)")
	stringFlag(fs, &g.out, []string{"o", "output"}, "outputs", "output file (.png; .jpg or .webp with the infotext in Exif), or a folder; not given: <outputs>/txt2img-images/<date> (img2img-images for img2img) as webui, outputs = $"+config.EnvOutputsDir)
	return g
}

// apply moves the converted flag values into p.
func (g *genFlags) apply(p *pipeline.Params) error {
	if g.eta >= 0 {
		p.Eta = &g.eta
	}
	if g.resize != "" {
		if _, err := fmt.Sscanf(g.resize, "%dx%d", &p.SeedResizeFromW, &p.SeedResizeFromH); err != nil {
			return usagef("--seed-resize-from %q: want WxH, e.g. 512x768", g.resize)
		}
	}
	return nil
}

func runImg2Img(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("img2img", e)
	mf := addModelFlags(fs, e)
	var p pipeline.Img2ImgParams
	g := addGenFlags(fs, &p.Params)
	var inits []string
	var maskPath, resizeMode, fill string
	fs.Func("init-image", "the image to start from (PNG, JPEG or WebP); repeat for a batch of different images", func(s string) error {
		inits = append(inits, s)
		return nil
	})
	fs.StringVar(&maskPath, "mask", "", "inpainting mask (PNG, JPEG or WebP): white (or opaque, if it has transparency) is repainted")
	fs.Float64Var(&p.DenoisingStrength, "denoising-strength", 0.75, "how much to change the image, 0..1")
	fs.StringVar(&resizeMode, "resize-mode", "0", "fitting the init image to -W x -H: 0 just resize, 1 crop and resize, 2 resize and fill, 3 just resize (latent upscale)")
	fs.IntVar(&p.MaskBlur, "mask-blur", 4, "mask blur in pixels")
	fs.StringVar(&fill, "inpainting-fill", "original", "masked content: fill, original, latent noise, latent nothing (or 0-3)")
	fs.BoolVar(&p.InpaintFullRes, "inpaint-full-res", false, `inpaint area "only masked": work on the masked area at -W x -H and paste it back`)
	fs.IntVar(&p.InpaintFullResPadding, "inpaint-full-res-padding", 32, "only masked: padding around the mask in pixels")
	fs.BoolVar(&p.InvertMask, "invert-mask", false, "repaint what is not masked")
	fs.Float64Var(&p.NoiseMultiplier, "noise-multiplier", 1, "initial noise multiplier")
	extras := addPromptExtras(fs)
	script := addImg2ImgScriptFlags(fs)
	outs := addOutputFlags(fs, &g.out)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if err := outs.check(fs); err != nil {
		return err
	}
	if err := extras.apply(fs, &p.Params); err != nil {
		return err
	}
	if err := g.apply(&p.Params); err != nil {
		return err
	}
	var err error
	if p.ResizeMode, err = parseResizeMode(resizeMode); err != nil {
		return err
	}
	if p.InpaintingFill, err = parseFill(fill); err != nil {
		return err
	}
	if len(inits) == 0 {
		return usagef("--init-image is required, e.g. --init-image photo.png")
	}
	for _, path := range inits {
		img, err := readImage(path)
		if err != nil {
			return err
		}
		p.Init = append(p.Init, img)
	}
	if maskPath != "" {
		if p.Mask, err = readImage(maskPath); err != nil {
			return err
		}
	}
	if err := p.Validate(); err != nil {
		return usageError{err}
	}
	batches, err := script.check(&p)
	if err != nil {
		return err
	}
	mf.images = p.BatchSize
	m, tok, err := mf.load(e.Stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	_, tEnc := sample.Img2ImgSteps(p.Steps, p.DenoisingStrength, false)
	bar := progressbar.NewOptions((tEnc+1)*batches, progressbar.OptionSetWriter(e.Stderr),
		progressbar.OptionSetDescription("img2img"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("it"), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond))
	loras, err := mf.lora.finder(*mf.model)
	if err != nil {
		return err
	}
	job := pipeline.Job{Model: m, Tok: tok, Embeddings: mf.ti.db, Networks: loras, OnStep: func(_, _ int, _ sample.Step) { bar.Add(1) }}
	results, err := script.run(ctx, job, p)
	bar.Finish()
	fmt.Fprintln(e.Stderr)
	if werr := outs.save(e, "img2img", "", p.Params, extras.styles, results, nil); werr != nil {
		return werr
	}
	return err
}

// readImage decodes a PNG, JPEG or WebP file.
func readImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w (PNG and JPEG are supported)", path, err)
	}
	return img, nil
}

// parseResizeMode reads a resize mode by number or webui label.
func parseResizeMode(s string) (upscale.Mode, error) {
	for m := upscale.JustResize; m <= upscale.LatentUpscale; m++ {
		if s == strconv.Itoa(int(m)) || strings.EqualFold(s, m.String()) {
			return m, nil
		}
	}
	return 0, usagef("--resize-mode %q: want 0 (just resize), 1 (crop and resize), 2 (resize and fill) or 3 (latent upscale)", s)
}

// parseFill reads a masked-content mode by number or webui label.
func parseFill(s string) (int, error) {
	for i, name := range []string{"fill", "original", "latent noise", "latent nothing"} {
		if s == strconv.Itoa(i) || strings.EqualFold(s, name) || strings.EqualFold(s, strings.ReplaceAll(name, " ", "-")) {
			return i, nil
		}
	}
	return 0, usagef("--inpainting-fill %q: want fill, original, latent noise or latent nothing (or 0-3)", s)
}
