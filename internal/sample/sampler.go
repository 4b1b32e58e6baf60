package sample

import (
	"errors"
	"fmt"
	"math"
)

// Denoiser is the model as the samplers see it: D(x, sigma) returns the
// denoised prediction of the latent x at noise level sigma (k-diffusion's
// convention, x = clean + sigma * noise). x holds the whole batch, one
// latent after the other, all at the same sigma. Classifier-free guidance
// and the eps/v parameterisation live inside the Denoiser.
//
// The Denoiser must not keep or modify x, and must return a slice it does not
// reuse: samplers keep earlier predictions.
type Denoiser func(x []float32, sigma float64) ([]float32, error)

// Step is what a sampler reports once per step, after the step's first
// model evaluation. X is the sampler's working latent and changes after the
// callback returns: copy it to keep it. Denoised is not modified later.
type Step struct {
	Index    int     // 0-based step
	Total    int     // number of steps (len(sigmas)-1; for adaptive solvers an estimate)
	Sigma    float64 // the step's sigma
	SigmaHat float64 // the sigma the model was evaluated at (differs with s_churn)
	X        []float32
	Denoised []float32
}

// Callback receives every step; a non-nil error stops the sampler, which
// returns it wrapped (errors.Is works).
type Callback func(Step) error

// Noise hands out the standard normal tensors a stochastic sampler adds,
// one per call, len(x) values each. sigma and sigmaNext name the interval the
// noise is for (what k-diffusion's noise_sampler receives); generators that
// ignore them just return their next draw.
type Noise interface {
	Next(sigma, sigmaNext float64) ([]float32, error)
}

// Stats counts what a sampler did; adaptive solvers fill the step counts.
type Stats struct {
	NFE      int // model evaluations
	Steps    int // solver steps attempted
	Accepted int
	Rejected int
}

// Options are the sampler settings. Start from DefaultOptions: Eta's zero
// value is meaningful (no ancestral noise).
type Options struct {
	Eta    float64 // ancestral / SDE noise amount (webui "eta_ancestral", 1)
	SChurn float64 // Karras churn for euler, heun, dpm2 (0 = off)
	STmin  float64 // churn only for sigmas in [STmin, STmax]
	STmax  float64 // 0 counts as +Inf (webui: s_tmax or inf)
	SNoise float64 // noise multiplier (0 counts as 1)

	// Order is LMS's order (4), UniPC's solver order (2) or DPM adaptive's
	// order (3); 0 = the sampler's default.
	Order int
	// DPM adaptive step control; 0 = k-diffusion defaults
	// (rtol 0.05, atol 0.0078, h_init 0.05, accept_safety 0.81).
	RTol, ATol, HInit, AcceptSafety float64
	// NFE is DPM fast's number of model evaluations; 0 = len(sigmas)-1.
	NFE int
	// AlphasCumprod is the model's schedule, used by the timestep samplers
	// (DDIM, PLMS, UniPC); nil = DefaultAlphasCumprod.
	AlphasCumprod []float32
	// UniPCVariant is "bh1" or "bh2" ("" = "bh2", diffusers' default).
	UniPCVariant string
	// Stats, when not nil, receives the sampler's counts.
	Stats *Stats
}

// DefaultOptions are webui's defaults: eta 1, s_noise 1, churn off.
func DefaultOptions() Options {
	return Options{Eta: 1, SNoise: 1, STmax: math.Inf(1)}
}

// Func is the one signature every sampler has: it runs the model over the
// schedule sigmas (descending, usually ending in 0) starting from x (already
// scaled: noise * sigmas[0] for a k-diffusion sampler) and returns the final
// latent. x is not modified. noise may be nil for samplers that draw none
// (with eta 0 or churn 0). cb may be nil.
type Func func(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error)

// ErrNoNoise is returned when a stochastic step needs noise and none was given.
var ErrNoNoise = errors.New("sample: the sampler needs a noise source")

// run carries a sampler's per-call state: it counts model evaluations,
// forwards callbacks and draws noise with uniform error wrapping.
type run struct {
	name  string
	d     Denoiser
	opt   Options
	noise Noise
	cb    Callback
	total int
	nfe   int
}

func newRun(name string, d Denoiser, sigmas []float64, opt Options, noise Noise, cb Callback) (*run, error) {
	if len(sigmas) < 2 {
		return nil, fmt.Errorf("sample: %s: need at least 2 sigmas, got %d", name, len(sigmas))
	}
	return &run{name: name, d: d, opt: normalize(opt), noise: noise, cb: cb, total: len(sigmas) - 1}, nil
}

// normalize gives the zero values of SNoise and STmax their meaning:
// s_noise 1 and s_tmax +Inf.
func normalize(opt Options) Options {
	if opt.SNoise == 0 {
		opt.SNoise = 1
	}
	if opt.STmax == 0 {
		opt.STmax = math.Inf(1)
	}
	return opt
}

func (r *run) model(x []float32, sigma float64) ([]float32, error) {
	den, err := r.d(x, sigma)
	if err != nil {
		return nil, fmt.Errorf("sample: %s: model at sigma %g: %w", r.name, sigma, err)
	}
	if len(den) != len(x) {
		return nil, fmt.Errorf("sample: %s: model returned %d values for %d", r.name, len(den), len(x))
	}
	r.nfe++
	return den, nil
}

func (r *run) step(i int, sigma, sigmaHat float64, x, den []float32) error {
	if r.cb == nil {
		return nil
	}
	if err := r.cb(Step{Index: i, Total: r.total, Sigma: sigma, SigmaHat: sigmaHat, X: x, Denoised: den}); err != nil {
		return fmt.Errorf("sample: %s: stopped at step %d: %w", r.name, i, err)
	}
	return nil
}

func (r *run) draw(n int, sigma, sigmaNext float64) ([]float32, error) {
	if r.noise == nil {
		return nil, fmt.Errorf("%w (%s)", ErrNoNoise, r.name)
	}
	z, err := r.noise.Next(sigma, sigmaNext)
	if err != nil {
		return nil, fmt.Errorf("sample: %s: noise: %w", r.name, err)
	}
	if len(z) != n {
		return nil, fmt.Errorf("sample: %s: noise has %d values, latent %d", r.name, len(z), n)
	}
	return z, nil
}

// addNoise draws noise and adds scale * noise to x.
func (r *run) addNoise(x []float32, scale, sigma, sigmaNext float64) error {
	z, err := r.draw(len(x), sigma, sigmaNext)
	if err != nil {
		return err
	}
	scale *= r.opt.SNoise
	for i := range x {
		x[i] = float32(float64(x[i]) + float64(z[i])*scale)
	}
	return nil
}

func (r *run) done(x []float32) ([]float32, error) {
	if r.opt.Stats != nil {
		r.opt.Stats.NFE = r.nfe
	}
	return x, nil
}

// clone copies a latent.
func clone(x []float32) []float32 { return append([]float32(nil), x...) }

// ancestralStep is k-diffusion get_ancestral_step: the sigma to step down to
// deterministically and the noise to add so that the marginal at sigmaTo is
// right: sigma_up = min(to, eta sqrt(to^2 (from^2 - to^2) / from^2)),
// sigma_down = sqrt(to^2 - sigma_up^2).
func ancestralStep(from, to, eta float64) (down, up float64) {
	if eta == 0 {
		return to, 0
	}
	up = min(to, eta*math.Sqrt(to*to*(from*from-to*to)/(from*from)))
	down = math.Sqrt(to*to - up*up)
	return down, up
}

// eulerTo moves x along d = (x - den)/sigma from sigma to sigmaTo in place.
func eulerTo(x, den []float32, sigma, sigmaTo float64) {
	dt := sigmaTo - sigma
	for i := range x {
		xi := float64(x[i])
		x[i] = float32(xi + (xi-float64(den[i]))/sigma*dt)
	}
}
