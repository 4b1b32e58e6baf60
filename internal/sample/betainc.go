package sample

import "math"

// betaPPF is the quantile function of the Beta(a, b) distribution
// (scipy.stats.beta.ppf): the x in [0, 1] with I_x(a, b) = q, found by
// bisection to full float64 precision.
func betaPPF(q, a, b float64) float64 {
	switch {
	case q <= 0:
		return 0
	case q >= 1:
		return 1
	}
	lo, hi := 0.0, 1.0
	for i := 0; i < 200 && hi-lo > 0; i++ {
		mid := lo + (hi-lo)/2
		if mid == lo || mid == hi {
			break
		}
		if betaInc(mid, a, b) < q {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + (hi-lo)/2
}

// betaInc is the regularised incomplete beta function I_x(a, b), evaluated
// with its continued fraction (DLMF 8.17.22) on the side where it converges
// fast, using I_x(a, b) = 1 - I_{1-x}(b, a) on the other.
func betaInc(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	if x > (a+1)/(a+b+2) {
		return 1 - betaInc(1-x, b, a)
	}
	lga, _ := math.Lgamma(a)
	lgb, _ := math.Lgamma(b)
	lgab, _ := math.Lgamma(a + b)
	front := math.Exp(a*math.Log(x)+b*math.Log1p(-x)-lga-lgb+lgab) / a
	return front * betaCF(x, a, b)
}

// betaCF evaluates the continued fraction of I_x(a, b) (the factor after
// x^a (1-x)^b / (a B(a, b))) by the modified Lentz method; its coefficients
// are d_{2m} = m(b-m)x / ((a+2m-1)(a+2m)) and
// d_{2m+1} = -(a+m)(a+b+m)x / ((a+2m)(a+2m+1)).
func betaCF(x, a, b float64) float64 {
	const tiny = 1e-300
	guard := func(v float64) float64 {
		if math.Abs(v) < tiny {
			return tiny
		}
		return v
	}
	c := 1.0
	d := 1 / guard(1-(a+b)*x/(a+1))
	h := d
	for m := 1; m < 1000; m++ {
		fm := float64(m)
		num := fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm))
		d = 1 / guard(1+num*d)
		c = guard(1 + num/c)
		h *= d * c
		num = -(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1))
		d = 1 / guard(1+num*d)
		c = guard(1 + num/c)
		delta := d * c
		h *= delta
		if math.Abs(delta-1) < 1e-16 {
			break
		}
	}
	return h
}
