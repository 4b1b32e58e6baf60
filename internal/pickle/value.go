package pickle

import "fmt"

// The values Unpickle builds. Python None is nil; bool, int (int64 or
// *big.Int when it does not fit), float (float64), str (string) and bytes
// ([]byte) map to Go values; containers and torch objects use the types below.

// Tuple is a Python tuple (also torch.Size).
type Tuple []any

// List is a Python list. It is a pointer type because pickles mutate lists
// after creating them (APPEND) and may share them through the memo.
type List struct{ Items []any }

// Set is a Python set or frozenset, in insertion order.
type Set struct{ Items []any }

// Dict is a Python dict or collections.OrderedDict, in insertion order.
type Dict struct {
	keys  []any
	vals  []any
	index map[any]int // for hashable scalar keys
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{index: map[any]int{}} }

// hashable reports whether k can be a Go map key with Python-like equality.
func hashable(k any) bool {
	switch k.(type) {
	case nil, string, int64, float64, bool:
		return true
	}
	return false
}

// Set stores v under k, replacing an earlier value for an equal scalar key.
func (d *Dict) Set(k, v any) {
	if hashable(k) {
		if i, ok := d.index[k]; ok {
			d.vals[i] = v
			return
		}
		d.index[k] = len(d.keys)
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

// Get returns the value stored under a scalar key.
func (d *Dict) Get(k any) (any, bool) {
	if !hashable(k) {
		return nil, false
	}
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// Len returns the number of entries.
func (d *Dict) Len() int { return len(d.keys) }

// Keys returns the keys in insertion order.
func (d *Dict) Keys() []any { return append([]any(nil), d.keys...) }

// Entry returns the i-th key and value in insertion order.
func (d *Dict) Entry(i int) (any, any) { return d.keys[i], d.vals[i] }

// Global is a reference to an allowed Python class or function, as a GLOBAL
// opcode names it ("module", "name").
type Global struct{ Module, Name string }

func (g *Global) String() string { return g.Module + "." + g.Name }

// Skipped stands for an object the reader deliberately does not build
// (pytorch_lightning callbacks, numpy scalars and dtypes): it records only
// which global made it.
type Skipped struct{ Global string }

func (s *Skipped) String() string { return fmt.Sprintf("<skipped %s>", s.Global) }

// Storage is a torch storage: a zip entry of raw elements of one dtype.
type Storage struct {
	Key      string // the entry name under <archive>/data/
	DType    DType
	Location string // e.g. "cpu", "cuda:0"; informational
	Numel    int64  // elements, as recorded in the pickle
}

// Tensor is a lazily loaded torch tensor: a view into a Storage.
type Tensor struct {
	Storage *Storage
	Offset  int64 // in elements
	Shape   []int64
	Stride  []int64
}

// NumElements returns the product of the shape.
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Contiguous reports whether the strides are those of a C-order tensor
// (dimensions of size 1 may have any stride).
func (t *Tensor) Contiguous() bool {
	want := int64(1)
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] == 0 {
			return true
		}
		if t.Shape[i] != 1 && t.Stride[i] != want {
			return false
		}
		want *= t.Shape[i]
	}
	return true
}
