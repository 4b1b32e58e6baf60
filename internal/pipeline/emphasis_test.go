package pipeline

import (
	"math"
	"testing"
)

func TestApplyEmphasis(t *testing.T) {
	tests := []struct {
		name          string
		z             []float32
		tokens, width int
		mult          []float64
		want          []float32
	}{
		{
			name: "weights 1 change nothing",
			z:    []float32{0.5, -1, 2, 3}, tokens: 2, width: 2,
			mult: []float64{1, 1},
			want: []float32{0.5, -1, 2, 3},
		},
		{
			// z*w = [2 4 3 4], means 2.5 and 3.25, ratio 10/13.
			name: "one chunk by hand",
			z:    []float32{1, 2, 3, 4}, tokens: 2, width: 2,
			mult: []float64{2, 1},
			want: []float32{20.0 / 13, 40.0 / 13, 30.0 / 13, 40.0 / 13},
		},
		{
			// The second chunk has weights 1: its mean correction is its
			// own, so it is left alone although the first chunk changed.
			name: "chunks are corrected separately",
			z:    []float32{1, 2, 3, 4, 5, 6, 7, 8}, tokens: 2, width: 2,
			mult: []float64{2, 1, 1, 1},
			want: []float32{20.0 / 13, 40.0 / 13, 30.0 / 13, 40.0 / 13, 5, 6, 7, 8},
		},
		{
			// Treated as one chunk of 4 tokens: means 4.5 and 4.875, ratio 12/13.
			name: "whole tensor as one chunk",
			z:    []float32{1, 2, 3, 4, 5, 6, 7, 8}, tokens: 4, width: 2,
			mult: []float64{2, 1, 1, 1},
			want: []float32{24.0 / 13, 48.0 / 13, 36.0 / 13, 48.0 / 13, 60.0 / 13, 72.0 / 13, 84.0 / 13, 96.0 / 13},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := append([]float32(nil), tt.z...)
			got := ApplyEmphasis(z, tt.tokens, tt.width, tt.mult)
			for i := range tt.want {
				if math.Abs(float64(got[i]-tt.want[i])) > 1e-6*math.Abs(float64(tt.want[i])) {
					t.Errorf("got %v, want %v", got, tt.want)
					break
				}
			}
			for i := range z {
				if z[i] != tt.z[i] {
					t.Fatal("input modified")
				}
			}
		})
	}
}

// TestApplyEmphasisKeepsMean checks the point of the correction: each
// chunk's mean is unchanged (up to float32 rounding).
func TestApplyEmphasisKeepsMean(t *testing.T) {
	const tokens, width = 77, 8
	z := make([]float32, 2*tokens*width)
	mult := make([]float64, 2*tokens)
	for i := range z {
		z[i] = float32(math.Sin(float64(i)*0.37) + 0.3)
	}
	for i := range mult {
		mult[i] = 1 + 0.5*math.Cos(float64(i))
	}
	got := ApplyEmphasis(z, tokens, width, mult)
	for c := 0; c < 2; c++ {
		var before, after float64
		for i := c * tokens * width; i < (c+1)*tokens*width; i++ {
			before += float64(z[i])
			after += float64(got[i])
		}
		if math.Abs(before-after) > 1e-5*math.Abs(before) {
			t.Errorf("chunk %d: sum %g before, %g after", c, before, after)
		}
	}
}

func TestApplyEmphasisPanicsOnBadLengths(t *testing.T) {
	tests := []struct {
		name          string
		n             int
		tokens, width int
		mults         int
	}{
		{"partial chunk", 6, 2, 2, 3},
		{"multipliers short", 8, 2, 2, 3},
		{"zero width", 4, 2, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			ApplyEmphasis(make([]float32, tt.n), tt.tokens, tt.width, make([]float64, tt.mults))
		})
	}
}
