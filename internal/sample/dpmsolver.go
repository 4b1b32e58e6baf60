package sample

import (
	"fmt"
	"math"
)

// dpmSolver is k-diffusion's DPMSolver (Lu et al. 2022, "DPM-Solver: A Fast
// ODE Solver for Diffusion Probabilistic Model Sampling in Around 10 Steps")
// in t = -log sigma, with the model's noise prediction
// eps = (x - D(x, sigma)) / sigma.
type dpmSolver struct {
	*run
	step int // callback index
}

func sigmaOf(t float64) float64 { return math.Exp(-t) }
func tOf(sigma float64) float64 { return -math.Log(sigma) }

// eps evaluates the noise prediction at (x, t).
func (s *dpmSolver) eps(x []float32, t float64) ([]float64, error) {
	sig := sigmaOf(t)
	den, err := s.model(x, sig)
	if err != nil {
		return nil, err
	}
	e := make([]float64, len(x))
	for j := range x {
		e[j] = (float64(x[j]) - float64(den[j])) / sig
	}
	return e, nil
}

// combine returns x - a*e0 - b*(e1 - e0) as float32 (b = 0 ignores e1).
func combine(x []float32, e0, e1 []float64, a, b float64) []float32 {
	out := make([]float32, len(x))
	for j := range x {
		v := float64(x[j]) - a*e0[j]
		if b != 0 {
			v -= b * (e1[j] - e0[j])
		}
		out[j] = float32(v)
	}
	return out
}

// order1 is DPM-Solver-1 (DDIM) from t to tn given eps at t.
func (s *dpmSolver) order1(x []float32, eps []float64, t, tn float64) []float32 {
	return combine(x, eps, nil, sigmaOf(tn)*math.Expm1(tn-t), 0)
}

// order2 is DPM-Solver-2 with intermediate point t + r1 h; it returns the
// eps it evaluated there for reuse.
func (s *dpmSolver) order2(x []float32, eps []float64, t, tn, r1 float64) ([]float32, []float64, error) {
	h := tn - t
	s1 := t + r1*h
	u1 := combine(x, eps, nil, sigmaOf(s1)*math.Expm1(r1*h), 0)
	e1, err := s.eps(u1, s1)
	if err != nil {
		return nil, nil, err
	}
	em := math.Expm1(h)
	return combine(x, eps, e1, sigmaOf(tn)*em, sigmaOf(tn)/(2*r1)*em), e1, nil
}

// order3 is DPM-Solver-3 with r1 = 1/3, r2 = 2/3; e1 (eps at t + h/3) is
// evaluated when nil.
func (s *dpmSolver) order3(x []float32, eps, e1 []float64, t, tn float64) ([]float32, error) {
	const r1, r2 = 1.0 / 3, 2.0 / 3
	h := tn - t
	var err error
	if e1 == nil {
		s1 := t + r1*h
		u1 := combine(x, eps, nil, sigmaOf(s1)*math.Expm1(r1*h), 0)
		if e1, err = s.eps(u1, s1); err != nil {
			return nil, err
		}
	}
	s2 := t + r2*h
	em2 := math.Expm1(r2 * h)
	u2 := combine(x, eps, e1, sigmaOf(s2)*em2, sigmaOf(s2)*(r2/r1)*(em2/(r2*h)-1))
	e2, err := s.eps(u2, s2)
	if err != nil {
		return nil, err
	}
	em := math.Expm1(h)
	return combine(x, eps, e2, sigmaOf(tn)*em, sigmaOf(tn)/r2*(em/h-1)), nil
}

// ancestralT splits a step from t to tNext for eta > 0: the deterministic
// target t' (capped at tEnd) and the noise to add at tNext.
func ancestralT(t, tNext, tEnd, eta float64) (float64, float64) {
	if eta == 0 {
		return tNext, 0
	}
	sd, _ := ancestralStep(sigmaOf(t), sigmaOf(tNext), eta)
	tt := min(tEnd, tOf(sd))
	return tt, math.Sqrt(sigmaOf(tNext)*sigmaOf(tNext) - sigmaOf(tt)*sigmaOf(tt))
}

// dpmRange reads sigma_max (sigmas[0]) and sigma_min (the last positive
// sigma) for the DPM-Solver samplers, which take a range, not a list.
func dpmRange(name string, sigmas []float64) (smin, smax float64, err error) {
	smax = sigmas[0]
	for _, s := range sigmas {
		if s > 0 {
			smin = s
		}
	}
	if smin <= 0 || smax <= smin {
		return 0, 0, fmt.Errorf("sample: %s: need sigma_max > sigma_min > 0, got %g, %g", name, smax, smin)
	}
	return smin, smax, nil
}

// DPMFast is k-diffusion sample_dpm_fast: DPM-Solver-Fast with fixed steps
// of order 3 (then 2/1) spending opt.NFE model evaluations (default
// len(sigmas)-1) evenly in t between sigma_max = sigmas[0] and sigma_min =
// the last positive sigma; webui "DPM fast". With eta > 0 each step is
// ancestral; one noise tensor is drawn per step even with eta 0, as
// k-diffusion does.
func DPMFast(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun("dpm_fast", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	smin, smax, err := dpmRange(r.name, sigmas)
	if err != nil {
		return nil, err
	}
	nfe := opt.NFE
	if nfe == 0 {
		nfe = len(sigmas) - 1
	}
	s := &dpmSolver{run: r}
	tStart, tEnd := tOf(smax), tOf(smin)
	m := nfe/3 + 1
	ts := linspace64(tStart, tEnd, m+1)
	var orders []int
	for i := 0; i < m-1; i++ {
		orders = append(orders, 3)
	}
	if nfe%3 == 0 {
		orders = append(orders[:len(orders)-1], 2, 1)
	} else {
		orders = append(orders, nfe%3)
	}
	r.total = len(orders)
	x = clone(x)
	for i, order := range orders {
		t, tNext := ts[i], ts[i+1]
		tt, su := ancestralT(t, tNext, tEnd, r.opt.Eta)
		eps, err := s.eps(x, t)
		if err != nil {
			return nil, err
		}
		if err := r.solverStep(i, t, t, x, eps); err != nil {
			return nil, err
		}
		switch order {
		case 1:
			x = s.order1(x, eps, t, tt)
		case 2:
			x, _, err = s.order2(x, eps, t, tt, 0.5)
		default:
			x, err = s.order3(x, eps, nil, t, tt)
		}
		if err != nil {
			return nil, err
		}
		if err := r.addNoise(x, su, sigmaOf(t), sigmaOf(tNext)); err != nil {
			return nil, err
		}
	}
	return r.done(x)
}

// DPMAdaptive is k-diffusion sample_dpm_adaptive: DPM-Solver-23 with
// adaptive step size (an embedded 2nd/3rd order pair and an integral
// controller; rtol 0.05, atol 0.0078, h_init 0.05, accept_safety 0.81 by
// default) from sigma_max = sigmas[0] to the last positive sigma; the step
// count is ignored; webui "DPM adaptive". opt.Stats receives the step
// counts (k-diffusion's info).
func DPMAdaptive(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	r, err := newRun("dpm_adaptive", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	smin, smax, err := dpmRange(r.name, sigmas)
	if err != nil {
		return nil, err
	}
	order := opt.Order
	if order == 0 {
		order = 3
	}
	if order != 2 && order != 3 {
		return nil, fmt.Errorf("sample: dpm_adaptive: order must be 2 or 3, got %d", order)
	}
	rtol, atol, hInit, safety := orDefault(opt.RTol, 0.05), orDefault(opt.ATol, 0.0078),
		orDefault(opt.HInit, 0.05), orDefault(opt.AcceptSafety, 0.81)
	pidOrder := float64(order)
	if r.opt.Eta != 0 {
		pidOrder = 1.5
	}
	pid := &pidController{h: math.Abs(hInit), b1: 1 / pidOrder, safety: safety}
	sv := &dpmSolver{run: r}
	tEnd := tOf(smin)
	t0 := tOf(smax)
	x = clone(x)
	xPrev := x
	var st Stats
	for t0 < tEnd-1e-5 {
		t := min(tEnd, t0+pid.h)
		tt, su := ancestralT(t0, t, tEnd, r.opt.Eta)
		eps, err := sv.eps(x, t0)
		if err != nil {
			return nil, err
		}
		var low, high []float32
		if order == 2 {
			low = sv.order1(x, eps, t0, tt)
			high, _, err = sv.order2(x, eps, t0, tt, 0.5)
		} else {
			var e1 []float64
			if low, e1, err = sv.order2(x, eps, t0, tt, 1.0/3); err == nil {
				high, err = sv.order3(x, eps, e1, t0, tt)
			}
		}
		if err != nil {
			return nil, err
		}
		xOld, tOld := x, t0
		if pid.propose(adaptiveError(low, high, xPrev, atol, rtol)) {
			xPrev = low
			x = high
			if err := r.addNoise(x, su, sigmaOf(t0), sigmaOf(t)); err != nil {
				return nil, err
			}
			t0 = t
			st.Accepted++
		} else {
			st.Rejected++
		}
		st.NFE += order
		st.Steps++
		if err := r.solverStep(st.Steps-1, t0, tOld, xOld, eps); err != nil {
			return nil, err
		}
	}
	if r.opt.Stats != nil {
		*r.opt.Stats = st
	}
	return x, nil
}

// solverStep reports a DPM-Solver step: sigma of t, the sigma the model saw
// (tModel), and the prediction x - sigma eps at tModel.
func (r *run) solverStep(i int, t, tModel float64, x []float32, eps []float64) error {
	if r.cb == nil {
		return nil
	}
	return r.step(i, sigmaOf(t), sigmaOf(tModel), x, combine(x, eps, nil, sigmaOf(tModel), 0))
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// adaptiveError is the RMS over elements of (low - high) / delta with
// delta = max(atol, rtol * max(|low|, |prev|)).
func adaptiveError(low, high, prev []float32, atol, rtol float64) float64 {
	sum := 0.0
	for j := range low {
		delta := max(atol, rtol*max(math.Abs(float64(low[j])), math.Abs(float64(prev[j]))))
		e := (float64(low[j]) - float64(high[j])) / delta
		sum += e * e
	}
	return math.Sqrt(sum) / math.Sqrt(float64(len(low)))
}

// pidController is k-diffusion's PIDStepSizeController with the default
// integral-only gains (pcoeff 0, icoeff 1, dcoeff 0), so the step factor is
// (1/error)^(1/order) passed through the limiter 1 + atan(f - 1).
type pidController struct {
	h      float64
	b1     float64
	safety float64
}

func (p *pidController) propose(err float64) bool {
	factor := math.Pow(1/(err+1e-8), p.b1)
	factor = 1 + math.Atan(factor-1)
	p.h *= factor
	return factor >= p.safety
}
