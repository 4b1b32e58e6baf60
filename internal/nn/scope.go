package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Scope locates a network's weights while a graph is built: a GoMLX context
// positioned at a checkpoint key prefix, the graph being built, and the dtype
// the activations are computed in.
type Scope struct {
	ctx   *context.Context
	g     *Graph
	path  string // checkpoint key prefix, dot separated, without trailing dot
	DType dtypes.DType
	// Im2Col computes convolutions as one matrix product over gathered
	// patches: faster on GoMLX's pure-Go backend, where matrix products use
	// every core and convolutions one.
	Im2Col bool
}

// NewScope returns the root scope of graph g over the variables of ctx.
// Activations are computed in dtype (Float32 on CPU, Float16 or BFloat16 on
// a GPU); statistics (norms, softmax) are always computed in Float32.
func NewScope(ctx *context.Context, g *Graph, dtype dtypes.DType) *Scope {
	return &Scope{ctx: ctx, g: g, DType: dtype}
}

// Graph returns the graph being built.
func (s *Scope) Graph() *Graph { return s.g }

// Path returns the checkpoint key prefix of s.
func (s *Scope) Path() string { return s.path }

// In returns the scope of a sub-module. Each part may itself contain dots
// ("input_blocks.1.0"); integer parts may be given with Inf.
func (s *Scope) In(parts ...string) *Scope {
	c := *s
	for _, p := range parts {
		if p == "" {
			continue
		}
		if c.path == "" {
			c.path = p
		} else {
			c.path += "." + p
		}
	}
	return &c
}

// Inf is In with a formatted part: s.Inf("input_blocks.%d.0", i).
func (s *Scope) Inf(format string, args ...any) *Scope {
	return s.In(fmt.Sprintf(format, args...))
}

// VariableScope converts a checkpoint key prefix to the GoMLX scope path that
// holds its tensors: "a.b.c" -> "/a/b/c".
func VariableScope(prefix string) string {
	return "/" + strings.ReplaceAll(prefix, ".", "/")
}

// SplitKey splits a checkpoint key into the GoMLX scope and variable name
// under which it is stored: "a.b.weight" -> ("/a/b", "weight").
func SplitKey(key string) (scope, name string) {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return "/", key
	}
	return VariableScope(key[:i]), key[i+1:]
}

// Has reports whether the tensor name exists in this scope.
func (s *Scope) Has(name string) bool {
	return s.ctx.GetVariableByScopeAndName(VariableScope(s.path), name) != nil
}

// Raw returns the tensor name of this scope in its stored dtype. It panics
// with the full checkpoint key when the tensor is missing; the model package
// turns that panic into an error.
func (s *Scope) Raw(name string) *Node {
	v := s.ctx.GetVariableByScopeAndName(VariableScope(s.path), name)
	if v == nil {
		panic(fmt.Errorf("nn: tensor %q is missing from the checkpoint", s.path+"."+name))
	}
	return v.ValueGraph(s.g)
}

// Merged returns the tensors name of the modules below s (paths relative
// to s, such as "to_k" or "input_blocks.1.0.emb_layers.1") joined along
// their first axis, in the compute dtype. The context's loader builds it
// for the key "<s's path>.@<module>+<module>....<name>" (MergedParts splits
// it). nil when the context cannot provide it (weights set one by one, as
// in tests).
func (s *Scope) Merged(modules []string, name string) *Node {
	return s.loaded(mergedMark+strings.Join(modules, "+"), name)
}

// Derived returns the tensor name of s transformed by the named transform
// (see Derive), in the compute dtype. The context's loader builds it for
// the key "<s's path>.~<transform>.<name>" (DerivedKey splits it) from the
// checkpoint tensor, once, when it loads the weights. nil when the context
// cannot provide it (weights set one by one, as in tests).
func (s *Scope) Derived(transform, name string) *Node {
	return s.loaded(derivedMark+transform, name)
}

// loaded returns the tensor name the context's loader builds for the
// module sub of s (a merged or derived key), in the compute dtype; nil when
// it cannot.
func (s *Scope) loaded(sub, name string) *Node {
	v := s.ctx.GetVariableByScopeAndName(VariableScope(s.path+"."+sub), name)
	if v == nil {
		return nil
	}
	return s.as(v.ValueGraph(s.g), s.DType)
}

// mergedMark starts the module list of a merged key.
const mergedMark = "@"

// MergedParts returns the checkpoint keys a merged key ("a.b.@to_k+to_v.weight",
// see Scope.Merged) joins, in order; ok is false for a plain key. Module
// paths may contain dots.
func MergedParts(key string) (parts []string, ok bool) {
	at := strings.Index(key, "."+mergedMark)
	dot := strings.LastIndexByte(key, '.')
	if at < 0 || dot <= at+1 {
		return nil, false
	}
	prefix, name := key[:at], key[dot:]
	for _, m := range strings.Split(key[at+1+len(mergedMark):dot], "+") {
		parts = append(parts, prefix+"."+m+name)
	}
	return parts, true
}

// JoinRows joins tensors of one dtype whose axes after the first agree
// along their first axis: what a merged key (Scope.Merged) names. ok is
// false when they do not fit.
func JoinRows(ts []*tensors.Tensor) (joined *tensors.Tensor, ok bool) {
	if len(ts) == 0 {
		return nil, false
	}
	first := ts[0].Shape()
	dims := slices.Clone(first.Dimensions)
	if len(dims) == 0 {
		return nil, false
	}
	dims[0] = 0
	for _, t := range ts {
		sh := t.Shape()
		if sh.DType != first.DType || sh.Rank() != first.Rank() || !slices.Equal(sh.Dimensions[1:], first.Dimensions[1:]) {
			return nil, false
		}
		dims[0] += sh.Dimensions[0]
	}
	joined = tensors.FromShape(shapes.Make(first.DType, dims...))
	joined.MutableBytes(func(dst []byte) {
		for _, t := range ts {
			t.ConstBytes(func(src []byte) { dst = dst[copy(dst, src):] })
		}
	})
	return joined, true
}

// W returns the tensor name of this scope converted to the compute dtype.
func (s *Scope) W(name string) *Node {
	return s.as(s.Raw(name), s.DType)
}

// F32 returns the tensor name of this scope as Float32.
func (s *Scope) F32(name string) *Node {
	return s.as(s.Raw(name), dtypes.Float32)
}

func (s *Scope) as(x *Node, dt dtypes.DType) *Node {
	if x.DType() == dt {
		return x
	}
	return ConvertDType(x, dt)
}

// Cast converts x to the compute dtype of s.
func (s *Scope) Cast(x *Node) *Node { return s.as(x, s.DType) }

// SetVariable stores value under the checkpoint key in ctx, where Scope.W
// and Scope.Raw find it; a convolution kernel is given in PyTorch's layout
// and stored in the graph layout (KernelTensor).
func SetVariable(ctx *context.Context, key string, value *tensors.Tensor) {
	scope, name := SplitKey(key)
	ctx.InAbsPath(scope).VariableWithValue(name, KernelTensor(value))
}
