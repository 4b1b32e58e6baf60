package imagefile

import (
	"bytes"
	"encoding/binary"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xwebp "golang.org/x/image/webp"
)

func TestEncodeWebPRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		opt  WebPOptions
		text string
	}{
		{"lossy ascii", WebPOptions{Quality: 90}, "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 16x8"},
		{"lossless non-ascii", WebPOptions{Lossless: true}, "猫, café ☕ 🐈\nSteps: 20, Seed: 1"},
		{"lossy no text", WebPOptions{}, ""},
		// No 64 KiB segment limit as in JPEG: an EXIF chunk is as long as it needs.
		{"long", WebPOptions{Quality: 80}, strings.Repeat("a long prompt, ", 5000)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			src := testImage()
			if err := EncodeWebP(&buf, src, c.opt, c.text); err != nil {
				t.Fatal(err)
			}
			img, err := xwebp.Decode(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("x/image/webp rejects the file: %v", err)
			}
			if b := img.Bounds(); b.Dx() != 16 || b.Dy() != 8 {
				t.Fatalf("size %dx%d, want 16x8", b.Dx(), b.Dy())
			}
			if d := maxPixelDiff(src, img); c.opt.Lossless && d != 0 || d > 40 {
				t.Errorf("pixels differ by up to %d (lossless %v)", d, c.opt.Lossless)
			}
			got, err := ReadInfotext(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.text {
				t.Fatalf("infotext round trip: got %d chars, want %d (%.40q...)", len(got), len(c.text), got)
			}
		})
	}
}

// maxPixelDiff is the largest difference of an RGB channel (8-bit).
func maxPixelDiff(a, b image.Image) int {
	d := 0
	for y := 0; y < a.Bounds().Dy(); y++ {
		for x := 0; x < a.Bounds().Dx(); x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			for _, p := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}} {
				d = max(d, abs(int(p[0]>>8)-int(p[1]>>8)))
			}
		}
	}
	return d
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// TestEncodeWebPLayout checks the chunks piexif.insert would leave: VP8X
// first with the EXIF flag and the canvas size, the bitstream, then EXIF
// holding the same TIFF data as a JPEG's Exif segment (no "Exif\0\0").
func TestEncodeWebPLayout(t *testing.T) {
	for _, lossless := range []bool{false, true} {
		var buf bytes.Buffer
		if err := EncodeWebP(&buf, testImage(), WebPOptions{Lossless: lossless}, "a cat"); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if got := binary.LittleEndian.Uint32(data[4:]); int(got) != len(data)-8 {
			t.Errorf("RIFF size %d, file %d", got, len(data))
		}
		chunks, err := splitWebP(data)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range chunks {
			ids = append(ids, c.id)
		}
		want := "VP8X|VP8 |EXIF"
		if lossless {
			want = "VP8X|VP8L|EXIF"
		}
		if got := strings.Join(ids, "|"); got != want {
			t.Fatalf("lossless %v: chunks %q, want %q", lossless, got, want)
		}
		x := chunks[0].body
		if x[0] != vp8xEXIF {
			t.Errorf("VP8X flags %#x, want only EXIF %#x", x[0], vp8xEXIF)
		}
		if w, h := uint32(x[4])|uint32(x[5])<<8|uint32(x[6])<<16, uint32(x[7])|uint32(x[8])<<8|uint32(x[9])<<16; w != 15 || h != 7 {
			t.Errorf("canvas %dx%d (minus one), want 15x7", w, h)
		}
		if !bytes.Equal(chunks[2].body, exifTIFF("a cat")) {
			t.Error("EXIF chunk is not the JPEG's TIFF data")
		}
	}
}

// TestReadWebPInfotextVariants reads EXIF chunks as other writers leave
// them: with an "Exif\0\0" header, odd-sized (padded), and none at all.
func TestReadWebPInfotextVariants(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeWebP(&buf, testImage(), WebPOptions{}, ""); err != nil {
		t.Fatal(err)
	}
	plain, err := splitWebP(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	odd := exifTIFF("ab")
	odd = append(odd[:len(odd):len(odd)], 0) // 1 byte more: odd length, trailing NUL dropped on read
	cases := []struct {
		name string
		exif []byte
		want string
	}{
		{"header", append([]byte("Exif\x00\x00"), exifTIFF("a cat")...), "a cat"},
		{"odd length", odd, "ab"},
		{"none", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chunks := append([]riffChunk(nil), plain...)
			if c.exif != nil {
				chunks = append(chunks, riffChunk{"EXIF", c.exif}, riffChunk{"XMP ", []byte("<x/>")})
			}
			got, err := ReadInfotext(bytes.NewReader(joinWebP(chunks)))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
	data := buf.Bytes()
	if _, err := ReadInfotext(bytes.NewReader(data[:len(data)-3])); err == nil {
		t.Error("truncated WebP accepted")
	}
}

func TestWriteWebP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.webp")
	if err := WriteWebP(path, testImage(), WebPOptions{Quality: 95}, "a cat"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := ReadInfotext(f); err != nil || got != "a cat" {
		t.Fatalf("ReadInfotext = %q, %v", got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode().Perm(), err)
	}
}
