package pipeline

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"strings"
	"testing"

	"sdgo/internal/upscale"
)

// TestSplitGridLayout checks tile origins against webui's split_grid
// (values computed with its Python arithmetic), except where its float
// product misses the edge (332/88/48: webui 243, sdgo 244).
func TestSplitGridLayout(t *testing.T) {
	for _, c := range []struct {
		size, tile, overlap int
		want                []int
	}{
		{1024, 512, 64, []int{0, 256, 512}},
		{1000, 512, 64, []int{0, 244, 488}},
		{600, 512, 64, []int{0, 88}},
		{512, 512, 64, []int{0}},
		{96, 64, 16, []int{0, 32}},
		{400, 512, 64, []int{-112}}, // smaller than a tile: one tile, padded
		{1024, 512, 0, []int{0, 512}},
		{1030, 512, 0, []int{0, 259, 518}},
		{2000, 768, 128, []int{0, 616, 1232}},
		{100, 64, 32, []int{0, 18, 36}},
		{65, 64, 0, []int{0, 1}},
		{332, 88, 48, []int{0, 34, 69, 104, 139, 174, 209, 244}},
	} {
		t.Run(fmt.Sprintf("%d/%d/%d", c.size, c.tile, c.overlap), func(t *testing.T) {
			g, err := SplitGrid(c.size, c.tile, c.tile, c.tile, c.overlap)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.Xs, c.want) || !slices.Equal(g.Ys, []int{0}) {
				t.Errorf("columns %v (rows %v), want %v", g.Xs, g.Ys, c.want)
			}
			g, err = SplitGrid(c.tile, c.size, c.tile, c.tile, c.overlap)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.Ys, c.want) || len(g.Xs) != 1 || g.Len() != len(c.want) {
				t.Errorf("rows %v (columns %v), want %v", g.Ys, g.Xs, c.want)
			}
		})
	}
}

func TestSplitGridErrors(t *testing.T) {
	for _, c := range []struct {
		w, h, tw, th, overlap int
		want                  string
	}{
		{512, 512, 64, 64, 64, "smaller than the tile size"},
		{512, 512, 64, 128, 96, "smaller than the tile size"},
		{512, 512, 64, 64, -1, "smaller than the tile size"},
		{32, 512, 64, 64, 32, "larger than the overlap"},
		{512, 16, 64, 64, 16, "larger than the overlap"},
	} {
		if _, err := SplitGrid(c.w, c.h, c.tw, c.th, c.overlap); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c, err, c.want)
		}
	}
}

// noiseImage is a w x h image of pseudo-random opaque pixels.
func noiseImage(w, h, seed int) *image.NRGBA {
	img := blackImage(w, h)
	v := uint32(seed)
	for i := range img.Pix {
		if i%4 == 3 {
			continue
		}
		v = v*1664525 + 1013904223
		img.Pix[i] = uint8(v >> 24)
	}
	return img
}

// TestSplitCombineRoundTrip: tiles cut from an image and combined
// unchanged give the image back exactly (blending equal pixels is exact in
// PIL's arithmetic), for any layout that covers it.
func TestSplitCombineRoundTrip(t *testing.T) {
	for _, c := range []struct{ w, h, tw, th, overlap int }{
		{96, 96, 64, 64, 16}, {200, 136, 64, 64, 32}, {128, 64, 64, 64, 0}, {130, 70, 64, 64, 0},
		{64, 64, 64, 64, 8}, {332, 100, 88, 48, 40}, {97, 203, 72, 56, 48},
	} {
		g, err := SplitGrid(c.w, c.h, c.tw, c.th, c.overlap)
		if err != nil {
			t.Fatal(err)
		}
		img := noiseImage(c.w, c.h, c.w+c.h)
		tiles := g.Split(img)
		if len(tiles) != g.Len() {
			t.Fatalf("%+v: %d tiles, want %d", c, len(tiles), g.Len())
		}
		for _, tl := range tiles {
			if b := tl.Bounds(); b.Dx() != c.tw || b.Dy() != c.th {
				t.Fatalf("tile is %v", b)
			}
		}
		if out := g.Combine(tiles); !slices.Equal(out.Pix, img.Pix) || out.Rect != img.Rect {
			t.Errorf("%+v: combined tiles differ from the image", c)
		}
	}
}

// TestCombineBlendsSeams: constant-colour tiles on a 96x96 image with
// 64x64 tiles, overlap 16 (origins 0 and 32): each seam's first 16 pixels
// ramp linearly from the earlier tile to the later one with weights
// int(i*255/16), PIL-rounded; elsewhere every pixel is its tile's colour.
func TestCombineBlendsSeams(t *testing.T) {
	g, err := SplitGrid(96, 96, 64, 64, 16)
	if err != nil {
		t.Fatal(err)
	}
	cols := []color.NRGBA{{200, 10, 30, 255}, {20, 240, 60, 255}, {90, 90, 250, 255}, {255, 255, 0, 255}}
	var tiles []*image.NRGBA
	for _, c := range cols {
		tl := blackImage(64, 64)
		for i := 0; i < len(tl.Pix); i += 4 {
			copy(tl.Pix[i:], []uint8{c.R, c.G, c.B, 255})
		}
		tiles = append(tiles, tl)
	}
	out := g.Combine(tiles)
	blend := func(a, b uint8, m int) uint8 {
		return uint8(math.Round((float64(a)*float64(255-m) + float64(b)*float64(m)) / 255))
	}
	// along one axis: the later tile starts at 32 and blends over 32..47
	axis := func(a, b uint8, i int) uint8 {
		switch {
		case i < 32:
			return a
		case i < 48:
			return blend(a, b, (i-32)*255/16)
		}
		return b
	}
	var prev uint8
	for y := 0; y < 96; y++ {
		for x := 0; x < 96; x++ {
			px := out.Pix[out.PixOffset(x, y):]
			for ch := 0; ch < 3; ch++ {
				c := func(k int) uint8 { return []uint8{cols[k].R, cols[k].G, cols[k].B}[ch] }
				want := axis(axis(c(0), c(1), x), axis(c(2), c(3), x), y)
				if px[ch] != want {
					t.Fatalf("pixel (%d,%d) channel %d = %d, want %d", x, y, ch, px[ch], want)
				}
			}
			if px[3] != 255 {
				t.Fatalf("pixel (%d,%d) alpha %d", x, y, px[3])
			}
		}
	}
	// the top seam moves monotonically from tile 0's red to tile 1's
	for x := 32; x < 48; x++ {
		r := out.Pix[out.PixOffset(x, 0)]
		if x > 32 && r > prev {
			t.Errorf("seam not monotone at x=%d: %d after %d", x, r, prev)
		}
		prev = r
	}
	if r := out.Pix[out.PixOffset(32, 0)]; r != 200 {
		t.Errorf("seam starts at %d, want the first tile's 200 (weight 0)", r)
	}
}

// TestCombineSmallImage: an image smaller than a tile gets one tile at a
// negative offset; combining blends the image's first Overlap-minus-offset
// pixels with black, as webui does (x = -16, overlap 32: columns 0-15
// get weights int((16+i)*255/32)).
func TestCombineSmallImage(t *testing.T) {
	g, err := SplitGrid(48, 64, 64, 64, 32)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Xs, []int{-16}) || !slices.Equal(g.Ys, []int{0}) {
		t.Fatalf("layout %v x %v", g.Xs, g.Ys)
	}
	img := noiseImage(48, 64, 3)
	tiles := g.Split(img)
	if p := tiles[0].Pix[tiles[0].PixOffset(10, 5):]; p[0] != 0 || p[1] != 0 || p[2] != 0 || p[3] != 255 {
		t.Errorf("padding pixel %v, want opaque black", p[:4])
	}
	out := g.Combine(tiles)
	for y := 0; y < 64; y++ {
		for x := 0; x < 48; x++ {
			want := img.Pix[img.PixOffset(x, y)]
			if x < 16 {
				want = uint8(div255(int(want) * ((16 + x) * 255 / 32)))
			}
			if got := out.Pix[out.PixOffset(x, y)]; got != want {
				t.Fatalf("(%d,%d) = %d, want %d", x, y, got, want)
			}
		}
	}
}

func TestSDUpscaleOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		in   SDUpscaleOptions
		want SDUpscaleOptions
		err  string
	}{
		{SDUpscaleOptions{}, SDUpscaleOptions{64, "Lanczos", 2}, ""},
		{SDUpscaleOptions{SDUpscaleNoOverlap, "nearest", 1.5}, SDUpscaleOptions{0, "Nearest", 1.5}, ""},
		{SDUpscaleOptions{32, "NONE", 4}, SDUpscaleOptions{32, "None", 4}, ""},
		{SDUpscaleOptions{64, "R-ESRGAN 4x+", 2}, SDUpscaleOptions{}, `upscaler "R-ESRGAN 4x+" is not available: choose one of None, Lanczos, Nearest`},
		{SDUpscaleOptions{64, "Lanczos", 0.5}, SDUpscaleOptions{}, "scale factor 0.5 must be between 1 and 8"},
		{SDUpscaleOptions{-5, "Lanczos", 2}, SDUpscaleOptions{}, "overlap -5 must be 0 or more"},
	} {
		o := c.in
		err := o.Validate()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || o != c.want {
			t.Errorf("%+v: got %+v, %v; want %+v", c.in, o, err, c.want)
		}
	}
}

func TestSDUpscaleGridValidation(t *testing.T) {
	base := func() Img2ImgParams {
		return Img2ImgParams{Params: Params{Width: 64, Height: 64, Steps: 2, CFGScale: 7}, Init: []image.Image{noiseImage(40, 30, 1)}}
	}
	for _, c := range []struct {
		name string
		edit func(*Img2ImgParams, *SDUpscaleOptions)
		err  string
	}{
		{"two inits", func(p *Img2ImgParams, _ *SDUpscaleOptions) { p.Init = append(p.Init, p.Init[0]) }, "takes one init image"},
		{"mask", func(p *Img2ImgParams, _ *SDUpscaleOptions) { p.Mask = image.NewGray(image.Rect(0, 0, 4, 4)) }, "drop the mask"},
		{"overlap", func(_ *Img2ImgParams, o *SDUpscaleOptions) { o.Overlap = 64 }, "smaller than the tile size"},
		{"scale 8", func(_ *Img2ImgParams, o *SDUpscaleOptions) { o.ScaleFactor = 8; o.Overlap = 8 }, ""},
		{"too large", func(p *Img2ImgParams, o *SDUpscaleOptions) {
			p.Init[0] = image.NewGray(image.Rect(0, 0, 2100, 8))
			o.ScaleFactor = 8
		}, "16800x64, more than 16384"},
		{"tiny", func(p *Img2ImgParams, o *SDUpscaleOptions) {
			p.Init[0] = noiseImage(8, 8, 1)
			o.Upscaler, o.Overlap = "None", 16
		}, "larger than the overlap"},
		{"bad params too", func(p *Img2ImgParams, o *SDUpscaleOptions) { p.Steps = -1; o.Upscaler = "x" }, "steps -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, o := base(), SDUpscaleOptions{}
			c.edit(&p, &o)
			g, err := SDUpscaleGrid(&p, &o)
			if c.err == "" {
				if err != nil || g.ImageW != 320 || g.ImageH != 240 {
					t.Errorf("grid %+v, %v", g, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("error %v, want %q", err, c.err)
			}
		})
	}
}

// TestUpscaleImage: webui's Upscaler.upscale sizes (scaled, rounded down
// to a multiple of 8; "None" keeps the image) and filters.
func TestUpscaleImage(t *testing.T) {
	img := noiseImage(50, 44, 9)
	for _, c := range []struct {
		up         string
		scale      float64
		wantW, wan int
		want       *image.NRGBA
	}{
		{"Lanczos", 2, 96, 88, upscale.Resize(upscale.Resize(img, 100, 88, upscale.Lanczos), 96, 88, upscale.Lanczos)},
		{"Nearest", 2, 96, 88, upscale.Resize(upscale.Resize(img, 100, 88, upscale.Nearest), 96, 88, upscale.Lanczos)},
		{"Lanczos", 1.5, 72, 64, upscale.Resize(upscale.Resize(img, 75, 66, upscale.Lanczos), 72, 64, upscale.Lanczos)},
		{"Nearest", 4, 200, 176, upscale.Resize(img, 200, 176, upscale.Nearest)},
		{"None", 3, 50, 44, img},
	} {
		o := SDUpscaleOptions{Upscaler: c.up, ScaleFactor: c.scale}
		if err := o.Validate(); err != nil {
			t.Fatal(err)
		}
		got := o.upscaleImage(img)
		if w, h := o.upscaledSize(50, 44); w != c.wantW || h != c.wan {
			t.Errorf("%s x%v: size %dx%d, want %dx%d", c.up, c.scale, w, h, c.wantW, c.wan)
		}
		if got.Rect != c.want.Rect || !slices.Equal(got.Pix, c.want.Pix) {
			t.Errorf("%s x%v: %v, pixels differ from the reference resizes", c.up, c.scale, got.Rect)
		}
	}
}

// TestSDUpscaleTiles runs the script with a fake img2img that returns
// its tiles unchanged: the output is the upscaled image exactly; batches,
// seeds, progress indices and infotexts follow webui.
func TestSDUpscaleTiles(t *testing.T) {
	init := noiseImage(48, 40, 5)
	p := Img2ImgParams{Params: Params{Prompt: "a cat", Width: 64, Height: 64, Steps: 2, CFGScale: 7, Seed: 100, Subseed: -1,
		BatchSize: 2, BatchCount: 2}, Init: []image.Image{init}, DenoisingStrength: 0.3}
	type call struct {
		seed, subseed     int64
		n, first, total   int
		batchSize, counts int
	}
	var calls []call
	fake := func(_ context.Context, q Img2ImgParams, first, total int) ([]Result, error) {
		calls = append(calls, call{q.Seed, q.Subseed, len(q.Init), first, total, q.BatchSize, q.BatchCount})
		var rs []Result
		for i, im := range q.Init {
			text := fmt.Sprintf("a cat\nSteps: 2, Sampler: Euler a, Seed: %d, Size: 64x64, Denoising strength: 0.3, Noise multiplier: 0.9, Version: sdgo", q.Seed+int64(i))
			rs = append(rs, Result{Image: im.(*image.NRGBA), Seed: q.Seed + int64(i), Infotext: text})
		}
		return rs, nil
	}
	res, err := sdUpscale(context.Background(), p, SDUpscaleOptions{Overlap: 16, Upscaler: "Lanczos", ScaleFactor: 2.5}, fake)
	if err != nil {
		t.Fatal(err)
	}
	// 48x40 x2.5 = 120x100 -> 120x96; 64x64 tiles, overlap 16: 3 x 2 tiles
	up := upscale.Resize(upscale.Resize(init, 120, 100, upscale.Lanczos), 120, 96, upscale.Lanczos)
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	sub := calls[0].subseed
	if sub < 0 {
		t.Errorf("subseed %d not fixed", sub)
	}
	want := []call{
		{100, sub, 2, 0, 12, 2, 1}, {101, sub, 2, 2, 12, 2, 1}, {102, sub, 2, 4, 12, 2, 1},
		{101, sub, 2, 6, 12, 2, 1}, {102, sub, 2, 8, 12, 2, 1}, {103, sub, 2, 10, 12, 2, 1},
	}
	if !slices.Equal(calls, want) {
		t.Errorf("img2img calls\n%v\nwant\n%v", calls, want)
	}
	for k, r := range res {
		if r.Image.Rect != up.Rect || !slices.Equal(r.Image.Pix, up.Pix) {
			t.Errorf("result %d is not the upscaled image (%v)", k, r.Image.Rect)
		}
		wantText := fmt.Sprintf("a cat\nSteps: 2, Sampler: Euler a, Seed: %d, Size: 64x64, Denoising strength: 0.3, SD upscale overlap: 16, SD upscale upscaler: Lanczos, Noise multiplier: 0.9, Version: sdgo", 100+k)
		if r.Seed != int64(100+k) || r.Infotext != wantText {
			t.Errorf("result %d: seed %d, infotext\n%s\nwant\n%s", k, r.Seed, r.Infotext, wantText)
		}
	}
	// an odd tile count: the last batch is smaller
	calls = nil
	p.BatchSize, p.BatchCount, p.Subseed = 4, 1, sub
	if _, err := sdUpscale(context.Background(), p, SDUpscaleOptions{Overlap: 16, ScaleFactor: 2.5}, fake); err != nil {
		t.Fatal(err)
	}
	if want := []call{{100, sub, 4, 0, 6, 4, 1}, {101, sub, 2, 4, 6, 2, 1}}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
}

func TestAddSDUpscaleInfo(t *testing.T) {
	o := SDUpscaleOptions{Overlap: 64, Upscaler: "Nearest"}
	for _, c := range []struct{ in, want string }{
		{"a cat\nSteps: 2, Seed: 1, Size: 64x64, Denoising strength: 0.5, Version: sdgo",
			"a cat\nSteps: 2, Seed: 1, Size: 64x64, Denoising strength: 0.5, SD upscale overlap: 64, SD upscale upscaler: Nearest, Version: sdgo"},
		{"Steps: 2, Seed: 1, Size: 64x64, RNG: CPU, Noise multiplier: 0.5",
			"Steps: 2, Seed: 1, Size: 64x64, RNG: CPU, SD upscale overlap: 64, SD upscale upscaler: Nearest, Noise multiplier: 0.5"},
		{"x\nSteps: 2, Seed: 1, Clip skip: 2, RNG: CPU, TI hashes: \"emb: 0123abcd\", Emphasis: No norm, Version: sdgo",
			"x\nSteps: 2, Seed: 1, Clip skip: 2, RNG: CPU, SD upscale overlap: 64, SD upscale upscaler: Nearest, TI hashes: \"emb: 0123abcd\", Emphasis: No norm, Version: sdgo"},
		{"  two\n lines: x, y \nNegative prompt: bad, \"q\"\nSteps: 2, Sampler: Euler, Seed: 1, Model: \"a, b\", Version: sdgo",
			"  two\n lines: x, y \nNegative prompt: bad, \"q\"\nSteps: 2, Sampler: Euler, Seed: 1, Model: \"a, b\", SD upscale overlap: 64, SD upscale upscaler: Nearest, Version: sdgo"},
	} {
		got, err := addSDUpscaleInfo(c.in, o)
		if err != nil || got != c.want {
			t.Errorf("%q:\n got %q, %v\nwant %q", c.in, got, err, c.want)
		}
	}
}
