package safetensors

import (
	"math"
	"testing"
)

// TestHalfRoundTrip checks every float16 bit pattern converts to float32 and back.
func TestHalfRoundTrip(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := HalfToFloat32(h)
		if f != f {
			if back := Float32ToHalf(f); back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x -> %#04x", h, back)
			}
			continue
		}
		if back := Float32ToHalf(f); back != h {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, back)
		}
	}
}

func TestFloat32ToHalfRounding(t *testing.T) {
	tests := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},
		{65520, 0x7c00}, // rounds up to Inf
		{65519, 0x7bff}, // rounds down
		{float32(math.Inf(-1)), 0xfc00},
		{1 + 1.0/2048, 0x3c00},                     // tie to even (down)
		{1 + 3.0/2048, 0x3c02},                     // tie to even (up)
		{float32(math.Ldexp(1, -24)), 0x0001},      // smallest subnormal
		{float32(math.Ldexp(1, -25)), 0x0000},      // tie to even: zero
		{float32(math.Ldexp(1.5, -25)), 0x0001},    // above the tie
		{float32(math.Ldexp(1, -14)), 0x0400},      // smallest normal
		{float32(math.Ldexp(1023.5, -24)), 0x0400}, // subnormal rounding up into normal
		{1e-10, 0},
	}
	for _, tc := range tests {
		if got := Float32ToHalf(tc.in); got != tc.want {
			t.Errorf("Float32ToHalf(%g) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
}

func TestBF16(t *testing.T) {
	tests := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80},
		{-3, 0xc040},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie to even (down)
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie to even (up)
		{math.Float32frombits(0x3f808001), 0x3f81},
	}
	for _, tc := range tests {
		if got := Float32ToBF16(tc.in); got != tc.want {
			t.Errorf("Float32ToBF16(%g) = %#04x, want %#04x", tc.in, got, tc.want)
		}
		if back := BF16ToFloat32(tc.want); Float32ToBF16(back) != tc.want {
			t.Errorf("bf16 %#04x does not round-trip", tc.want)
		}
	}
	if v := BF16ToFloat32(Float32ToBF16(float32(math.NaN()))); v == v {
		t.Error("NaN did not stay NaN")
	}
}

func TestToFloat32(t *testing.T) {
	tests := []struct {
		dtype DType
		in    []byte
		want  []float32
	}{
		{I8, []byte{0xff, 5}, []float32{-1, 5}},
		{I16, []byte{0xfe, 0xff}, []float32{-2}},
		{U16, []byte{0xfe, 0xff}, []float32{65534}},
		{BOOL, []byte{0, 1, 7}, []float32{0, 1, 1}},
		{F8E4M3, []byte{0x38, 0xb8, 0x7e, 0x01}, []float32{1, -1, 448, float32(math.Ldexp(1, -9))}},
		{F8E5M2, []byte{0x3c, 0x7b}, []float32{1, 57344}},
	}
	for _, tc := range tests {
		got, err := ToFloat32(tc.in, tc.dtype)
		if err != nil || !equalF32(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.dtype, got, err, tc.want)
		}
	}
	if _, err := ToFloat32([]byte{1, 2, 3}, F16); err == nil {
		t.Error("odd byte count accepted for F16")
	}
	if _, err := ToFloat32(nil, "X"); err == nil {
		t.Error("unknown dtype accepted")
	}
}
