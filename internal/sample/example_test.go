package sample_test

import (
	"fmt"

	"sdgo/internal/sample"
)

// A txt2img run as the pipeline does it: resolve the names, make the
// schedule, draw the seed's noise, scale it, sample.
func Example() {
	smp, sched, err := sample.Resolve("DPM++ 2M Karras", "")
	if err != nil {
		panic(err)
	}
	sigmas, err := sample.SigmasFor(smp, sched, 8, sample.ScheduleParams{}, false)
	if err != nil {
		panic(err)
	}
	rng, err := sample.NewImageRNG([3]int{4, 8, 8}, sample.SeedParams{Source: sample.SourceCPU, Seeds: []int64{1234}})
	if err != nil {
		panic(err)
	}
	x, _ := rng.Next(0, 0) // the initial noise
	for i := range x {
		x[i] *= float32(smp.NoiseScale(sigmas))
	}
	// A stand-in model: the exact denoiser for unit Gaussian data.
	model := func(x []float32, sigma float64) ([]float32, error) {
		out := make([]float32, len(x))
		for i, v := range x {
			out[i] = v / float32(1+sigma*sigma)
		}
		return out, nil
	}
	out, err := smp.Func(model, x, sigmas, smp.Options(), rng, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(smp.Name, sched, len(sigmas)-1, "steps,", len(out), "values")
	// Output: DPM++ 2M automatic 8 steps, 256 values
}
