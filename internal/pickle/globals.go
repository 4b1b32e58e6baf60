package pickle

import (
	"fmt"
	"strings"
)

// callable names an allowed function or class.
type callable int

const (
	callOrderedDict callable = iota + 1
	callRebuildTensorV2
	callRebuildTensor
	callRebuildParameter
	callRebuildParameterWithState
	callRebuildFromTypeV2
	callTorchSize
	callSet
	callFrozenSet
	callCodecsEncode
	callTorchDevice
)

// allowed lists every global the machine will build, besides storage classes,
// torch dtypes and the Skipped ones.
var allowed = map[string]callable{
	"collections.OrderedDict":                    callOrderedDict,
	"torch._utils._rebuild_tensor_v2":            callRebuildTensorV2,
	"torch._utils._rebuild_tensor":               callRebuildTensor,
	"torch._utils._rebuild_parameter":            callRebuildParameter,
	"torch._utils._rebuild_parameter_with_state": callRebuildParameterWithState,
	"torch._tensor._rebuild_from_type_v2":        callRebuildFromTypeV2,
	"torch.Size":                                 callTorchSize,
	"builtins.set":                               callSet,
	"__builtin__.set":                            callSet,
	"builtins.frozenset":                         callFrozenSet,
	"__builtin__.frozenset":                      callFrozenSet,
	"_codecs.encode":                             callCodecsEncode,
	"torch.device":                               callTorchDevice,
}

// classes that are allowed only as values (never called): tensor types named
// by _rebuild_from_type_v2.
var allowedTypes = map[string]bool{
	"torch.Tensor":                 true,
	"torch.nn.parameter.Parameter": true,
	"torch.nn.parameter.Buffer":    true,
	"torch._tensor.Tensor":         true,
}

// torchDTypes are torch dtype objects some pickles store as plain values.
var torchDTypes = map[string]bool{
	"float16": true, "float32": true, "float64": true, "bfloat16": true,
	"int64": true, "int32": true, "int16": true, "int8": true, "uint8": true, "bool": true,
	"half": true, "float": true, "double": true, "long": true, "int": true,
}

// skippedGlobals become opaque placeholders: harmless objects that training
// frameworks leave next to the weights.
var skippedGlobals = map[string]bool{
	"numpy.core.multiarray.scalar":        true,
	"numpy._core.multiarray.scalar":       true,
	"numpy.core.multiarray._reconstruct":  true,
	"numpy._core.multiarray._reconstruct": true,
	"numpy.dtype":                         true,
	"numpy.ndarray":                       true,
}

// skippedPrefixes are module prefixes whose globals become placeholders.
var skippedPrefixes = []string{"pytorch_lightning.", "lightning.pytorch.", "lightning_fabric."}

// resolveGlobal returns the value a GLOBAL opcode pushes, or a RefusedError.
func resolveGlobal(module, name string) (any, error) {
	full := module + "." + name
	if _, ok := allowed[full]; ok {
		return &Global{Module: module, Name: name}, nil
	}
	if allowedTypes[full] {
		return &Global{Module: module, Name: name}, nil
	}
	if module == "torch" {
		if _, ok := storageDTypes[name]; ok {
			return &Global{Module: module, Name: name}, nil
		}
		if torchDTypes[name] {
			return "torch." + name, nil
		}
	}
	if skippedGlobals[full] {
		return &Skipped{Global: full}, nil
	}
	for _, p := range skippedPrefixes {
		if strings.HasPrefix(module+".", p) {
			return &Skipped{Global: full}, nil
		}
	}
	return nil, &RefusedError{Global: full}
}

// call applies an allowed global (from REDUCE, NEWOBJ, INST or OBJ) to args.
func call(fn any, args Tuple) (any, error) {
	switch f := fn.(type) {
	case *Skipped:
		return &Skipped{Global: f.Global}, nil
	case *Global:
		c, ok := allowed[f.String()]
		if !ok {
			return nil, fmt.Errorf("%s cannot be called", f)
		}
		return callAllowed(c, f, args)
	}
	return nil, fmt.Errorf("cannot call a %T", fn)
}

func callAllowed(c callable, f *Global, args Tuple) (any, error) {
	switch c {
	case callOrderedDict:
		d := NewDict()
		if len(args) == 1 {
			if err := fillDict(d, args[0]); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
		} else if len(args) > 1 {
			return nil, fmt.Errorf("%s takes at most 1 argument, got %d", f, len(args))
		}
		return d, nil
	case callRebuildTensorV2:
		if len(args) < 4 {
			return nil, fmt.Errorf("%s needs at least 4 arguments, got %d", f, len(args))
		}
		return rebuildTensor(args[0], args[1], args[2], args[3])
	case callRebuildTensor:
		if len(args) != 4 {
			return nil, fmt.Errorf("%s needs 4 arguments, got %d", f, len(args))
		}
		return rebuildTensor(args[0], args[1], args[2], args[3])
	case callRebuildParameter, callRebuildParameterWithState:
		if len(args) < 1 {
			return nil, fmt.Errorf("%s needs arguments", f)
		}
		if _, ok := args[0].(*Tensor); !ok {
			return nil, fmt.Errorf("%s of a %T, not a tensor", f, args[0])
		}
		return args[0], nil
	case callRebuildFromTypeV2:
		// (func, new_type, args, state): rebuild with func(*args); the
		// subclass and its state are dropped.
		if len(args) < 3 {
			return nil, fmt.Errorf("%s needs 3 or 4 arguments, got %d", f, len(args))
		}
		inner, ok := args[2].(Tuple)
		if !ok {
			return nil, fmt.Errorf("%s: arguments are %T, not a tuple", f, args[2])
		}
		return call(args[0], inner)
	case callTorchSize:
		if len(args) == 0 {
			return Tuple{}, nil
		}
		t, ok := args[0].(Tuple)
		if !ok {
			if l, isList := args[0].(*List); isList {
				return Tuple(append([]any(nil), l.Items...)), nil
			}
			return nil, fmt.Errorf("%s of a %T", f, args[0])
		}
		return t, nil
	case callSet, callFrozenSet:
		s := &Set{}
		if len(args) > 0 {
			switch v := args[0].(type) {
			case *List:
				s.Items = append(s.Items, v.Items...)
			case Tuple:
				s.Items = append(s.Items, v...)
			case *Set:
				s.Items = append(s.Items, v.Items...)
			default:
				return nil, fmt.Errorf("%s of a %T", f, args[0])
			}
		}
		return s, nil
	case callCodecsEncode:
		return codecsEncode(args)
	case callTorchDevice:
		if len(args) >= 1 {
			if s, ok := args[0].(string); ok {
				return s, nil
			}
		}
		return nil, fmt.Errorf("%s needs a string argument", f)
	}
	return nil, fmt.Errorf("%s cannot be called", f)
}

func fillDict(d *Dict, src any) error {
	var items []any
	switch v := src.(type) {
	case *List:
		items = v.Items
	case Tuple:
		items = v
	case *Dict:
		for i := 0; i < v.Len(); i++ {
			d.Set(v.Entry(i))
		}
		return nil
	default:
		return fmt.Errorf("cannot build a dict from %T", src)
	}
	for _, it := range items {
		pair, ok := it.(Tuple)
		if !ok || len(pair) != 2 {
			return fmt.Errorf("dict item is %T, not a pair", it)
		}
		d.Set(pair[0], pair[1])
	}
	return nil
}

// codecsEncode implements _codecs.encode(str, encoding), which protocol-2
// pickles use to carry bytes.
func codecsEncode(args Tuple) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, fmt.Errorf("_codecs.encode needs 1 or 2 arguments, got %d", len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("_codecs.encode of a %T", args[0])
	}
	enc := "utf-8"
	if len(args) == 2 {
		if e, ok := args[1].(string); ok {
			enc = strings.ToLower(e)
		}
	}
	switch enc {
	case "latin1", "latin-1", "iso-8859-1":
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, fmt.Errorf("_codecs.encode: %U is not latin-1", r)
			}
			b = append(b, byte(r))
		}
		return b, nil
	case "utf-8", "utf8":
		return []byte(s), nil
	}
	return nil, fmt.Errorf("_codecs.encode: unsupported encoding %q", enc)
}

// maxDim bounds one tensor dimension and the element count (2^48).
const maxDim = int64(1) << 48

func toInt64s(v any, what string) ([]int64, error) {
	var items []any
	switch t := v.(type) {
	case Tuple:
		items = t
	case *List:
		items = t.Items
	default:
		return nil, fmt.Errorf("tensor %s is a %T, not a tuple", what, v)
	}
	if len(items) > 64 {
		return nil, fmt.Errorf("tensor %s has %d dimensions", what, len(items))
	}
	out := make([]int64, len(items))
	for i, it := range items {
		n, ok := it.(int64)
		if !ok || n < 0 || n > maxDim {
			return nil, fmt.Errorf("tensor %s[%d] = %v is not a valid size", what, i, it)
		}
		out[i] = n
	}
	return out, nil
}

func rebuildTensor(storage, offset, size, stride any) (any, error) {
	st, ok := storage.(*Storage)
	if !ok {
		return nil, fmt.Errorf("tensor storage is a %T, not a torch storage", storage)
	}
	off, ok := offset.(int64)
	if !ok || off < 0 || off > maxDim {
		return nil, fmt.Errorf("tensor storage offset %v is invalid", offset)
	}
	shape, err := toInt64s(size, "size")
	if err != nil {
		return nil, err
	}
	strides, err := toInt64s(stride, "stride")
	if err != nil {
		return nil, err
	}
	if len(strides) != len(shape) {
		return nil, fmt.Errorf("tensor has %d sizes but %d strides", len(shape), len(strides))
	}
	n := int64(1)
	for _, d := range shape {
		if d != 0 && n > maxDim/d {
			return nil, fmt.Errorf("tensor size %v is too large", shape)
		}
		n *= d
	}
	return &Tensor{Storage: st, Offset: off, Shape: shape, Stride: strides}, nil
}

// storageLoader returns the persistent loader for torch zip archives: pids
// ("storage", <storage class>, key, location, numel) become *Storage values,
// one per key.
func storageLoader(onStorage func(*Storage) error) PersistentLoader {
	seen := map[string]*Storage{}
	return func(pid any) (any, error) {
		t, ok := pid.(Tuple)
		if !ok || len(t) < 5 {
			return nil, fmt.Errorf("persistent id %T is not a storage tuple", pid)
		}
		if tag, _ := t[0].(string); tag != "storage" {
			return nil, fmt.Errorf("persistent id of kind %v is not supported", t[0])
		}
		g, ok := t[1].(*Global)
		if !ok {
			return nil, fmt.Errorf("storage type is a %T, not a torch storage class", t[1])
		}
		dt, ok := storageDTypes[g.Name]
		if !ok || g.Module != "torch" {
			return nil, fmt.Errorf("unsupported storage type %s", g)
		}
		key, ok := t[2].(string)
		if !ok || key == "" || len(key) > 256 {
			return nil, fmt.Errorf("storage key %v is invalid", t[2])
		}
		loc, _ := t[3].(string)
		numel, ok := t[4].(int64)
		if !ok || numel < 0 || numel > maxDim {
			return nil, fmt.Errorf("storage %q size %v is invalid", key, t[4])
		}
		if s, ok := seen[key]; ok {
			if s.DType != dt {
				return nil, fmt.Errorf("storage %q used as both %s and %s", key, s.DType, dt)
			}
			return s, nil
		}
		s := &Storage{Key: key, DType: dt, Location: loc, Numel: numel}
		if onStorage != nil {
			if err := onStorage(s); err != nil {
				return nil, err
			}
		}
		seen[key] = s
		return s, nil
	}
}
