package imagefile

import (
	"bytes"
	"image/png"
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
