package imagefile

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestPNGParametersRoundTrip(t *testing.T) {
	img, err := FromCHW(make([]float32, 3*4*5), 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"a cat\nSteps: 20, Seed: 1", "café — ünïcode ✓\nSteps: 4", ""} {
		var buf bytes.Buffer
		if err := EncodePNG(&buf, img, text); err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatalf("%q: the written PNG does not decode: %v", text, err)
		}
		got, err := ReadParameters(bytes.NewReader(buf.Bytes()))
		if err != nil || got != text {
			t.Fatalf("ReadParameters = %q, %v; want %q", got, err, text)
		}
	}
}

func TestFromCHWTruncatesLikeWebui(t *testing.T) {
	// (x+1)/2*255 truncated: -1 -> 0, 1 -> 255, 0 -> 127 (127.5 truncated),
	// out-of-range values clamp.
	v := []float32{-1, 0, 1, 2, -3, 0.5}
	r := append(append(append([]float32{}, v...), v...), v...)
	img, err := FromCHW(r, 1, 6)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint8{0, 127, 255, 255, 0, 191}
	for x, w := range want {
		if got := img.Pix[4*x]; got != w {
			t.Errorf("pixel %d = %d, want %d", x, got, w)
		}
	}
}

func TestWritePNGIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.png")
	img, _ := FromCHW(make([]float32, 3), 1, 1)
	if err := WritePNG(path, img, "x"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if err := WritePNG(filepath.Join(dir, "missing", "out.png"), img, "x"); err == nil {
		t.Fatal("writing into a missing folder succeeded")
	}
}

// noisyImages are n different w x h images (PNG compresses them like SD
// output, not like flat colour).
func noisyImages(n, w, h int) []image.Image {
	imgs := make([]image.Image, n)
	for k := range imgs {
		chw := make([]float32, 3*w*h)
		for i := range chw {
			chw[i] = float32(math.Sin(float64(i*(k+3))*0.37)) * 0.9
		}
		img, _ := FromCHW(chw, h, w)
		imgs[k] = img
	}
	return imgs
}

// TestEncodePNGsMatchesOneByOne checks the parallel encoder gives, in
// order, the bytes EncodePNG gives for each image, and reports a text/image
// count mismatch.
func TestEncodePNGsMatchesOneByOne(t *testing.T) {
	imgs := noisyImages(5, 24, 16)
	texts := []string{"a\nSeed: 1", "b\nSeed: 2", "", "café\nSeed: 4", "e\nSeed: 5"}
	got, err := EncodePNGs(imgs, texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range imgs {
		var buf bytes.Buffer
		if err := EncodePNG(&buf, imgs[i], texts[i]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[i], buf.Bytes()) {
			t.Errorf("image %d: parallel bytes differ from EncodePNG's", i)
		}
	}
	if _, err := EncodePNGs(imgs, texts[:2]); err == nil {
		t.Error("5 images with 2 texts: no error")
	}
}

// BenchmarkEncodePNGs compares encoding a batch of 8 512x512 images one
// after another with EncodePNGs.
func BenchmarkEncodePNGs(b *testing.B) {
	imgs := noisyImages(8, 512, 512)
	texts := make([]string, len(imgs))
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			for i, img := range imgs {
				if err := EncodePNG(io.Discard, img, texts[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		for b.Loop() {
			if _, err := EncodePNGs(imgs, texts); err != nil {
				b.Fatal(err)
			}
		}
	})
}
