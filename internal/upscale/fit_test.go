package upscale

import (
	"image"
	"image/color"
	"math"
	"testing"
)

// halves is a w x h image, black on the left half and white on the right,
// with red top and blue bottom bands of 8 rows.
func halves(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{0, 0, 0, 255}
			if x >= w/2 {
				c = color.NRGBA{255, 255, 255, 255}
			}
			if y < 8 {
				c = color.NRGBA{255, 0, 0, 255}
			}
			if y >= h-8 {
				c = color.NRGBA{0, 0, 255, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func TestFitWherePixelsComeFrom(t *testing.T) {
	src := halves(128, 64) // 2:1, into a 64x64 square
	at := func(img *image.NRGBA, x, y int) color.NRGBA { return img.NRGBAAt(x, y) }
	near := func(c color.NRGBA, r, g, b uint8) bool {
		d := func(a, b uint8) bool { return math.Abs(float64(a)-float64(b)) <= 8 }
		return d(c.R, r) && d(c.G, g) && d(c.B, b)
	}
	t.Run("just resize squeezes", func(t *testing.T) {
		out := Fit(src, JustResize, 64, 64)
		if !near(at(out, 10, 32), 0, 0, 0) || !near(at(out, 54, 32), 255, 255, 255) || !near(at(out, 10, 0), 255, 0, 0) {
			t.Errorf("got %v %v %v", at(out, 10, 32), at(out, 54, 32), at(out, 10, 0))
		}
	})
	t.Run("crop and resize keeps the centre", func(t *testing.T) {
		// 128x64 covers 64x64 at its own size: columns 32..95 are kept, so
		// the black/white edge stays in the middle and rows stay full.
		out := Fit(src, CropAndResize, 64, 64)
		for x := range 64 {
			want := uint8(0)
			if x >= 32 {
				want = 255
			}
			if c := at(out, x, 30); c.R != want {
				t.Fatalf("pixel %d,30 = %v, want grey %d", x, c, want)
			}
		}
		if !near(at(out, 5, 0), 255, 0, 0) || !near(at(out, 5, 63), 0, 0, 255) {
			t.Errorf("edges %v %v", at(out, 5, 0), at(out, 5, 63))
		}
	})
	t.Run("resize and fill pads with edge rows", func(t *testing.T) {
		// scaled to 64x32 at y 16..47; the bars above and below stretch
		// the (red) first and (blue) last rows.
		out := Fit(src, ResizeAndFill, 64, 64)
		for _, y := range []int{0, 8, 15} {
			if c := at(out, 5, y); c.R < 200 || c.B > 60 {
				t.Errorf("top bar at y %d = %v, want red", y, c)
			}
		}
		for _, y := range []int{48, 56, 63} {
			if c := at(out, 5, y); c.B < 200 || c.R > 60 {
				t.Errorf("bottom bar at y %d = %v, want blue", y, c)
			}
		}
		if !near(at(out, 10, 32), 0, 0, 0) || !near(at(out, 54, 32), 255, 255, 255) {
			t.Errorf("centre %v %v", at(out, 10, 32), at(out, 54, 32))
		}
	})
	t.Run("tall target", func(t *testing.T) {
		for _, m := range []Mode{JustResize, CropAndResize, ResizeAndFill, LatentUpscale} {
			out := Fit(src, m, 40, 96)
			if b := out.Bounds(); b.Dx() != 40 || b.Dy() != 96 {
				t.Errorf("%v: size %v", m, b)
			}
		}
	})
}

func TestResizeNearestMapping(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 4, 1))
	copy(g.Pix, []uint8{10, 20, 30, 40})
	tests := []struct {
		w    int
		want []uint8
	}{
		{8, []uint8{10, 10, 20, 20, 30, 30, 40, 40}},
		{2, []uint8{20, 40}},     // PIL samples at (x+0.5)*2: 1, 3
		{3, []uint8{10, 30, 40}}, // (1 + 0.5) * 4/3 = 2
	}
	for _, tt := range tests {
		out := ResizeGray(g, tt.w, 1, Nearest)
		if string(out.Pix) != string(tt.want) {
			t.Errorf("width %d: %v, want %v", tt.w, out.Pix, tt.want)
		}
	}
}

func TestResizeLatent(t *testing.T) {
	row := []float32{0, 1, 2, 3}
	tests := []struct {
		mode string
		w    int
		want []float32
	}{
		{"Latent", 8, []float32{0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3}},
		{"Latent", 2, []float32{0.5, 2.5}},
		{"Latent (nearest)", 8, []float32{0, 0, 1, 1, 2, 2, 3, 3}},
		{"Latent (nearest)", 2, []float32{0, 2}},
		{"Latent (nearest)", 3, []float32{0, 1, 2}},
		{"Latent (nearest-exact)", 2, []float32{1, 3}},
		{"Latent (nearest-exact)", 3, []float32{0, 2, 3}},
		// torch bicubic (A = -0.75, which does not reproduce a ramp) with
		// clamped taps: output 0 is sampled at -0.25 from inputs 0, 0, 0, 1
		// with weights w(1.75), w(0.75), w(0.25), w(1.25) = -0.03515625,
		// 0.26171875, 0.87890625, -0.10546875; output 2 at 0.75 from 0, 0,
		// 1, 2; output 3 at 1.25 from 0, 1, 2, 3 (weights reversed).
		{"Latent (bicubic)", 8, []float32{-0.10546875, 0.19140625, 0.66796875, 1.296875, 1.703125, 2.33203125, 2.80859375, 3.10546875}},
		// antialiased downscale by 2: triangle of radius 2, weights 1/4 3/4 3/4 1/4 (normalised).
		{"Latent (antialiased)", 2, []float32{(0*3 + 1*3 + 2*1) / 7.0, (1*1 + 2*3 + 3*3) / 7.0}},
		{"Latent (antialiased)", 8, []float32{0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3}},
	}
	for _, tt := range tests {
		m, ok := LookupLatentMode(tt.mode)
		if !ok {
			t.Fatalf("no mode %q", tt.mode)
		}
		// one row, two planes (the second doubled) to check plane handling
		x := append(append([]float32{}, row...), 0, 2, 4, 6)
		out, err := ResizeLatent(x, []int{1, 2, 1, 4}, 1, tt.w, m)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range tt.want {
			if math.Abs(float64(out[i]-want)) > 1e-6 || math.Abs(float64(out[tt.w+i]-2*want)) > 2e-6 {
				t.Errorf("%s to %d: got %v, want %v (and doubled)", tt.mode, tt.w, out, tt.want)
				break
			}
		}
	}
	if _, err := ResizeLatent(make([]float32, 5), []int{1, 1, 2, 2}, 4, 4, LatentModes[0]); err == nil {
		t.Error("bad shape accepted")
	}
}

func TestResizeLatent2D(t *testing.T) {
	// a 2x2 latent upscaled bilinearly to 4x4 is separable: the corners
	// stay, the middle interpolates in both axes.
	x := []float32{0, 1, 2, 3}
	out, err := ResizeLatent(x, []int{1, 1, 2, 2}, 4, 4, LatentModes[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3}
	for i := range want {
		if math.Abs(float64(out[i]-want[i])) > 1e-6 {
			t.Fatalf("got %v, want %v", out, want)
		}
	}
}
