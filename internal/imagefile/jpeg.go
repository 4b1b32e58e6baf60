package imagefile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"unicode/utf16"
)

// Exif tags used to carry the infotext in a JPEG, as webui (through
// piexif) writes it.
const (
	tagExifIFD     = 0x8769 // IFD0: offset of the Exif IFD
	tagUserComment = 0x9286 // Exif IFD: UserComment (type UNDEFINED)
)

// Character-code prefixes of the Exif UserComment value.
var (
	ucUnicode   = []byte("UNICODE\x00")
	ucASCII     = []byte("ASCII\x00\x00\x00")
	ucUndefined = make([]byte, 8)
)

// maxAPP1 is the most bytes a JPEG segment's payload can hold (its 16-bit
// length counts itself).
const maxAPP1 = 0xffff - 2

// EncodeJPEG writes img as a baseline JPEG of the given quality (1..100)
// and, when text is not empty, an APP1 Exif segment right after SOI holding
// text in the Exif UserComment tag as webui writes it: a big-endian ("MM")
// TIFF header, the prefix "UNICODE\0", then the text in UTF-16BE. Text too
// long for one segment (about 32,700 UTF-16 units) is an error.
func EncodeJPEG(w io.Writer, img image.Image, quality int, text string) error {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return fmt.Errorf("imagefile: encode jpeg: %w", err)
	}
	data := buf.Bytes()
	if text == "" {
		_, err := w.Write(data)
		return err
	}
	if len(data) < 2 || data[0] != 0xff || data[1] != 0xd8 {
		return fmt.Errorf("imagefile: encode jpeg: unexpected JPEG layout")
	}
	seg, err := exifSegment(text)
	if err != nil {
		return err
	}
	out := make([]byte, 0, len(data)+len(seg))
	out = append(out, data[:2]...)
	out = append(out, seg...)
	out = append(out, data[2:]...)
	_, err = w.Write(out)
	return err
}

// WriteJPEG writes img as JPEG with its infotext to path atomically (a
// temporary file renamed into place), as WritePNG does.
func WriteJPEG(path string, img image.Image, quality int, text string) error {
	var buf bytes.Buffer
	if err := EncodeJPEG(&buf, img, quality, text); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// exifSegment builds the whole APP1 segment (marker, length, "Exif\0\0",
// TIFF data) holding text as exifTIFF writes it.
func exifSegment(text string) ([]byte, error) {
	payload := append([]byte("Exif\x00\x00"), exifTIFF(text)...)
	if len(payload) > maxAPP1 {
		return nil, fmt.Errorf("imagefile: encode jpeg: infotext of %d characters is too long for a JPEG Exif segment", len([]rune(text)))
	}
	seg := []byte{0xff, 0xe1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	return append(seg, payload...), nil
}

// exifTIFF is the Exif data piexif.dump writes for webui's infotext, without
// the "Exif\0\0" header: a big-endian TIFF header, IFD0 pointing to an
// Exif IFD holding only UserComment = "UNICODE\0" + text in UTF-16BE.
func exifTIFF(text string) []byte {
	comment := append([]byte(nil), ucUnicode...)
	for _, u := range utf16.Encode([]rune(text)) {
		comment = binary.BigEndian.AppendUint16(comment, u)
	}
	be := binary.BigEndian
	// TIFF header (8) | IFD0 at 8: count, 1 entry, next | Exif IFD at 26: count, 1 entry, next | value at 44
	const ifd0, exifIFD, value = 8, 8 + 2 + 12 + 4, 8 + 2 + 12 + 4 + 2 + 12 + 4
	tiff := []byte("MM\x00\x2a")
	tiff = be.AppendUint32(tiff, ifd0)
	tiff = be.AppendUint16(tiff, 1)
	tiff = appendEntry(tiff, be, tagExifIFD, 4, 1, exifIFD)
	tiff = be.AppendUint32(tiff, 0)
	tiff = be.AppendUint16(tiff, 1)
	tiff = appendEntry(tiff, be, tagUserComment, 7, uint32(len(comment)), value)
	tiff = be.AppendUint32(tiff, 0)
	return append(tiff, comment...)
}

func appendEntry(b []byte, bo binary.AppendByteOrder, tag, typ uint16, count, value uint32) []byte {
	b = bo.AppendUint16(b, tag)
	b = bo.AppendUint16(b, typ)
	b = bo.AppendUint32(b, count)
	return bo.AppendUint32(b, value)
}

// readJPEGInfotext walks a JPEG's marker segments up to the scan data and
// returns the UserComment of the first Exif APP1 segment that has one, or
// "" when none does.
func readJPEGInfotext(data []byte) (string, error) {
	if len(data) < 2 || data[0] != 0xff || data[1] != 0xd8 {
		return "", fmt.Errorf("imagefile: not a JPEG file")
	}
	p := 2
	for {
		if p >= len(data) {
			return "", fmt.Errorf("imagefile: read jpeg: truncated before the image data")
		}
		if data[p] != 0xff {
			return "", fmt.Errorf("imagefile: read jpeg: bad marker at byte %d", p)
		}
		for p < len(data) && data[p] == 0xff { // fill bytes
			p++
		}
		if p >= len(data) {
			return "", fmt.Errorf("imagefile: read jpeg: truncated marker")
		}
		m := data[p]
		p++
		switch {
		case m == 0xda || m == 0xd9: // start of scan, end of image: no more metadata
			return "", nil
		case m == 0x01 || (m >= 0xd0 && m <= 0xd7): // no length
			continue
		}
		if p+2 > len(data) {
			return "", fmt.Errorf("imagefile: read jpeg: truncated segment length")
		}
		n := int(binary.BigEndian.Uint16(data[p:]))
		if n < 2 || p+n > len(data) {
			return "", fmt.Errorf("imagefile: read jpeg: truncated segment (marker %#x)", m)
		}
		body := data[p+2 : p+n]
		p += n
		if m == 0xe1 && bytes.HasPrefix(body, []byte("Exif\x00\x00")) {
			text, ok, err := exifUserComment(body[6:])
			if err != nil {
				return "", err
			}
			if ok {
				return text, nil
			}
		}
	}
}

// exifUserComment finds IFD0 → Exif IFD → UserComment in TIFF data of
// either byte order. ok is false when the tag is absent.
func exifUserComment(t []byte) (text string, ok bool, err error) {
	if len(t) < 8 {
		return "", false, fmt.Errorf("imagefile: read exif: truncated TIFF header")
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "MM":
		bo = binary.BigEndian
	case "II":
		bo = binary.LittleEndian
	default:
		return "", false, fmt.Errorf("imagefile: read exif: bad byte order %q", t[:2])
	}
	if bo.Uint16(t[2:]) != 42 {
		return "", false, fmt.Errorf("imagefile: read exif: bad TIFF magic")
	}
	typ, _, val, found, err := findTag(t, bo, bo.Uint32(t[4:]), tagExifIFD)
	if err != nil || !found {
		return "", false, err
	}
	if typ != 4 && typ != 13 { // LONG or IFD
		return "", false, fmt.Errorf("imagefile: read exif: Exif IFD pointer of type %d", typ)
	}
	typ, count, val, found, err := findTag(t, bo, bo.Uint32(val), tagUserComment)
	if err != nil || !found {
		return "", false, err
	}
	if typ != 7 && typ != 2 && typ != 1 { // UNDEFINED, ASCII, BYTE: one byte per item
		return "", false, fmt.Errorf("imagefile: read exif: UserComment of type %d", typ)
	}
	var raw []byte
	if count <= 4 {
		raw = val[:count]
	} else {
		off := uint64(bo.Uint32(val))
		if off+uint64(count) > uint64(len(t)) {
			return "", false, fmt.Errorf("imagefile: read exif: UserComment runs past the segment")
		}
		raw = t[off : off+uint64(count)]
	}
	return decodeUserComment(raw, bo), true, nil
}

// findTag looks tag up in the IFD at off and returns its type, count and
// 4-byte value field.
func findTag(t []byte, bo binary.ByteOrder, off uint32, tag uint16) (typ uint16, count uint32, val []byte, found bool, err error) {
	o := uint64(off)
	if o+2 > uint64(len(t)) {
		return 0, 0, nil, false, fmt.Errorf("imagefile: read exif: IFD offset %d past the segment", off)
	}
	n := uint64(bo.Uint16(t[o:]))
	if o+2+12*n > uint64(len(t)) {
		return 0, 0, nil, false, fmt.Errorf("imagefile: read exif: IFD at %d runs past the segment", off)
	}
	for i := uint64(0); i < n; i++ {
		e := t[o+2+12*i : o+2+12*i+12]
		if bo.Uint16(e) == tag {
			return bo.Uint16(e[2:]), bo.Uint32(e[4:]), e[8:12], true, nil
		}
	}
	return 0, 0, nil, false, nil
}

// decodeUserComment decodes a UserComment value: "UNICODE\0" + UTF-16 (in
// the order its byte-order mark gives, else the TIFF byte order),
// "ASCII\0\0\0" or eight zero bytes + text; anything else is read whole as
// UTF-8, as webui falls back to. Trailing NULs are dropped.
func decodeUserComment(raw []byte, bo binary.ByteOrder) string {
	if len(raw) >= 8 {
		prefix, body := raw[:8], raw[8:]
		switch {
		case bytes.Equal(prefix, ucUnicode):
			if len(body) >= 2 {
				switch {
				case body[0] == 0xfe && body[1] == 0xff:
					bo, body = binary.BigEndian, body[2:]
				case body[0] == 0xff && body[1] == 0xfe:
					bo, body = binary.LittleEndian, body[2:]
				}
			}
			u := make([]uint16, len(body)/2)
			for i := range u {
				u[i] = bo.Uint16(body[2*i:])
			}
			for len(u) > 0 && u[len(u)-1] == 0 {
				u = u[:len(u)-1]
			}
			return string(utf16.Decode(u))
		case bytes.Equal(prefix, ucASCII), bytes.Equal(prefix, ucUndefined):
			raw = body
		}
	}
	return string(bytes.ToValidUTF8(bytes.TrimRight(raw, "\x00"), nil))
}
