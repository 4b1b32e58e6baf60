package sample

import (
	"math"
	"testing"
)

func TestSlerpByHand(t *testing.T) {
	// One channel, height 2, width 1: a = (1, 0), b = (0, 1) are orthogonal,
	// so omega = pi/2 and slerp at t is (cos(t pi/2), sin(t pi/2)).
	got := Slerp(0.5, []float32{1, 0}, []float32{0, 1}, 1, 2, 1)
	r := float32(math.Sqrt2 / 2)
	if math.Abs(float64(got[0]-r)) > 1e-7 || math.Abs(float64(got[1]-r)) > 1e-7 {
		t.Errorf("slerp = %v, want (%v, %v)", got, r, r)
	}
	// Each (channel, column) vector gets its own angle: column 0 is at 90
	// degrees, column 1 at 60 (cosine 1/2); at t = 1 slerp returns b.
	a := []float32{1, 1, 0, 0} // h=2, w=2: column 0 = (1,0), column 1 = (1,0)
	b := []float32{0, 0.5, 1, float32(math.Sqrt(3) / 2)}
	got = Slerp(1, a, b, 1, 2, 2)
	for i, want := range b {
		if math.Abs(float64(got[i]-want)) > 1e-6 {
			t.Errorf("t=1: value %d = %v, want %v", i, got[i], want)
		}
	}
	// Nearly parallel noises take webui's reversed lerp: a*t + b*(1-t).
	got = Slerp(0.25, []float32{1, 2}, []float32{1, 2}, 1, 2, 1)
	if got[0] != 1 || got[1] != 2 {
		t.Errorf("parallel: %v", got)
	}
	got = Slerp(0.25, []float32{1, 2}, []float32{1.0001, 2}, 1, 2, 1)
	want := 1*0.25 + 1.0001*0.75
	if math.Abs(float64(got[0])-want) > 1e-6 {
		t.Errorf("fallback lerp: %v, want %v", got[0], want)
	}
}

func TestImageRNG(t *testing.T) {
	shape := [3]int{4, 8, 8}
	n := 4 * 8 * 8
	t.Run("batch equals singles, ENSD stream", func(t *testing.T) {
		r, err := NewImageRNG(shape, SeedParams{Source: SourceCPU, Seeds: []int64{100, 101}, ENSD: 31337})
		if err != nil {
			t.Fatal(err)
		}
		first, _ := r.Next(0, 0)
		second, _ := r.Next(0, 0)
		for i, seed := range []int64{100, 101} {
			init := NewTorchCPU(uint64(seed)).Randn(n)
			step := NewTorchCPU(uint64(seed + 31337)).Randn(n)
			for j := 0; j < n; j++ {
				if first[i*n+j] != init[j] || second[i*n+j] != step[j] {
					t.Fatalf("image %d value %d differs", i, j)
				}
			}
		}
	})
	t.Run("without ENSD the stream continues", func(t *testing.T) {
		// 4x64x64: the first two draws are split into chunks over
		// goroutines, the third is not; all three are the generator's.
		big := [3]int{4, 64, 64}
		m := 4 * 64 * 64
		r, _ := NewImageRNG(big, SeedParams{Source: SourceNV, Seeds: []int64{5}})
		g := NewPhilox(5)
		for d := 0; d < 3; d++ {
			got, _ := r.Next(0, 0)
			want := g.Randn(m)
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("draw %d value %d is not the generator's", d, j)
				}
			}
		}
	})
	t.Run("variation seed", func(t *testing.T) {
		r, _ := NewImageRNG(shape, SeedParams{Source: SourceCPU, Seeds: []int64{1}, Subseeds: []int64{2}, SubseedStrength: 0.3})
		got, _ := r.Next(0, 0)
		want := Slerp(0.3, NewTorchCPU(1).Randn(n), NewTorchCPU(2).Randn(n), 4, 8, 8)
		for j := range want {
			if got[j] != want[j] {
				t.Fatal("variation noise is not slerp(strength, seed noise, subseed noise)")
			}
		}
	})
	t.Run("resize seed from a smaller size", func(t *testing.T) {
		// 32x32 pixels = 4x4 latent pasted at the centre (offset 2) of 8x8.
		r, _ := NewImageRNG(shape, SeedParams{Source: SourceCPU, Seeds: []int64{9}, ResizeFromW: 32, ResizeFromH: 32})
		got, _ := r.Next(0, 0)
		small := NewTorchCPU(9).Randn(4 * 4 * 4)
		full := NewTorchCPU(9).Randn(n)
		for k := 0; k < 4; k++ {
			for y := 0; y < 8; y++ {
				for x := 0; x < 8; x++ {
					want := full[k*64+y*8+x]
					if y >= 2 && y < 6 && x >= 2 && x < 6 {
						want = small[k*16+(y-2)*4+(x-2)]
					}
					if got[k*64+y*8+x] != want {
						t.Fatalf("c%d y%d x%d: %v, want %v", k, y, x, got[k*64+y*8+x], want)
					}
				}
			}
		}
	})
	t.Run("resize seed from a larger size", func(t *testing.T) {
		// 96x96 pixels = 12x12 latent, its centre 8x8 (offset 2) is used.
		r, _ := NewImageRNG(shape, SeedParams{Source: SourceCPU, Seeds: []int64{9}, ResizeFromW: 96, ResizeFromH: 96})
		got, _ := r.Next(0, 0)
		big := NewTorchCPU(9).Randn(4 * 12 * 12)
		for k := 0; k < 4; k++ {
			for y := 0; y < 8; y++ {
				for x := 0; x < 8; x++ {
					if got[k*64+y*8+x] != big[k*144+(y+2)*12+x+2] {
						t.Fatalf("c%d y%d x%d differs", k, y, x)
					}
				}
			}
		}
	})
}
