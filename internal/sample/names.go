package sample

import (
	"fmt"
	"strings"
)

// Sampler is one entry of the sampler table: the ID sdgo uses, webui's
// display name and aliases, the function, and webui's per-sampler options.
type Sampler struct {
	ID      string   // "euler_a"
	Name    string   // webui display name, "Euler a"
	Aliases []string // webui aliases ("k_euler_a"), k-diffusion function names, fixture names
	Func    Func
	// Schedule is the scheduler "Automatic" means for this sampler ("" =
	// uniform, webui's get_sigmas).
	Schedule string
	// DiscardPenultimate: compute steps+1 sigmas and drop the second to last.
	DiscardPenultimate bool
	UsesENSD           bool // noise comes from the seed+ENSD stream (infotext shows ENSD)
	SecondOrder        bool // two model calls per step
	Brownian           bool // webui feeds it Brownian-tree noise
	// Timesteps: a DDPM-timestep sampler working on the VP latent (start from
	// unit noise; see DDIM) on webui's timestep list instead of a schedule.
	Timesteps bool
	// Eta is the sampler's default eta (webui eta_ancestral = 1, eta_ddim = 0).
	Eta float64
	// Stochastic: draws noise even without churn (ancestral, SDE, restart, LCM).
	Stochastic bool
	// linear, when set, gives the sampler's update as LinearSteps (see
	// LinearSteps); Func runs through the same steps.
	linear linearPlan
}

// Options returns DefaultOptions with the sampler's own default eta.
func (s Sampler) Options() Options {
	o := DefaultOptions()
	o.Eta = s.Eta
	return o
}

// NoiseScale is what the initial unit noise is multiplied by: sigmas[0] for
// the k-diffusion samplers, 1 for the timestep samplers (VP latent).
func (s Sampler) NoiseScale(sigmas []float64) float64 {
	if s.Timesteps {
		return 1
	}
	return sigmas[0]
}

// Samplers is the sampler table, in webui's order (A1111 v1.10).
var Samplers = []Sampler{
	{ID: "dpmpp_2m", Name: "DPM++ 2M", Aliases: []string{"k_dpmpp_2m", "sample_dpmpp_2m"}, Func: DPMPP2M, Schedule: "karras", Eta: 1, linear: dpmpp2MSteps},
	{ID: "dpmpp_sde", Name: "DPM++ SDE", Aliases: []string{"k_dpmpp_sde", "sample_dpmpp_sde"}, Func: DPMPPSDE, Schedule: "karras", SecondOrder: true, Brownian: true, Eta: 1, Stochastic: true},
	{ID: "dpmpp_2m_sde", Name: "DPM++ 2M SDE", Aliases: []string{"k_dpmpp_2m_sde", "sample_dpmpp_2m_sde"}, Func: DPMPP2MSDE, Schedule: "exponential", Brownian: true, Eta: 1, Stochastic: true, linear: dpmpp2MSDESteps(false)},
	{ID: "dpmpp_2m_sde_heun", Name: "DPM++ 2M SDE Heun", Aliases: []string{"k_dpmpp_2m_sde_heun"}, Func: DPMPP2MSDEHeun, Schedule: "exponential", Brownian: true, Eta: 1, Stochastic: true, linear: dpmpp2MSDESteps(true)},
	{ID: "dpmpp_2s_a", Name: "DPM++ 2S a", Aliases: []string{"k_dpmpp_2s_a", "sample_dpmpp_2s_ancestral", "dpmpp_2s_ancestral"}, Func: DPMPP2SAncestral, Schedule: "karras", UsesENSD: true, SecondOrder: true, Eta: 1, Stochastic: true},
	{ID: "dpmpp_3m_sde", Name: "DPM++ 3M SDE", Aliases: []string{"k_dpmpp_3m_sde", "sample_dpmpp_3m_sde"}, Func: DPMPP3MSDE, Schedule: "exponential", DiscardPenultimate: true, Brownian: true, Eta: 1, Stochastic: true},
	{ID: "euler_a", Name: "Euler a", Aliases: []string{"k_euler_a", "k_euler_ancestral", "sample_euler_ancestral", "euler_ancestral"}, Func: EulerAncestral, UsesENSD: true, Eta: 1, Stochastic: true, linear: eulerAncestralSteps},
	{ID: "euler", Name: "Euler", Aliases: []string{"k_euler", "sample_euler"}, Func: Euler, Eta: 1, linear: eulerSteps},
	{ID: "lms", Name: "LMS", Aliases: []string{"k_lms", "sample_lms"}, Func: LMS, Eta: 1},
	{ID: "heun", Name: "Heun", Aliases: []string{"k_heun", "sample_heun"}, Func: Heun, SecondOrder: true, Eta: 1},
	{ID: "dpm2", Name: "DPM2", Aliases: []string{"k_dpm_2", "sample_dpm_2", "dpm_2"}, Func: DPM2, Schedule: "karras", DiscardPenultimate: true, SecondOrder: true, Eta: 1},
	{ID: "dpm2_a", Name: "DPM2 a", Aliases: []string{"k_dpm_2_a", "sample_dpm_2_ancestral", "dpm_2_ancestral"}, Func: DPM2Ancestral, Schedule: "karras", DiscardPenultimate: true, UsesENSD: true, SecondOrder: true, Eta: 1, Stochastic: true},
	{ID: "dpm_fast", Name: "DPM fast", Aliases: []string{"k_dpm_fast", "sample_dpm_fast"}, Func: DPMFast, UsesENSD: true, Eta: 1, Stochastic: true},
	{ID: "dpm_adaptive", Name: "DPM adaptive", Aliases: []string{"k_dpm_ad", "sample_dpm_adaptive"}, Func: DPMAdaptive, UsesENSD: true, Eta: 1, Stochastic: true},
	{ID: "restart", Name: "Restart", Aliases: []string{"restart_sampler"}, Func: Restart, Schedule: "karras", SecondOrder: true, Eta: 1, Stochastic: true},
	{ID: "ddim", Name: "DDIM", Aliases: []string{"diffusers_ddim"}, Func: DDIM, Timesteps: true},
	{ID: "plms", Name: "PLMS", Aliases: []string{"diffusers_plms", "pndm"}, Func: PLMS, Timesteps: true},
	{ID: "unipc", Name: "UniPC", Aliases: []string{"diffusers_unipc"}, Func: UniPC, Timesteps: true},
	{ID: "lcm", Name: "LCM", Aliases: []string{"k_lcm", "sample_lcm"}, Func: LCM, Schedule: "lcm", Stochastic: true},
}

// Lookup finds a sampler by ID, display name or alias (case-insensitive).
func Lookup(name string) (Sampler, bool) {
	for _, s := range Samplers {
		if strings.EqualFold(name, s.ID) || strings.EqualFold(name, s.Name) {
			return s, true
		}
		for _, a := range s.Aliases {
			if strings.EqualFold(name, a) {
				return s, true
			}
		}
	}
	return Sampler{}, false
}

// SamplerIDs lists the sampler IDs in table order.
func SamplerIDs() []string {
	ids := make([]string, len(Samplers))
	for i, s := range Samplers {
		ids[i] = s.ID
	}
	return ids
}

// Resolve turns a sampler name as users write it, possibly a legacy name
// with a scheduler suffix ("DPM++ 2M Karras"), and a scheduler name ("" or
// "Automatic" for the default) into a sampler and a scheduler ID, as
// webui's get_sampler_and_scheduler does: the suffix wins over the
// scheduler argument, and a scheduler equal to the sampler's default
// becomes "automatic".
func Resolve(samplerName, schedulerName string) (Sampler, string, error) {
	sched := "automatic"
	if schedulerName != "" {
		s, ok := LookupScheduler(schedulerName)
		if !ok {
			return Sampler{}, "", fmt.Errorf("sample: unknown scheduler %q (known: %s)", schedulerName, schedulerIDs())
		}
		sched = s.ID
	}
	name := strings.TrimSpace(samplerName)
	if _, ok := Lookup(name); !ok {
	suffixes:
		for _, s := range Schedulers[1:] {
			for _, label := range append([]string{s.Name}, s.Aliases...) {
				if len(name) > len(label)+1 && strings.EqualFold(name[len(name)-len(label)-1:], " "+label) {
					name, sched = name[:len(name)-len(label)-1], s.ID
					break suffixes
				}
			}
		}
	}
	smp, ok := Lookup(name)
	if !ok {
		return Sampler{}, "", fmt.Errorf("sample: unknown sampler %q (known: %s)", samplerName, strings.Join(SamplerIDs(), ", "))
	}
	if smp.Schedule != "" && smp.Schedule == sched {
		sched = "automatic"
	}
	return smp, sched, nil
}

// SigmasFor is webui's KDiffusionSampler.get_sigmas: the schedule of
// scheduler (ID or name; "" or "automatic" = the sampler's default) for
// steps, with steps+1 values computed and the penultimate dropped for the
// samplers that discard it (or always, with discard). Timestep samplers
// get the sigmas of webui's timesteps instead (see TimestepSigmas).
func SigmasFor(s Sampler, scheduler string, steps int, p ScheduleParams, discard bool) ([]float64, error) {
	if steps < 1 {
		return nil, fmt.Errorf("sample: %s: steps must be >= 1, got %d", s.ID, steps)
	}
	discard = discard || s.DiscardPenultimate
	n := steps
	if discard {
		n++
	}
	var sig []float64
	switch {
	case s.Timesteps:
		sig = TimestepSigmas(p.table(), WebuiTimesteps(n))
	case scheduler == "" || strings.EqualFold(scheduler, "automatic"):
		switch s.Schedule {
		case "":
			sig = Uniform(n, p)
		case "lcm":
			sig = LCMSchedule(n, p)
		default:
			var err error
			if sig, err = Schedule(s.Schedule, n, p); err != nil {
				return nil, err
			}
		}
	default:
		var err error
		if sig, err = Schedule(scheduler, n, p); err != nil {
			return nil, err
		}
	}
	if discard && len(sig) >= 2 {
		sig = append(sig[:len(sig)-2:len(sig)-2], sig[len(sig)-1])
	}
	return sig, nil
}

// WebuiTimesteps is webui's timestep list for DDIM/PLMS/UniPC:
// range(0, 1000, 1000 // steps) + 1, clipped to 999, descending.
func WebuiTimesteps(steps int) []int {
	stride := max(TrainSteps/steps, 1)
	var ts []int
	for t := 0; t < TrainSteps; t += stride {
		ts = append(ts, min(t+1, TrainSteps-1))
	}
	for i, j := 0, len(ts)-1; i < j; i, j = i+1, j-1 {
		ts[i], ts[j] = ts[j], ts[i]
	}
	return ts
}

// TimestepSigmas maps training timesteps (descending) to the table's
// sigmas and appends the final 0. A timestep repeated in a row, as in the
// model-call list of PLMS, counts once.
func TimestepSigmas(t *Table, timesteps []int) []float64 {
	out := make([]float64, 0, len(timesteps)+1)
	for i, ts := range timesteps {
		if i > 0 && ts == timesteps[i-1] {
			continue
		}
		out = append(out, float64(t.Sigmas[ts]))
	}
	return append(out, 0)
}

// FixtureOptions are the options a reference fixture ran a sampler with:
// the defaults of the library functions it called directly (k-diffusion,
// diffusers) - which differ from webui's for DPM fast and DPM adaptive,
// whose k-diffusion eta default is 0 while webui passes 1 - then the case's
// keyword arguments (only "eta" occurs), and steps as DPM fast's model-call
// budget. Unknown sampler names get DefaultOptions.
func FixtureOptions(name string, steps int, kwargs map[string]float64) Options {
	o := DefaultOptions()
	if s, ok := Lookup(name); ok {
		o.Eta = s.Eta
		if s.ID == "dpm_fast" || s.ID == "dpm_adaptive" {
			o.Eta = 0
		}
	}
	if eta, ok := kwargs["eta"]; ok {
		o.Eta = eta
	}
	o.NFE = steps
	return o
}
