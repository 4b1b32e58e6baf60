package safetensors

import (
	"encoding/binary"
	"slices"
	"testing"
)

// TestToFloat32Into: ranges of a tensor decode to what the whole tensor
// decodes to, and a destination of the wrong length is refused.
func TestToFloat32Into(t *testing.T) {
	src := make([]byte, 2*10)
	for i := range 10 {
		binary.LittleEndian.PutUint16(src[2*i:], Float32ToHalf(float32(i)-4.5))
	}
	whole, err := ToFloat32(src, F16)
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]float32, 10)
	for _, r := range [][2]int{{0, 3}, {3, 4}, {4, 10}} {
		if err := ToFloat32Into(parts[r[0]:r[1]], src[2*r[0]:2*r[1]], F16); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(whole, parts) {
		t.Errorf("ranges %v, whole %v", parts, whole)
	}
	if err := ToFloat32Into(make([]float32, 3), src[:4], F16); err == nil {
		t.Error("3 values from 2 half floats: no error")
	}
	if err := ToFloat32Into(make([]float32, 1), src[:2], DType("F17")); err == nil {
		t.Error("an unknown dtype: no error")
	}
}
