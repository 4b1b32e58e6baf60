package pipeline

import (
	"testing"

	"sdgo/internal/sample"
)

// BenchmarkStepOverhead measures what a sampling step costs on the host besides
// the UNet (a fake that returns at once): CFG arithmetic, Euler a, and the
// webui Philox noise for a 512x512 image. On a GPU the noise is drawn during
// the UNet call (prefetch), so this is an upper bound there.
func BenchmarkStepOverhead(b *testing.B) {
	for _, name := range []string{"euler_a", "dpmpp_2m"} {
		b.Run(name, func(b *testing.B) { benchStepOverhead(b, name) })
	}
}

func benchStepOverhead(b *testing.B, name string) {
	const h, w = 64, 64
	n := 4 * h * w
	fake := func(x []float32, xShape []int, t []float32, context []float32, ctxShape []int, y []float32) ([]float32, error) {
		return make([]float32, len(x)), nil
	}
	c := Cond{Context: make([]float32, 77*768), Tokens: 77, Width: 768}
	d := &Denoiser{UNet: fake, Table: sample.DefaultTable(), LatentC: 4, H: h, W: w, Cond: []Cond{c}, Uncond: []Cond{c}, Scale: 7}
	smp, ok := sample.Lookup(name)
	if !ok {
		b.Fatalf("no sampler %q", name)
	}
	sig, _ := sample.SigmasFor(smp, "", 20, sample.ScheduleParams{}, false)
	x := make([]float32, n)
	rng, _ := sample.NewImageRNG([3]int{4, h, w}, sample.SeedParams{Seeds: []int64{1}})
	noise := prefetch(rng)
	noise.Next(0, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := smp.Func(d.Denoise, x, sig, smp.Options(), noise, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*20), "us/step")
}
