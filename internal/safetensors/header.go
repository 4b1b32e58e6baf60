package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// MaxHeaderSize bounds the JSON header (the reference implementation uses the
// same 100 MiB limit); a larger length field means a corrupt or hostile file.
const MaxHeaderSize = 100 << 20

// maxRank bounds the number of dimensions of one tensor.
const maxRank = 16

// ErrInvalid is wrapped by every error about a malformed file.
var ErrInvalid = errors.New("invalid safetensors file")

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	DType DType
	Shape []int
	// Begin and End are byte offsets into the data area (after the header).
	Begin, End int64
}

// NumElements returns the product of the shape (1 for a scalar).
func (ti TensorInfo) NumElements() int {
	n := 1
	for _, d := range ti.Shape {
		n *= d
	}
	return n
}

// Header is a parsed and validated safetensors header.
type Header struct {
	Tensors  map[string]TensorInfo
	Metadata map[string]string
	// DataOffset is where the data area starts in the file: 8 + header length.
	DataOffset int64
}

// rawEntry is one tensor entry as it appears in the JSON header.
type rawEntry struct {
	DType       *string        `json:"dtype"`
	Shape       *[]json.Number `json:"shape"`
	DataOffsets *[]json.Number `json:"data_offsets"`
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// ParseHeader parses and validates the start of a safetensors file. prefix
// must hold at least the 8-byte length and the JSON header; fileSize is the
// size of the whole file, used to check that every tensor lies inside it.
// Errors wrap ErrInvalid and say what is wrong.
func ParseHeader(prefix []byte, fileSize int64) (*Header, error) {
	if fileSize < 8 || len(prefix) < 8 {
		return nil, invalid("file is %d bytes, shorter than the 8-byte header length (not a safetensors file, or truncated)", fileSize)
	}
	if bytes.HasPrefix(prefix, []byte("PK\x03\x04")) {
		return nil, invalid("file starts with a zip signature: it is a PyTorch .ckpt/.pt archive, not safetensors (open it as a checkpoint instead)")
	}
	n := binary.LittleEndian.Uint64(prefix[:8])
	if n > MaxHeaderSize {
		return nil, invalid("header length %d exceeds the %d-byte limit (not a safetensors file, or corrupt)", n, MaxHeaderSize)
	}
	if int64(n) > fileSize-8 {
		return nil, invalid("header length %d runs past the end of the %d-byte file (truncated download?)", n, fileSize)
	}
	if uint64(len(prefix)) < 8+n {
		return nil, invalid("need %d header bytes, have %d", 8+n, len(prefix))
	}
	js := prefix[8 : 8+n]
	if len(js) == 0 || js[0] != '{' {
		return nil, invalid("header does not start with '{' (not a safetensors file)")
	}
	dataLen := fileSize - 8 - int64(n)
	h, err := parseJSON(js, dataLen)
	if err != nil {
		return nil, err
	}
	h.DataOffset = 8 + int64(n)
	return h, nil
}

func parseJSON(js []byte, dataLen int64) (*Header, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return nil, invalid("header JSON: %v", err)
	}
	if rest := js[dec.InputOffset():]; len(bytes.TrimRight(rest, " \t\r\n\x00")) != 0 {
		return nil, invalid("header has %d bytes of trailing data after the JSON object", len(rest))
	}
	h := &Header{Tensors: make(map[string]TensorInfo, len(top))}
	if raw, ok := top["__metadata__"]; ok {
		md, err := parseMetadata(raw)
		if err != nil {
			return nil, err
		}
		h.Metadata = md
		delete(top, "__metadata__")
	}
	type span struct {
		name       string
		begin, end int64
	}
	spans := make([]span, 0, len(top))
	names := make([]string, 0, len(top))
	for name := range top {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic errors
	for _, name := range names {
		raw := top[name]
		ti, err := parseEntry(raw, dataLen)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		h.Tensors[name] = ti
		if ti.End > ti.Begin {
			spans = append(spans, span{name, ti.Begin, ti.End})
		}
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].name < spans[j].name
	})
	for i := 1; i < len(spans); i++ {
		if spans[i].begin < spans[i-1].end {
			return nil, invalid("tensors %q [%d,%d) and %q [%d,%d) overlap",
				spans[i-1].name, spans[i-1].begin, spans[i-1].end, spans[i].name, spans[i].begin, spans[i].end)
		}
	}
	return h, nil
}

func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, invalid("__metadata__ is not a JSON object: %v", err)
	}
	md := make(map[string]string, len(m))
	for k, v := range m {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			md[k] = s
			continue
		}
		// Some writers store numbers or objects; keep their JSON text.
		md[k] = string(bytes.TrimSpace(v))
	}
	return md, nil
}

func parseEntry(raw json.RawMessage, dataLen int64) (TensorInfo, error) {
	var e rawEntry
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return TensorInfo{}, invalid("entry is not an object with dtype, shape and data_offsets: %v", err)
	}
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return TensorInfo{}, invalid("entry needs dtype, shape and data_offsets")
	}
	ti := TensorInfo{DType: DType(*e.DType)}
	if !ti.DType.Valid() {
		return TensorInfo{}, invalid("unknown dtype %q", *e.DType)
	}
	if len(*e.Shape) > maxRank {
		return TensorInfo{}, invalid("shape has %d dimensions, more than %d", len(*e.Shape), maxRank)
	}
	ti.Shape = make([]int, len(*e.Shape))
	nbytes := uint64(ti.DType.Size())
	for i, num := range *e.Shape {
		d, err := nonNegInt(num)
		if err != nil {
			return TensorInfo{}, invalid("shape[%d]: %v", i, err)
		}
		ti.Shape[i] = int(d)
		if d != 0 && nbytes > math.MaxInt64/d {
			return TensorInfo{}, invalid("shape %v is too large", *e.Shape)
		}
		nbytes *= d
	}
	if len(*e.DataOffsets) != 2 {
		return TensorInfo{}, invalid("data_offsets has %d values, want 2", len(*e.DataOffsets))
	}
	b, err := nonNegInt((*e.DataOffsets)[0])
	if err != nil {
		return TensorInfo{}, invalid("data_offsets[0]: %v", err)
	}
	en, err := nonNegInt((*e.DataOffsets)[1])
	if err != nil {
		return TensorInfo{}, invalid("data_offsets[1]: %v", err)
	}
	if b > en {
		return TensorInfo{}, invalid("data_offsets [%d,%d] end before they begin", b, en)
	}
	if en > uint64(dataLen) {
		return TensorInfo{}, invalid("data_offsets [%d,%d] run past the %d-byte data area: the file is truncated (incomplete download? download it again)", b, en, dataLen)
	}
	if en-b != nbytes {
		return TensorInfo{}, invalid("data_offsets [%d,%d] hold %d bytes but %s%v needs %d", b, en, en-b, ti.DType, ti.Shape, nbytes)
	}
	ti.Begin, ti.End = int64(b), int64(en)
	return ti, nil
}

// nonNegInt parses a JSON number as a non-negative integer below 2^63.
func nonNegInt(n json.Number) (uint64, error) {
	var v uint64
	s := n.String()
	if s == "" || len(s) > 19 {
		return 0, fmt.Errorf("%q is not a non-negative integer below 2^63", s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a non-negative integer", s)
		}
		v = v*10 + uint64(c-'0')
	}
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return v, nil
}
