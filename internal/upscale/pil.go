package upscale

import (
	"fmt"
	"image"
	"image/draw"
	"math"
)

// Filter is a PIL resampling filter.
type Filter int

// The filters, as PIL names them (Image.Resampling).
const (
	Nearest Filter = iota
	Bilinear
	Bicubic
	Lanczos
)

// String returns PIL's name of the filter.
func (f Filter) String() string {
	switch f {
	case Nearest:
		return "nearest"
	case Bilinear:
		return "bilinear"
	case Bicubic:
		return "bicubic"
	case Lanczos:
		return "lanczos"
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// kernel is one of PIL's filter functions and its support radius.
type kernel struct {
	support float64
	fn      func(float64) float64
}

func (f Filter) kernel() kernel {
	switch f {
	case Bilinear:
		return kernel{1, triangle}
	case Bicubic:
		return kernel{2, func(x float64) float64 { return cubic(x, -0.5) }}
	case Lanczos:
		return kernel{3, lanczos3}
	}
	return kernel{0.5, boxFilter}
}

func boxFilter(x float64) float64 {
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

func triangle(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

// cubic is the Keys cubic convolution kernel with parameter a (PIL -0.5,
// torch -0.75).
func cubic(x, a float64) float64 {
	x = math.Abs(x)
	switch {
	case x < 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

// lanczos3 is PIL's truncated sinc: sinc(x) sinc(x/3) on [-3, 3).
func lanczos3(x float64) float64 {
	if x >= -3 && x < 3 {
		return sinc(x) * sinc(x/3)
	}
	return 0
}

// coeffs are the weights of a one-axis resampling pass: output i reads
// inputs start[i] .. start[i]+len(w[i])-1.
type coeffs struct {
	start []int
	w     [][]float64
}

// precompute is PIL's precompute_coeffs (Resample.c): output pixel i has
// its centre at in0 + (i + 0.5) * scale in the input; the filter is
// stretched by the scale when downsampling; weights are normalised.
func precompute(inSize int, in0, in1 float64, outSize int, k kernel) coeffs {
	scale := (in1 - in0) / float64(outSize)
	filterScale := max(scale, 1)
	support := k.support * filterScale
	c := coeffs{start: make([]int, outSize), w: make([][]float64, outSize)}
	for i := range outSize {
		center := in0 + (float64(i)+0.5)*scale
		ss := 1 / filterScale
		lo := max(int(center-support+0.5), 0) // C's (int) truncates toward zero
		hi := min(int(center+support+0.5), inSize)
		var ws []float64
		var sum float64
		for x := lo; x < hi; x++ {
			w := k.fn((float64(x) - center + 0.5) * ss)
			ws = append(ws, w)
			sum += w
		}
		if sum != 0 {
			for j := range ws {
				ws[j] /= sum
			}
		}
		c.start[i], c.w[i] = lo, ws
	}
	return c
}

// precisionBits is PIL's fixed-point precision for 8-bit resampling.
const precisionBits = 32 - 8 - 2

// fixed converts weights to PIL's 8-bit fixed point (normalize_coeffs_8bpc).
func (c coeffs) fixed() [][]int32 {
	out := make([][]int32, len(c.w))
	for i, ws := range c.w {
		out[i] = make([]int32, len(ws))
		for j, w := range ws {
			if w < 0 {
				out[i][j] = int32(-0.5 + w*(1<<precisionBits))
			} else {
				out[i][j] = int32(0.5 + w*(1<<precisionBits))
			}
		}
	}
	return out
}

func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// raster is an 8-bit image with c interleaved channels and no padding.
type raster struct {
	w, h, c int
	pix     []uint8
}

func newRaster(w, h, c int) raster { return raster{w, h, c, make([]uint8, w*h*c)} }

// horizontal resamples rows first .. first+n-1 of r to width len(c.start).
func (r raster) horizontal(c coeffs, first, n int) raster {
	out := newRaster(len(c.start), n, r.c)
	kk := c.fixed()
	for y := range n {
		row := r.pix[(first+y)*r.w*r.c:]
		for x, start := range c.start {
			for ch := 0; ch < r.c; ch++ {
				ss := int32(1 << (precisionBits - 1))
				for j, k := range kk[x] {
					ss += int32(row[(start+j)*r.c+ch]) * k
				}
				out.pix[(y*out.w+x)*r.c+ch] = clip8(ss)
			}
		}
	}
	return out
}

// vertical resamples the columns of r to height len(c.start); starts are
// shifted by -offset (rows before offset were not kept).
func (r raster) vertical(c coeffs, offset int) raster {
	out := newRaster(r.w, len(c.start), r.c)
	kk := c.fixed()
	stride := r.w * r.c
	for y, start := range c.start {
		start -= offset
		for i := 0; i < stride; i++ {
			ss := int32(1 << (precisionBits - 1))
			for j, k := range kk[y] {
				ss += int32(r.pix[(start+j)*stride+i]) * k
			}
			out.pix[y*stride+i] = clip8(ss)
		}
	}
	return out
}

// resample is PIL's ImagingResampleInner: box (x0, y0, x1, y1) of r, in
// input pixels, to w x h; horizontal pass first, on the rows the vertical
// pass needs, each pass only when it changes something.
func (r raster) resample(w, h int, box [4]float64, f Filter) raster {
	if w <= 0 || h <= 0 {
		return newRaster(max(w, 0), max(h, 0), r.c)
	}
	if f == Nearest {
		return r.nearest(w, h, box)
	}
	k := f.kernel()
	needH := w != r.w || box[0] != 0 || box[2] != float64(w)
	needV := h != r.h || box[1] != 0 || box[3] != float64(h)
	ch := precompute(r.w, box[0], box[2], w, k)
	cv := precompute(r.h, box[1], box[3], h, k)
	out := r
	offset := 0
	if needH {
		first := cv.start[0]
		last := cv.start[h-1] + len(cv.w[h-1])
		out = r.horizontal(ch, first, last-first)
		offset = first
	}
	if needV {
		out = out.vertical(cv, offset)
	}
	if !needH && !needV {
		out = raster{r.w, r.h, r.c, append([]uint8(nil), r.pix...)}
	}
	return out
}

// nearest is PIL's NEAREST resize: an affine scale whose source coordinate
// is accumulated in float64 from box0 + scale/2 (ImagingScaleAffine);
// pixels that map outside the input stay 0.
func (r raster) nearest(w, h int, box [4]float64) raster {
	out := newRaster(w, h, r.c)
	sx, sy := (box[2]-box[0])/float64(w), (box[3]-box[1])/float64(h)
	xin := make([]int, w)
	xo := box[0] + sx*0.5
	for x := range w {
		xin[x] = coord(xo)
		xo += sx
	}
	yo := box[1] + sy*0.5
	for y := range h {
		yi := coord(yo)
		yo += sy
		if yi < 0 || yi >= r.h {
			continue
		}
		for x, xi := range xin {
			if xi < 0 || xi >= r.w {
				continue
			}
			copy(out.pix[(y*w+x)*r.c:(y*w+x+1)*r.c], r.pix[(yi*r.w+xi)*r.c:])
		}
	}
	return out
}

// coord is PIL's COORD: -1 for negative values, else truncation.
func coord(v float64) int {
	if v < 0 {
		return -1
	}
	return int(v)
}

// NRGBA returns img as *image.NRGBA (img itself when it already is one).
func NRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok {
		return n
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

func fromNRGBA(img *image.NRGBA) raster {
	b := img.Bounds()
	r := newRaster(b.Dx(), b.Dy(), 4)
	for y := range r.h {
		o := img.PixOffset(b.Min.X, b.Min.Y+y)
		copy(r.pix[y*r.w*4:(y+1)*r.w*4], img.Pix[o:o+r.w*4])
	}
	return r
}

func (r raster) nrgba() *image.NRGBA {
	return &image.NRGBA{Pix: r.pix, Stride: r.w * 4, Rect: image.Rect(0, 0, r.w, r.h)}
}

func fromGray(img *image.Gray) raster {
	b := img.Bounds()
	r := newRaster(b.Dx(), b.Dy(), 1)
	for y := range r.h {
		o := img.PixOffset(b.Min.X, b.Min.Y+y)
		copy(r.pix[y*r.w:(y+1)*r.w], img.Pix[o:o+r.w])
	}
	return r
}

func (r raster) gray() *image.Gray {
	return &image.Gray{Pix: r.pix, Stride: r.w, Rect: image.Rect(0, 0, r.w, r.h)}
}

// Resize is PIL's Image.resize((w, h), f) of the whole image. All four
// channels are filtered independently (PIL's RGB/RGBX behaviour; flatten
// transparent images first, as webui does).
func Resize(img image.Image, w, h int, f Filter) *image.NRGBA {
	r := fromNRGBA(NRGBA(img))
	return r.resample(w, h, [4]float64{0, 0, float64(r.w), float64(r.h)}, f).nrgba()
}

// ResizeBox is PIL's Image.resize((w, h), f, box): the region box = (x0,
// y0, x1, y1) of img, in input pixels (fractions and empty boxes allowed),
// scaled to w x h.
func ResizeBox(img image.Image, w, h int, box [4]float64, f Filter) *image.NRGBA {
	return fromNRGBA(NRGBA(img)).resample(w, h, box, f).nrgba()
}

// ResizeGray is Resize for a one-channel image (a mask, PIL mode "L").
func ResizeGray(img *image.Gray, w, h int, f Filter) *image.Gray {
	r := fromGray(img)
	return r.resample(w, h, [4]float64{0, 0, float64(r.w), float64(r.h)}, f).gray()
}
