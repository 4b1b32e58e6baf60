package model

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"sdgo/internal/cudnn"
	"sdgo/internal/nn"
	"sdgo/internal/xlaasync"
)

// Runner holds one backend, the weights of one checkpoint as GoMLX
// variables, and the compiled graphs over them. It is safe for concurrent
// use; calls are serialised (one device job at a time).
type Runner struct {
	backend backends.Backend
	ctx     *context.Context
	dtype   dtypes.DType // storage and compute dtype of the weights
	loader  *loader

	im2col bool // convolutions as matrix products (the pure-Go backend)
	async  bool // cached graphs run without waiting for the device (xlaasync)

	mu    sync.Mutex
	execs map[string]*context.Exec
	fast  map[string]*fastGraph // by graph key and input shapes
	// shapes are the input shapes each key has compiled (fastKey names),
	// at most maxGraphs per key.
	shapes    map[string]map[string]bool
	maxGraphs int
	released  bool   // its graphs and weights are freed: calls fail
	built     *Graph // the graph the current call built, if it built one
}

// fastGraph is a compiled graph with the device buffers of the weights it
// reads, in parameter order (nil where a caller input goes). GoMLX's
// context.Exec walks every variable of the context on every call to find a
// graph's weights (about 0.3 ms for an SD UNet on a GPU host, measured with
// a Go execution trace); after the first call of a graph the runner passes
// the buffers it found then straight to the compiled executable.
type fastGraph struct {
	g       *Graph
	buffers []backends.Buffer
	donate  []bool
}

// NewRunner prepares a Runner over src on backend. Weights are read lazily,
// the first time a graph needs them, and stored in dtype.
func NewRunner(backend backends.Backend, src Source, dtype dtypes.DType) *Runner {
	ctx := context.New()
	l := &loader{src: src, dtype: dtype}
	ctx.SetLoader(l)
	im2col := strings.HasPrefix(backend.Name(), "go") || strings.Contains(backend.Description(), "Simple Go")
	async, err := xlaasync.Install(backend)
	if err != nil {
		slog.Debug("executions wait for the device", "err", err)
	}
	return &Runner{backend: backend, ctx: ctx, dtype: dtype, loader: l, im2col: im2col, async: async, execs: map[string]*context.Exec{},
		fast: map[string]*fastGraph{}, shapes: map[string]map[string]bool{}, maxGraphs: 16}
}

// DType is the compute dtype of the networks.
func (r *Runner) DType() dtypes.DType { return r.dtype }

// Backend returns the backend the runner executes on.
func (r *Runner) Backend() backends.Backend { return r.backend }

// GraphFn builds the outputs of a network from its inputs, reading weights
// through the scope.
type GraphFn func(s *nn.Scope, inputs []*Node) []*Node

// Run executes the graph named key (one compiled graph per key and input
// shape) on the inputs and returns its outputs as host tensors. Graph-building
// panics come back as errors.
func (r *Runner) Run(key string, fn GraphFn, inputs ...*tensors.Tensor) (out []*tensors.Tensor, err error) {
	return r.do(key, fn, inputs, true)
}

// Precompile builds and compiles the graph named key for inputs of these
// shapes and dtypes (their values do not matter) without running it, unless
// the runner has it already: a later Run with such inputs finds it ready.
// The runner is locked meanwhile; other runners on the backend are not, so
// a model compiles its networks in parallel by precompiling them.
func (r *Runner) Precompile(key string, fn GraphFn, inputs ...*tensors.Tensor) error {
	_, err := r.do(key, fn, inputs, false)
	return err
}

// do is Run (execute) or Precompile (not execute).
func (r *Runner) do(key string, fn GraphFn, inputs []*tensors.Tensor, execute bool) (out []*tensors.Tensor, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return nil, fmt.Errorf("model: %s: the model is closed or its weights were replaced", key)
	}
	r.built = nil
	out, err = r.run(key, fn, inputs, execute)
	if err != nil && cudnn.Enabled() && cudnn.UsedIn(r.built) {
		// The graph just built used cuDNN's fused attention and failed:
		// build it again with plain attention, for the rest of the process.
		slog.Warn("cuDNN fused attention failed; using plain attention", "graph", key, "err", err)
		cudnn.Disable()
		r.dropKey(key)
		out, err = r.run(key, fn, inputs, execute)
	}
	return out, err
}

func (r *Runner) run(key string, fn GraphFn, inputs []*tensors.Tensor, execute bool) (out []*tensors.Tensor, err error) {
	fk := fastKey(key, inputs)
	seen := r.shapes[key]
	if !execute && seen[fk] {
		return nil, nil
	}
	if !seen[fk] && len(seen) >= r.maxGraphs {
		// GoMLX refuses a new shape once an Exec holds maxGraphs compiled
		// graphs; a server sees many sizes over its life, so start the key
		// afresh (its graphs compile again when those sizes come back).
		r.dropKey(key)
	}
	exec, ok := r.execs[key]
	if !ok {
		dtype := r.dtype
		exec, err = context.NewExec(r.backend, r.ctx, func(ctx *context.Context, in []*Node) []*Node {
			r.built = in[0].Graph() // r.mu is held: builds run inside r.run
			s := nn.NewScope(ctx.Reuse(), in[0].Graph(), dtype)
			s.Im2Col = r.im2col
			return fn(s, in)
		})
		if err != nil {
			return nil, fmt.Errorf("model: %s: %w", key, err)
		}
		exec.SetMaxCache(r.maxGraphs)
		r.execs[key] = exec
	}
	if fg := r.fast[fk]; fg != nil {
		if perr := catch(func() { out, err = fg.run(r.backend, inputs, r.async) }); perr != nil {
			return nil, fmt.Errorf("model: %s: %w", key, perr)
		}
		if err != nil {
			return nil, fmt.Errorf("model: %s: %w", key, err)
		}
		return out, nil
	}
	args := make([]any, len(inputs))
	for i, t := range inputs {
		args[i] = t
	}
	var g *Graph
	start := time.Now()
	perr := catch(func() {
		if execute {
			out, g, err = exec.ExecWithGraph(args...)
		} else {
			err = exec.PreCompile(args...)
		}
	})
	if perr != nil {
		return nil, fmt.Errorf("model: %s: %w", key, perr)
	}
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", key, err)
	}
	if r.shapes[key] == nil {
		r.shapes[key] = map[string]bool{}
	}
	if !r.shapes[key][fk] {
		r.shapes[key][fk] = true
		slog.Debug("graph compiled", "graph", fk, "run", execute, "time", time.Since(start).Round(time.Millisecond))
	}
	if fg := r.newFastGraph(g, len(inputs)); fg != nil {
		r.fast[fk] = fg
	}
	return out, nil
}

// dropKey frees the compiled graphs of key and forgets its shapes.
func (r *Runner) dropKey(key string) {
	for fk := range r.shapes[key] {
		delete(r.fast, fk)
	}
	delete(r.shapes, key)
	if e := r.execs[key]; e != nil {
		_ = catch(e.Finalize)
		delete(r.execs, key)
	}
}

// fastKey names a graph key with its input shapes.
func fastKey(key string, inputs []*tensors.Tensor) string {
	var b strings.Builder
	b.WriteString(key)
	for _, t := range inputs {
		b.WriteString("|")
		b.WriteString(t.Shape().String())
	}
	return b.String()
}

// newFastGraph collects the weight buffers of g (whose first nIn parameters
// are the caller's inputs); nil when a parameter is not a plain weight of
// the runner's context, and the graph keeps going through context.Exec.
func (r *Runner) newFastGraph(g *Graph, nIn int) *fastGraph {
	if g == nil {
		return nil
	}
	n := g.NumParameters()
	if n < nIn {
		return nil
	}
	vars := map[string]*context.Variable{}
	for v := range r.ctx.IterVariables() {
		vars[v.ParameterName()] = v
	}
	fg := &fastGraph{g: g, buffers: make([]backends.Buffer, n), donate: make([]bool, n)}
	ok := true
	_ = catch(func() {
		for h := nIn; h < n && ok; h++ {
			v := vars[g.GetParameterByHandle(ParameterHandle(h)).GetParameterName()]
			if v == nil || v.ChangedInGraph(g) {
				ok = false
				return
			}
			t, err := v.Value()
			if err != nil {
				ok = false
				return
			}
			if fg.buffers[h], err = t.Buffer(r.backend, 0); err != nil {
				ok = false
			}
		}
	})
	if !ok {
		return nil
	}
	return fg
}

// run executes the graph with the caller's inputs and the cached weights;
// with async it returns as soon as the execution is queued (the outputs'
// readers wait for them on the device or when copying them out).
func (fg *fastGraph) run(backend backends.Backend, inputs []*tensors.Tensor, async bool) (out []*tensors.Tensor, err error) {
	bufs := make([]backends.Buffer, len(fg.buffers))
	copy(bufs, fg.buffers)
	for i, t := range inputs {
		b, err := t.Buffer(backend, 0)
		if err != nil {
			return nil, err
		}
		bufs[i] = b
	}
	if !async {
		return fg.g.RunWithBuffers(bufs, fg.donate, 0), nil
	}
	xlaasync.NoWait(func() { out = fg.g.RunWithBuffers(bufs, fg.donate, 0) })
	return out, nil
}

// Float32s copies an output tensor's values; graphs return Float32 outputs.
func Float32s(t *tensors.Tensor) ([]float32, error) {
	if t.DType() != dtypes.Float32 {
		return nil, fmt.Errorf("model: output is %s, want Float32", t.DType())
	}
	return tensors.CopyFlatData[float32](t)
}

// free releases tensors of one call (its own inputs, not cached ones, and
// outputs already copied) at once rather than when the garbage collector
// gets to them.
func free(ts ...*tensors.Tensor) {
	for _, t := range ts {
		_ = t.FinalizeAll()
	}
}

// LoadStats reports the weights read so far.
func (r *Runner) LoadStats() LoadStats {
	r.loader.mu.Lock()
	defer r.loader.mu.Unlock()
	return r.loader.stats
}

// release frees the compiled graphs and the weights' device buffers but
// keeps the backend, for a runner replaced by another on the same backend.
func (r *Runner) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.released = true
	_ = catch(func() {
		clear(r.fast)
		clear(r.shapes)
		for k, e := range r.execs {
			e.Finalize()
			delete(r.execs, k)
		}
		r.ctx.Finalize()
	})
}

// reloadWeights makes src the runner's weight source and reloads, among
// the weights already loaded, those named in keys (checkpoint keys); the
// others load from src when first used. Compiled graphs stay: weights are
// parameters of their graphs and keep their shapes, so a LoRA change costs
// reading the changed tensors, not a recompilation.
func (r *Runner) reloadWeights(src Source, keys map[string]bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loader.src = src
	clear(r.fast) // their buffers are the old values
	var err error
	perr := catch(func() {
		for v := range r.ctx.IterVariables() {
			if !changed(keys, keyOf(v.Scope(), v.Name())) || !v.HasValue() {
				continue
			}
			t, ok := r.loader.LoadVariable(nil, v.Scope(), v.Name())
			if !ok {
				err = fmt.Errorf("model: reload %s", keyOf(v.Scope(), v.Name()))
				return
			}
			if err = v.SetValue(t); err != nil {
				return
			}
		}
	})
	if perr != nil {
		return perr
	}
	return err
}

// swapWeights moves the model to src, reloading the weights in keys in
// place (reloadWeights); should that fail, it falls back to a new runner
// over src, which reloads everything.
func (m *Model) swapWeights(src Source, keys map[string]bool) {
	m.texts.clear()
	for i, r := range m.nets {
		if err := r.reloadWeights(src, keys); err != nil {
			m.replaceRunner(network(i), src)
		}
	}
}

// replaceRunner swaps in a runner over src on the same backend for one
// network and frees the old one's graphs and device weights.
func (m *Model) replaceRunner(n network, src Source) {
	old := m.nets[n]
	m.nets[n] = NewRunner(old.Backend(), src, old.DType())
	old.release()
}
