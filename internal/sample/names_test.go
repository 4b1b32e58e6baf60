package sample

import (
	"math"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		sampler, scheduler string
		wantID, wantSched  string
	}{
		{"Euler a", "", "euler_a", "automatic"},
		{"euler_a", "Karras", "euler_a", "karras"},
		{"k_euler_a", "", "euler_a", "automatic"},
		{"euler_ancestral", "", "euler_a", "automatic"}, // fixture / k-diffusion name
		{"DPM++ 2M", "Karras", "dpmpp_2m", "automatic"}, // Karras is its default
		{"DPM++ 2M", "Exponential", "dpmpp_2m", "exponential"},
		{"DPM++ 2M Karras", "", "dpmpp_2m", "automatic"}, // legacy name
		{"DPM++ 2M Karras", "Uniform", "dpmpp_2m", "automatic"},
		{"DPM++ 2M SDE Karras", "", "dpmpp_2m_sde", "karras"},
		{"DPM++ 2M SDE Exponential", "", "dpmpp_2m_sde", "automatic"},
		{"DPM++ 2M SDE Heun", "", "dpmpp_2m_sde_heun", "automatic"},
		{"DPM++ 2M SDE Heun Karras", "", "dpmpp_2m_sde_heun", "karras"},
		{"DPM2 a Karras", "", "dpm2_a", "automatic"},
		{"LMS Karras", "", "lms", "karras"},
		{"Euler SGMUniform", "", "euler", "sgm_uniform"},
		{"DDIM", "", "ddim", "automatic"},
		{"dpm_2", "kl_optimal", "dpm2", "kl_optimal"},
		{"UniPC", "align your steps", "unipc", "align_your_steps"},
	}
	for _, tt := range tests {
		t.Run(tt.sampler+"/"+tt.scheduler, func(t *testing.T) {
			s, sched, err := Resolve(tt.sampler, tt.scheduler)
			if err != nil {
				t.Fatal(err)
			}
			if s.ID != tt.wantID || sched != tt.wantSched {
				t.Errorf("got %s + %s, want %s + %s", s.ID, sched, tt.wantID, tt.wantSched)
			}
		})
	}
	for _, bad := range [][2]string{{"Euler b", ""}, {"Euler", "Weird"}, {"", ""}} {
		if _, _, err := Resolve(bad[0], bad[1]); err == nil {
			t.Errorf("Resolve(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// TestTableComplete: every webui sampler of the issue is in the table with
// a function, and names and aliases are unique.
func TestTableComplete(t *testing.T) {
	names := []string{"Euler", "Euler a", "LMS", "Heun", "DPM2", "DPM2 a", "DPM++ 2S a", "DPM++ 2M",
		"DPM++ SDE", "DPM++ 2M SDE", "DPM++ 2M SDE Heun", "DPM++ 3M SDE", "DPM fast", "DPM adaptive",
		"Restart", "DDIM", "PLMS", "UniPC", "LCM"}
	for _, n := range names {
		s, ok := Lookup(n)
		if !ok || s.Func == nil || s.Name != n {
			t.Errorf("%q: found %v, %+v", n, ok, s.ID)
		}
	}
	seen := map[string]string{}
	for _, s := range Samplers {
		for _, n := range append([]string{s.ID, s.Name}, s.Aliases...) {
			if prev, dup := seen[n]; dup && prev != s.ID {
				t.Errorf("name %q used by %s and %s", n, prev, s.ID)
			}
			seen[n] = s.ID
		}
	}
	for _, s := range Schedulers[1:] {
		if _, err := Schedule(s.ID, 10, ScheduleParams{}); err != nil {
			t.Errorf("%s: %v", s.ID, err)
		}
	}
}

// TestSigmasFor: Automatic picks the sampler's default; DPM2 and DPM++ 3M
// SDE compute one sigma more and drop the penultimate; the timestep
// samplers use webui's timesteps.
func TestSigmasFor(t *testing.T) {
	tab := DefaultTable()
	p := ScheduleParams{Table: tab}
	get := func(name, sched string, steps int, discard bool) []float64 {
		s, _ := Lookup(name)
		sig, err := SigmasFor(s, sched, steps, p, discard)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	equal := func(what string, got, want []float64) {
		if len(got) != len(want) {
			t.Fatalf("%s: %d sigmas, want %d", what, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: sigma[%d] = %v, want %v", what, i, got[i], want[i])
			}
		}
	}
	equal("euler automatic = uniform", get("Euler", "", 8, false), Uniform(8, p))
	equal("dpm++ 2m automatic = karras", get("DPM++ 2M", "Automatic", 8, false), Karras(8, p))
	k9 := Karras(9, p)
	equal("dpm2 discards", get("DPM2", "", 8, false), append(append([]float64{}, k9[:8]...), 0))
	e9 := Exponential(9, p)
	equal("3m sde discards", get("DPM++ 3M SDE", "", 8, false), append(append([]float64{}, e9[:8]...), 0))
	u9 := Uniform(9, p)
	equal("forced discard", get("Euler", "uniform", 8, true), append(append([]float64{}, u9[:8]...), 0))
	equal("ddim timesteps", get("DDIM", "karras", 8, false), TimestepSigmas(tab, []int{876, 751, 626, 501, 376, 251, 126, 1}))
	if got := WebuiTimesteps(3); len(got) != 4 || got[0] != 999 || got[3] != 1 {
		t.Errorf("3 steps: %v (webui: range(0,1000,333)+1 clipped to 999)", got)
	}
	if lcm := get("LCM", "", 2, false); math.Abs(lcm[1]-float64(tab.Sigmas[19])) > 1e-6 {
		t.Errorf("lcm automatic %v", lcm)
	}
}
