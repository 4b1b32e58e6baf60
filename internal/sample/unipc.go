package sample

import (
	"fmt"
	"math"
)

// UniPC is diffusers' UniPCMultistepScheduler (Zhao et al. 2023, "UniPC: A
// Unified Predictor-Corrector Framework for Fast Sampling of Diffusion
// Models") in data-prediction form: a UniP predictor of order Order (2) and
// a UniC corrector after each new model evaluation, variant B(h) = bh2 (or
// bh1), lower orders for warm-up and for the final steps. The schedule ends
// at sigma 0 (final_sigmas_type "zero"). x is the VP latent (see DDIM).
//
// webui's own "UniPC" uses the original UniPC code (bh1, order 3 and its
// own time-uniform timesteps); Options select the variant and order.
func UniPC(d Denoiser, x []float32, sigmas []float64, opt Options, noise Noise, cb Callback) ([]float32, error) {
	v, err := newVP("unipc", d, sigmas, opt, noise, cb)
	if err != nil {
		return nil, err
	}
	order := opt.Order
	if order == 0 {
		order = 2
	}
	bh1 := false
	switch opt.UniPCVariant {
	case "", "bh2":
	case "bh1":
		bh1 = true
	default:
		return nil, fmt.Errorf("sample: unipc: variant must be bh1 or bh2, got %q", opt.UniPCVariant)
	}
	u := &uniPC{sigmas: sigmas, bh1: bh1}
	n := len(sigmas) - 1
	x = clone(x)
	var ms [][]float64 // converted model outputs (x0 predictions), newest last
	var last []float32
	lower, thisOrder := 0, 0
	for i := 0; i < n; i++ {
		eps, err := v.eps(x, sigmas[i])
		if err != nil {
			return nil, err
		}
		at, st := vpAlphaSigma(sigmas[i])
		m := make([]float64, len(x))
		for j := range m {
			m[j] = (float64(x[j]) - st*eps[j]) / at
		}
		if err := v.report(i, sigmas[i], at*at, x, eps); err != nil {
			return nil, err
		}
		if i > 0 && last != nil {
			x = u.correct(i, ms, m, last, x, thisOrder)
		}
		ms = append(ms, m)
		if len(ms) > order {
			ms = ms[1:]
		}
		thisOrder = min(order, n-i, lower+1)
		last = x
		x = u.predict(i, ms, x, thisOrder)
		lower = min(lower+1, order)
	}
	return v.done(x)
}

type uniPC struct {
	sigmas []float64
	bh1    bool
}

// vpAlphaSigma is (alpha_t, sigma_t) of the VP process at VE sigma:
// alpha = 1/sqrt(1+sigma^2), sigma_t = sigma alpha.
func vpAlphaSigma(sigma float64) (float64, float64) {
	a := 1 / math.Sqrt(sigma*sigma+1)
	return a, sigma * a
}

// lambda is log(alpha_t / sigma_t) = -log sigma.
func lambda(sigma float64) float64 {
	a, s := vpAlphaSigma(sigma)
	return math.Log(a) - math.Log(s)
}

// coefficients builds UniPC's B(h), h phi_1 and the linear system (R, b) of
// order p for a step from sigma s0 to sigma t, with the ratios rks of the
// earlier points (the last rk is 1).
func (u *uniPC) coefficients(s0, t float64, rks []float64) (bh, hphi1 float64, R [][]float64, b []float64) {
	h := lambda(t) - lambda(s0)
	hh := -h
	hphi1 = math.Expm1(hh)
	hphik := hphi1/hh - 1
	if u.bh1 {
		bh = hh
	} else {
		bh = math.Expm1(hh)
	}
	fact := 1.0
	for i := 1; i <= len(rks); i++ {
		row := make([]float64, len(rks))
		for k, r := range rks {
			row[k] = math.Pow(r, float64(i-1))
		}
		R = append(R, row)
		b = append(b, hphik*fact/bh)
		fact *= float64(i + 1)
		hphik = hphik/hh - 1/fact
	}
	return bh, hphi1, R, b
}

// differences returns the ratios r_k = (lambda_k - lambda_s0)/h and the
// scaled differences D1_k = (m_k - m0)/r_k of the p-1 earlier outputs;
// idx(k) is the sigma index of the k-th earlier output.
func (u *uniPC) differences(ms [][]float64, p int, s0, t float64, idx func(k int) int) ([]float64, [][]float64) {
	h := lambda(t) - lambda(s0)
	m0 := ms[len(ms)-1]
	var rks []float64
	var d1s [][]float64
	for k := 1; k < p; k++ {
		mk := ms[len(ms)-1-k]
		rk := (lambda(u.sigmas[idx(k)]) - lambda(s0)) / h
		d := make([]float64, len(m0))
		for j := range d {
			d[j] = (mk[j] - m0[j]) / rk
		}
		rks, d1s = append(rks, rk), append(d1s, d)
	}
	return append(rks, 1), d1s
}

// predict is UniP-p (multistep_uni_p_bh_update) from sigmas[i] to
// sigmas[i+1].
func (u *uniPC) predict(i int, ms [][]float64, x []float32, p int) []float32 {
	s0, t := u.sigmas[i], u.sigmas[i+1]
	rks, d1s := u.differences(ms, p, s0, t, func(k int) int { return i - k })
	bh, hphi1, R, b := u.coefficients(s0, t, rks)
	var rhos []float64
	switch {
	case p == 2:
		rhos = []float64{0.5}
	case p > 2:
		rhos = solve(sub(R, p-1), b[:p-1])
	}
	at, st := vpAlphaSigma(t)
	_, ss0 := vpAlphaSigma(s0)
	m0 := ms[len(ms)-1]
	out := make([]float32, len(x))
	for j := range x {
		v := st/ss0*float64(x[j]) - at*hphi1*m0[j]
		if len(d1s) > 0 {
			res := 0.0
			for k, d := range d1s {
				res += rhos[k] * d[j]
			}
			v -= at * bh * res
		}
		out[j] = float32(v)
	}
	return out
}

// correct is UniC-p (multistep_uni_c_bh_update): it refines the prediction
// x (at sigmas[i], made from last at sigmas[i-1]) with the new model output
// m.
func (u *uniPC) correct(i int, ms [][]float64, m []float64, last, x []float32, p int) []float32 {
	s0, t := u.sigmas[i-1], u.sigmas[i]
	rks, d1s := u.differences(ms, p, s0, t, func(k int) int { return i - 1 - k })
	bh, hphi1, R, b := u.coefficients(s0, t, rks)
	rhos := []float64{0.5}
	if p > 1 {
		rhos = solve(R, b)
	}
	at, st := vpAlphaSigma(t)
	_, ss0 := vpAlphaSigma(s0)
	m0 := ms[len(ms)-1]
	out := make([]float32, len(x))
	for j := range x {
		corr := 0.0
		for k, d := range d1s {
			corr += rhos[k] * d[j]
		}
		v := st/ss0*float64(last[j]) - at*hphi1*m0[j]
		v -= at * bh * (corr + rhos[len(rhos)-1]*(m[j]-m0[j]))
		out[j] = float32(v)
	}
	return out
}

// sub is the leading n x n block of R.
func sub(R [][]float64, n int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = append([]float64(nil), R[i][:n]...)
	}
	return out
}

// solve solves A y = b by Gaussian elimination with partial pivoting
// (A is small: UniPC's order).
func solve(A [][]float64, b []float64) []float64 {
	n := len(b)
	a := make([][]float64, n)
	for i := range a {
		a[i] = append(append([]float64(nil), A[i]...), b[i])
	}
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		for r := c + 1; r < n; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k <= n; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	y := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := a[r][n]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * y[k]
		}
		y[r] = s / a[r][r]
	}
	return y
}
