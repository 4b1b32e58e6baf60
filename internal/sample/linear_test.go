package sample

import (
	"math"
	"testing"
)

// synthDenoiser is a deterministic stand-in model whose prediction depends
// on x, sigma and the element: den = x/(1+sigma^2) + 0.1 sin(j + sigma).
func synthDenoiser(x []float32, sigma float64) ([]float32, error) {
	out := make([]float32, len(x))
	for j, v := range x {
		out[j] = float32(float64(v)/(1+sigma*sigma) + 0.1*math.Sin(float64(j)+sigma))
	}
	return out, nil
}

// refSampler is an independent transcription of a k-diffusion sampler
// (k_diffusion/sampling.py) from its formulas, one float32 latent per step;
// draw returns the next noise tensor for (sigma, next).
type refSampler func(x []float32, sigmas []float64, eta, sNoise float64, draw func(s, next float64) []float32) []float32

// refEuler is sample_euler without churn: d = (x - D)/sigma, x += d dt.
func refEuler(x []float32, sigmas []float64, _, _ float64, _ func(s, next float64) []float32) []float32 {
	for i := 0; i+1 < len(sigmas); i++ {
		den, _ := synthDenoiser(x, sigmas[i])
		dt := sigmas[i+1] - sigmas[i]
		for j := range x {
			d := (float64(x[j]) - float64(den[j])) / sigmas[i]
			x[j] = float32(float64(x[j]) + d*dt)
		}
	}
	return x
}

// refEulerAncestral is sample_euler_ancestral with get_ancestral_step.
func refEulerAncestral(x []float32, sigmas []float64, eta, sNoise float64, draw func(s, next float64) []float32) []float32 {
	for i := 0; i+1 < len(sigmas); i++ {
		from, to := sigmas[i], sigmas[i+1]
		den, _ := synthDenoiser(x, from)
		up, down := 0.0, to
		if eta != 0 {
			up = math.Min(to, eta*math.Sqrt(to*to*(from*from-to*to)/(from*from)))
			down = math.Sqrt(to*to - up*up)
		}
		var z []float32
		if to > 0 {
			z = draw(from, to)
		}
		for j := range x {
			d := (float64(x[j]) - float64(den[j])) / from
			v := float64(x[j]) + d*(down-from)
			if z != nil {
				v += float64(z[j]) * sNoise * up
			}
			x[j] = float32(v)
		}
	}
	return x
}

// refDPMPP2M is sample_dpmpp_2m in t = -log sigma.
func refDPMPP2M(x []float32, sigmas []float64, _, _ float64, _ func(s, next float64) []float32) []float32 {
	var old []float32
	for i := 0; i+1 < len(sigmas); i++ {
		den, _ := synthDenoiser(x, sigmas[i])
		t, tNext := -math.Log(sigmas[i]), -math.Log(sigmas[i+1])
		h := tNext - t
		for j := range x {
			dd := float64(den[j])
			if old != nil && sigmas[i+1] != 0 {
				hLast := t - (-math.Log(sigmas[i-1]))
				r := hLast / h
				dd = (1+1/(2*r))*float64(den[j]) - (1/(2*r))*float64(old[j])
			}
			x[j] = float32(sigmas[i+1]/sigmas[i]*float64(x[j]) - math.Expm1(-h)*dd)
		}
		old = den
	}
	return x
}

// refDPMPP2MSDE is sample_dpmpp_2m_sde with solver_type midpoint or heun.
func refDPMPP2MSDE(heun bool) refSampler {
	return func(x []float32, sigmas []float64, eta, sNoise float64, draw func(s, next float64) []float32) []float32 {
		var old []float32
		var h, hLast float64
		for i := 0; i+1 < len(sigmas); i++ {
			den, _ := synthDenoiser(x, sigmas[i])
			if sigmas[i+1] == 0 {
				copy(x, den)
			} else {
				t, s := -math.Log(sigmas[i]), -math.Log(sigmas[i+1])
				h = s - t
				etaH := eta * h
				var z []float32
				if eta != 0 {
					z = draw(sigmas[i], sigmas[i+1])
				}
				for j := range x {
					v := sigmas[i+1]/sigmas[i]*math.Exp(-etaH)*float64(x[j]) - math.Expm1(-h-etaH)*float64(den[j])
					if old != nil {
						r := hLast / h
						diff := float64(den[j]) - float64(old[j])
						if heun {
							v += (-math.Expm1(-h-etaH)/(-h-etaH) + 1) * (1 / r) * diff
						} else {
							v += 0.5 * -math.Expm1(-h-etaH) * (1 / r) * diff
						}
					}
					if z != nil {
						v += float64(z[j]) * sigmas[i+1] * math.Sqrt(-math.Expm1(-2*etaH)) * sNoise
					}
					x[j] = float32(v)
				}
			}
			old, hLast = den, h
		}
		return x
	}
}

// TestLinearSamplersMatchReference runs each linear sampler's Func (the
// shared host loop over its LinearSteps) against the reference
// transcription, on several schedules and options, with the same noise:
// the final latents agree within 1e-6 (relative to max(1, |x|)) and the
// noise is drawn the same number of times with the same sigmas.
func TestLinearSamplersMatchReference(t *testing.T) {
	refs := []struct {
		id  string
		ref refSampler
	}{
		{"euler", refEuler},
		{"euler_a", refEulerAncestral},
		{"dpmpp_2m", refDPMPP2M},
		{"dpmpp_2m_sde", refDPMPP2MSDE(false)},
		{"dpmpp_2m_sde_heun", refDPMPP2MSDE(true)},
	}
	type variant struct {
		name      string
		scheduler string
		steps     int
		eta       float64
		sNoise    float64 // as passed; 0 means 1
		truncate  bool    // drop the final 0 (an img2img tail that stops early)
	}
	variants := []variant{
		{"karras", "karras", 10, 1, 1, false},
		{"exponential", "exponential", 7, 1, 0, false},
		{"uniform_eta0.5_snoise0.8", "automatic", 9, 0.5, 0.8, false},
		{"karras_eta0", "karras", 6, 0, 1, false},
		{"karras_no_zero", "karras", 8, 1, 1, true},
		{"two_steps", "karras", 2, 1, 1, false},
	}
	const n = 48
	tab := DefaultTable()
	for _, r := range refs {
		id, ref := r.id, r.ref
		s, ok := Lookup(id)
		if !ok {
			t.Fatalf("%s not in the table", id)
		}
		for _, v := range variants {
			t.Run(id+"/"+v.name, func(t *testing.T) {
				sigmas, err := SigmasFor(s, v.scheduler, v.steps, ScheduleParams{Table: tab}, false)
				if err != nil {
					t.Fatal(err)
				}
				if v.truncate {
					sigmas = sigmas[:len(sigmas)-1]
				}
				opt := s.Options()
				opt.Eta, opt.SNoise = v.eta, v.sNoise
				x0 := startLatent(s, sigmas, NewTorchCPU(7).Randn(n))

				noise := &recordNoise{g: NewTorchCPU(11), n: n}
				got, err := s.Func(synthDenoiser, x0, sigmas, opt, noise, nil)
				if err != nil {
					t.Fatal(err)
				}

				sNoise := v.sNoise
				if sNoise == 0 {
					sNoise = 1
				}
				refNoise := &recordNoise{g: NewTorchCPU(11), n: n}
				want := ref(clone(x0), sigmas, v.eta, sNoise, func(a, b float64) []float32 {
					z, _ := refNoise.Next(a, b)
					return z
				})

				worst := 0.0
				for j := range want {
					e := math.Abs(float64(got[j])-float64(want[j])) / max(1, math.Abs(float64(want[j])))
					worst = max(worst, e)
				}
				if worst > 1e-6 {
					t.Errorf("final latent: max relative error %.3g against the reference", worst)
				}
				if len(noise.calls) != len(refNoise.calls) {
					t.Fatalf("noise draws = %v, reference %v", noise.calls, refNoise.calls)
				}
				for i := range noise.calls {
					if noise.calls[i] != refNoise.calls[i] {
						t.Errorf("noise draw %d for %v, reference %v", i, noise.calls[i], refNoise.calls[i])
					}
				}
				t.Logf("max relative error %.2g, %d noise draws", worst, len(noise.calls))
			})
		}
	}
}

// recordNoise draws from a generator and records the sigmas of each call.
type recordNoise struct {
	g     Generator
	n     int
	calls [][2]float64
}

func (r *recordNoise) Next(sigma, next float64) ([]float32, error) {
	r.calls = append(r.calls, [2]float64{sigma, next})
	return r.g.Randn(r.n), nil
}

// TestLinearStepsShape checks the invariants a device loop relies on: one
// step per interval at its sigma, no previous prediction on the first
// step, N != 0 only with Draw, and the step to sigma 0 returning den.
func TestLinearStepsShape(t *testing.T) {
	sigmas := Karras(8, ScheduleParams{})
	for _, id := range []string{"euler", "euler_a", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_2m_sde_heun"} {
		t.Run(id, func(t *testing.T) {
			s, _ := Lookup(id)
			steps, ok := LinearSteps(s, sigmas, s.Options())
			if !ok || len(steps) != len(sigmas)-1 {
				t.Fatalf("ok %v, %d steps for %d sigmas", ok, len(steps), len(sigmas))
			}
			for i, st := range steps {
				if st.Sigma != sigmas[i] {
					t.Errorf("step %d at sigma %v, want %v", i, st.Sigma, sigmas[i])
				}
				if st.N != 0 && !st.Draw {
					t.Errorf("step %d: N %v without a draw", i, st.N)
				}
				if st.Draw && (st.NoiseFrom != sigmas[i] || st.NoiseTo != sigmas[i+1]) {
					t.Errorf("step %d draws for (%v, %v)", i, st.NoiseFrom, st.NoiseTo)
				}
			}
			if steps[0].P != 0 {
				t.Errorf("first step P = %v", steps[0].P)
			}
			last := steps[len(steps)-1]
			if last.X != 0 || last.D != 1 || last.P != 0 || last.N != 0 || last.Draw {
				t.Errorf("step to 0 = %+v, want den", last)
			}
		})
	}
}

// TestLinearStepsNotLinear: samplers outside the linear set, and Euler
// with churn at some step, have no linear steps; Euler with churn confined
// to sigmas the schedule never visits does.
func TestLinearStepsNotLinear(t *testing.T) {
	sigmas := Karras(6, ScheduleParams{})
	churn := DefaultOptions()
	churn.SChurn = 1
	outside := churn
	outside.STmin, outside.STmax = 100, 200
	tests := []struct {
		sampler string
		opt     Options
		ok      bool
	}{
		{"euler", churn, false},
		{"euler", outside, true},
		{"euler", DefaultOptions(), true},
		{"heun", DefaultOptions(), false},
		{"lms", DefaultOptions(), false},
		{"ddim", DefaultOptions(), false},
		{"dpm2", DefaultOptions(), false},
		{"dpmpp_sde", DefaultOptions(), false},
		{"dpmpp_2s_a", DefaultOptions(), false},
		{"dpmpp_3m_sde", DefaultOptions(), false},
		{"unipc", DefaultOptions(), false},
		{"lcm", DefaultOptions(), false},
	}
	for _, tt := range tests {
		s, ok := Lookup(tt.sampler)
		if !ok {
			t.Fatalf("%s not in the table", tt.sampler)
		}
		if _, ok := LinearSteps(s, sigmas, tt.opt); ok != tt.ok {
			t.Errorf("%s with %+v: ok = %v, want %v", tt.sampler, tt.opt, ok, tt.ok)
		}
	}
	if _, ok := LinearSteps(Sampler{}, sigmas, DefaultOptions()); ok {
		t.Error("the zero Sampler has linear steps")
	}
}

// TestEulerChurnStillRuns: Euler with churn takes its own path and draws
// one noise per churned step.
func TestEulerChurnStillRuns(t *testing.T) {
	sigmas := Karras(5, ScheduleParams{})
	opt := DefaultOptions()
	opt.SChurn = 1
	x := startLatent(Sampler{}, sigmas, NewTorchCPU(3).Randn(16))
	noise := &recordNoise{g: NewTorchCPU(4), n: 16}
	var hats []float64
	cb := func(s Step) error { hats = append(hats, s.SigmaHat/s.Sigma); return nil }
	if _, err := Euler(synthDenoiser, x, sigmas, opt, noise, cb); err != nil {
		t.Fatal(err)
	}
	if len(noise.calls) != 5 {
		t.Errorf("%d churn draws, want 5", len(noise.calls))
	}
	for i, r := range hats {
		if math.Abs(r-1.2) > 1e-12 { // gamma = min(1/5, sqrt 2 - 1)
			t.Errorf("step %d: sigma_hat/sigma = %v, want 1.2", i, r)
		}
	}
}
