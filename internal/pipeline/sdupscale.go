package pipeline

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"sdgo/internal/infotext"
	"sdgo/internal/sample"
	"sdgo/internal/upscale"
)

// SDUpscaleNoOverlap asks SDUpscale for tiles that only touch (webui's
// overlap 0); an Overlap of 0 means the default, 64.
const SDUpscaleNoOverlap = -1

// SDUpscalers are the upscalers SD upscale offers, as webui names them.
// "None" keeps the init image at its size (webui ignores the scale factor
// then); model upscalers (ESRGAN, ...) are not there yet.
var SDUpscalers = []string{"None", "Lanczos", "Nearest"}

// maxSDUpscaleSide bounds the upscaled image (pixels per side).
const maxSDUpscaleSide = 16384

// SDUpscaleOptions are the settings of webui's img2img script "SD
// upscale". The tile size is the img2img job's Width x Height.
type SDUpscaleOptions struct {
	// Overlap is how many pixels neighbouring tiles share and blend over
	// (0 = 64, webui's default; SDUpscaleNoOverlap for none).
	Overlap int
	// Upscaler is "None", "Lanczos" or "Nearest" (any case); "" =
	// "Lanczos". (webui's form preselects "None", which only redraws the
	// image at its own size.)
	Upscaler string
	// ScaleFactor multiplies the init image's size (0 = 2; 1 to 8, webui's
	// form offers 1 to 4). The upscaled size is rounded down to a multiple
	// of 8.
	ScaleFactor float64
}

// Validate checks o and fills in its defaults; Upscaler becomes the
// canonical name.
func (o *SDUpscaleOptions) Validate() error {
	if o.Overlap == 0 {
		o.Overlap = 64
	}
	if o.Overlap == SDUpscaleNoOverlap {
		o.Overlap = 0
	}
	if o.ScaleFactor == 0 {
		o.ScaleFactor = 2
	}
	if o.Upscaler == "" {
		o.Upscaler = "Lanczos"
	}
	var bad []string
	if o.Overlap < 0 {
		bad = append(bad, fmt.Sprintf("SD upscale overlap %d must be 0 or more pixels", o.Overlap))
	}
	if math.IsNaN(o.ScaleFactor) || o.ScaleFactor < 1 || o.ScaleFactor > 8 {
		bad = append(bad, fmt.Sprintf("SD upscale scale factor %v must be between 1 and 8", o.ScaleFactor))
	}
	if i := slices.IndexFunc(SDUpscalers, func(s string) bool { return strings.EqualFold(s, o.Upscaler) }); i >= 0 {
		o.Upscaler = SDUpscalers[i]
	} else {
		bad = append(bad, fmt.Sprintf("SD upscale upscaler %q is not available: choose one of %s", o.Upscaler, strings.Join(SDUpscalers, ", ")))
	}
	if bad != nil {
		return &ValidationError{bad}
	}
	return nil
}

// upscaledSize is the size webui's Upscaler.upscale gives a w x h image:
// the scaled size rounded down to a multiple of 8 ("None": unchanged).
func (o SDUpscaleOptions) upscaledSize(w, h int) (int, int) {
	if o.Upscaler == "None" {
		return w, h
	}
	return int(math.Floor(float64(w)*o.ScaleFactor/8) * 8), int(math.Floor(float64(h)*o.ScaleFactor/8) * 8)
}

// upscaleImage is webui's Upscaler.upscale for the pixel upscalers: one
// resize by the factor (int(w * scale)) with the upscaler's filter, then,
// when that is not the rounded size, a Lanczos resize to it. (For scale
// factors of 1 or more one pass always reaches the rounded size.)
func (o SDUpscaleOptions) upscaleImage(img *image.NRGBA) *image.NRGBA {
	if o.Upscaler == "None" {
		return img
	}
	f := upscale.Lanczos
	if o.Upscaler == "Nearest" {
		f = upscale.Nearest
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	img = upscale.Resize(img, int(float64(w)*o.ScaleFactor), int(float64(h)*o.ScaleFactor), f)
	if dw, dh := o.upscaledSize(w, h); img.Rect.Dx() != dw || img.Rect.Dy() != dh {
		img = upscale.Resize(img, dw, dh, upscale.Lanczos)
	}
	return img
}

// SDUpscaleGrid validates p and o (filling their defaults) and returns the
// tile layout SDUpscale will use for p's init image.
func SDUpscaleGrid(p *Img2ImgParams, o *SDUpscaleOptions) (TileGrid, error) {
	var bad []string
	add := func(err error) {
		if ve, ok := err.(*ValidationError); ok {
			bad = append(bad, ve.Problems...)
		} else if err != nil {
			bad = append(bad, err.Error())
		}
	}
	add(p.Validate())
	add(o.Validate())
	if len(p.Init) > 1 {
		bad = append(bad, fmt.Sprintf("SD upscale takes one init image, not %d (run it once per image)", len(p.Init)))
	}
	if p.Mask != nil {
		bad = append(bad, "SD upscale does not inpaint: drop the mask")
	}
	if bad != nil {
		return TileGrid{}, &ValidationError{bad}
	}
	b := p.Init[0].Bounds()
	w, h := o.upscaledSize(b.Dx(), b.Dy())
	if w > maxSDUpscaleSide || h > maxSDUpscaleSide {
		return TileGrid{}, &ValidationError{[]string{fmt.Sprintf("SD upscale: the upscaled image would be %dx%d, more than %d pixels on a side: lower the scale factor", w, h, maxSDUpscaleSide)}}
	}
	g, err := SplitGrid(w, h, p.Width, p.Height, o.Overlap)
	if err != nil {
		return TileGrid{}, &ValidationError{[]string{err.Error()}}
	}
	return g, nil
}

// tileRunner runs img2img on one batch of tiles; first is the index of
// its first tile among all the job's tiles, total their number.
type tileRunner func(ctx context.Context, q Img2ImgParams, first, total int) ([]Result, error)

// SDUpscale is webui's img2img script "SD upscale": the (first) init
// image is upscaled by o.ScaleFactor with o.Upscaler, cut into tiles of
// the job's Width x Height that overlap by o.Overlap (SplitGrid), every
// tile is redrawn by img2img, BatchSize tiles per batch, and the tiles are
// blended back together (TileGrid.Combine). BatchCount gives that many
// upscaled images; image n uses seed+n. Progress reports count tiles.
//
// Seeds follow webui: the batches of image n get seed+n, seed+n+1, ... and
// a batch's tiles count up from its seed, so with batch size 1 tile i has
// seed+n+i. Each result's infotext is that of its first tile (Size is the
// tile size, as in webui) plus "SD upscale overlap" and "SD upscale
// upscaler"; webui gives every image the first image's text, sdgo gives
// each its own seed.
func SDUpscale(ctx context.Context, j Job, p Img2ImgParams, o SDUpscaleOptions) ([]Result, error) {
	return sdUpscale(ctx, p, o, func(ctx context.Context, q Img2ImgParams, first, total int) ([]Result, error) {
		jj := j
		if j.OnStep != nil {
			jj.OnStep = func(image, _ int, s sample.Step) { j.OnStep(first+image, total, s) }
		}
		return Img2Img(ctx, jj, q)
	})
}

// sdUpscale is SDUpscale with the tile img2img passed in.
func sdUpscale(ctx context.Context, p Img2ImgParams, o SDUpscaleOptions, run tileRunner) ([]Result, error) {
	// 1. Validate, fix the seeds once for every tile, lay out the tiles.
	g, err := SDUpscaleGrid(&p, &o)
	if err != nil {
		return nil, err
	}
	if p.Seed == -1 {
		p.Seed = rand.Int64N(1 << 32)
	}
	if p.Subseed == -1 {
		p.Subseed = rand.Int64N(1 << 32)
	}
	// 2. Flatten onto webui's background colour and upscale.
	img := o.upscaleImage(flatten(p.Init[0], white))
	tiles := g.Split(img)
	n, bs := len(tiles), p.BatchSize
	batches := (n + bs - 1) / bs
	var results []Result
	for k := 0; k < p.BatchCount; k++ {
		// 3. img2img on the tiles, BatchSize at a time; batch i of image
		// k starts at seed+k+i (webui: p.seed = processed.seed + 1).
		var done []*image.NRGBA
		var text string
		for i := 0; i < batches; i++ {
			if err := ctx.Err(); err != nil {
				return results, err
			}
			q := p
			q.Init = nil
			for _, t := range tiles[i*bs : min((i+1)*bs, n)] {
				q.Init = append(q.Init, t)
			}
			q.BatchSize, q.BatchCount = len(q.Init), 1
			q.Seed = p.Seed + int64(k+i)
			rs, err := run(ctx, q, k*n+i*bs, p.BatchCount*n)
			if err != nil {
				return results, err
			}
			if len(rs) != len(q.Init) {
				return results, fmt.Errorf("pipeline: sd upscale: img2img gave %d images for %d tiles", len(rs), len(q.Init))
			}
			if i == 0 {
				text = rs[0].Infotext
			}
			for _, r := range rs {
				done = append(done, r.Image)
			}
		}
		// 4. Blend the tiles into the upscaled image.
		text, err = addSDUpscaleInfo(text, o)
		if err != nil {
			return results, err
		}
		results = append(results, Result{Image: g.Combine(done), Seed: p.Seed + int64(k), Infotext: text})
	}
	return results, nil
}

// sdUpscaleBefore are the infotext keys webui writes before a script's
// extra parameters (create_infotext's fixed fields and the inpainting
// fields img2img sets before the script runs).
var sdUpscaleBefore = append(slices.Clone(fixedFields), "Denoising strength", "Conditional mask weight",
	"Clip skip", "ENSD", "Token merging ratio", "Token merging ratio hr", "Init image hash", "RNG", "NGMS", "Tiling",
	"Mask mode", "Mask blur")

// addSDUpscaleInfo adds "SD upscale overlap" and "SD upscale upscaler" to
// an img2img infotext where webui's script puts them: after the fixed
// fields, before what img2img adds while it runs ("TI hashes",
// "Emphasis", "Noise multiplier") and before "Version". Only the parameters line is rewritten.
func addSDUpscaleInfo(text string, o SDUpscaleOptions) (string, error) {
	head, line := "", text
	if i := strings.LastIndex(text, "\n"); i >= 0 {
		head, line = text[:i+1], text[i+1:]
	}
	info, err := infotext.Parse(line)
	if err != nil {
		return "", fmt.Errorf("pipeline: sd upscale: %w", err)
	}
	info.InsertAfterLast(sdUpscaleBefore,
		infotext.Param{Key: "SD upscale overlap", Value: strconv.Itoa(o.Overlap)},
		infotext.Param{Key: "SD upscale upscaler", Value: o.Upscaler})
	return head + infotext.Format(infotext.Info{Params: info.Params}), nil
}
