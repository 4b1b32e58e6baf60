// Package pickle reads PyTorch checkpoint files (.ckpt, .pt, .pth: a zip
// archive holding data.pkl and one entry per tensor storage) without running
// any Python: a small pickle machine that can only build plain containers
// (dict, OrderedDict, list, tuple, set), scalars, strings, bytes and torch
// tensors. Any other global the pickle names is refused with an error that
// names it; the few harmless objects training frameworks leave in checkpoints
// (pytorch_lightning callbacks, numpy scalars and dtypes) become opaque
// Skipped placeholders.
//
// Tensors are lazy: Open records each tensor's storage, dtype, offset, shape
// and strides, and Raw returns its bytes, zero-copy from the memory-mapped
// archive where the entry is stored uncompressed.
//
// It imports only the standard library. It must not import safetensors or
// checkpoint (both readers are leaves; checkpoint joins them), so it has its
// own DType that uses the same names ("F16", "F32", ...).
package pickle
