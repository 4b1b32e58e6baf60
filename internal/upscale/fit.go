package upscale

import (
	"fmt"
	"image"
)

// Mode is webui's img2img resize mode (resize_mode).
type Mode int

// The resize modes, numbered as webui numbers them.
const (
	// JustResize stretches the image to the target size.
	JustResize Mode = 0
	// CropAndResize scales the image to cover the target and crops the
	// overflow, centred.
	CropAndResize Mode = 1
	// ResizeAndFill scales the image to fit inside the target, centred,
	// and fills the bars by stretching the image's edge rows or columns.
	ResizeAndFill Mode = 2
	// LatentUpscale ("Just resize (latent upscale)") encodes the image at
	// its own size and resizes the latent bilinearly; Fit treats it as
	// ResizeAndFill, as webui's resize_image does for any mode above 1.
	LatentUpscale Mode = 3
)

// String returns webui's label of the mode.
func (m Mode) String() string {
	switch m {
	case JustResize:
		return "Just resize"
	case CropAndResize:
		return "Crop and resize"
	case ResizeAndFill:
		return "Resize and fill"
	case LatentUpscale:
		return "Just resize (latent upscale)"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Fit is webui's images.resize_image(mode, img, w, h) with no upscaler
// model (its default): every scaling is PIL Lanczos; the result has
// exactly w x h pixels.
//
//   - JustResize: Lanczos to w x h.
//   - CropAndResize: scale so the image covers w x h (the short side
//     matches, the other is im*target//im in integers), paste centred at
//     (w/2 - sw/2, h/2 - sh/2), cutting what overflows.
//   - ResizeAndFill (and LatentUpscale): scale so the image fits inside,
//     paste centred on black, then fill the two bars with the resized
//     image's edge squeezed into them (PIL bicubic resize of an empty box
//     at the edge, which mixes the two outermost rows or columns).
func Fit(img image.Image, mode Mode, w, h int) *image.NRGBA {
	return fromNRGBA(NRGBA(img)).fit(mode, w, h).nrgba()
}

// FitGray is Fit for a mask (PIL mode "L"); webui resizes masks with the
// same function.
func FitGray(img *image.Gray, mode Mode, w, h int) *image.Gray {
	return fromGray(img).fit(mode, w, h).gray()
}

func (r raster) fit(mode Mode, w, h int) raster {
	full := func(r raster) [4]float64 { return [4]float64{0, 0, float64(r.w), float64(r.h)} }
	if mode == JustResize {
		return r.resample(w, h, full(r), Lanczos)
	}
	ratio := float64(w) / float64(h)
	srcRatio := float64(r.w) / float64(r.h)
	var sw, sh int
	if mode == CropAndResize {
		sw, sh = r.w*h/r.h, r.h*w/r.w
		if ratio > srcRatio {
			sw = w
		}
		if ratio <= srcRatio {
			sh = h
		}
	} else {
		sw, sh = r.w*h/r.h, r.h*w/r.w
		if ratio < srcRatio {
			sw = w
		}
		if ratio >= srcRatio {
			sh = h
		}
	}
	resized := r.resample(sw, sh, full(r), Lanczos)
	out := newRaster(w, h, r.c)
	if r.c == 4 {
		for i := 3; i < len(out.pix); i += 4 {
			out.pix[i] = 255 // Image.new("RGB") is opaque black
		}
	}
	out.paste(resized, w/2-sw/2, h/2-sh/2)
	if mode == CropAndResize {
		return out
	}
	if ratio < srcRatio {
		if fill := h/2 - sh/2; fill > 0 {
			rw, rh := float64(w), float64(resized.h)
			out.paste(resized.resample(w, fill, [4]float64{0, 0, rw, 0}, Bicubic), 0, 0)
			out.paste(resized.resample(w, fill, [4]float64{0, rh, rw, rh}, Bicubic), 0, fill+sh)
		}
	} else if ratio > srcRatio {
		if fill := w/2 - sw/2; fill > 0 {
			rw, rh := float64(resized.w), float64(h)
			out.paste(resized.resample(fill, h, [4]float64{0, 0, 0, rh}, Bicubic), 0, 0)
			out.paste(resized.resample(fill, h, [4]float64{rw, 0, rw, rh}, Bicubic), fill+sw, 0)
		}
	}
	return out
}

// paste copies src into r with its top-left corner at (x, y), clipped.
func (r raster) paste(src raster, x, y int) {
	for sy := range src.h {
		dy := y + sy
		if dy < 0 || dy >= r.h {
			continue
		}
		x0, x1 := max(x, 0), min(x+src.w, r.w)
		if x0 >= x1 {
			continue
		}
		copy(r.pix[(dy*r.w+x0)*r.c:(dy*r.w+x1)*r.c], src.pix[(sy*src.w+x0-x)*src.c:])
	}
}
