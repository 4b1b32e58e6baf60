package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// DType is an element type, named as in safetensors headers.
type DType string

// The element types of torch storages.
const (
	F16  DType = "F16"
	BF16 DType = "BF16"
	F32  DType = "F32"
	F64  DType = "F64"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	BOOL DType = "BOOL"
)

// Size returns the bytes per element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, BOOL:
		return 1
	}
	return 0
}

// storageDTypes maps torch's legacy storage class names to dtypes.
var storageDTypes = map[string]DType{
	"FloatStorage":    F32,
	"HalfStorage":     F16,
	"BFloat16Storage": BF16,
	"DoubleStorage":   F64,
	"LongStorage":     I64,
	"IntStorage":      I32,
	"ShortStorage":    I16,
	"CharStorage":     I8,
	"ByteStorage":     U8,
	"BoolStorage":     BOOL,
}

var halfTable = sync.OnceValue(func() []float32 {
	t := make([]float32, 1<<16)
	for i := range t {
		h := uint32(i)
		sign := (h >> 15) << 31
		exp := (h >> 10) & 0x1f
		mant := h & 0x3ff
		switch {
		case exp == 0:
			f := float32(mant) / (1 << 24)
			t[i] = math.Float32frombits(math.Float32bits(f) | sign)
		case exp == 0x1f:
			t[i] = math.Float32frombits(sign | 0x7f800000 | mant<<13)
		default:
			t[i] = math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
		}
	}
	return t
})

// toFloat32 decodes little-endian elements of dtype d into dst.
func toFloat32(dst []float32, src []byte, d DType) error {
	if len(src) != len(dst)*d.Size() {
		return fmt.Errorf("have %d bytes for %d elements of %s", len(src), len(dst), d)
	}
	le := binary.LittleEndian
	switch d {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
		}
	case F16:
		t := halfTable()
		for i := range dst {
			dst[i] = t[le.Uint16(src[2*i:])]
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(le.Uint16(src[2*i:])) << 16)
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(src[8*i:])))
		}
	case I64:
		for i := range dst {
			dst[i] = float32(int64(le.Uint64(src[8*i:])))
		}
	case I32:
		for i := range dst {
			dst[i] = float32(int32(le.Uint32(src[4*i:])))
		}
	case I16:
		for i := range dst {
			dst[i] = float32(int16(le.Uint16(src[2*i:])))
		}
	case I8:
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	case U8:
		for i := range dst {
			dst[i] = float32(src[i])
		}
	case BOOL:
		for i := range dst {
			dst[i] = 0
			if src[i] != 0 {
				dst[i] = 1
			}
		}
	default:
		return fmt.Errorf("unsupported dtype %q", d)
	}
	return nil
}
