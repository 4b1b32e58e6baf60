package imagefile

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"
	"unicode/utf16"
)

func testImage() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 16, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 16; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 16), uint8(y * 32), 128, 255})
		}
	}
	return img
}

func TestEncodeJPEGRoundTrip(t *testing.T) {
	cases := []struct{ name, text string }{
		{"ascii", "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 16x8"},
		{"non-ascii", "猫, café ☕ 🐈\nSteps: 20, Seed: 1"},
		{"empty", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := EncodeJPEG(&buf, testImage(), 95, c.text); err != nil {
				t.Fatal(err)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("standard decoder rejects the file: %v", err)
			}
			if cfg.Width != 16 || cfg.Height != 8 {
				t.Fatalf("size %dx%d, want 16x8", cfg.Width, cfg.Height)
			}
			if _, err := jpeg.Decode(bytes.NewReader(buf.Bytes())); err != nil {
				t.Fatalf("decode: %v", err)
			}
			got, err := ReadInfotext(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.text {
				t.Fatalf("got %q, want %q", got, c.text)
			}
		})
	}
}

// TestEncodeJPEGLayout checks the bytes webui/piexif would write: APP1 right
// after SOI, "MM" TIFF header, "UNICODE\0" + UTF-16BE.
func TestEncodeJPEGLayout(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeJPEG(&buf, testImage(), 95, "hi é"); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	want := []byte{0xff, 0xd8, 0xff, 0xe1}
	if !bytes.Equal(b[:4], want) {
		t.Fatalf("start % x, want % x", b[:4], want)
	}
	if string(b[6:16]) != "Exif\x00\x00MM\x00\x2a" {
		t.Fatalf("header %q", b[6:16])
	}
	comment := []byte("UNICODE\x00\x00h\x00i\x00 \x00\xe9")
	if !bytes.Contains(b, comment) {
		t.Fatalf("UTF-16BE comment not found")
	}
}

func TestEncodeJPEGTooLong(t *testing.T) {
	if err := EncodeJPEG(&bytes.Buffer{}, testImage(), 95, strings.Repeat("x", 40000)); err == nil {
		t.Fatal("no error for a 40000-character infotext")
	}
}

// exifJPEG builds SOI + an APP1 Exif segment (byte order bo, UserComment
// raw) + a minimal SOS/EOI, by hand.
func exifJPEG(bo binary.ByteOrder, order string, raw []byte) []byte {
	ab := bo.(binary.AppendByteOrder)
	t := []byte(order)
	t = ab.AppendUint16(t, 42)
	t = ab.AppendUint32(t, 8)
	// IFD0 with an unrelated tag first, then the Exif pointer
	t = ab.AppendUint16(t, 2)
	t = appendEntry(t, ab, 0x0112, 3, 1, 0) // Orientation
	t = appendEntry(t, ab, tagExifIFD, 4, 1, 8+2+24+4)
	t = ab.AppendUint32(t, 0)
	// Exif IFD at 38
	valueAt := uint32(38 + 2 + 12 + 4)
	t = ab.AppendUint16(t, 1)
	v := valueAt
	if len(raw) <= 4 {
		v = 0
		var inl [4]byte
		copy(inl[:], raw)
		v = bo.Uint32(inl[:])
	}
	t = appendEntry(t, ab, tagUserComment, 7, uint32(len(raw)), v)
	t = ab.AppendUint32(t, 0)
	if len(raw) > 4 {
		t = append(t, raw...)
	}
	payload := append([]byte("Exif\x00\x00"), t...)
	out := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0} // an APP0 first
	out = append(out, 0xff, 0xe1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
	out = append(out, payload...)
	return append(out, 0xff, 0xda, 0, 2, 0xff, 0xd9)
}

func utf16Bytes(bo binary.AppendByteOrder, s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = bo.AppendUint16(b, u)
	}
	return b
}

func TestReadInfotextHandBuiltExif(t *testing.T) {
	text := "Steps: 20, Seed: 5 — ünïcode"
	cases := []struct {
		name  string
		bo    binary.ByteOrder
		order string
		raw   []byte
		want  string
	}{
		{"II unicode", binary.LittleEndian, "II", append([]byte("UNICODE\x00"), utf16Bytes(binary.LittleEndian, text)...), text},
		{"MM unicode", binary.BigEndian, "MM", append([]byte("UNICODE\x00"), utf16Bytes(binary.BigEndian, text)...), text},
		{"II unicode BOM BE", binary.LittleEndian, "II", append([]byte("UNICODE\x00\xfe\xff"), utf16Bytes(binary.BigEndian, text)...), text},
		{"II ascii", binary.LittleEndian, "II", []byte("ASCII\x00\x00\x00Steps: 20\x00\x00"), "Steps: 20"},
		{"MM ascii", binary.BigEndian, "MM", []byte("ASCII\x00\x00\x00Steps: 20"), "Steps: 20"},
		{"undefined prefix", binary.BigEndian, "MM", []byte("\x00\x00\x00\x00\x00\x00\x00\x00abc"), "abc"},
		{"no prefix, inline", binary.LittleEndian, "II", []byte("abc"), "abc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadInfotext(bytes.NewReader(exifJPEG(c.bo, c.order, c.raw)))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestReadInfotextNoExif(t *testing.T) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(), nil); err != nil {
		t.Fatal(err)
	}
	got, err := ReadInfotext(&buf)
	if err != nil || got != "" {
		t.Fatalf("got %q, %v; want \"\", nil", got, err)
	}
}

func TestReadInfotextBadInput(t *testing.T) {
	var good bytes.Buffer
	if err := EncodeJPEG(&good, testImage(), 95, "a cat"); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	badIFD := exifJPEG(binary.BigEndian, "MM", []byte("ASCII\x00\x00\x00long enough"))
	binary.BigEndian.PutUint32(badIFD[8+10+4:], 0xfffffff0) // IFD0 offset far past the end
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("hello, world, this is not an image")},
		{"soi only", []byte{0xff, 0xd8}},
		{"truncated in exif", g[:30]},
		{"truncated segment length", g[:5]},
		{"bad byte order", exifJPEG(binary.BigEndian, "XX", []byte("abcdefgh"))},
		{"ifd offset out of range", badIFD},
		{"png truncated", []byte("\x89PNG\r\n\x1a\n\x00\x00\x01\x00tEXtparameters\x00")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, err := ReadInfotext(bytes.NewReader(c.data)); err == nil {
				t.Fatalf("no error (got %q)", got)
			}
		})
	}
}

func FuzzReadInfotext(f *testing.F) {
	var buf bytes.Buffer
	if err := EncodeJPEG(&buf, testImage(), 50, "a cat, 猫"); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(exifJPEG(binary.LittleEndian, "II", []byte("UNICODE\x00a\x00b\x00")))
	f.Add(exifJPEG(binary.BigEndian, "MM", []byte("ab")))
	buf.Reset()
	if err := EncodePNG(&buf, testImage(), "a cat"); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	buf.Reset()
	if err := EncodeWebP(&buf, testImage(), WebPOptions{Lossless: true}, "a cat, 猫"); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ReadInfotext(bytes.NewReader(data)) // must not panic
	})
}
