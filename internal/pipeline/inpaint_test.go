package pipeline

import (
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"os"
	"testing"
)

// lcgBytes is gen_inpaint_pil.py's source data.
func lcgBytes(n, seed int) []uint8 {
	out := make([]uint8, n)
	s := seed
	for i := range out {
		s = (s*1103515245 + 12345) % (1 << 31)
		out[i] = uint8(s >> 16)
	}
	return out
}

func rgbImage(w, h int, b []uint8) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		copy(img.Pix[i*4:], b[i*3:i*3+3])
		img.Pix[i*4+3] = 255
	}
	return img
}

func rgbBytes(img *image.NRGBA) []uint8 {
	var out []uint8
	for i := 0; i < len(img.Pix); i += 4 {
		out = append(out, img.Pix[i:i+3]...)
	}
	return out
}

// TestInpaintHelpersAgainstPillow checks the pixel helpers against
// Pillow 9.4 running webui's code (testdata/gen_inpaint_pil.py).
func TestInpaintHelpersAgainstPillow(t *testing.T) {
	data, err := os.ReadFile("testdata/inpaint_pil.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		W, H                                    int
		Mask, Fill, Overlay, Composite, Flatten string
		BinaryRGBA                              string `json:"binary_rgba"`
		BinaryRGB                               string `json:"binary_rgb"`
		Blur                                    map[string]string
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	dec := func(s string) []uint8 { b, _ := base64.StdEncoding.DecodeString(s); return b }
	w, h := ref.W, ref.H
	rgb := rgbImage(w, h, lcgBytes(w*h*3, 3))
	rgba := &image.NRGBA{Pix: lcgBytes(w*h*4, 5), Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	mask := &image.Gray{Pix: dec(ref.Mask), Stride: w, Rect: image.Rect(0, 0, w, h)}
	gen := rgbImage(w, h, lcgBytes(w*h*3, 9))
	compare := func(name string, got, want []uint8, tol int) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d bytes, want %d", name, len(got), len(want))
		}
		bad, worst := 0, 0
		for i := range got {
			d := int(got[i]) - int(want[i])
			if d < 0 {
				d = -d
			}
			worst = max(worst, d)
			if d > tol {
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d bytes off by more than %d (worst %d)", name, bad, len(got), tol, worst)
		}
	}
	compare("flatten", rgbBytes(flatten(rgba, white)), dec(ref.Flatten), 0)
	compare("binary rgba", binaryMask(rgba).Pix, dec(ref.BinaryRGBA), 0)
	compare("binary rgb", binaryMask(rgb).Pix, dec(ref.BinaryRGB), 0)
	ov := overlayImage(rgb, mask)
	compare("overlay", ov.Pix, dec(ref.Overlay), 0)
	comp := image.NewNRGBA(gen.Rect)
	copy(comp.Pix, gen.Pix)
	alphaComposite(comp, ov)
	compare("composite", rgbBytes(comp), dec(ref.Composite), 0)
	alpha := image.NewGray(rgba.Rect)
	for i := range alpha.Pix {
		alpha.Pix[i] = rgba.Pix[i*4+3]
	}
	pre := maskedLayer(rgba, alpha) // PIL RGBA -> RGBa
	for r, want := range ref.Blur {
		var radius float64
		json.Unmarshal([]byte(r), &radius)
		compare("blur "+r, pilGaussianBlur(pre, radius).Pix, dec(want), 0)
	}
	compare("fill", rgbBytes(fillMasked(rgb, mask)), dec(ref.Fill), 0)
}

func TestCropRegions(t *testing.T) {
	mask := image.NewGray(image.Rect(0, 0, 100, 80))
	for y := 30; y < 40; y++ {
		for x := 20; x < 60; x++ {
			mask.SetGray(x, y, color.Gray{255})
		}
	}
	r, ok := cropRegion(mask, 4)
	if !ok || r != image.Rect(16, 26, 64, 44) {
		t.Fatalf("crop region %v %v", r, ok)
	}
	tests := []struct {
		pw, ph int
		want   image.Rectangle
	}{
		{64, 64, image.Rect(16, 11, 64, 59)}, // 48x18 grows to 48x48, centred
		{128, 32, image.Rect(4, 26, 76, 44)}, // ratio 4: 48x18 grows to 72x18
		{16, 64, image.Rect(16, 0, 64, 80)},  // taller than the image: clipped to it
	}
	for _, tt := range tests {
		if got := expandCropRegion(r, tt.pw, tt.ph, 100, 80); got != tt.want {
			t.Errorf("expand to %dx%d: %v, want %v", tt.pw, tt.ph, got, tt.want)
		}
	}
	if _, ok := cropRegion(image.NewGray(image.Rect(0, 0, 8, 8)), 4); ok {
		t.Error("empty mask has a crop region")
	}
	// pushed back inside at the bottom right
	if got := expandCropRegion(image.Rect(90, 70, 100, 80), 64, 32, 100, 80); got != image.Rect(80, 70, 100, 80) {
		t.Errorf("edge region %v", got)
	}
}

func TestBlurMask(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 40, 9))
	for y := 0; y < 9; y++ {
		for x := 20; x < 40; x++ {
			g.Pix[y*40+x] = 255
		}
	}
	b := blurMask(g, 4, 4)
	// kernel 21 wide (radius 10): untouched further than 10 pixels away,
	// symmetric around the edge, monotone across it
	for y := 0; y < 9; y++ {
		if b.Pix[y*40+9] != 0 || b.Pix[y*40+30] != 255 {
			t.Fatalf("row %d: %d .. %d", y, b.Pix[y*40+9], b.Pix[y*40+30])
		}
		for x := 10; x < 39; x++ {
			if b.Pix[y*40+x] > b.Pix[y*40+x+1] {
				t.Fatalf("not monotone at %d", x)
			}
		}
		if s := int(b.Pix[y*40+19]) + int(b.Pix[y*40+20]); s < 254 || s > 256 {
			t.Errorf("edge pair %d + %d", b.Pix[y*40+19], b.Pix[y*40+20])
		}
	}
	if reflect101(-1, 5) != 1 || reflect101(5, 5) != 3 || reflect101(-7, 5) != 1 {
		t.Error("reflect101")
	}
}
