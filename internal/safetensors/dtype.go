package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// DType is a safetensors element type, spelled as in the file header.
type DType string

// The element types sdgo reads. F8_E4M3 and F8_E5M2 appear in fp8 checkpoints.
const (
	F16    DType = "F16"
	BF16   DType = "BF16"
	F32    DType = "F32"
	F64    DType = "F64"
	I64    DType = "I64"
	I32    DType = "I32"
	I16    DType = "I16"
	I8     DType = "I8"
	U8     DType = "U8"
	U16    DType = "U16"
	U32    DType = "U32"
	U64    DType = "U64"
	BOOL   DType = "BOOL"
	F8E4M3 DType = "F8_E4M3"
	F8E5M2 DType = "F8_E5M2"
)

// Size returns the number of bytes of one element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64, U64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, BOOL, F8E4M3, F8E5M2:
		return 1
	}
	return 0
}

// Valid reports whether d is a dtype this package knows.
func (d DType) Valid() bool { return d.Size() > 0 }

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	switch d {
	case F16, BF16, F32, F64, F8E4M3, F8E5M2:
		return true
	}
	return false
}

// halfTable maps every float16 bit pattern to its float32 value.
var halfTable = sync.OnceValue(func() []float32 {
	t := make([]float32, 1<<16)
	for i := range t {
		t[i] = halfToFloat32(uint16(i))
	}
	return t
})

// halfToFloat32 converts IEEE 754 binary16 bits to float32 (exact).
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0:
		f := float32(mant) / (1 << 24) // zero or subnormal: mant * 2^-24
		return math.Float32frombits(math.Float32bits(f) | sign)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	default:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	}
}

// HalfToFloat32 converts float16 bits to float32 exactly.
func HalfToFloat32(h uint16) float32 { return halfTable()[h] }

// Float32ToHalf converts f to float16 bits, rounding to nearest even;
// values too large become ±Inf, NaN stays NaN.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		half := m >> shift
		rem := m & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // a carry into the exponent is the correct rounding (up to Inf)
	}
	return sign | uint16(half)
}

// BF16ToFloat32 converts bfloat16 bits to float32 exactly.
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBF16 converts f to bfloat16 bits, rounding to nearest even.
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40 // quiet NaN
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// e4m3Table maps every float8 E4M3FN byte to float32 (no infinities; 0x7f/0xff are NaN).
var e4m3Table = sync.OnceValue(func() []float32 {
	t := make([]float32, 256)
	for i := range t {
		b := uint8(i)
		exp := int(b>>3) & 0xf
		mant := float64(b & 7)
		var v float64
		switch {
		case exp == 0xf && b&7 == 7:
			v = math.NaN()
		case exp == 0:
			v = mant / 8 * math.Ldexp(1, -6)
		default:
			v = (1 + mant/8) * math.Ldexp(1, exp-7)
		}
		if b&0x80 != 0 {
			v = -v
		}
		t[i] = float32(v)
	}
	return t
})

// convert decodes n elements of dtype d from src into dst (len(dst) == n).
func convert(dst []float32, src []byte, d DType) error {
	n := len(dst)
	if len(src) != n*d.Size() {
		return fmt.Errorf("have %d bytes for %d elements of %s", len(src), n, d)
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
	case F8E4M3:
		t := e4m3Table()
		for i := range dst {
			dst[i] = t[src[i]]
		}
	case F8E5M2:
		t := halfTable()
		for i := range dst {
			dst[i] = t[uint16(src[i])<<8]
		}
	case I64:
		for i := range dst {
			dst[i] = float32(int64(le.Uint64(src[8*i:])))
		}
	case U64:
		for i := range dst {
			dst[i] = float32(le.Uint64(src[8*i:]))
		}
	case I32:
		for i := range dst {
			dst[i] = float32(int32(le.Uint32(src[4*i:])))
		}
	case U32:
		for i := range dst {
			dst[i] = float32(le.Uint32(src[4*i:]))
		}
	case I16:
		for i := range dst {
			dst[i] = float32(int16(le.Uint16(src[2*i:])))
		}
	case U16:
		for i := range dst {
			dst[i] = float32(le.Uint16(src[2*i:]))
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
			if src[i] != 0 {
				dst[i] = 1
			} else {
				dst[i] = 0
			}
		}
	default:
		return fmt.Errorf("unsupported dtype %q", d)
	}
	return nil
}

// ToFloat32Into is ToFloat32 into dst, which must hold exactly the
// elements of src: callers converting large tensors split them into ranges.
func ToFloat32Into(dst []float32, src []byte, d DType) error {
	if !d.Valid() {
		return fmt.Errorf("safetensors: convert: unknown dtype %q", d)
	}
	if len(src) != len(dst)*d.Size() {
		return fmt.Errorf("safetensors: convert: %d bytes for %d %s elements", len(src), len(dst), d)
	}
	if err := convert(dst, src, d); err != nil {
		return fmt.Errorf("safetensors: convert: %w", err)
	}
	return nil
}

// ToFloat32 decodes little-endian elements of dtype d to float32. Integer and
// bool types convert by value. It is exported for packages that hold raw bytes
// of the same dtypes (the same string names are used by sdgo's pickle reader).
func ToFloat32(src []byte, d DType) ([]float32, error) {
	if !d.Valid() {
		return nil, fmt.Errorf("safetensors: convert: unknown dtype %q", d)
	}
	if len(src)%d.Size() != 0 {
		return nil, fmt.Errorf("safetensors: convert: %d bytes is not a whole number of %s elements", len(src), d)
	}
	dst := make([]float32, len(src)/d.Size())
	if err := ToFloat32Into(dst, src, d); err != nil {
		return nil, err
	}
	return dst, nil
}
