package pipeline

import (
	"math"
	"slices"
	"testing"

	"sdgo/internal/prompt"
	"sdgo/internal/sample"
)

// fakeEncode conditions each text as a 2-token, 1-wide context whose
// values name the text, so a fake UNet can tell which prompt it was given.
func fakeEncode(ids map[string]float32) func([]condText) ([]Cond, error) {
	return func(texts []condText) ([]Cond, error) {
		var conds []Cond
		for _, t := range texts {
			id, ok := ids[t.text]
			if !ok {
				id = float32(100 + len(ids))
				ids[t.text] = id
			}
			conds = append(conds, Cond{Context: []float32{id, id}, Tokens: 2, Width: 1})
		}
		return conds, nil
	}
}

// recordingUNet returns, for each image of the batch, the first context
// value everywhere (so eps = the prompt's id), and records every call's
// per-image context ids.
func recordingUNet(calls *[][]float32) UNetFunc {
	return func(x []float32, xShape []int, t []float32, ctx []float32, ctxShape []int, y []float32) ([]float32, error) {
		b, per := xShape[0], len(x)/xShape[0]
		l := ctxShape[1] * ctxShape[2]
		var ids []float32
		out := make([]float32, len(x))
		for i := 0; i < b; i++ {
			ids = append(ids, ctx[i*l])
			for j := 0; j < per; j++ {
				out[i*per+j] = ctx[i*l]
			}
		}
		*calls = append(*calls, ids)
		return out, nil
	}
}

func TestPromptEditingPicksCondPerStep(t *testing.T) {
	ids := map[string]float32{"cat": 1, "dog": 2, "ugly": 3, "blurry": 4, "": 0}
	tests := []struct {
		name, pos, neg string
		steps          int
		want           [][]float32 // per call: cond ids then uncond ids
	}{
		// webui: step k (0-based) uses the first entry with end step >= k;
		// int(0.5*4) = 2, so "cat" at steps 0-2 and "dog" at step 3.
		{"edit", "[cat:dog:0.5]", "", 4, [][]float32{{1, 0}, {1, 0}, {1, 0}, {2, 0}}},
		{"negative edit", "cat", "[ugly:blurry:1]", 3, [][]float32{{1, 3}, {1, 3}, {1, 4}}},
		{"alternation", "[cat|dog]", "", 4, [][]float32{{1, 0}, {1, 0}, {2, 0}, {1, 0}}},
		{"plain", "cat", "ugly", 3, [][]float32{{1, 3}, {1, 3}, {1, 3}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ic, err := buildSchedules(tc.pos, tc.neg, prompt.ScheduleOptions{Steps: tc.steps}, fakeEncode(ids))
			if err != nil {
				t.Fatal(err)
			}
			var calls [][]float32
			d := &Denoiser{UNet: recordingUNet(&calls), Table: sample.DefaultTable(), Prediction: "eps",
				LatentC: 1, H: 1, W: 1, Scale: 7, Sched: []ImageConds{ic}}
			var ctxs [][]float32
			for s := 0; s < tc.steps; s++ {
				if _, err := d.Denoise([]float32{0.5}, 1); err != nil {
					t.Fatal(err)
				}
			}
			ctxs = calls
			if !slices.EqualFunc(ctxs, tc.want, slices.Equal) {
				t.Errorf("contexts per step = %v, want %v", ctxs, tc.want)
			}
		})
	}
}

func TestPromptEditingReusesSlices(t *testing.T) {
	ic, err := buildSchedules("[cat|dog] AND[cat:dog:2]", "", prompt.ScheduleOptions{Steps: 6}, fakeEncode(map[string]float32{}))
	if err != nil {
		t.Fatal(err)
	}
	// Equal texts share one encoding.
	if &ic.Parts[0].Sched[0].Cond.Context[0] != &ic.Parts[1].Sched[0].Cond.Context[0] {
		t.Error("\"cat\" was encoded twice")
	}
	var seen [][]float32
	unet := func(x []float32, xShape []int, tt []float32, ctx []float32, ctxShape []int, y []float32) ([]float32, error) {
		seen = append(seen, ctx)
		return make([]float32, len(x)), nil
	}
	d := &Denoiser{UNet: unet, Table: sample.DefaultTable(), Prediction: "eps", LatentC: 1, H: 1, W: 1, Scale: 7, Sched: []ImageConds{ic}}
	for s := 0; s < 6; s++ {
		if _, err := d.Denoise([]float32{0.5}, 1); err != nil {
			t.Fatal(err)
		}
	}
	// The same composition passes the same slice (the model caches by identity).
	distinct := map[*float32]bool{}
	for _, c := range seen {
		distinct[&c[0]] = true
	}
	if len(distinct) != len(d.batches) {
		t.Errorf("%d distinct context slices over %d compositions", len(distinct), len(d.batches))
	}
}

func TestComposableDiffusion(t *testing.T) {
	ids := map[string]float32{"a cat": 1, " a dog": 2, "": 0} // SplitAND keeps leading space
	ic, err := buildSchedules("a cat AND a dog :0.5", "", prompt.ScheduleOptions{Steps: 2}, fakeEncode(ids))
	if err != nil {
		t.Fatal(err)
	}
	if len(ic.Parts) != 2 || ic.Parts[1].Weight != 0.5 {
		t.Fatalf("parts = %+v", ic.Parts)
	}
	var calls [][]float32
	const scale, sigma, x = 7.0, 2.0, 0.5
	d := &Denoiser{UNet: recordingUNet(&calls), Table: sample.DefaultTable(), Prediction: "eps",
		LatentC: 1, H: 1, W: 1, Scale: scale, Sched: []ImageConds{ic, ic}}
	den, err := d.Denoise([]float32{x, x}, sigma)
	if err != nil {
		t.Fatal(err)
	}
	// One batch: both images' first parts, their second parts, then two unconds.
	if want := []float32{1, 1, 2, 2, 0, 0}; !slices.Equal(calls[0], want) {
		t.Errorf("batch contexts = %v, want %v", calls[0], want)
	}
	// denoised = x - sigma*eps; eps is the context id.
	dn := func(id float64) float64 { return x - sigma*id }
	u := dn(0)
	want := u + (dn(1)-u)*1*scale + (dn(2)-u)*0.5*scale
	for i, v := range den {
		if math.Abs(float64(v)-want) > 1e-5 {
			t.Errorf("image %d: denoised %v, want %v", i, v, want)
		}
	}
}

func TestComposableDiffusionPadsParts(t *testing.T) {
	long := Cond{Context: []float32{5, 5, 6, 6, 7, 7}, Tokens: 3, Width: 2}
	short := Cond{Context: []float32{1, 1, 2, 2}, Tokens: 2, Width: 2}
	ic := ImageConds{
		Parts:  []WeightedSchedule{{1, CondSchedule{{1, long}}}, {1, CondSchedule{{1, short}}}},
		Uncond: CondSchedule{{1, short}},
	}
	var got []float32
	var shape []int
	unet := func(x []float32, xShape []int, tt []float32, ctx []float32, ctxShape []int, y []float32) ([]float32, error) {
		got, shape = ctx, ctxShape
		return make([]float32, len(x)), nil
	}
	d := &Denoiser{UNet: unet, Table: sample.DefaultTable(), Prediction: "eps", LatentC: 1, H: 1, W: 1, Scale: 7, Sched: []ImageConds{ic}}
	if _, err := d.Denoise([]float32{0.5}, 1); err != nil {
		t.Fatal(err)
	}
	// Cond parts padded to 3 tokens by repeating the last vector; the
	// uncond (2 tokens) runs alone, so the last call is the uncond one.
	if want := []int{1, 2, 2}; !slices.Equal(shape, want) {
		t.Fatalf("last call context shape %v, want %v", shape, want)
	}
	if want := []float32{1, 1, 2, 2}; !slices.Equal(got, want) {
		t.Errorf("uncond context %v, want %v", got, want)
	}
}

func TestScheduleStepsDoublesSecondOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		want int
	}{{"Euler a", 10}, {"Heun", 20}, {"DPM++ 2M", 10}, {"DPM++ SDE", 20}} {
		smp, _, err := sample.Resolve(tc.name, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := ScheduleSteps(smp, 10); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestHiresScheduleSwitchesInSecondPass checks the conditioning a hires
// pass's Denoiser picks per call when its schedule is built on webui's
// hires timeline: integer switch points count from the first pass's
// start, fractions from 1.0, and second-order samplers double either side.
func TestHiresScheduleSwitchesInSecondPass(t *testing.T) {
	ids := map[string]float32{"cat": 1, "dog": 2, "": 0}
	rep := func(id float32, n int) (out [][]float32) {
		for range n {
			out = append(out, []float32{id, 0})
		}
		return out
	}
	tests := []struct {
		name           string
		prompt         string
		first, hires   string
		fSteps, hSteps int
		want           [][]float32
	}{
		// (1.5-1)*10 = 5: "cat" up to step 5 (webui uses an entry up to and including its end step).
		{"fraction", "[cat:dog:1.5]", "Euler", "Euler", 20, 10, append(rep(1, 6), rep(2, 4)...)},
		{"integer past the first pass", "[cat:dog:25]", "Euler", "Euler", 20, 10, append(rep(1, 6), rep(2, 4)...)},
		{"fraction inside the first pass", "[cat:dog:0.5]", "Euler", "Euler", 20, 10, rep(2, 10)},
		{"integer inside the first pass", "[cat:dog:5]", "Euler", "Euler", 20, 10, rep(2, 10)},
		{"past the second pass", "[cat:dog:40]", "Euler", "Euler", 20, 10, rep(1, 10)},
		{"second-order first pass", "[cat:dog:25]", "Heun", "Euler", 10, 10, append(rep(1, 6), rep(2, 4)...)},
		{"second-order hires pass", "[cat:dog:1.5]", "Euler", "Heun", 20, 5, append(rep(1, 6), rep(2, 4)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, _, err := sample.Resolve(tc.first, "")
			if err != nil {
				t.Fatal(err)
			}
			hires, _, err := sample.Resolve(tc.hires, "")
			if err != nil {
				t.Fatal(err)
			}
			o := HiresSchedule(first, tc.fSteps, hires, tc.hSteps)
			ic, err := buildSchedules(tc.prompt, "", o, fakeEncode(ids))
			if err != nil {
				t.Fatal(err)
			}
			var calls [][]float32
			d := &Denoiser{UNet: recordingUNet(&calls), Table: sample.DefaultTable(), Prediction: "eps",
				LatentC: 1, H: 1, W: 1, Scale: 7, Sched: []ImageConds{ic}}
			for range len(tc.want) {
				if _, err := d.Denoise([]float32{0.5}, 1); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.EqualFunc(calls, tc.want, slices.Equal) {
				t.Errorf("contexts per call = %v, want %v", calls, tc.want)
			}
		})
	}
}
