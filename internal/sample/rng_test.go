package sample

import (
	"slices"
	"testing"
)

// TestRNGFixtures checks both generators against the rng cases: the CPU
// generator bit for bit (two draws from one generator), the Philox imitation
// of torch's CUDA generator within the case tolerance (1e-6; the GPU's fast
// sine is approximated, see mufuSin).
func TestRNGFixtures(t *testing.T) {
	m := openFixtures(t)
	cases := m.CasesOfKind("rng")
	if len(cases) == 0 {
		t.Fatal("no rng cases")
	}
	for _, c := range cases {
		t.Run(c.ID, func(t *testing.T) {
			var in struct {
				Seed uint64 `json:"seed"`
			}
			if err := c.DecodeInputs(&in); err != nil {
				t.Fatal(err)
			}
			gens := []struct {
				name  string
				g     Generator
				exact bool
			}{
				{"cpu", NewTorchCPU(in.Seed), true},
				{"cuda", NewPhilox(in.Seed), false},
			}
			for _, g := range gens {
				for _, draw := range []string{"first", "second"} {
					role := g.name + "_" + draw
					want := tensor(t, m, c.ExpectedTensors[role])
					got := g.g.Randn(len(want))
					worst := 0.0
					for i := range want {
						d := float64(got[i]) - float64(want[i])
						if d < 0 {
							d = -d
						}
						worst = max(worst, d)
						if (g.exact && got[i] != want[i]) || d > c.Tolerance.Atol {
							t.Fatalf("%s[%d] = %v, want %v", role, i, got[i], want[i])
						}
					}
					t.Logf("%s: max abs %.3g", role, worst)
				}
			}
		})
	}
}

// TestTorchCPUTail checks the paths the fixtures do not cover against
// properties of torch's algorithm: a tensor whose size is not a multiple of
// 16 has its last 16 values redrawn, so its first n-16 values equal those of
// a draw of 16*floor(n/16) values; fewer than 16 values use the scalar path.
func TestTorchCPUTail(t *testing.T) {
	a := NewTorchCPU(7).Randn(40)
	b := NewTorchCPU(7).Randn(32)
	for i := 0; i < 24; i++ {
		if a[i] != b[i] {
			t.Fatalf("value %d differs: %v vs %v", i, a[i], b[i])
		}
	}
	small := NewTorchCPU(7).Randn(5)
	for _, v := range small {
		if v != v || v > 10 || v < -10 {
			t.Fatalf("scalar path value %v", v)
		}
	}
	// Seeds keep only their low 32 bits.
	x, y := NewTorchCPU(1<<32+5).Randn(16), NewTorchCPU(5).Randn(16)
	for i := range x {
		if x[i] != y[i] {
			t.Fatal("seed high bits changed the CPU stream")
		}
	}
}

// TestTxt2ImgNoise reproduces the txt2img case's generator order: webui's
// CPU source draws the initial noise and then one tensor per ancestral step
// from the same generator.
func TestTxt2ImgNoise(t *testing.T) {
	m := openFixtures(t)
	for _, c := range m.CasesOfKind("txt2img") {
		var in struct {
			Seed uint64 `json:"seed"`
		}
		if err := c.DecodeInputs(&in); err != nil {
			t.Fatal(err)
		}
		g := NewTorchCPU(in.Seed)
		want := tensor(t, m, c.InputTensors["noise_init"])
		check := func(name string, want []float32) {
			got := g.Randn(len(want))
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: %s[%d] = %v, want %v", c.ID, name, i, got[i], want[i])
				}
			}
		}
		check("noise_init", want)
		for _, draw := range stack(t, m, c.InputTensors["noise_steps"]) {
			check("noise_steps", draw)
		}
	}
}

// TestPhiloxChunks: the values do not depend on how many goroutines draw
// them, and the next draw continues the stream the same way.
func TestPhiloxChunks(t *testing.T) {
	const n = 3*1024 + 17
	want := NewPhilox(11)
	a, a2 := want.Randn(n), want.Randn(40)
	for _, chunk := range []int{1, 100, 1024, n, 2 * n} {
		g := NewPhilox(11)
		b, b2 := g.RandnChunks(n, chunk), g.Randn(40)
		if !slices.Equal(a, b) || !slices.Equal(a2, b2) {
			t.Errorf("chunks of %d: the values differ from one goroutine's", chunk)
		}
	}
}
