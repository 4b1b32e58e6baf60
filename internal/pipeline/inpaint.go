package pipeline

import (
	"image"
	"image/color"
	"math"
)

// The pixel work of webui's img2img and inpainting (processing.py,
// masking.py, images.py), on 8-bit images with PIL's integer arithmetic
// where webui goes through PIL.

// div255 is PIL's rounded division by 255 (DIV255).
func div255(a int) int {
	a += 128
	return ((a >> 8) + a) >> 8
}

// flatten is webui's images.flatten: transparent pixels are blended onto
// bg (img2img_background_color, white by default); the result is opaque.
func flatten(img image.Image, bg color.NRGBA) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	if n, ok := img.(*image.NRGBA); ok && n.Opaque() {
		for y := 0; y < b.Dy(); y++ {
			copy(out.Pix[y*out.Stride:(y+1)*out.Stride], n.Pix[n.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		return out
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			a := int(c.A)
			o := out.PixOffset(x, y)
			for k, v := range []uint8{c.R, c.G, c.B} {
				bgv := []uint8{bg.R, bg.G, bg.B}[k]
				out.Pix[o+k] = uint8(div255(int(bgv)*(255-a) + int(v)*a))
			}
			out.Pix[o+3] = 255
		}
	}
	return out
}

// binaryMask is webui's create_binary_mask with rounding on: the alpha
// channel when the mask has transparency, else its luminance (PIL's "L"
// conversion), thresholded at > 128 to 0 or 255.
func binaryMask(m image.Image) *image.Gray {
	b := m.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	useAlpha := false
	for y := b.Min.Y; y < b.Max.Y && !useAlpha; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := m.At(x, y).RGBA(); a != 0xffff {
				useAlpha = true
				break
			}
		}
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c := color.NRGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			v := int(c.A)
			if !useAlpha {
				v = (int(c.R)*19595 + int(c.G)*38470 + int(c.B)*7471 + 0x8000) >> 16
			}
			if v > 128 {
				out.Pix[y*out.Stride+x] = 255
			}
		}
	}
	return out
}

func invertGray(g *image.Gray) {
	for i, v := range g.Pix {
		g.Pix[i] = 255 - v
	}
}

// blurMask is webui's mask blur: cv2.GaussianBlur along x with sigma sx
// (kernel 2*int(2.5*sx+0.5)+1 wide), then along y with sy, borders
// reflected without repeating the edge (BORDER_REFLECT_101). OpenCV's
// 8-bit path uses a fixed-point kernel; this float version can differ
// from it by one level.
func blurMask(g *image.Gray, sx, sy int) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := image.NewGray(image.Rect(0, 0, w, h))
	copy(out.Pix, g.Pix)
	blur := func(sigma, n, count int, at func(line, i int) *uint8) {
		if sigma <= 0 {
			return
		}
		k := gaussKernel(sigma)
		r := len(k) / 2
		buf := make([]float64, n)
		for line := 0; line < count; line++ {
			for i := 0; i < n; i++ {
				var s float64
				for j, wt := range k {
					s += wt * float64(*at(line, reflect101(i+j-r, n)))
				}
				buf[i] = s
			}
			for i := 0; i < n; i++ {
				*at(line, i) = uint8(min(max(math.Round(buf[i]), 0), 255))
			}
		}
	}
	blur(sx, w, h, func(y, x int) *uint8 { return &out.Pix[y*w+x] })
	blur(sy, h, w, func(x, y int) *uint8 { return &out.Pix[y*w+x] })
	return out
}

// gaussKernel is cv2.getGaussianKernel for webui's kernel size.
func gaussKernel(sigma int) []float64 {
	n := 2*int(2.5*float64(sigma)+0.5) + 1
	k := make([]float64, n)
	var sum float64
	for i := range k {
		x := float64(i - (n-1)/2)
		k[i] = math.Exp(-x * x / (2 * float64(sigma*sigma)))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}

// reflect101 maps an index outside [0, n) back inside as OpenCV's
// BORDER_REFLECT_101 does (gfedcb|abcdefgh|gfedcba).
func reflect101(i, n int) int {
	if n == 1 {
		return 0
	}
	for i < 0 || i >= n {
		if i < 0 {
			i = -i
		}
		if i >= n {
			i = 2*(n-1) - i
		}
	}
	return i
}

// cropRegion is webui's get_crop_region_v2: the bounding box of the mask's
// non-zero pixels grown by pad on every side and clipped to the mask; false
// for an empty mask.
func cropRegion(g *image.Gray, pad int) (image.Rectangle, bool) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	box := image.Rectangle{Min: image.Pt(w, h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if g.Pix[y*g.Stride+x] != 0 {
				box.Min.X, box.Min.Y = min(box.Min.X, x), min(box.Min.Y, y)
				box.Max.X, box.Max.Y = max(box.Max.X, x+1), max(box.Max.Y, y+1)
			}
		}
	}
	if box.Empty() {
		return image.Rectangle{}, false
	}
	return image.Rect(max(box.Min.X-pad, 0), max(box.Min.Y-pad, 0), min(box.Max.X+pad, w), min(box.Max.Y+pad, h)), true
}

// expandCropRegion is webui's expand_crop_region: the region grows along
// its short side (split evenly, then shifted back inside the image) until
// it has the processing size's aspect ratio, as far as the image allows.
func expandCropRegion(r image.Rectangle, pw, ph, iw, ih int) image.Rectangle {
	x1, y1, x2, y2 := r.Min.X, r.Min.Y, r.Max.X, r.Max.Y
	ratioCrop := float64(x2-x1) / float64(y2-y1)
	ratioProc := float64(pw) / float64(ph)
	grow := func(a1, a2, want float64, size int) (int, int) {
		lo, hi := int(a1), int(a2)
		diff := int(want - (a2 - a1))
		lo -= floorDiv(diff, 2)
		hi += diff - floorDiv(diff, 2)
		if hi >= size {
			lo -= hi - size
			hi = size
		}
		if lo < 0 {
			hi -= lo
			lo = 0
		}
		hi = min(hi, size)
		return lo, hi
	}
	if ratioCrop > ratioProc {
		y1, y2 = grow(float64(y1), float64(y2), float64(x2-x1)/ratioProc, ih)
	} else {
		x1, x2 = grow(float64(x1), float64(x2), float64(y2-y1)*ratioProc, iw)
	}
	return image.Rect(x1, y1, x2, y2)
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// crop returns the part r of img as a new image at the origin.
func crop(img *image.NRGBA, r image.Rectangle) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		copy(out.Pix[y*out.Stride:(y+1)*out.Stride], img.Pix[img.PixOffset(r.Min.X, r.Min.Y+y):])
	}
	return out
}

func cropGray(g *image.Gray, r image.Rectangle) *image.Gray {
	out := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		copy(out.Pix[y*out.Stride:(y+1)*out.Stride], g.Pix[g.PixOffset(r.Min.X, r.Min.Y+y):])
	}
	return out
}

// maskedLayer is webui's premultiplied paste of img through the mask
// keep (255 = keep) onto a transparent image: colours are premultiplied by
// keep/255 (PIL's rounded blend), alpha = keep. It stays premultiplied
// (PIL mode "RGBa").
func maskedLayer(img *image.NRGBA, keep *image.Gray) *image.NRGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a := int(keep.Pix[y*keep.Stride+x])
			o, i := out.PixOffset(x, y), img.PixOffset(x, y)
			for k := 0; k < 3; k++ {
				out.Pix[o+k] = uint8(div255(int(img.Pix[i+k]) * a))
			}
			out.Pix[o+3] = uint8(a)
		}
	}
	return out
}

// unpremultiply is PIL's RGBa -> RGBA conversion.
func unpremultiply(img *image.NRGBA) {
	for o := 0; o < len(img.Pix); o += 4 {
		a := int(img.Pix[o+3])
		if a == 0 || a == 255 {
			continue
		}
		for k := 0; k < 3; k++ {
			img.Pix[o+k] = uint8(min(255*int(img.Pix[o+k])/a, 255))
		}
	}
}

// overlayImage is what webui composites over the result of an inpainting:
// the original image with alpha 255 - mask (mask_for_overlay), built
// through PIL's premultiplied paste.
func overlayImage(img *image.NRGBA, mask *image.Gray) *image.NRGBA {
	keep := image.NewGray(mask.Rect)
	for i, v := range mask.Pix {
		keep.Pix[i] = 255 - v
	}
	out := maskedLayer(img, keep)
	unpremultiply(out)
	return out
}

// alphaComposite is PIL's Image.alpha_composite(src) on dst, in place:
// src over dst with PIL's 7-bit-precision integer blend.
func alphaComposite(dst, src *image.NRGBA) {
	const prec = 7
	shift := func(a uint32) uint32 { return ((a >> 8) + a) >> 8 }
	for o := 0; o+3 < len(dst.Pix) && o+3 < len(src.Pix); o += 4 {
		sa, da := uint32(src.Pix[o+3]), uint32(dst.Pix[o+3])
		if sa == 0 {
			continue
		}
		blend := da * (255 - sa)
		outa255 := sa*255 + blend
		coef1 := sa * 255 * 255 * (1 << prec) / outa255
		coef2 := 255*(1<<prec) - coef1
		for k := 0; k < 3; k++ {
			t := uint32(src.Pix[o+k])*coef1 + uint32(dst.Pix[o+k])*coef2
			dst.Pix[o+k] = uint8(shift(t+(0x80<<prec)) >> prec)
		}
		dst.Pix[o+3] = uint8(shift(outa255 + 0x80))
	}
}

// fillMasked is webui's masking.fill ("Masked content: fill"): the masked
// area is painted with the colours around it, by compositing ever less
// blurred copies of the unmasked pixels (PIL Gaussian blurs of radius 256,
// 64, 16 twice, 4 four times, 2 twice, then the sharp image).
func fillMasked(img *image.NRGBA, mask *image.Gray) *image.NRGBA {
	keep := image.NewGray(mask.Rect)
	for i, v := range mask.Pix {
		keep.Pix[i] = 255 - v
	}
	layer := maskedLayer(img, keep) // premultiplied
	out := image.NewNRGBA(img.Rect)
	for _, step := range []struct {
		radius  float64
		repeats int
	}{{256, 1}, {64, 1}, {16, 2}, {4, 4}, {2, 2}, {0, 1}} {
		blurred := pilGaussianBlur(layer, step.radius)
		unpremultiply(blurred)
		for range step.repeats {
			alphaComposite(out, blurred)
		}
	}
	for o := 3; o < len(out.Pix); o += 4 {
		out.Pix[o] = 255 // convert("RGB")
	}
	return out
}

// pilGaussianBlur is PIL's GaussianBlur(radius) on all four channels: three
// passes of an extended box blur (fractional box ends) per axis, edges
// extended, 8-bit rounding after every pass.
func pilGaussianBlur(img *image.NRGBA, radius float64) *image.NRGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := image.NewNRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	if radius == 0 {
		return out
	}
	// the box radius giving the Gaussian's variance over 3 passes
	// (Gwosdek et al. 2011), in float32 as PIL's _gaussian_blur_radius
	r := float32(radius)
	sigma2 := r * r / 3
	l := float32(math.Floor((float64(float32(math.Sqrt(float64(12*sigma2+1)))) - 1) / 2))
	a := (2*l + 1) * (l*(l+1) - 3*sigma2)
	a /= 6 * (sigma2 - (l+1)*(l+1))
	box := l + a
	line := make([][4]uint32, max(w, h))
	res := make([][4]uint8, max(w, h))
	for pass := 0; pass < 3; pass++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for k := 0; k < 4; k++ {
					line[x][k] = uint32(out.Pix[y*out.Stride+x*4+k])
				}
			}
			boxBlurLine(res[:w], line[:w], box)
			for x := 0; x < w; x++ {
				copy(out.Pix[y*out.Stride+x*4:], res[x][:])
			}
		}
	}
	for pass := 0; pass < 3; pass++ {
		for x := 0; x < w; x++ {
			for y := 0; y < h; y++ {
				for k := 0; k < 4; k++ {
					line[y][k] = uint32(out.Pix[y*out.Stride+x*4+k])
				}
			}
			boxBlurLine(res[:h], line[:h], box)
			for y := 0; y < h; y++ {
				copy(out.Pix[y*out.Stride+x*4:], res[y][:])
			}
		}
	}
	return out
}

// boxBlurLine is PIL's ImagingLineBoxBlur32: a box of radius r (integer
// part inside, the fractional rest as weight on the two far pixels), the
// line extended with its edge pixels, 24-bit fixed-point weights.
func boxBlurLine(out [][4]uint8, in [][4]uint32, radiusF float32) {
	n := len(in)
	last := n - 1
	radius := int(radiusF)
	ww := uint32(float32(1<<24) / (radiusF*2 + 1))
	fw := ((1 << 24) - uint32(radius*2+1)*ww) / 2
	at := func(i int) [4]uint32 { return in[min(max(i, 0), last)] }
	var acc [4]uint32
	for k := range 4 {
		acc[k] = in[0][k] * uint32(radius+1)
	}
	edgeA := min(radius+1, n)
	for x := 0; x < edgeA-1; x++ {
		for k := range 4 {
			acc[k] += in[x][k]
		}
	}
	for k := range 4 {
		acc[k] += in[last][k] * uint32(radius-edgeA+1)
	}
	// Every output x is the window [x-radius, x+radius] of the extended
	// line plus the far pixels x-radius-1 and x+radius+1 at weight fw.
	for x := 0; x < n; x++ {
		sub, add := at(x-radius-1), at(x+radius)
		farL, farR := at(x-radius-1), at(x+radius+1)
		for k := range 4 {
			acc[k] += add[k] - sub[k]
			bulk := acc[k]*ww + (farL[k]+farR[k])*fw
			out[x][k] = uint8((bulk + (1 << 23)) >> 24)
		}
	}
}
