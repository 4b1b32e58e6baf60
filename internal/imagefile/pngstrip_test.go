package imagefile

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"testing"
)

// pattern names how a test image's pixels are made.
type pattern int

const (
	random   pattern = iota // uniform noise: incompressible, every filter loses
	gradient                // smooth ramps: Sub/Up/Paeth rows, long matches
	photo                   // smooth waves plus mild noise, compresses like SD output
)

func (p pattern) String() string { return [...]string{"random", "gradient", "photo"}[p] }

// patternImage is a w x h image of pattern p, seeded for repeatability;
// opaque false gives it varying alpha.
func patternImage(w, h int, p pattern, opaque bool) *image.NRGBA {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)*31+uint64(p)))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			var c [4]uint8
			for ch := range c {
				switch p {
				case random:
					c[ch] = uint8(rng.Uint32())
				case gradient:
					c[ch] = uint8((x*(ch+1) + y*(3-ch)) * 255 / max(1, w+h))
				case photo:
					fx, fy := float64(x)/float64(w), float64(y)/float64(h)
					v := 128 + 90*math.Sin(6*fx+3*fy+float64(ch)) + 25*math.Cos(17*fy*fx+float64(ch)) + rng.NormFloat64()*2.5
					c[ch] = uint8(min(max(v, 0), 255))
				}
			}
			if opaque {
				c[3] = 255
			}
			img.SetNRGBA(x, y, color.NRGBA{c[0], c[1], c[2], c[3]})
		}
	}
	return img
}

// pngChunk is one chunk of a PNG file.
type pngChunk struct {
	typ  string
	body []byte
}

// splitChunks parses a PNG file into its chunks, checking each CRC.
func splitChunks(t *testing.T, data []byte) []pngChunk {
	t.Helper()
	if !bytes.HasPrefix(data, pngSignature) {
		t.Fatal("no PNG signature")
	}
	var out []pngChunk
	for p := len(pngSignature); p < len(data); {
		if p+12 > len(data) {
			t.Fatalf("truncated chunk at %d", p)
		}
		n := int(binary.BigEndian.Uint32(data[p:]))
		end := p + 12 + n
		if end > len(data) {
			t.Fatalf("chunk at %d runs past the end", p)
		}
		c := pngChunk{typ: string(data[p+4 : p+8]), body: data[p+8 : p+8+n]}
		if got, want := binary.BigEndian.Uint32(data[end-4:]), crc32.ChecksumIEEE(data[p+4:end-4]); got != want {
			t.Fatalf("%s chunk: crc %08x, want %08x", c.typ, got, want)
		}
		out = append(out, c)
		p = end
	}
	return out
}

// inflateIDAT joins the IDAT chunks and inflates them with compress/zlib,
// which checks the Adler-32 trailer when it reaches the end.
func inflateIDAT(chunks []pngChunk) ([]byte, error) {
	var z []byte
	for _, c := range chunks {
		if c.typ == "IDAT" {
			z = append(z, c.body...)
		}
	}
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// sameNRGBA reports the first pixel where got differs from want.
func sameNRGBA(got image.Image, want *image.NRGBA) error {
	if got.Bounds().Size() != want.Bounds().Size() {
		return fmt.Errorf("size %v, want %v", got.Bounds().Size(), want.Bounds().Size())
	}
	g0, w0 := got.Bounds().Min, want.Bounds().Min
	for y := range want.Bounds().Dy() {
		for x := range want.Bounds().Dx() {
			g := color.NRGBAModel.Convert(got.At(g0.X+x, g0.Y+y)).(color.NRGBA)
			if w := want.NRGBAAt(w0.X+x, w0.Y+y); g != w {
				return fmt.Errorf("pixel (%d,%d) = %v, want %v", x, y, g, w)
			}
		}
	}
	return nil
}

// TestEncodeNRGBARoundTrip checks the strip encoder's files decode with
// image/png to exactly the source pixels, carry the parameters text right
// after IHDR, hold a zlib stream compress/zlib accepts (Adler-32 included)
// with the same filtered rows image/png writes, and do not depend on how
// many strips run at once.
func TestEncodeNRGBARoundTrip(t *testing.T) {
	sub := patternImage(70, 90, photo, true).SubImage(image.Rect(5, 7, 60, 80)).(*image.NRGBA)
	tests := []struct {
		name string
		img  *image.NRGBA
		text string
	}{
		{"1x1", patternImage(1, 1, random, true), "a cat\nSteps: 20, Seed: 1"},
		{"3x1", patternImage(3, 1, gradient, false), ""},
		{"1x7", patternImage(1, 7, random, false), "café\nSteps: 4"},
		{"17x33 random", patternImage(17, 33, random, true), "x"},
		{"17x33 gradient alpha", patternImage(17, 33, gradient, false), "ünïcode ✓ — 猫\nSteps: 4"},
		{"8x20 one strip many workers", patternImage(8, 20, photo, true), "y"},
		{"513x257 photo", patternImage(513, 257, photo, true), "a dog\nSeed: 3"},
		{"513x257 random alpha", patternImage(513, 257, random, false), "ÿ\u00a0Latin-1 only"},
		{"512x512 photo", patternImage(512, 512, photo, true), "an astronaut riding a horse\nSteps: 20, Sampler: Euler a"},
		{"512x512 gradient alpha", patternImage(512, 512, gradient, false), "日本語のプロンプト"},
		{"512x512 random", patternImage(512, 512, random, true), ""},
		{"sub-image", sub, "crop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := encodeNRGBA(tt.img, tt.text, 4)
			if err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{1, 3, 64} {
				other, err := encodeNRGBA(tt.img, tt.text, workers)
				if err != nil || !bytes.Equal(other, data) {
					t.Fatalf("%d workers give other bytes than 4 (err %v)", workers, err)
				}
			}

			dec, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("image/png: %v", err)
			}
			if err := sameNRGBA(dec, tt.img); err != nil {
				t.Fatal(err)
			}
			got, err := ReadParameters(bytes.NewReader(data))
			if err != nil || got != tt.text {
				t.Fatalf("ReadParameters = %q, %v; want %q", got, err, tt.text)
			}

			chunks := splitChunks(t, data)
			var types []string
			for _, c := range chunks {
				if len(types) == 0 || types[len(types)-1] != c.typ {
					types = append(types, c.typ)
				}
			}
			wantText := map[bool]string{true: "tEXt", false: "iTXt"}[isLatin1(tt.text)]
			want := fmt.Sprint([]string{"IHDR", wantText, "IDAT", "IEND"})
			if tt.text == "" {
				want = fmt.Sprint([]string{"IHDR", "IDAT", "IEND"})
			}
			if fmt.Sprint(types) != want {
				t.Fatalf("chunk order %v, want %v", types, want)
			}
			colorType := chunks[0].body[9]
			if wantCT := map[bool]byte{true: 2, false: 6}[tt.img.Opaque()]; colorType != wantCT {
				t.Fatalf("colour type %d, want %d", colorType, wantCT)
			}

			raw, err := inflateIDAT(chunks)
			if err != nil {
				t.Fatalf("compress/zlib: %v", err)
			}
			// image/png picks filters by the same rule, so the inflated rows
			// must be byte for byte the ones it writes.
			var ref bytes.Buffer
			if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&ref, tt.img); err != nil {
				t.Fatal(err)
			}
			refRaw, err := inflateIDAT(splitChunks(t, ref.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, refRaw) {
				t.Fatalf("filtered rows differ from image/png's (%d and %d bytes)", len(raw), len(refRaw))
			}
		})
	}
}

// TestCorruptIDATIsCaught makes sure the round trip checks above would see
// a wrong Adler-32 or a strip whose deflate data is cut short (as it is
// without its Flush): both must fail to decode.
func TestCorruptIDATIsCaught(t *testing.T) {
	img := patternImage(512, 192, photo, true) // 6 strips of 32 rows
	data, err := encodeNRGBA(img, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	chunks := splitChunks(t, data)
	var idats []int
	for i, c := range chunks {
		if c.typ == "IDAT" {
			idats = append(idats, i)
		}
	}
	if len(idats) < 3 {
		t.Fatalf("%d IDAT chunks, want one per strip (6)", len(idats))
	}
	clone := func() []pngChunk {
		cs := make([]pngChunk, len(chunks))
		for i, c := range chunks {
			cs[i] = pngChunk{c.typ, bytes.Clone(c.body)}
		}
		return cs
	}
	badAdler := clone()
	last := badAdler[idats[len(idats)-1]].body
	last[len(last)-1] ^= 1
	if _, err := inflateIDAT(badAdler); err == nil {
		t.Error("a wrong Adler-32 decodes")
	}
	short := clone()
	mid := &short[idats[1]]
	if len(mid.body) < 6 {
		t.Fatalf("strip 1 holds %d bytes", len(mid.body))
	}
	mid.body = mid.body[:len(mid.body)-5] // drop the sync marker and a byte
	if _, err := inflateIDAT(short); err == nil {
		t.Error("a strip cut short decodes")
	}
}

func TestStripStarts(t *testing.T) {
	tests := []struct {
		h, rowBytes, want int
	}{
		{1, 4, 1},
		{31, 1537, 1},
		{32, 1537, 1}, // 32 rows per strip at 48 KiB
		{63, 1537, 1},
		{64, 1537, 2},
		{512, 1 + 512*3, 16},
		{1024, 1 + 1024*3, 64},
		{100, 1 + 2048*4, 6}, // wide rows: still at least 16 rows each
		{100, 1 + 8*3, 1},    // narrow rows: 48 KiB is more than the image
		{512, 1 + 512*4, 21},
	}
	for _, tt := range tests {
		s := stripStarts(tt.h, tt.rowBytes)
		if len(s)-1 != tt.want || s[0] != 0 || s[len(s)-1] != tt.h {
			t.Errorf("stripStarts(%d, %d) = %v, want %d strips covering 0..%d", tt.h, tt.rowBytes, s, tt.want, tt.h)
			continue
		}
		for i := 1; i < len(s); i++ {
			if rows := s[i] - s[i-1]; rows < min(stripMinRows, tt.h) {
				t.Errorf("stripStarts(%d, %d): strip %d has %d rows", tt.h, tt.rowBytes, i-1, rows)
			}
		}
	}
}

func TestAdlerCombine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 300000)
	for i := range data {
		data[i] = uint8(rng.Uint32())
	}
	tests := []struct{ n1, n2 int }{{0, 0}, {0, 10}, {10, 0}, {1, 1}, {65521, 65521}, {100000, 200000}, {5, 65530}}
	for _, tt := range tests {
		a, b := data[:tt.n1], data[tt.n1:tt.n1+tt.n2]
		got := adlerCombine(adler32.Checksum(a), adler32.Checksum(b), len(b))
		if want := adler32.Checksum(data[:tt.n1+tt.n2]); got != want {
			t.Errorf("adlerCombine over %d+%d bytes = %08x, want %08x", tt.n1, tt.n2, got, want)
		}
	}
	ff := bytes.Repeat([]byte{0xff}, 70000) // sums near the modulus
	if got, want := adlerCombine(adler32.Checksum(ff), adler32.Checksum(ff), len(ff)), adler32.Checksum(append(ff, ff...)); got != want {
		t.Errorf("adlerCombine of 0xff runs = %08x, want %08x", got, want)
	}
}

// TestEncodePNGsStripsMatchAlone checks a batch, whose images get fewer
// workers each, gives the bytes each image gives alone, and that EncodePNG
// keeps using image/png for other image types.
func TestEncodePNGsStripsMatchAlone(t *testing.T) {
	imgs := []image.Image{patternImage(300, 200, photo, true), patternImage(96, 250, gradient, false), patternImage(64, 64, random, true)}
	texts := []string{"a", "b", "ç"}
	got, err := EncodePNGs(imgs, texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range imgs {
		var buf bytes.Buffer
		if err := EncodePNG(&buf, img, texts[i]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[i], buf.Bytes()) {
			t.Errorf("image %d: batch bytes differ from EncodePNG's", i)
		}
	}

	gray := image.NewGray(image.Rect(0, 0, 5, 3))
	gray.Pix[4] = 200
	var buf bytes.Buffer
	if err := EncodePNG(&buf, gray, "g"); err != nil {
		t.Fatal(err)
	}
	dec, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := dec.(*image.Gray); !ok || dec.(*image.Gray).Pix[4] != 200 {
		t.Errorf("a gray image comes back as %T", dec)
	}
	if txt, _ := ReadParameters(bytes.NewReader(buf.Bytes())); txt != "g" {
		t.Errorf("gray image parameters %q", txt)
	}
	if err := EncodePNG(io.Discard, image.NewNRGBA(image.Rect(0, 0, 0, 4)), ""); err == nil {
		t.Error("a 0x4 image encodes")
	}
}

// BenchmarkEncodePNG compares image/png at BestSpeed (what EncodePNG used
// before) with the strip encoder on one SD-like image, and reports the
// file size. Run with -cpu 1,2,... to see the strips scale.
func BenchmarkEncodePNG(b *testing.B) {
	for _, size := range []int{512, 1024} {
		img := patternImage(size, size, photo, true)
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			b.Run("imagepng", func(b *testing.B) {
				var n int
				for b.Loop() {
					var buf bytes.Buffer
					if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
						b.Fatal(err)
					}
					n = buf.Len()
				}
				b.ReportMetric(float64(n), "bytes/img")
			})
			b.Run("strips", func(b *testing.B) {
				var n int
				for b.Loop() {
					var buf bytes.Buffer
					if err := EncodePNG(&buf, img, ""); err != nil {
						b.Fatal(err)
					}
					n = buf.Len()
				}
				b.ReportMetric(float64(n), "bytes/img")
			})
		})
	}
}
