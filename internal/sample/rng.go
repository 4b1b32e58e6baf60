package sample

import (
	"math"
)

// Generator is a source of standard normal float32 values, one tensor per
// call, the way torch.randn(shape, generator=g) draws them: the values depend
// only on the generator's state and on n, the number of elements.
type Generator interface {
	Randn(n int) []float32
}

// mt19937 is the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998), the
// engine behind torch's CPU generator.
type mt19937 struct {
	state [624]uint32
	next  int
}

func (m *mt19937) seed(s uint32) {
	m.state[0] = s
	for i := 1; i < len(m.state); i++ {
		prev := m.state[i-1]
		m.state[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	m.next = len(m.state)
}

func (m *mt19937) twist() {
	const upper, lower, matrixA = 0x80000000, 0x7fffffff, 0x9908b0df
	n, k := len(m.state), 397
	for i := 0; i < n; i++ {
		y := m.state[i]&upper | m.state[(i+1)%n]&lower
		v := m.state[(i+k)%n] ^ y>>1
		if y&1 != 0 {
			v ^= matrixA
		}
		m.state[i] = v
	}
	m.next = 0
}

func (m *mt19937) uint32() uint32 {
	if m.next >= len(m.state) {
		m.twist()
	}
	y := m.state[m.next]
	m.next++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// TorchCPU reproduces torch's CPU generator (torch.Generator("cpu") /
// torch.manual_seed) for torch.randn on float32 tensors, bit for bit:
// the values A1111's "CPU" seed source produces.
type TorchCPU struct {
	mt mt19937
	// nextNormal caches the second value of the scalar Box-Muller path
	// (torch's next_double_normal_sample), used by tensors of < 16 values.
	nextNormal    float64
	hasNextNormal bool
}

// NewTorchCPU returns a generator seeded like torch.manual_seed(seed): only
// the low 32 bits of the seed are used.
func NewTorchCPU(seed uint64) *TorchCPU {
	g := &TorchCPU{}
	g.mt.seed(uint32(seed))
	return g
}

// uniform24 is torch's uniform_real_distribution<float>(0, 1): 24 random bits
// scaled by 2^-24.
func (g *TorchCPU) uniform24() float32 {
	return float32(g.mt.uint32()&(1<<24-1)) * (1.0 / (1 << 24))
}

// uniform53 is uniform_real_distribution<double>(0, 1) on random64(): two
// 32-bit draws, the first one high, 53 bits kept.
func (g *TorchCPU) uniform53() float64 {
	hi := uint64(g.mt.uint32())
	lo := uint64(g.mt.uint32())
	return float64((hi<<32|lo)&(1<<53-1)) * (1.0 / (1 << 53))
}

// Randn returns n standard normal values as torch.randn would for a
// contiguous float32 tensor of n elements. For n >= 16 torch fills the tensor
// with uniforms first and transforms blocks of 16 with its vectorised
// Box-Muller (AVX2 kernel, float32 Cephes log/sincos); when n is not a multiple
// of 16 the last 16 values are redrawn and transformed again. For n < 16 it
// draws each value with the scalar double-precision Box-Muller (whose second
// value is cached in the generator). The n >= 16 path is checked bit for bit
// against torch; the n < 16 path follows torch's source but is not pinned by a
// fixture.
func (g *TorchCPU) Randn(n int) []float32 {
	out := make([]float32, n)
	if n < 16 {
		for i := range out {
			out[i] = float32(g.scalarNormal())
		}
		return out
	}
	for i := range out {
		out[i] = g.uniform24()
	}
	for i := 0; i+16 <= n; i += 16 {
		boxMuller16(out[i : i+16])
	}
	if n%16 != 0 {
		tail := out[n-16:]
		for i := range tail {
			tail[i] = g.uniform24()
		}
		boxMuller16(tail)
	}
	return out
}

// scalarNormal is torch's at::normal_distribution<double> with mean 0 and
// std 1.
func (g *TorchCPU) scalarNormal() float64 {
	if g.hasNextNormal {
		g.hasNextNormal = false
		return g.nextNormal
	}
	u1 := g.uniform53()
	u2 := g.uniform53()
	r := math.Sqrt(-2 * math.Log1p(-u2))
	theta := 2 * math.Pi * u1
	g.nextNormal, g.hasNextNormal = r*math.Sin(theta), true
	return r * math.Cos(theta)
}

// boxMuller16 transforms 16 uniforms in place the way torch's
// normal_fill_16_AVX2 does: u1 = 1 - d[j], u2 = d[j+8],
// r = sqrt(-2 log u1), d[j] = r cos(2 pi u2), d[j+8] = r sin(2 pi u2), all in
// float32 with the Cephes polynomials of avx_mathfun.h.
func boxMuller16(d []float32) {
	const twoPi = float32(2 * math.Pi)
	for j := 0; j < 8; j++ {
		u1 := 1 - d[j]
		u2 := d[j+8]
		r := sqrt32(-2 * cephesLog(u1))
		s, c := cephesSincos(twoPi * u2)
		d[j] = r * c
		d[j+8] = r * s
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// cephesLog is log256_ps of avx_mathfun.h (Cephes logf) for one lane, x > 0.
// Every product is rounded to float32 on its own (no fused multiply-add), as
// the intrinsics compute it.
func cephesLog(x float32) float32 {
	if x <= 0 {
		return float32(math.NaN())
	}
	if x < math.SmallestNonzeroFloat32*(1<<23) { // clamp denormals to the smallest normal
		x = math.Float32frombits(0x00800000)
	}
	bits := math.Float32bits(x)
	e := float32(int32(bits>>23)-0x7f) + 1
	x = math.Float32frombits(bits&^0x7f800000 | math.Float32bits(0.5))
	if x < float32(0.707106781186547524) {
		e--
		x = (x - 1) + x
	} else {
		x = x - 1
	}
	z := x * x
	y := float32(7.0376836292e-2)
	for _, p := range [...]float32{-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
		-1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1} {
		y = fma32(y, x, p)
	}
	y = mul32(y, x)
	y = fma32(y, z, mul32(e, -2.12194440e-4))
	y = fma32(-z, 0.5, y)
	x += y
	x = fma32(e, 0.693359375, x)
	return x
}

// cephesSincos is sincos256_ps of avx_mathfun.h for one lane.
func cephesSincos(x float32) (sin, cos float32) {
	signSin := x < 0
	if signSin {
		x = -x
	}
	j := int32(mul32(x, 1.27323954473516)) // 4/pi, truncated
	j = (j + 1) &^ 1
	y := float32(j)
	if j&4 != 0 {
		signSin = !signSin
	}
	signCos := (j-2)&4 == 0
	polySin := j&2 == 0 // the sine polynomial gives sin when true
	x = fma32(y, -0.78515625, x)
	x = fma32(y, -2.4187564849853515625e-4, x)
	x = fma32(y, -3.77489497744594108e-8, x)

	z := mul32(x, x)
	yc := fma32(2.443315711809948e-5, z, -1.388731625493765e-3)
	yc = fma32(yc, z, 4.166664568298827e-2)
	yc = mul32(yc, z)
	yc = fma32(yc, z, -mul32(z, 0.5))
	yc++

	ys := fma32(-1.9515295891e-4, z, 8.3321608736e-3)
	ys = fma32(ys, z, -1.6666654611e-1)
	ys = mul32(ys, z)
	ys = fma32(ys, x, x)

	if polySin {
		sin, cos = ys, yc
	} else {
		sin, cos = yc, ys
	}
	if signSin {
		sin = -sin
	}
	if signCos {
		cos = -cos
	}
	return sin, cos
}

// mul32 multiplies in float32; the explicit conversion keeps the compiler
// from fusing the product into a following addition.
func mul32(a, b float32) float32 { return float32(a * b) }

// fma32 is a float32 fused multiply-add with a single rounding: the product
// of two float32 values is exact in float64; the float64 sum and its rounding
// error (TwoSum) decide the float32 result where the sum falls on a float32
// halfway point.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	bp := s - float64(c)
	err := (p - bp) + (float64(c) - (s - bp))
	r := float32(s)
	if err == 0 || math.IsInf(s, 0) {
		return r
	}
	// s is inexact: if it sits exactly halfway between two float32 values,
	// the true value is on err's side of it.
	lo, hi := r, r
	if float64(r) < s {
		hi = math.Nextafter32(r, float32(math.Inf(1)))
	} else if float64(r) > s {
		lo = math.Nextafter32(r, float32(math.Inf(-1)))
	} else {
		return r // s itself is a float32 value; err is far below half an ulp
	}
	if float64(lo)+(float64(hi)-float64(lo))/2 != s {
		return r
	}
	if err > 0 {
		return hi
	}
	return lo
}
