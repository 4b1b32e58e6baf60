package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"sdgo/internal/checkpoint"
	"sdgo/internal/nn"
	"sdgo/internal/unet"
)

// Latents is a batch of latents [n, C, H, W] in float32 that stays on the
// device between sampler steps (RunGuidedStep), so a step neither waits for
// the previous one nor copies the latents to the host and back.
type Latents struct {
	t     *tensors.Tensor
	shape []int
}

// NewLatents wraps host latents; they go to the device with the first step
// that reads them.
func NewLatents(x []float32, shape []int) (*Latents, error) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if len(shape) != 4 || n != len(x) {
		return nil, fmt.Errorf("model: latents: %d values for shape %v, want [n,C,H,W]", len(x), shape)
	}
	return &Latents{t: tensors.FromFlatDataAndDimensions(slices.Clone(x), shape...), shape: slices.Clone(shape)}, nil
}

// Shape is [n, C, H, W].
func (l *Latents) Shape() []int { return l.shape }

// Float32s copies the latents to the host, waiting for the steps that
// compute them.
func (l *Latents) Float32s() ([]float32, error) {
	if l == nil || l.t == nil {
		return nil, fmt.Errorf("model: latents already freed")
	}
	return Float32s(l.t)
}

// Free releases the latents' device memory now. Free on nil does nothing.
func (l *Latents) Free() {
	if l != nil && l.t != nil {
		free(l.t)
		l.t = nil
	}
}

// StepCoefficients are a linear sampler step: the next latents are
// X*x + D*denoised + P*prev + N*noise, with prev the previous step's
// denoised latents and noise a standard normal draw.
type StepCoefficients struct {
	X, D, P, N float64
}

// RunGuidedStep is RunGuidedUNet followed by a linear sampler update, both
// on the device: x and prev (nil where P is 0) stay there, noise (nil
// where N is 0) goes up, and it returns the next latents and this step's
// denoised ones without waiting for the device. The caller frees what it
// no longer needs (x and prev are not consumed).
func (m *Model) RunGuidedStep(x, prev *Latents, noise []float32, g Guidance, c StepCoefficients, t []float32, context []float32, ctxShape []int, y []float32) (next, den *Latents, err error) {
	if x == nil || x.t == nil {
		return nil, nil, fmt.Errorf("model: guided step: no latents")
	}
	xShape := x.shape
	n := xShape[0]
	if len(ctxShape) != 3 || ctxShape[0] != 2*n || len(t) != 2*n {
		return nil, nil, fmt.Errorf("model: guided step: x shape %v, %d timesteps and context shape %v, want [n,C,H,W], 2n and [2n,L,D]", xShape, len(t), ctxShape)
	}
	if (c.P != 0) != (prev != nil && prev.t != nil) {
		return nil, nil, fmt.Errorf("model: guided step: previous latents given %v with coefficient %g", prev != nil, c.P)
	}
	cond, err := m.conditioning("guided step", 2*n, context, ctxShape, y)
	if err != nil {
		return nil, nil, err
	}
	coef := append(g.coefficients(), float32(c.X), float32(c.D), float32(c.P), float32(c.N))
	ct, tt := tensors.FromFlatDataAndDimensions(coef, len(coef)), tensors.FromFlatDataAndDimensions(t, 2*n)
	owned := []*tensors.Tensor{ct, tt}
	// The graph always reads prev and noise; where a coefficient is 0 the
	// latents stand in for them (0*x adds nothing for finite x).
	pt, zt := x.t, x.t
	if prev != nil && prev.t != nil {
		pt = prev.t
	}
	if c.N != 0 {
		if len(noise) != x.t.Shape().Size() {
			return nil, nil, fmt.Errorf("model: guided step: %d noise values for latents %v", len(noise), xShape)
		}
		zt = tensors.FromFlatDataAndDimensions(noise, xShape...)
		owned = append(owned, zt)
	}
	defer free(owned...)
	res, err := m.nets[netUNet].Run("unet_step", m.stepGraph(), append([]*tensors.Tensor{x.t, ct, tt, pt, zt}, cond...)...)
	if err != nil {
		return nil, nil, err
	}
	return &Latents{t: res[0], shape: xShape}, &Latents{t: res[1], shape: xShape}, nil
}

// stepGraph is RunGuidedStep's graph; its inputs are x, coef, t, prev,
// noise, context and, for SDXL, y.
func (m *Model) stepGraph() GraphFn {
	cfg, hasY := m.UNet, m.UNet.ADMInChannels > 0
	return func(s *nn.Scope, in []*Node) []*Node {
		x, coef, prev, z := in[0], in[1], in[3], in[4]
		k := func(i int) *Node { return Reshape(Slice(coef, AxisElem(i))) }
		var yn *Node
		if hasY {
			yn = in[6]
		}
		den := guidedDenoise(s, cfg, x, coef, in[2], in[5], yn)
		next := Add(Add(Mul(x, k(4)), Mul(den, k(5))), Add(Mul(prev, k(6)), Mul(z, k(7))))
		return []*Node{next, den}
	}
}

// guidedGraph is RunGuidedUNet's graph; its inputs are x, coef, t, context
// and, for SDXL, y.
func (m *Model) guidedGraph() GraphFn {
	cfg, hasY := m.UNet, m.UNet.ADMInChannels > 0
	return func(s *nn.Scope, in []*Node) []*Node {
		var yn *Node
		if hasY {
			yn = in[4]
		}
		return []*Node{guidedDenoise(s, cfg, in[0], in[1], in[2], in[3], yn)}
	}
}

// Precompile compiles, in parallel, the graphs of a txt2img job of n
// images with latents h x w whose prompt and negative prompt have contexts
// of cond and uncond tokens (77 per chunk): the VAE decoder, and the UNet
// calls the job makes. Equal lengths make one CFG call a step
// (RunGuidedStep's graph with step, else RunGuidedUNet's); different ones
// make two plain calls (RunUNet at each length), as webui runs them. It
// returns once all are compiled. A job that starts it in the background
// while its text encoders run (they have their own runner) reaches its
// first step with the UNet compiled or compiling and finds the decoder
// ready at the end; Runs with other shapes compile as usual.
func (m *Model) Precompile(n, h, w, cond, uncond int, step bool) error {
	zeros := func(dims ...int) *tensors.Tensor { return tensors.FromShape(shapes.Make(dtypes.Float32, dims...)) }
	lat := []int{n, m.UNet.InChannels, h, w}
	type call struct {
		key    string
		fn     GraphFn
		inputs []*tensors.Tensor
	}
	var calls []call
	withY := func(in []*tensors.Tensor, b int) []*tensors.Tensor {
		if m.UNet.ADMInChannels > 0 {
			in = append(in, zeros(b, m.UNet.ADMInChannels))
		}
		return in
	}
	switch {
	case cond != uncond:
		for _, l := range []int{cond, uncond} {
			calls = append(calls, call{"unet", m.unetGraph(), withY([]*tensors.Tensor{zeros(lat...), zeros(n), zeros(n, l, m.UNet.ContextDim)}, n)})
		}
	case step:
		calls = append(calls, call{"unet_step", m.stepGraph(), withY([]*tensors.Tensor{zeros(lat...), zeros(8), zeros(2 * n), zeros(lat...), zeros(lat...), zeros(2*n, cond, m.UNet.ContextDim)}, 2*n)})
	default:
		calls = append(calls, call{"unet_guided", m.guidedGraph(), withY([]*tensors.Tensor{zeros(lat...), zeros(4), zeros(2 * n), zeros(2*n, cond, m.UNet.ContextDim)}, 2*n)})
	}
	vaeIn := zeros(n, 4, h, w)
	defer free(vaeIn)
	errs := make(chan error, 1)
	go func() { errs <- m.nets[netVAE].Precompile("vae_decode", m.decodeGraph(), vaeIn) }()
	var err error
	for _, c := range calls {
		err = errors.Join(err, m.nets[netUNet].Precompile(c.key, c.fn, c.inputs...))
		free(c.inputs...)
	}
	return errors.Join(err, <-errs)
}

// guidedDenoise is the graph of one classifier-free-guidance step: x
// [n, C, H, W] scaled by coef[0] and run against the cond and uncond halves
// of context [2n, L, D] (and y, for SDXL) at timesteps t [2n]; with c and u
// the two outputs it returns coef[1]*x + coef[2]*u + coef[3]*(c - u) in
// float32.
func guidedDenoise(s *nn.Scope, cfg unet.Config, x, coef, t, context, y *Node) *Node {
	// The runner keeps the first call's function for every later shape,
	// so the batch size comes from the graph, not a closure.
	n := x.Shape().Dimensions[0]
	k := func(i int) *Node { return Reshape(Slice(coef, AxisElem(i))) }
	xin := Mul(x, k(0))
	if y != nil {
		y = s.Cast(y)
	}
	out := unet.Forward(s.In(strings.TrimSuffix(checkpoint.PrefixUNet, ".")), cfg, s.Cast(Concatenate([]*Node{xin, xin}, 0)), t, s.Cast(context), y)
	out = ConvertDType(out, dtypes.Float32)
	c, u := Slice(out, AxisRange(0, n)), Slice(out, AxisRange(n, 2*n))
	return Add(Add(Mul(x, k(1)), Mul(u, k(2))), Mul(Sub(c, u), k(3)))
}
