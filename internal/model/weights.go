package model

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"sdgo/internal/checkpoint"
	"sdgo/internal/nn"
	"sdgo/internal/par"
	"sdgo/internal/safetensors"
)

// Source is what the model reads weights from: a checkpoint, possibly with a
// replaced VAE and merged LoRAs.
type Source interface {
	Names() []string
	Float32(name string) ([]float32, []int, error)
}

// ParseDType maps a user's dtype name to a GoMLX dtype.
func ParseDType(name string) (dtypes.DType, error) {
	switch strings.ToLower(name) {
	case "f32", "fp32", "float32":
		return dtypes.Float32, nil
	case "f16", "fp16", "float16", "half":
		return dtypes.Float16, nil
	case "bf16", "bfloat16":
		return dtypes.BFloat16, nil
	}
	return dtypes.InvalidDType, fmt.Errorf("model: unknown dtype %q: use f32, f16 or bf16", name)
}

// loader feeds GoMLX variables from a Source the first time a graph asks
// for them, converted to the storage dtype. Weights therefore become graph
// parameters, never constants, and only the tensors a network uses are read.
type loader struct {
	src   Source
	dtype dtypes.DType

	mu    sync.Mutex
	stats LoadStats
}

// LoadStats says how much weight data was read and converted, and how long
// it took (reading and dtype conversion on the host; the upload to the
// device happens when a graph first runs).
type LoadStats struct {
	Tensors int
	Bytes   int64 // in the storage dtype
	Time    time.Duration
}

// keyOf turns a GoMLX scope and variable name back into the checkpoint key.
func keyOf(scope, name string) string {
	s := strings.Trim(scope, "/")
	if s == "" {
		return name
	}
	return strings.ReplaceAll(s, "/", ".") + "." + name
}

// LoadVariable implements context.Loader.
func (l *loader) LoadVariable(_ *context.Context, scope, name string) (*tensors.Tensor, bool) {
	start := time.Now()
	key := keyOf(scope, name)
	var t *tensors.Tensor
	var ok bool
	if parts, merged := nn.MergedParts(key); merged {
		t, ok = l.merged(parts)
	} else if base, transform, derived := nn.DerivedKey(key); derived {
		t, ok = l.derived(base, transform)
	} else {
		t, ok = l.tensor(key)
	}
	if !ok {
		return nil, false
	}
	l.mu.Lock()
	l.stats.Tensors++
	l.stats.Bytes += int64(t.Shape().Memory())
	l.stats.Time += time.Since(start)
	l.mu.Unlock()
	return t, true
}

// tensor reads one checkpoint tensor in the storage dtype and layout.
func (l *loader) tensor(key string) (*tensors.Tensor, bool) {
	if t, ok := l.rawTensor(key); ok {
		return t, true
	}
	v, shape, err := l.src.Float32(key)
	if err != nil {
		return nil, false
	}
	return nn.KernelTensor(hostTensor(v, shape, l.dtype)), true
}

// merged joins the tensors named parts along their first axis into one
// tensor (nn.Scope.Merged, nn.JoinRows); false when a part is missing or
// the shapes do not fit. Convolution kernels are not joined.
func (l *loader) merged(parts []string) (*tensors.Tensor, bool) {
	var ts []*tensors.Tensor
	for _, p := range parts {
		t, ok := l.tensor(p)
		if !ok || t.Rank() > 2 {
			return nil, false
		}
		ts = append(ts, t)
	}
	return nn.JoinRows(ts)
}

// derived computes a transform of the tensor base (nn.Scope.Derived,
// nn.Derive) in float32 and stores it in the storage dtype and layout.
func (l *loader) derived(base, transform string) (*tensors.Tensor, bool) {
	v, shape, err := l.src.Float32(base)
	if err != nil {
		return nil, false
	}
	if v, shape, err = nn.Derive(transform, v, shape); err != nil {
		return nil, false
	}
	return nn.KernelTensor(hostTensor(v, shape, l.dtype)), true
}

// changed reports whether the weight of key, or one it joins or is derived
// from, is in keys.
func changed(keys map[string]bool, key string) bool {
	if base, _, ok := nn.DerivedKey(key); ok {
		return keys[base]
	}
	if parts, ok := nn.MergedParts(key); ok {
		for _, p := range parts {
			if keys[p] {
				return true
			}
		}
		return false
	}
	return keys[key]
}

// rawSource is a Source that can hand out a tensor's stored bytes (a plain
// checkpoint; sources that change weights, such as LoRA merges, do not).
type rawSource interface {
	Info(name string) (checkpoint.TensorInfo, bool)
	Raw(name string) ([]byte, error)
}

// storedAs maps checkpoint dtype names to GoMLX dtypes.
var storedAs = map[string]dtypes.DType{"F16": dtypes.Float16, "BF16": dtypes.BFloat16, "F32": dtypes.Float32}

// rawTensor copies a tensor's bytes unconverted when it is stored in the
// dtype the runner wants: the fast path for fp16 checkpoints on a GPU.
func (l *loader) rawTensor(key string) (*tensors.Tensor, bool) {
	rs, ok := l.src.(rawSource)
	if !ok {
		return nil, false
	}
	info, ok := rs.Info(key)
	if !ok || storedAs[info.DType] != l.dtype {
		return nil, false
	}
	raw, err := rs.Raw(key)
	if err != nil {
		return nil, false
	}
	t := tensors.FromShape(shapes.Make(l.dtype, nn.KernelShape(info.Shape)...))
	if t.Shape().Memory() != uintptr(len(raw)) {
		return nil, false
	}
	t.MutableBytes(func(b []byte) {
		if len(info.Shape) == 4 {
			nn.PermuteKernel(b, raw, info.Shape, int(l.dtype.Size()))
		} else {
			copy(b, raw)
		}
	})
	return t, true
}

// hostTensor makes a host tensor of dtype from float32 values.
func hostTensor(v []float32, shape []int, dtype dtypes.DType) *tensors.Tensor {
	if shape == nil {
		shape = []int{}
	}
	switch dtype {
	case dtypes.Float16, dtypes.BFloat16:
		t := tensors.FromShape(shapes.Make(dtype, shape...))
		conv := safetensors.Float32ToHalf
		if dtype == dtypes.BFloat16 {
			conv = safetensors.Float32ToBF16
		}
		t.MutableBytes(func(b []byte) {
			par.For(len(v), 1<<18, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					binary.LittleEndian.PutUint16(b[2*i:], conv(v[i]))
				}
			})
		})
		return t
	default:
		return tensors.FromFlatDataAndDimensions(v, shape...)
	}
}

// DeleteVariable implements context.Loader; loaded weights are not kept by
// the loader, so there is nothing to forget.
func (l *loader) DeleteVariable(*context.Context, string, string) error { return nil }
