package imagefile

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"image"
	"sync"
	"sync/atomic"
)

// The parallel PNG encoder for *image.NRGBA (what FromCHW and Grid make).
//
// The rows are cut into horizontal strips. Each strip is filtered and
// deflated on its own goroutine with its own flate.Writer at BestSpeed
// (pigz's scheme): every strip but the last ends with Flush, a sync point
// that leaves the deflate stream byte-aligned with no final block, so the
// strips' outputs concatenate into one valid deflate stream; the last
// strip ends with Close, whose final block ends the stream. Row filters of
// a strip's first row see the previous strip's last row, as one sequential
// encoder would. The zlib trailer is the Adler-32 of all filtered bytes,
// combined from the strips' checksums. Each strip's deflate bytes become
// one IDAT chunk (the first also carries the zlib header, the last the
// Adler-32).
//
// The strips depend only on the image's size, not on the number of cores,
// so the same image gives the same bytes on every machine and whether it is
// encoded alone or in a batch; only how many strips run at once changes.

// Strip sizing. BestSpeed deflates 64 KiB blocks and restarts its match
// history at every strip, so strips much smaller than a block cost file
// size; 48 KiB strips give a 512x512 RGB image 16 strips of 32 rows (a
// 16-core host's worth), and files within about 1% of image/png's
// (measured: -0.5% and +0.9% on two photographs, -3.5% on the benchmark's
// SD-like image).
const (
	stripTargetBytes = 48 << 10
	stripMinRows     = 16
)

// PNG row filter types.
const (
	ftNone = iota
	ftSub
	ftUp
	ftAverage
	ftPaeth
	nFilter
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// zlibHeader is the two-byte zlib header compress/zlib writes at
// BestSpeed: deflate with a 32 KiB window, fastest-level hint, no
// dictionary.
var zlibHeader = []byte{0x78, 0x01}

// stripStarts returns the first row of each strip of an image h rows high
// whose filtered rows are rowBytes long (filter byte included), ending with
// h itself.
func stripStarts(h, rowBytes int) []int {
	rows := max(stripMinRows, (stripTargetBytes+rowBytes-1)/rowBytes)
	n := max(1, h/rows) // the last strip takes the remainder: never a small one
	starts := make([]int, n+1)
	for i := range n {
		starts[i] = i * h / n
	}
	starts[n] = h
	return starts
}

// stripOut is one strip's compressed result.
type stripOut struct {
	buf   *bytes.Buffer // holds data; back to stripBufs once assembled
	data  []byte        // deflate bytes, ending in a sync flush or the final block
	adler uint32        // Adler-32 of the strip's filtered bytes
	n     int           // number of filtered bytes
	err   error
}

// stripState is one goroutine's reusable scratch: the flate writer (about
// 300 KiB, too costly to allocate per strip) and the row buffers.
type stripState struct {
	fw   *flate.Writer
	prev []byte          // raw previous row (packed RGB or RGBA)
	cur  []byte          // raw current row
	filt [nFilter][]byte // filter byte + the row filtered each way
}

var stripStates = sync.Pool{New: func() any {
	fw, err := flate.NewWriter(nil, flate.BestSpeed)
	if err != nil {
		panic(err) // BestSpeed is a valid level
	}
	return &stripState{fw: fw}
}}

// stripBufs recycles the strips' output buffers between images.
var stripBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// rowBuf returns b resized to n bytes, reusing its storage when it can.
func rowBuf(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// encodeNRGBA encodes img as an 8-bit RGB PNG (every alpha 255) or RGBA PNG,
// with the parameters chunk for text after IHDR (none when text is empty),
// running at most workers strips at once.
func encodeNRGBA(img *image.NRGBA, text string, workers int) ([]byte, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || int64(w) >= 1<<31 || int64(h) >= 1<<31 {
		return nil, fmt.Errorf("imagefile: encode png: invalid image size %dx%d", w, h)
	}
	bpp, colorType := 3, byte(2)
	if !img.Opaque() {
		bpp, colorType = 4, 6
	}
	starts := stripStarts(h, 1+w*bpp)
	outs := make([]stripOut, len(starts)-1)
	encode := func(i int) {
		outs[i] = encodeStrip(img, bpp, starts[i], starts[i+1], i == len(outs)-1)
	}
	if workers = min(workers, len(outs)); workers <= 1 {
		for i := range outs {
			encode(i)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < len(outs); i = int(next.Add(1) - 1) {
					encode(i)
				}
			}()
		}
		wg.Wait()
	}
	for _, o := range outs {
		if o.err != nil {
			return nil, fmt.Errorf("imagefile: encode png: %w", o.err)
		}
	}
	file := assemblePNG(w, h, colorType, textChunk(text), outs)
	for _, o := range outs {
		o.buf.Reset()
		stripBufs.Put(o.buf)
	}
	return file, nil
}

// encodeStrip filters and deflates rows [y0, y1) of img.
func encodeStrip(img *image.NRGBA, bpp, y0, y1 int, last bool) stripOut {
	st := stripStates.Get().(*stripState)
	defer stripStates.Put(st)
	w := img.Rect.Dx()
	n := w * bpp
	st.prev, st.cur = rowBuf(st.prev, n), rowBuf(st.cur, n)
	for f := range st.filt {
		st.filt[f] = rowBuf(st.filt[f], 1+n)
		st.filt[f][0] = byte(f)
	}
	buf := stripBufs.Get().(*bytes.Buffer)
	st.fw.Reset(buf)
	sum := adler32.New()
	clear(st.prev) // the row above the image is zeros
	if y0 > 0 {
		packRow(st.prev, img, y0-1, bpp)
	}
	for y := y0; y < y1; y++ {
		packRow(st.cur, img, y, bpp)
		row := st.filt[filterRow(&st.filt, st.cur, st.prev, bpp)]
		sum.Write(row)
		if _, err := st.fw.Write(row); err != nil {
			return stripOut{err: err}
		}
		st.prev, st.cur = st.cur, st.prev
	}
	var err error
	if last {
		err = st.fw.Close()
	} else {
		err = st.fw.Flush()
	}
	return stripOut{buf: buf, data: buf.Bytes(), adler: sum.Sum32(), n: (y1 - y0) * (1 + n), err: err}
}

// packRow copies row y of img into dst as RGB (bpp 3) or RGBA (bpp 4).
func packRow(dst []byte, img *image.NRGBA, y, bpp int) {
	o := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
	src := img.Pix[o : o+4*img.Rect.Dx()]
	if bpp == 4 {
		copy(dst, src)
		return
	}
	for i, j := 0, 0; i+3 < len(src); i, j = i+4, j+3 {
		d := dst[j : j+3 : j+3]
		d[0], d[1], d[2] = src[i], src[i+1], src[i+2]
	}
}

// adlerMod is the Adler-32 modulus, the largest prime below 2^16.
const adlerMod = 65521

// adlerCombine returns the Adler-32 of the concatenation of a block with
// checksum a1 and a block of n2 bytes with checksum a2. With s = 1 + the sum
// of the bytes so far and t = the sum of the s after each byte: s adds the
// second block's byte sum (s2 - 1), and t adds t2 plus, for each of the n2
// bytes, the first block's byte sum (s1 - 1).
func adlerCombine(a1, a2 uint32, n2 int) uint32 {
	s1, t1 := uint64(a1&0xffff), uint64(a1>>16)
	s2, t2 := uint64(a2&0xffff), uint64(a2>>16)
	s := (s1 + s2 + adlerMod - 1) % adlerMod
	t := (t1 + t2 + uint64(n2%adlerMod)*((s1+adlerMod-1)%adlerMod)) % adlerMod
	return uint32(t<<16 | s)
}

// textChunk returns the parameters chunk for text: tEXt when text is
// Latin-1, else an uncompressed iTXt (as PIL writes it for webui); nil for
// empty text.
func textChunk(text string) []byte {
	switch {
	case text == "":
		return nil
	case isLatin1(text):
		return appendChunk(nil, "tEXt", append([]byte(ParametersKey+"\x00"), latin1(text)...))
	}
	// keyword, null, compression flag 0, method 0, empty language, null,
	// empty translated keyword, null, UTF-8 text
	return appendChunk(nil, "iTXt", append([]byte(ParametersKey+"\x00\x00\x00\x00\x00"), text...))
}

// assemblePNG lays out signature, IHDR, the text chunk, one IDAT per strip
// and IEND.
func assemblePNG(w, h int, colorType byte, text []byte, outs []stripOut) []byte {
	size := len(pngSignature) + 25 + len(text) + len(zlibHeader) + 4 + 12
	adler, total := uint32(1), 0
	for _, o := range outs {
		size += 12 + len(o.data)
		adler = adlerCombine(adler, o.adler, o.n)
		total += o.n
	}
	out := make([]byte, 0, size)
	out = append(out, pngSignature...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, colorType // bit depth; compression, filter, interlace methods 0
	out = appendChunk(out, "IHDR", ihdr[:])
	out = append(out, text...)
	for i, o := range outs {
		start := len(out)
		out = binary.BigEndian.AppendUint32(out, 0) // length, set below
		out = append(out, "IDAT"...)
		if i == 0 {
			out = append(out, zlibHeader...)
		}
		out = append(out, o.data...)
		if i == len(outs)-1 {
			out = binary.BigEndian.AppendUint32(out, adler)
		}
		binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-8))
		out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start+4:]))
	}
	return appendChunk(out, "IEND", nil)
}

// appendChunk appends a PNG chunk of type typ holding body to out.
func appendChunk(out []byte, typ string, body []byte) []byte {
	start := len(out)
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	out = append(out, typ...)
	out = append(out, body...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start+4:]))
}
