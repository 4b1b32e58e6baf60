package pipeline

import (
	"fmt"
	"image"

	"sdgo/internal/sample"
	"sdgo/internal/upscale"
)

// img2imgPrep is what webui's StableDiffusionProcessingImg2Img.init
// prepares from the init images and the mask.
type img2imgPrep struct {
	// images are the distinct init images as they are encoded: flattened,
	// fitted to the work size (latent upscale: at their own size), cropped
	// for "only masked", and filled.
	images []*image.NRGBA
	// mask is webui's image_mask at the work size (blurred, binary before
	// the blur; cropped for "only masked"); nil without a mask.
	mask *image.Gray
	// overlays are the originals with alpha 255 - mask_for_overlay, one per
	// init image, composited over the results; nil without a mask.
	overlays []*image.NRGBA
	// fullRes: "only masked" is active and results are pasted into paste.
	fullRes bool
	paste   image.Rectangle
	width   int
	height  int
}

// prepareImg2Img follows webui's img2img init: binary mask, invert, blur;
// for "only masked" the crop region (mask bounding box plus padding,
// grown to the work size's aspect ratio); the overlay images; the init
// images fitted (resize mode), cropped and filled.
func prepareImg2Img(p *Img2ImgParams) (*img2imgPrep, error) {
	pr := &img2imgPrep{width: p.Width, height: p.Height}
	var overlayMask *image.Gray
	if p.Mask != nil {
		mk := binaryMask(p.Mask)
		if p.InvertMask {
			invertGray(mk)
		}
		mk = blurMask(mk, p.MaskBlur, p.MaskBlur)
		if p.InpaintFullRes {
			// sdgo aligns the mask with the first init image; webui expects
			// them to have the same size.
			if b := p.Init[0].Bounds(); b.Dx() != mk.Rect.Dx() || b.Dy() != mk.Rect.Dy() {
				mk = upscale.FitGray(mk, upscale.JustResize, b.Dx(), b.Dy())
			}
			// An empty mask turns "only masked" into plain img2img, as in webui.
			if r, ok := cropRegion(mk, p.InpaintFullResPadding); ok {
				pr.paste = expandCropRegion(r, p.Width, p.Height, mk.Rect.Dx(), mk.Rect.Dy())
				pr.fullRes = true
				overlayMask = mk
				pr.mask = upscale.FitGray(cropGray(mk, pr.paste), upscale.ResizeAndFill, p.Width, p.Height)
			}
		} else {
			pr.mask = upscale.FitGray(mk, p.ResizeMode, p.Width, p.Height)
			overlayMask = doubled(pr.mask)
		}
	}
	for _, im := range p.Init {
		img := flatten(im, white)
		switch {
		case pr.fullRes:
			if b := overlayMask.Rect; img.Rect.Dx() != b.Dx() || img.Rect.Dy() != b.Dy() {
				img = upscale.Fit(img, upscale.JustResize, b.Dx(), b.Dy())
			}
		case p.ResizeMode != upscale.LatentUpscale:
			img = upscale.Fit(img, p.ResizeMode, p.Width, p.Height)
		}
		if pr.mask != nil {
			ov := img
			if p.ResizeMode == upscale.LatentUpscale && !pr.fullRes {
				// webui would composite images of two sizes here and fail;
				// sdgo composites over the init image stretched to the result.
				ov = upscale.Fit(img, upscale.JustResize, p.Width, p.Height)
			}
			om := overlayMask
			if om.Rect.Dx() != ov.Rect.Dx() || om.Rect.Dy() != ov.Rect.Dy() {
				om = upscale.FitGray(om, p.ResizeMode, ov.Rect.Dx(), ov.Rect.Dy())
			}
			pr.overlays = append(pr.overlays, overlayImage(ov, om))
		}
		if pr.fullRes {
			img = upscale.Fit(crop(img, pr.paste), upscale.ResizeAndFill, p.Width, p.Height)
		}
		if pr.mask != nil && p.InpaintingFill != FillOriginal {
			fm := pr.mask
			if fm.Rect.Dx() != img.Rect.Dx() || fm.Rect.Dy() != img.Rect.Dy() {
				fm = upscale.FitGray(fm, upscale.JustResize, img.Rect.Dx(), img.Rect.Dy())
			}
			img = fillMasked(img, fm)
		}
		if p.ResizeMode == upscale.LatentUpscale && (img.Rect.Dx()%8 != 0 || img.Rect.Dy()%8 != 0) {
			return nil, fmt.Errorf("pipeline: img2img: latent upscale encodes the init image at its own size, %dx%d, which must be a multiple of 8 (or use another resize mode)", img.Rect.Dx(), img.Rect.Dy())
		}
		pr.images = append(pr.images, img)
	}
	return pr, nil
}

// doubled is webui's mask_for_overlay in "whole picture" mode:
// clip(mask * 2, 0, 255), which widens the area taken from the result.
func doubled(g *image.Gray) *image.Gray {
	out := image.NewGray(g.Rect)
	for i, v := range g.Pix {
		out.Pix[i] = uint8(min(2*int(v), 255))
	}
	return out
}

// composite finishes result i of a batch as webui's apply_overlay: for
// "only masked" the result is scaled into the crop region (crop and
// resize) on a transparent canvas of the original's size; then the
// original, with alpha 255 - mask, is composited over it.
func (pr *img2imgPrep) composite(img *image.NRGBA, i int) *image.NRGBA {
	if pr.overlays == nil {
		return img
	}
	ov := pr.overlays[i%len(pr.overlays)]
	base := img
	if pr.fullRes {
		base = image.NewNRGBA(ov.Rect)
		piece := upscale.Fit(img, upscale.CropAndResize, pr.paste.Dx(), pr.paste.Dy())
		for y := 0; y < piece.Rect.Dy(); y++ {
			copy(base.Pix[base.PixOffset(pr.paste.Min.X, pr.paste.Min.Y+y):], piece.Pix[y*piece.Stride:(y+1)*piece.Stride])
		}
	}
	alphaComposite(base, ov)
	for o := 3; o < len(base.Pix); o += 4 {
		base.Pix[o] = 255
	}
	return base
}

// toCHW converts an 8-bit image to [3, H, W] in [-1, 1] (v/255*2 - 1).
func toCHW(img *image.NRGBA) []float32 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := make([]float32, 3*h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := img.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				out[c*h*w+y*w+x] = float32(img.Pix[o+c])/255*2 - 1
			}
		}
	}
	return out
}

// encodeLatent runs the VAE encoder on one image [3, H, W] in [-1, 1] and
// returns mean * scale [4, H/8, W/8], resized bilinearly to h x w when
// its size differs (webui's latent upscale resize mode).
func encodeLatent(j Job, chw []float32, ih, iw, h, w int) ([]float32, error) {
	mom, shape, err := j.Model.EncodeMoments(chw, []int{1, 3, ih, iw})
	if err != nil {
		return nil, fmt.Errorf("pipeline: img2img: encode: %w", err)
	}
	lh, lw := shape[2], shape[3]
	lat := make([]float32, 4*lh*lw)
	scale := float32(j.Model.LatentScale)
	for i := range lat {
		lat[i] = mom[i] * scale
	}
	if lh == h && lw == w {
		return lat, nil
	}
	return upscale.ResizeLatent(lat, []int{1, 4, lh, lw}, h, w, upscale.LatentModes[0])
}

// encodeImages encodes the distinct init images and lays them out as the
// batch: one image repeated, or one per batch slot.
func encodeImages(j Job, images []*image.NRGBA, batch, h, w int) ([]float32, error) {
	var lats [][]float32
	for _, img := range images {
		lat, err := encodeLatent(j, toCHW(img), img.Rect.Dy(), img.Rect.Dx(), h, w)
		if err != nil {
			return nil, err
		}
		lats = append(lats, lat)
	}
	out := make([]float32, 0, batch*4*h*w)
	for i := 0; i < batch; i++ {
		out = append(out, lats[i%len(lats)]...)
	}
	return out, nil
}

// latentKeep is webui's latent mask for a batch: the work-size mask
// resized to the latent (PIL bicubic, its default), divided by 255,
// rounded, and inverted: 1 where the init latent is kept ("mask"), 0 where
// it is repainted ("nmask" = 1 - mask).
func latentKeep(mask *image.Gray, batch, h, w int) []float32 {
	lm := upscale.ResizeGray(mask, w, h, upscale.Bicubic)
	out := make([]float32, 0, batch*4*h*w)
	for i := 0; i < batch*4; i++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				k := float32(1)
				if lm.Pix[y*lm.Stride+x] >= 128 { // round(v / 255) == 1
					k = 0
				}
				out = append(out, k)
			}
		}
	}
	return out
}

// fillLatent applies the latent masked-content modes to the init latent:
// "latent noise" puts the first image seeds' unit noise (webui:
// create_random_tensors with all_seeds[0:batch]) into the repainted area,
// "latent nothing" zeroes it.
func fillLatent(init, keep []float32, p Img2ImgParams, src sample.Source, h, w int) error {
	switch p.InpaintingFill {
	case FillLatentNoise:
		sp := sample.SeedParams{Source: src}
		for i := 0; i < p.BatchSize; i++ {
			sp.Seeds = append(sp.Seeds, p.Seed+int64(i))
		}
		rng, err := sample.NewImageRNG([3]int{4, h, w}, sp)
		if err != nil {
			return err
		}
		noise, err := rng.Next(0, 0)
		if err != nil {
			return err
		}
		for i := range init {
			init[i] = init[i]*keep[i] + noise[i]*(1-keep[i])
		}
	case FillLatentNothing:
		for i := range init {
			init[i] *= keep[i]
		}
	}
	return nil
}

// inpaintConditioning is webui's inpainting_image_conditioning for
// 9-channel models: per image the mask at latent size (nearest) and the
// latent of the image with the masked area set to 0 (grey), [5, h, w];
// without a mask the whole image counts as masked.
func inpaintConditioning(j Job, pr *img2imgPrep, batch, h, w int) ([]float32, error) {
	var per [][]float32
	for _, img := range pr.images {
		if img.Rect.Dx() != pr.width || img.Rect.Dy() != pr.height {
			img = upscale.Fit(img, upscale.JustResize, pr.width, pr.height)
		}
		H, W := pr.height, pr.width
		m := make([]float32, H*W)
		for i := range m {
			m[i] = 1
			if pr.mask != nil && pr.mask.Pix[(i/W)*pr.mask.Stride+i%W] < 128 {
				m[i] = 0 // torch.round(v / 255)
			}
		}
		chw := toCHW(img)
		for c := 0; c < 3; c++ {
			for i, v := range m {
				chw[c*H*W+i] *= 1 - v
			}
		}
		lat, err := encodeLatent(j, chw, H, W, h, w)
		if err != nil {
			return nil, err
		}
		lm, err := upscale.ResizeLatent(m, []int{1, 1, H, W}, h, w, upscale.LatentMode{Interp: "nearest"})
		if err != nil {
			return nil, err
		}
		per = append(per, append(lm, lat...))
	}
	out := make([]float32, 0, batch*5*h*w)
	for i := 0; i < batch; i++ {
		out = append(out, per[i%len(per)]...)
	}
	return out, nil
}
