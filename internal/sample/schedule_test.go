package sample

import (
	"math"
	"testing"

	"sdgo/internal/fixture"
	"sdgo/internal/safetensors"
)

// TestDefaultAlphasCumprod: the schedule buffer computed from the betas
// equals, bit for bit, the alphas_cumprod the tiny checkpoint carries.
func TestDefaultAlphasCumprod(t *testing.T) {
	dir, err := fixture.FindDir()
	if err != nil {
		t.Skip(err)
	}
	f, err := safetensors.Open(dir + "/tiny-sd1/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, _, err := f.Float32("alphas_cumprod")
	if err != nil {
		t.Fatal(err)
	}
	got := DefaultAlphasCumprod()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("alphas_cumprod[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	tab := DefaultTable()
	// README: sigma_min = 0.0291675..., sigma_max = 14.614643...
	if math.Abs(tab.SigmaMin()-0.0291675) > 1e-7 || math.Abs(tab.SigmaMax()-14.614643) > 2e-6 {
		t.Errorf("sigma range %v .. %v", tab.SigmaMin(), tab.SigmaMax())
	}
}

// TestScheduleFixtures: every k-diffusion case's sigmas (uniform, karras,
// exponential, 8 steps) are reproduced exactly in float32.
func TestScheduleFixtures(t *testing.T) {
	m := openFixtures(t)
	tab := DefaultTable()
	n := 0
	for _, c := range m.CasesOfKind("sampler_kdiffusion") {
		var in samplerCase
		if err := c.DecodeInputs(&in); err != nil {
			t.Fatal(err)
		}
		var sch struct {
			Schedule string `json:"schedule"`
		}
		if err := c.DecodeInputs(&sch); err != nil {
			t.Fatal(err)
		}
		if _, ok := LookupScheduler(sch.Schedule); !ok {
			continue // dpm_fast / dpm_adaptive take a range
		}
		got, err := Schedule(sch.Schedule, in.Steps, ScheduleParams{Table: tab})
		if err != nil {
			t.Fatal(err)
		}
		want := tensor(t, m, c.ExpectedTensors["sigmas"])
		if len(got) != len(want) {
			t.Fatalf("%s: %d sigmas, want %d", c.ID, len(got), len(want))
		}
		for i := range want {
			if float32(got[i]) != want[i] || float32(got[i]) != float32(in.Sigmas[i]) {
				t.Errorf("%s: sigma[%d] = %v, want %v", c.ID, i, float32(got[i]), want[i])
			}
		}
		n++
	}
	if n != 33 {
		t.Errorf("checked %d schedule cases, want 33", n)
	}
}

// TestScheduleByHand pins each schedule against values worked out from its
// formula. Synthetic ranges (sigma_min 0.1, sigma_max 10) make the numbers
// easy; the table-based schedules use the SD table entries t_k =
// DefaultTable().Sigmas[k] (index = timestep).
func TestScheduleByHand(t *testing.T) {
	tab := DefaultTable()
	tk := func(k int) float64 { return float64(tab.Sigmas[k]) }
	// geometric mean of neighbours: log-linear interpolation at k + 1/2
	mid := func(k int) float64 { return math.Sqrt(tk(k) * tk(k+1)) }
	syn := ScheduleParams{Table: tab, SigmaMin: 0.1, SigmaMax: 10}
	tests := []struct {
		name  string
		sched string
		n     int
		p     ScheduleParams
		want  []float64
	}{
		// Karras, rho 7, n = 3: the ramp is 0, 1/2, 1, so the middle value is
		// ((10^(1/7) + 0.1^(1/7)) / 2)^7 = ((1.389495 + 0.719686)/2)^7 = 1.450732.
		{"karras n3", "karras", 3, syn, []float64{10, 1.4507321135661928, 0.1, 0}},
		// rho 1 makes Karras linear in sigma: 10, 5.05, 0.1.
		{"karras rho1", "karras", 3, ScheduleParams{Table: tab, SigmaMin: 0.1, SigmaMax: 10, Rho: 1}, []float64{10, 5.05, 0.1, 0}},
		// Exponential: evenly spaced in log sigma; the middle of 3 is the
		// geometric mean sqrt(10 * 0.1) = 1.
		{"exponential n3", "exponential", 3, syn, []float64{10, 1, 0.1, 0}},
		{"exponential n2", "exponential", 2, syn, []float64{10, 0.1, 0}},
		// Polyexponential with rho 1 is Exponential; rho 2 squares the ramp
		// (1, 1/2, 0 -> 1, 1/4, 0): exp(ln 0.1 + ln(100)/4) = 0.1 * 100^(1/4) = 0.3162278.
		{"polyexponential rho1", "polyexponential", 3, syn, []float64{10, 1, 0.1, 0}},
		{"polyexponential rho2", "polyexponential", 3, ScheduleParams{Table: tab, SigmaMin: 0.1, SigmaMax: 10, Rho: 2}, []float64{10, 0.316227766016838, 0.1, 0}},
		// KL Optimal interpolates atan(sigma) linearly over i/n, i = 0..n, and
		// has no final 0: with sigma_max = tan 1.2, sigma_min = tan 0.2 and
		// n = 2 the angles are 1.2, 0.7, 0.2.
		{"kl_optimal n2", "kl_optimal", 2, ScheduleParams{Table: tab, SigmaMin: math.Tan(0.2), SigmaMax: math.Tan(1.2)},
			[]float64{2.5721516221263188, 0.8422883804630794, 0.2027100355086725}},
		// Beta(0.6, 0.6) is symmetric, so its median is 1/2; webui maps the
		// quantile linearly into [sigma_min, sigma_max]: 0.1 + 0.5 * 9.9 = 5.05.
		{"beta n3", "beta", 3, syn, []float64{10, 5.05, 0.1, 0}},
		{"beta n2", "beta", 2, syn, []float64{10, 0.1, 0}},
		// Uniform: t = linspace(999, 0, n). n = 4 hits timesteps 999, 666,
		// 333, 0 exactly; n = 3 has t = 499.5, halfway in log sigma.
		{"uniform n4", "uniform", 4, ScheduleParams{Table: tab}, []float64{tk(999), tk(666), tk(333), tk(0), 0}},
		{"uniform n3", "uniform", 3, ScheduleParams{Table: tab}, []float64{tk(999), mid(499), tk(0), 0}},
		// Normal: linspace over t(sigma_max) = 999 .. t(sigma_min) = 0, i.e.
		// Uniform for the model's own range.
		{"normal n3", "normal", 3, ScheduleParams{Table: tab}, []float64{tk(999), mid(499), tk(0), 0}},
		// SGM Uniform: linspace(999, 0, n+1) without its last point: n = 2
		// gives t = 999, 499.5.
		{"sgm_uniform n2", "sgm_uniform", 2, ScheduleParams{Table: tab}, []float64{tk(999), mid(499), 0}},
		// Simple: stride 1000/n, entries 999 - int(x * stride).
		{"simple n4", "simple", 4, ScheduleParams{Table: tab}, []float64{tk(999), tk(749), tk(499), tk(249), 0}},
		{"simple n3", "simple", 3, ScheduleParams{Table: tab}, []float64{tk(999), tk(666), tk(333), 0}},
		// DDIM: integer stride 1000/n over timesteps 1, 1+s, ... reversed.
		// 8 steps: stride 125 -> 876, 751, ..., 1 (the diffusers DDIM case's
		// timesteps). 7 steps: stride 142 -> 1 .. 995, eight entries.
		{"ddim n8", "ddim", 8, ScheduleParams{Table: tab}, []float64{tk(876), tk(751), tk(626), tk(501), tk(376), tk(251), tk(126), tk(1), 0}},
		{"ddim n7", "ddim", 7, ScheduleParams{Table: tab}, []float64{tk(995), tk(853), tk(711), tk(569), tk(427), tk(285), tk(143), tk(1), 0}},
		// Align Your Steps: webui compares the step count with the list
		// length, so 11 steps use the list as is and other counts resample it
		// in log sigma. 6 values sit at linspace(0, 1, 6) = 0, .2, ..., 1,
		// which are list points 0, 2, 4, 6, 8, 10.
		{"ays n11", "align_your_steps", 11, ScheduleParams{}, append(append([]float64{}, aysSD15...), 0)},
		{"ays sdxl n11", "align_your_steps", 11, ScheduleParams{SDXL: true}, append(append([]float64{}, aysSDXL...), 0)},
		{"ays n6", "align_your_steps", 6, ScheduleParams{}, []float64{14.615, 3.861, 1.886, 0.963, 0.399, 0.029, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Schedule(tt.sched, tt.n, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d sigmas %v, want %d", len(got), got, len(tt.want))
			}
			// The schedules compute in float32 like torch: allow a few float32
			// ulps (Karras rho 1 ends at 10 + (0.1 - 10) = 0.1000004).
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > 5e-6*math.Abs(tt.want[i]) {
					t.Errorf("sigma[%d] = %.9g, want %.9g", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestBetaLinearInSigma checks webui's Beta mapping on 5 steps: quantiles
// 1, 3/4, 1/2, 1/4, 0 of Beta(0.6, 0.6), mapped linearly into the sigma
// range. Symmetry gives x(1/4) = 1 - x(3/4), so the middle pairs sum to
// sigma_min + sigma_max; x(3/4) itself is checked against a direct numeric
// integration of the Beta density.
func TestBetaLinearInSigma(t *testing.T) {
	s, err := Schedule("beta", 5, ScheduleParams{SigmaMin: 0.1, SigmaMax: 10})
	if err != nil {
		t.Fatal(err)
	}
	if s[0] != 10 || float32(s[4]) != 0.1 || s[5] != 0 || math.Abs(s[2]-5.05) > 1e-6 {
		t.Fatalf("ends/middle wrong: %v", s)
	}
	if math.Abs(s[1]+s[3]-10.1) > 1e-5 {
		t.Errorf("not symmetric: %v + %v", s[1], s[3])
	}
	x := (s[1] - 0.1) / 9.9 // the 3/4 quantile
	if cdf := betaCDFNumeric(x, 0.6, 0.6); math.Abs(cdf-0.75) > 1e-5 {
		t.Errorf("CDF(%v) = %v, want 0.75", x, cdf)
	}
}

// betaCDFNumeric integrates the Beta(a, b) density from 0 to x by Simpson's
// rule after substituting t = u^(1/a), which removes the singularity at 0:
// integral of t^(a-1) (1-t)^(b-1) dt = (1/a) integral over [0, x^a] of
// (1 - u^(1/a))^(b-1) du.
func betaCDFNumeric(x, a, b float64) float64 {
	const n = 20000
	up := math.Pow(x, a)
	f := func(u float64) float64 { return math.Pow(1-math.Pow(u, 1/a), b-1) / a }
	h := up / n
	s := f(0) + f(up)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		s += w * f(float64(i)*h)
	}
	ga, _ := math.Lgamma(a)
	gb, _ := math.Lgamma(b)
	gab, _ := math.Lgamma(a + b)
	return s * h / 3 / math.Exp(ga+gb-gab)
}

// TestLCMSchedule: the 50 LCM timesteps are 19, 39, ..., 999; two steps
// span the whole thinned table: timesteps 999 and 19.
func TestLCMSchedule(t *testing.T) {
	tab := DefaultTable()
	got := LCMSchedule(2, ScheduleParams{Table: tab})
	want := []float64{float64(tab.Sigmas[999]), float64(tab.Sigmas[19]), 0}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-6*want[i] {
			t.Errorf("sigma[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestSigmaToT: k-diffusion's sigma_to_t inverts t_to_sigma on the table.
func TestSigmaToT(t *testing.T) {
	tab := DefaultTable()
	for _, ts := range []float64{0, 1, 250.25, 499.5, 998.75, 999} {
		got := tab.SigmaToT(tab.TToSigma(ts))
		if math.Abs(got-ts) > 2e-3 {
			t.Errorf("sigma_to_t(t_to_sigma(%v)) = %v", ts, got)
		}
	}
	if got := tab.SigmaToT(100); got != 999 {
		t.Errorf("sigma above the table: t = %v, want 999", got)
	}
	if got := tab.SigmaToT(1e-4); got != 0 {
		t.Errorf("sigma below the table: t = %v, want 0", got)
	}
}
