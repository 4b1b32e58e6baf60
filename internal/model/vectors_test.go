package model

import (
	"strings"
	"testing"
)

func TestInputVectorsLayout(t *testing.T) {
	v, mask, err := inputVectors([]InputVectors{{Row: 1, Pos: 2, Data: []float32{1, 2, 3, 4}}}, 2, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantMask := []float32{0, 0, 0, 0, 0, 0, 1, 1}
	for i := range wantMask {
		if mask[i] != wantMask[i] {
			t.Fatalf("mask %v, want %v", mask, wantMask)
		}
	}
	if v[12] != 1 || v[15] != 4 || v[11] != 0 {
		t.Errorf("vectors %v: want 1..4 at row 1 positions 2-3", v)
	}
	for _, bad := range []InputVectors{
		{Row: 0, Pos: 3, Data: []float32{1, 2, 3, 4}}, // runs past the row
		{Row: 2, Pos: 0, Data: []float32{1, 2}},       // no such row
		{Row: 0, Pos: 0, Data: []float32{1, 2, 3}},    // not whole vectors
		{Row: 0, Pos: -1, Data: []float32{1, 2}},
	} {
		if _, _, err := inputVectors([]InputVectors{bad}, 2, 4, 2); err == nil || !strings.Contains(err.Error(), "model: encode text") {
			t.Errorf("%+v: error %v", bad, err)
		}
	}
}
