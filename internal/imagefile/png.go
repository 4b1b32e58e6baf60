package imagefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// ParametersKey is the PNG text keyword webui stores its infotext under.
const ParametersKey = "parameters"

// FromCHW converts a decoded image [3, H, W] with values about [-1, 1] to
// 8-bit RGB exactly as webui does: clamp((x+1)/2, 0, 1) * 255, truncated.
func FromCHW(v []float32, h, w int) (*image.NRGBA, error) {
	if len(v) != 3*h*w {
		return nil, fmt.Errorf("imagefile: %d values for a 3x%dx%d image", len(v), h, w)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := img.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				f := (v[c*h*w+y*w+x] + 1) / 2
				f = min(max(f, 0), 1)
				img.Pix[o+c] = uint8(f * 255)
			}
			img.Pix[o+3] = 255
		}
	}
	return img, nil
}

// EncodePNG writes img as PNG with a tEXt chunk "parameters" holding text
// (omitted when text is empty). Non-Latin-1 text goes into an iTXt chunk,
// as PIL does for webui. An *image.NRGBA (what FromCHW and Grid return) is
// filtered and compressed in strips on all cores (see encodeNRGBA); other
// image types go through image/png.
func EncodePNG(w io.Writer, img image.Image, text string) error {
	data, err := encodePNG(img, text, runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// encodePNG is EncodePNG into memory, running at most workers goroutines.
func encodePNG(img image.Image, text string, workers int) ([]byte, error) {
	if m, ok := img.(*image.NRGBA); ok {
		return encodeNRGBA(m, text, workers)
	}
	var buf bytes.Buffer
	// Fast compression: a 1024x1024 image takes ~4x less time than the
	// default level for files ~10% larger.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("imagefile: encode png: %w", err)
	}
	data := buf.Bytes()
	if text == "" {
		return data, nil
	}
	// signature (8) + IHDR chunk (4 len + 4 type + 13 data + 4 crc)
	const afterIHDR = 8 + 25
	if len(data) < afterIHDR || string(data[12:16]) != "IHDR" {
		return nil, errors.New("imagefile: encode png: unexpected PNG layout")
	}
	chunk := textChunk(text)
	out := make([]byte, 0, len(data)+len(chunk))
	out = append(out, data[:afterIHDR]...)
	out = append(out, chunk...)
	out = append(out, data[afterIHDR:]...)
	return out, nil
}

func isLatin1(s string) bool {
	for _, r := range s {
		if r > 0xff {
			return false
		}
	}
	return true
}

func latin1(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

// WritePNG writes img with its infotext to path atomically (a temporary
// file renamed into place), so an existing file is never left half written.
func WritePNG(path string, img image.Image, text string) error {
	var buf bytes.Buffer
	if err := EncodePNG(&buf, img, text); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// writeAtomic writes data to a temporary file in path's folder and renames
// it into place, so an existing file is never left half written.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sdgo-*"+filepath.Ext(path))
	if err != nil {
		return fmt.Errorf("imagefile: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("imagefile: write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes 0600; outputs are shared files
		tmp.Close()
		return fmt.Errorf("imagefile: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("imagefile: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("imagefile: write %s: %w", path, err)
	}
	return nil
}

// ReadParameters returns the "parameters" text of a PNG (tEXt or
// uncompressed iTXt), or "" when it has none.
func ReadParameters(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return "", err
	}
	if len(data) < 8 || string(data[1:4]) != "PNG" {
		return "", errors.New("imagefile: not a PNG file")
	}
	for p := 8; p+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		if n < 0 || p+12+n > len(data) {
			return "", errors.New("imagefile: truncated PNG chunk")
		}
		typ, body := string(data[p+4:p+8]), data[p+8:p+8+n]
		switch typ {
		case "tEXt":
			if k, v, ok := bytes.Cut(body, []byte{0}); ok && string(k) == ParametersKey {
				r := make([]rune, len(v))
				for i, b := range v {
					r[i] = rune(b)
				}
				return string(r), nil
			}
		case "iTXt":
			if k, rest, ok := bytes.Cut(body, []byte{0}); ok && string(k) == ParametersKey && len(rest) >= 2 && rest[0] == 0 {
				parts := bytes.SplitN(rest[2:], []byte{0}, 3)
				if len(parts) == 3 {
					return string(parts[2]), nil
				}
			}
		case "IEND":
			return "", nil
		}
		p += 12 + n
	}
	return "", nil
}

// EncodePNGs encodes several images (EncodePNG with texts[i] for imgs[i])
// at once on every core: a batch of 8 SD images took 254 ms one
// after another on a GPU host, longer than its VAE decode. The result keeps
// the order of imgs.
func EncodePNGs(imgs []image.Image, texts []string) ([][]byte, error) {
	if len(texts) != len(imgs) {
		return nil, fmt.Errorf("imagefile: encode png: %d images and %d texts", len(imgs), len(texts))
	}
	out := make([][]byte, len(imgs))
	errs := make([]error, len(imgs))
	next := make(chan int, len(imgs))
	for i := range imgs {
		next <- i
	}
	close(next)
	// One goroutine per image up to the core count, and each image's strips
	// share the cores left: a single image uses them all, a batch of at
	// least GOMAXPROCS images encodes each on one.
	procs := runtime.GOMAXPROCS(0)
	workers := max(1, procs/max(1, len(imgs)))
	var wg sync.WaitGroup
	for range min(procs, len(imgs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = encodePNG(imgs[i], texts[i], workers)
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
