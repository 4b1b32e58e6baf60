package imagefile

import (
	"image"
	"image/color"
	"image/draw"
	"testing"
)

func solid(w, h int, c color.NRGBA) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return img
}

func TestAutoRows(t *testing.T) {
	for _, c := range []struct{ n, rows int }{{1, 1}, {2, 1}, {3, 1}, {4, 2}, {5, 1}, {6, 2}, {8, 2}, {9, 3}, {12, 3}, {16, 4}} {
		if got := AutoRows(c.n); got != c.rows {
			t.Errorf("AutoRows(%d) = %d, want %d", c.n, got, c.rows)
		}
	}
}

// darkPixels counts non-white pixels in r.
func darkPixels(img *image.NRGBA, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := img.NRGBAAt(x, y); c.R < 200 {
				n++
			}
		}
	}
	return n
}

func TestGridLayoutAndLabels(t *testing.T) {
	red, green := color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 255, 0, 255}
	imgs := []image.Image{solid(64, 48, red), solid(64, 48, green), solid(64, 48, red), solid(64, 48, green)}

	plain := Grid(imgs, 0, nil, nil)
	if b := plain.Bounds(); b.Dx() != 128 || b.Dy() != 96 {
		t.Fatalf("unlabelled auto grid is %v, want 128x96", b)
	}
	if plain.NRGBAAt(70, 10) != green || plain.NRGBAAt(10, 60) != red {
		t.Error("images are not in row-major order")
	}
	if b := Grid(imgs[:3], 0, nil, nil).Bounds(); b.Dx() != 192 || b.Dy() != 48 {
		t.Errorf("3 images: %v, want one row of 192x48", b)
	}
	if b := Grid(imgs[:3], 2, nil, nil).Bounds(); b.Dx() != 128 || b.Dy() != 96 {
		t.Errorf("3 images in 2 columns: %v, want 128x96", b)
	}

	g := Grid(imgs, 2, []string{"row one", "row two"}, []string{"col A", "col B"})
	padLeft := 64 * 3 / 4
	padTop := g.Bounds().Dy() - 96
	if g.Bounds().Dx() != padLeft+128 || padTop <= 13 {
		t.Fatalf("labelled grid %v: want width %d and a top margin over one text line, got %d", g.Bounds(), padLeft+128, padTop)
	}
	if g.NRGBAAt(padLeft+1, padTop+1) != red || g.NRGBAAt(padLeft+65, padTop+1) != green {
		t.Error("cells are not placed after the margins")
	}
	for _, r := range []struct {
		name string
		rect image.Rectangle
	}{
		{"col A", image.Rect(padLeft, 0, padLeft+64, padTop)},
		{"col B", image.Rect(padLeft+64, 0, padLeft+128, padTop)},
		{"row one", image.Rect(0, padTop, padLeft, padTop+48)},
		{"row two", image.Rect(0, padTop+48, padLeft, padTop+96)},
	} {
		if n := darkPixels(g, r.rect); n < 20 {
			t.Errorf("label %s area %v has %d dark pixels: no text drawn", r.name, r.rect, n)
		}
	}
	if n := darkPixels(g, image.Rect(0, 0, padLeft, padTop)); n != 0 {
		t.Errorf("the corner margin has %d dark pixels, want blank", n)
	}
}

func TestGridInactiveLabelsAreGrey(t *testing.T) {
	imgs := []image.Image{solid(64, 64, color.NRGBA{0, 0, 255, 255}), solid(64, 64, color.NRGBA{0, 0, 255, 255})}
	g := GridAnnotated(imgs, 2, nil, [][]Annotation{{{"cat", false}}, {{"cat", true}}})
	padTop := g.Bounds().Dy() - 64
	count := func(x0 int, want color.NRGBA) int {
		n := 0
		for y := 0; y < padTop; y++ {
			for x := x0; x < x0+64; x++ {
				if g.NRGBAAt(x, y) == want {
					n++
				}
			}
		}
		return n
	}
	if count(0, labelInactive) == 0 || count(0, labelActive) != 0 {
		t.Error("inactive label is not drawn grey")
	}
	if count(64, labelActive) == 0 || count(64, labelInactive) != 0 {
		t.Error("active label is not drawn black")
	}
}
