package upscale

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"testing"
)

// pilCase is one reference resize made by testdata/gen_pil.py with Pillow.
type pilCase struct {
	Name     string
	Channels int
	Seed     int
	Src      [2]int
	W, H     int
	Pixels   string
	Op       string
	Filter   string
	Box      []float64
	Mode     int
}

// lcgRaster is gen_pil.py's source image.
func lcgRaster(w, h, c, seed int) raster {
	r := newRaster(w, h, c)
	s := seed
	for i := range r.pix {
		s = (s*1103515245 + 12345) % (1 << 31)
		r.pix[i] = uint8(s >> 16)
	}
	return r
}

// rgbToRaster4 widens a 3-channel raster to NRGBA layout (alpha 255).
func rgbTo4(r raster) raster {
	out := newRaster(r.w, r.h, 4)
	for i := 0; i < r.w*r.h; i++ {
		copy(out.pix[i*4:i*4+3], r.pix[i*3:i*3+3])
		out.pix[i*4+3] = 255
	}
	return out
}

var filterNames = map[string]Filter{"nearest": Nearest, "bilinear": Bilinear, "bicubic": Bicubic, "lanczos": Lanczos}

func TestAgainstPillow(t *testing.T) {
	data, err := os.ReadFile("testdata/pil.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Pillow string
		Cases  []pilCase
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 50 {
		t.Fatalf("only %d cases", len(ref.Cases))
	}
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			src := lcgRaster(c.Src[0], c.Src[1], c.Channels, c.Seed)
			var got []uint8
			switch {
			case c.Channels == 1:
				img := src.gray()
				var out *image.Gray
				switch c.Op {
				case "resize":
					out = ResizeGray(img, c.W, c.H, filterNames[c.Filter])
				case "box":
					out = src.resample(c.W, c.H, [4]float64(c.Box), filterNames[c.Filter]).gray()
				case "fit":
					out = FitGray(img, Mode(c.Mode), c.W, c.H)
				}
				got = out.Pix
			default:
				img := rgbTo4(src).nrgba()
				var out *image.NRGBA
				switch c.Op {
				case "resize":
					out = Resize(img, c.W, c.H, filterNames[c.Filter])
				case "box":
					out = ResizeBox(img, c.W, c.H, [4]float64(c.Box), filterNames[c.Filter])
				case "fit":
					out = Fit(img, Mode(c.Mode), c.W, c.H)
				}
				if b := out.Bounds(); b.Dx() != c.W || b.Dy() != c.H {
					t.Fatalf("size %v, want %dx%d", b, c.W, c.H)
				}
				for i := 0; i < c.W*c.H; i++ {
					got = append(got, out.Pix[i*4:i*4+3]...)
					if out.Pix[i*4+3] != 255 {
						t.Fatalf("alpha %d at pixel %d", out.Pix[i*4+3], i)
					}
				}
			}
			want, _ := base64.StdEncoding.DecodeString(c.Pixels)
			if len(got) != len(want) {
				t.Fatalf("%d bytes, want %d", len(got), len(want))
			}
			diff := 0
			for i := range got {
				if got[i] != want[i] {
					diff++
					if diff <= 3 {
						t.Errorf("byte %d (x %d, y %d): got %d, want %d", i, i/c.Channels%c.W, i/c.Channels/c.W, got[i], want[i])
					}
				}
			}
			if diff > 0 {
				t.Errorf("%d of %d bytes differ from Pillow %s", diff, len(got), ref.Pillow)
			}
		})
	}
}

func ExampleFit() {
	img := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	for _, m := range []Mode{JustResize, CropAndResize, ResizeAndFill} {
		out := Fit(img, m, 64, 64)
		fmt.Println(m, out.Bounds().Dx(), out.Bounds().Dy())
	}
	// Output:
	// Just resize 64 64
	// Crop and resize 64 64
	// Resize and fill 64 64
}
