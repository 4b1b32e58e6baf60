package verify

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"sdgo/internal/fixture"
	"sdgo/internal/model"
	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
)

func init() {
	kinds["rng"] = runRNG
	kinds["sampler_kdiffusion"] = runSampler
	kinds["sampler_diffusers"] = runSampler
}

// modelCallsChecked is how many recorded model calls per sampler case the
// model_calls check evaluates (0 = all). A CFG UNet call of the tiny model
// costs about 250 ms on the pure-Go backend and the end-to-end checks
// already make ~400 of them, so this stays small: call 0 (at x_T and
// sigma_max, shared with the end-to-end run through memoize) and call 1
// (the next sigma, or the midpoint / corrector sigma of second-order
// samplers).
const modelCallsChecked = 2

// runRNG checks torch's CPU generator bit for bit and the Philox imitation
// of its CUDA generator within the case tolerance, two draws each.
func runRNG(r *Runner, c *fixture.Case) []Result {
	var in struct {
		Seed  uint64 `json:"seed"`
		Shape []int  `json:"shape"`
	}
	if err := c.DecodeInputs(&in); err != nil {
		return []Result{errResult(c, "", err)}
	}
	n := 1
	for _, d := range in.Shape {
		n *= d
	}
	gens := []struct {
		name string
		g    sample.Generator
		tol  fixture.Tolerance
	}{
		{"cpu", sample.NewTorchCPU(in.Seed), fixture.Tolerance{Exact: true}},
		{"cuda", sample.NewPhilox(in.Seed), c.Tolerance},
	}
	var out []Result
	for _, g := range gens {
		res := newResult(c, g.name, g.tol)
		for _, draw := range []string{"first", "second"} {
			role := g.name + "_" + draw
			got := g.g.Randn(n)
			if name, ok := c.ExpectedTensors[role]; ok {
				r.compareTensor(&res, role, name, got, g.tol)
			} else {
				res.Detail += " (no " + role + " tensor)"
			}
		}
		out = append(out, res)
	}
	return out
}

// samplerInputs are the inputs of sampler_kdiffusion and sampler_diffusers
// cases.
type samplerInputs struct {
	Model         string             `json:"model"`
	Sampler       string             `json:"sampler"`   // k-diffusion
	Scheduler     string             `json:"scheduler"` // diffusers
	Steps         int                `json:"steps"`
	CFGScale      float64            `json:"cfg_scale"`
	Sigmas        []float64          `json:"sigmas"`
	Timesteps     []int              `json:"timesteps"`
	SamplerKwargs map[string]float64 `json:"sampler_kwargs"`
	Eta           float64            `json:"eta"`
}

// samplerExpected are the JSON expectations of a k-diffusion case.
type samplerExpected struct {
	NFE        int          `json:"nfe_cfg_calls"`
	NoiseUsed  int          `json:"noise_used"`
	NoiseCalls [][2]float64 `json:"noise_calls"`
	Info       struct {
		Steps  int `json:"steps"`
		NFE    int `json:"nfe"`
		Accept int `json:"n_accept"`
		Reject int `json:"n_reject"`
	} `json:"info"`
}

// samplerCase is a sampler case decoded once for its three checks.
type samplerCase struct {
	c         *fixture.Case
	in        samplerInputs
	exp       samplerExpected
	diffusers bool
	replay    sample.ReplayInput
	replayTol fixture.Tolerance
	xShape    []int // [1, C, H, W]
}

// runSampler runs the three checks of the fixture README ("Sampler outputs,
// and how to test without error build-up"): the sampler alone against the
// recorded model outputs (replay), sdgo's CFG denoiser on recorded inputs
// (model_calls), and both together from x_T (end_to_end).
func runSampler(r *Runner, c *fixture.Case) []Result {
	sc, err := r.samplerCase(c)
	if err != nil {
		return []Result{errResult(c, "replay", err)}
	}
	rep := r.samplerReplay(sc)
	m, err := r.env.model(modelKey{name: sc.in.Model})
	if err != nil {
		return []Result{rep, errResult(c, "model_calls", err), errResult(c, "end_to_end", err)}
	}
	d, err := r.samplerDenoiser(sc, m)
	if err != nil {
		return []Result{rep, errResult(c, "model_calls", err), errResult(c, "end_to_end", err)}
	}
	// The first recorded call is at x_T, where the end-to-end run starts
	// too: remember evaluations so it is computed once.
	den := memoize(d.Denoise)
	return []Result{rep, r.samplerModelCalls(sc, d.Table, den), r.samplerEndToEnd(sc, den, rep)}
}

// memoize remembers a denoiser's results by (x, sigma). The UNet is
// deterministic, so a repeated evaluation gives the same values.
func memoize(d sample.Denoiser) sample.Denoiser {
	type key struct {
		x     string
		sigma float64
	}
	cache := map[key][]float32{}
	return func(x []float32, sigma float64) ([]float32, error) {
		b := make([]byte, 4*len(x))
		for i, v := range x {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		k := key{string(b), sigma}
		if out, ok := cache[k]; ok {
			return append([]float32(nil), out...), nil
		}
		out, err := d(x, sigma)
		if err == nil {
			cache[k] = append([]float32(nil), out...)
		}
		return out, err
	}
}

// samplerCase decodes a sampler case and builds its replay input the way
// internal/sample's TestReplay does.
func (r *Runner) samplerCase(c *fixture.Case) (*samplerCase, error) {
	sc := &samplerCase{c: c, diffusers: c.Kind == "sampler_diffusers", replayTol: c.Tolerance}
	if err := c.DecodeInputs(&sc.in); err != nil {
		return nil, err
	}
	if sc.in.Model == "" {
		return nil, fmt.Errorf("case has no inputs.model")
	}
	name, outputs, sigmas, kwargs := sc.in.Sampler, c.ExpectedTensors["model_calls_denoised"], sc.in.Sigmas, sc.in.SamplerKwargs
	if sc.diffusers {
		name, outputs = sc.in.Scheduler, c.ExpectedTensors["model_calls_out"]
		sigmas = sample.TimestepSigmas(sample.DefaultTable(), sc.in.Timesteps)
		kwargs = map[string]float64{"eta": sc.in.Eta}
	} else {
		if err := c.DecodeExpected(&sc.exp); err != nil {
			return nil, err
		}
		var rp struct {
			Tolerance fixture.Tolerance `json:"tolerance"`
		}
		if err := json.Unmarshal(c.Replay, &rp); err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		sc.replayTol = rp.Tolerance
	}
	x, shape, err := r.M.Tensor(c.ExpectedTensors["x_T"])
	if err != nil {
		return nil, err
	}
	if len(shape) != 4 || shape[0] != 1 {
		return nil, fmt.Errorf("x_T shape %v, want [1, C, H, W]", shape)
	}
	sc.xShape = shape
	outs, err := r.stack(outputs)
	if err != nil {
		return nil, err
	}
	noise, err := r.stack(c.InputTensors["noise_steps"])
	if err != nil {
		return nil, err
	}
	sc.replay = sample.ReplayInput{
		Sampler: name,
		Sigmas:  sigmas,
		Options: sample.FixtureOptions(name, sc.in.Steps, kwargs),
		X:       x,
		Outputs: outs,
		Noise:   noise,
	}
	return sc, nil
}

// stack reads a [K, ...] tensor as K slices; "" gives none.
func (r *Runner) stack(name string) ([][]float32, error) {
	if name == "" {
		return nil, nil
	}
	v, shape, err := r.M.Tensor(name)
	if err != nil {
		return nil, err
	}
	if len(shape) == 0 || shape[0] == 0 {
		return nil, nil
	}
	per := len(v) / shape[0]
	out := make([][]float32, shape[0])
	for i := range out {
		out[i] = v[i*per : (i+1)*per]
	}
	return out, nil
}

// samplerReplay runs the sampler against the recorded model outputs and
// noise: the model inputs and x_final must match within the replay
// tolerance, and the call and noise counts must match.
func (r *Runner) samplerReplay(sc *samplerCase) Result {
	c := sc.c
	res := newResult(c, "replay", sc.replayTol)
	got, err := sample.Replay(sc.replay)
	if err != nil {
		return errResult(c, res.Variant, err)
	}
	r.compareCalls(&res, sc, got.Inputs, sc.replayTol)
	r.compareTensor(&res, "x_final", c.ExpectedTensors["x_final"], got.X, sc.replayTol)
	if !sc.diffusers {
		if msg := checkCounts(sc.exp, got); msg != "" {
			res.Status = Fail
			res.Detail = strings.TrimSpace(res.Detail + " " + msg)
		}
	}
	return res
}

// compareCalls checks the latents the sampler handed to its model against
// model_calls_x (count and values).
func (r *Runner) compareCalls(res *Result, sc *samplerCase, inputs [][]float32, tol fixture.Tolerance) {
	want, err := r.stack(sc.c.ExpectedTensors["model_calls_x"])
	if err != nil {
		res.Status, res.Detail = Error, err.Error()
		return
	}
	if len(inputs) != len(want) {
		res.Status = Fail
		res.Detail = strings.TrimSpace(res.Detail + fmt.Sprintf(" %d model calls, want %d", len(inputs), len(want)))
	}
	for i := range min(len(inputs), len(want)) {
		d, err := fixture.Compare(inputs[i], want[i], tol)
		if err != nil {
			res.Status, res.Detail = Fail, fmt.Sprintf("model call %d input: %v", i, err)
			return
		}
		res.MaxErr = max(res.MaxErr, d.MaxAbs)
		if !d.OK() && res.Status == Pass {
			res.Status = Fail
			res.Detail = fmt.Sprintf("model call %d input out of tolerance at %d (got %g want %g)", i, d.Worst, inputs[i][d.Worst], want[i][d.Worst])
		}
	}
}

// checkCounts compares a k-diffusion run's model calls, noise draws and
// (dpm_adaptive) step statistics with the case's expectations.
func checkCounts(exp samplerExpected, got sample.ReplayResult) string {
	var bad []string
	if got.Stats.NFE != exp.NFE {
		bad = append(bad, fmt.Sprintf("nfe %d, want %d", got.Stats.NFE, exp.NFE))
	}
	if len(got.NoiseCalls) != exp.NoiseUsed {
		bad = append(bad, fmt.Sprintf("noise draws %d, want %d", len(got.NoiseCalls), exp.NoiseUsed))
	}
	for i := range min(len(got.NoiseCalls), len(exp.NoiseCalls)) {
		g, w := got.NoiseCalls[i], exp.NoiseCalls[i]
		if math.Abs(g[0]-w[0]) > 1e-5*math.Abs(w[0]) || math.Abs(g[1]-w[1]) > 1e-5*math.Abs(w[1]) {
			bad = append(bad, fmt.Sprintf("noise call %d at %v, want %v", i, g, w))
			break
		}
	}
	if e := exp.Info; e.Steps != 0 {
		s := got.Stats
		if s.Steps != e.Steps || s.NFE != e.NFE || s.Accepted != e.Accept || s.Rejected != e.Reject {
			bad = append(bad, fmt.Sprintf("info steps/nfe/accept/reject %d/%d/%d/%d, want %d/%d/%d/%d",
				s.Steps, s.NFE, s.Accepted, s.Rejected, e.Steps, e.NFE, e.Accept, e.Reject))
		}
	}
	return strings.Join(bad, "; ")
}

// samplerDenoiser wraps the case's model as the CFG denoiser, with the
// shared cond and uncond contexts of the case.
func (r *Runner) samplerDenoiser(sc *samplerCase, m *model.Model) (*pipeline.Denoiser, error) {
	cond, err := r.context(sc.c, "cond")
	if err != nil {
		return nil, err
	}
	uncond, err := r.context(sc.c, "uncond")
	if err != nil {
		return nil, err
	}
	return &pipeline.Denoiser{
		UNet:       m.RunUNet,
		Table:      modelTable(m),
		Prediction: m.Prediction,
		LatentC:    sc.xShape[1],
		H:          sc.xShape[2],
		W:          sc.xShape[3],
		Cond:       []pipeline.Cond{cond},
		Uncond:     []pipeline.Cond{uncond},
		Scale:      sc.in.CFGScale,
	}, nil
}

// context reads a [1, L, D] conditioning tensor of a case.
func (r *Runner) context(c *fixture.Case, role string) (pipeline.Cond, error) {
	v, shape, err := r.M.Tensor(c.InputTensors[role])
	if err != nil {
		return pipeline.Cond{}, fmt.Errorf("input %s: %w", role, err)
	}
	if len(shape) != 3 || shape[0] != 1 {
		return pipeline.Cond{}, fmt.Errorf("input %s: shape %v, want [1, L, D]", role, shape)
	}
	return pipeline.Cond{Context: v, Tokens: shape[1], Width: shape[2]}, nil
}

// modelTable is the sigma table of the checkpoint's alphas_cumprod buffer,
// or the standard SD table when the file has none.
func modelTable(m *model.Model) *sample.Table {
	if ac, _, err := m.Checkpoint().Float32("alphas_cumprod"); err == nil && len(ac) == sample.TrainSteps {
		return sample.NewTable(sample.ModelSigmas(ac))
	}
	return sample.DefaultTable()
}

// samplerModelCalls evaluates the denoiser d on the first recorded model
// inputs and compares with the recorded outputs. k-diffusion cases record
// the CFG-combined denoised value; diffusers cases record the CFG-combined
// eps at an integer timestep t, which is the denoiser at sigma_t (from
// table) on x_ve = x_vp*sqrt(1+sigma_t^2) read back as (x_ve - D)/sigma_t.
//
// Tolerance: the case's recommendation, atol 2e-3*max(1, sigma) (2e-3 for
// eps, which is not scaled by sigma), rtol 1e-4 - but never tighter than
// the case's end-to-end atol. The recommendation is not a measurement
// (fixtures README); the end-to-end atol is ten times the measured
// float32-vs-float64 spread of the whole run, and it is large exactly for
// the runs that pass through a call where the random tiny UNet amplifies
// rounding (e.g. dpm_2/uniform at sigma 6.68, where moving t by one float32
// ulp moves the output by 1e-2).
func (r *Runner) samplerModelCalls(sc *samplerCase, table *sample.Table, d sample.Denoiser) Result {
	c := sc.c
	res := newResult(c, "model_calls", fixture.Tolerance{})
	outRole, posRole := "model_calls_denoised", "model_calls_sigma"
	if sc.diffusers {
		outRole, posRole = "model_calls_out", "model_calls_t"
	}
	xs, err := r.stack(c.ExpectedTensors["model_calls_x"])
	if err == nil && len(xs) == 0 {
		err = fmt.Errorf("no model_calls_x")
	}
	var outs [][]float32
	if err == nil {
		outs, err = r.stack(c.ExpectedTensors[outRole])
	}
	var pos []float32
	if err == nil {
		pos, _, err = r.M.Tensor(c.ExpectedTensors[posRole])
	}
	if err == nil && (len(outs) != len(xs) || len(pos) != len(xs)) {
		err = fmt.Errorf("%d model_calls_x, %d %s, %d %s", len(xs), len(outs), outRole, len(pos), posRole)
	}
	if err != nil {
		return errResult(c, res.Variant, err)
	}
	n := len(xs)
	if modelCallsChecked > 0 {
		n = min(n, modelCallsChecked)
	}
	worstRatio := 0.0
	for i := range n {
		var got []float32
		var sigma float64
		if sc.diffusers {
			sigma = float64(table.Sigmas[int(pos[i])])
			got, err = epsAt(d, xs[i], sigma)
		} else {
			sigma = float64(pos[i])
			got, err = d(xs[i], sigma)
		}
		if err != nil {
			return errResult(c, res.Variant, fmt.Errorf("call %d: %w", i, err))
		}
		tol := fixture.Tolerance{Atol: 2e-3, Rtol: 1e-4}
		if !sc.diffusers {
			tol.Atol *= max(1, sigma)
		}
		tol.Atol = max(tol.Atol, c.Tolerance.Atol)
		diff, err := fixture.Compare(got, outs[i], tol)
		if err != nil {
			return errResult(c, res.Variant, fmt.Errorf("call %d: %w", i, err))
		}
		res.MaxErr = max(res.MaxErr, diff.MaxAbs)
		worstRatio = max(worstRatio, diff.MaxRatio)
		if !diff.OK() && res.Status == Pass {
			res.Status = Fail
			res.Detail = fmt.Sprintf("call %d (sigma %.4g) out of tolerance at %d (got %g want %g)", i, sigma, diff.Worst, got[diff.Worst], outs[i][diff.Worst])
		}
	}
	res.Tol = fmt.Sprintf("atol max(2e-3*max(1,sigma), %g) rtol 1e-4", c.Tolerance.Atol)
	if sc.diffusers {
		res.Tol = fmt.Sprintf("atol max(2e-3, %g) rtol 1e-4 on eps", c.Tolerance.Atol)
	}
	res.Detail = strings.TrimSpace(fmt.Sprintf("%d of %d calls, worst err/tol %.2g %s", n, len(xs), worstRatio, res.Detail))
	return res
}

// epsAt is the noise prediction for the VP latent xvp at table sigma, as
// the timestep samplers read it from the denoiser.
func epsAt(d sample.Denoiser, xvp []float32, sigma float64) ([]float32, error) {
	s := math.Sqrt(1 + sigma*sigma)
	xve := make([]float32, len(xvp))
	for j, v := range xvp {
		xve[j] = float32(float64(v) * s)
	}
	den, err := d(xve, sigma)
	if err != nil {
		return nil, err
	}
	eps := make([]float32, len(xve))
	for j := range xve {
		eps[j] = float32((float64(xve[j]) - float64(den[j])) / sigma)
	}
	return eps, nil
}

// samplerEndToEnd runs sdgo's denoiser and sampler together from x_T
// (noise_init times sigmas[0], or times 1 for diffusers) with the recorded
// noise, and compares x_final with the case tolerance. A case without one
// (dpm_adaptive: its float64 reference took another step sequence, and a
// float32 run may too, needing more noise draws than were recorded) is not
// run; it passes when the replay did.
func (r *Runner) samplerEndToEnd(sc *samplerCase, d sample.Denoiser, rep Result) Result {
	c := sc.c
	res := newResult(c, "end_to_end", c.Tolerance)
	if tol := c.Tolerance; !tol.Exact && tol.Atol == 0 && tol.Rtol == 0 {
		res.Tol, res.Detail = "none", "no end-to-end tolerance (replay only)"
		if rep.Status != Pass {
			res.Status, res.Detail = Fail, "replay did not pass; "+res.Detail
		}
		return res
	}
	noise, _, err := r.M.Tensor(c.InputTensors["noise_init"])
	if err != nil {
		return errResult(c, res.Variant, err)
	}
	scale := 1.0
	if !sc.diffusers {
		scale = sc.replay.Sigmas[0]
	}
	xT := make([]float32, len(noise))
	for i, v := range noise {
		xT[i] = v * float32(scale)
	}
	r.compareTensor(&res, "x_T", c.ExpectedTensors["x_T"], xT, fixture.Tolerance{Exact: true})
	in := sc.replay
	in.X = xT
	got, err := sample.ReplayWith(in, d)
	if err != nil {
		return errResult(c, res.Variant, err)
	}
	r.compareTensor(&res, "x_final", c.ExpectedTensors["x_final"], got.X, c.Tolerance)
	if want := len(sc.replay.Outputs); len(got.Inputs) != want {
		res.Status = Fail
		res.Detail = strings.TrimSpace(res.Detail + fmt.Sprintf(" %d model calls, want %d", len(got.Inputs), want))
	}
	return res
}
