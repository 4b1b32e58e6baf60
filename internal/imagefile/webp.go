package imagefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"

	"github.com/gen2brain/webp"
)

// WebPOptions are the encoder settings of a WebP file (webui's
// "jpeg_quality" and "webp_lossless" options).
type WebPOptions struct {
	// Quality is the lossy quality, 1..100 (0 = 80, webui's default).
	Quality int
	// Lossless encodes losslessly; Quality then only sets the effort.
	Lossless bool
}

// VP8X flags (WebP extended format).
const (
	vp8xAlpha = 0x10
	vp8xEXIF  = 0x08
)

// EncodeWebP writes img as WebP and, when text is not empty, an EXIF
// chunk holding text in the Exif UserComment exactly as in a JPEG (see
// EncodeJPEG), as webui writes it through piexif: the file is turned into
// the extended format (a VP8X chunk with the EXIF flag) and the EXIF chunk
// holds the TIFF data without an "Exif\0\0" header. The encoder is libwebp
// (a shared library when installed, else compiled to WebAssembly and run
// in-process), so this works without cgo.
func EncodeWebP(w io.Writer, img image.Image, o WebPOptions, text string) error {
	q := o.Quality
	if q <= 0 {
		q = 80
	}
	var buf bytes.Buffer
	if err := webp.Encode(&buf, img, webp.Options{Quality: q, Lossless: o.Lossless}); err != nil {
		return fmt.Errorf("imagefile: encode webp: %w", err)
	}
	data := buf.Bytes()
	if text != "" {
		var err error
		if data, err = addWebPEXIF(data, img.Bounds(), exifTIFF(text)); err != nil {
			return err
		}
	}
	_, err := w.Write(data)
	return err
}

// WriteWebP writes img as WebP with its infotext to path atomically, as
// WritePNG does.
func WriteWebP(path string, img image.Image, o WebPOptions, text string) error {
	var buf bytes.Buffer
	if err := EncodeWebP(&buf, img, o, text); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// riffChunk is one chunk of a RIFF file: its FourCC and payload (without
// the padding byte).
type riffChunk struct {
	id   string
	body []byte
}

// splitWebP returns the chunks of a RIFF WEBP file, bounds-checked.
func splitWebP(data []byte) ([]riffChunk, error) {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return nil, errors.New("imagefile: not a WebP file")
	}
	end := uint64(binary.LittleEndian.Uint32(data[4:])) + 8
	if end > uint64(len(data)) {
		return nil, errors.New("imagefile: read webp: truncated file")
	}
	var chunks []riffChunk
	for p := uint64(12); p < end; {
		if p+8 > end {
			return nil, errors.New("imagefile: read webp: truncated chunk header")
		}
		n := uint64(binary.LittleEndian.Uint32(data[p+4:]))
		if p+8+n > end {
			return nil, fmt.Errorf("imagefile: read webp: chunk %q runs past the file", data[p:p+4])
		}
		chunks = append(chunks, riffChunk{string(data[p : p+4]), data[p+8 : p+8+n]})
		p += 8 + n + n%2
	}
	return chunks, nil
}

// joinWebP writes chunks back into a RIFF WEBP file, padding odd payloads.
func joinWebP(chunks []riffChunk) []byte {
	out := []byte("RIFF\x00\x00\x00\x00WEBP")
	for _, c := range chunks {
		out = append(out, c.id...)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(c.body)))
		out = append(out, c.body...)
		if len(c.body)%2 == 1 {
			out = append(out, 0)
		}
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

// addWebPEXIF puts exif into data as an EXIF chunk (replacing one there),
// turning a simple-format file (one VP8 or VP8L chunk) into the extended
// format whose VP8X chunk flags it, as piexif.insert does.
func addWebPEXIF(data []byte, bounds image.Rectangle, exif []byte) ([]byte, error) {
	chunks, err := splitWebP(data)
	if err != nil {
		return nil, fmt.Errorf("imagefile: encode webp: %w", err)
	}
	if len(chunks) == 0 {
		return nil, errors.New("imagefile: encode webp: no image chunk")
	}
	kept := chunks[:0]
	for _, c := range chunks {
		if c.id != "EXIF" {
			kept = append(kept, c)
		}
	}
	chunks = kept
	if chunks[0].id != "VP8X" {
		var flags byte
		// A lossless bitstream says whether it uses alpha: bit 28 of the
		// 32 bits after its 0x2f signature.
		if c := chunks[0]; c.id == "VP8L" && len(c.body) >= 5 && binary.LittleEndian.Uint32(c.body[1:])&(1<<28) != 0 {
			flags |= vp8xAlpha
		}
		x := make([]byte, 10)
		x[0] = flags
		putUint24(x[4:], uint32(bounds.Dx()-1))
		putUint24(x[7:], uint32(bounds.Dy()-1))
		chunks = append([]riffChunk{{"VP8X", x}}, chunks...)
	} else if len(chunks[0].body) < 10 {
		return nil, errors.New("imagefile: encode webp: short VP8X chunk")
	}
	vp8x := append([]byte(nil), chunks[0].body...)
	vp8x[0] |= vp8xEXIF
	chunks[0].body = vp8x
	at := len(chunks) // EXIF goes after the image data and before XMP
	for i, c := range chunks {
		if c.id == "XMP " {
			at = i
			break
		}
	}
	chunks = append(chunks[:at], append([]riffChunk{{"EXIF", exif}}, chunks[at:]...)...)
	return joinWebP(chunks), nil
}

func putUint24(b []byte, v uint32) {
	b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16)
}

// readWebPInfotext returns the Exif UserComment of a WebP file's EXIF
// chunk (with or without an "Exif\0\0" header), or "" when it has none.
func readWebPInfotext(data []byte) (string, error) {
	chunks, err := splitWebP(data)
	if err != nil {
		return "", err
	}
	for _, c := range chunks {
		if c.id != "EXIF" {
			continue
		}
		text, ok, err := exifUserComment(bytes.TrimPrefix(c.body, []byte("Exif\x00\x00")))
		if err != nil || ok {
			return text, err
		}
	}
	return "", nil
}
