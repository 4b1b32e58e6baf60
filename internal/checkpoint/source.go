package checkpoint

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"sdgo/internal/par"
	"sdgo/internal/pickle"
	"sdgo/internal/safetensors"
)

// TensorInfo describes one tensor: its dtype (safetensors names: "F16",
// "BF16", "F32", "F64", "I64", ...) and shape.
type TensorInfo struct {
	DType string
	Shape []int
}

// NumElements returns the product of the shape.
func (ti TensorInfo) NumElements() int {
	n := 1
	for _, d := range ti.Shape {
		n *= d
	}
	return n
}

// Source is a set of named tensors. Raw returns little-endian bytes in the
// tensor's own dtype (possibly aliasing a memory map: read-only, valid until
// Close); Float32 returns a converted copy.
type Source interface {
	Names() []string
	Info(name string) (TensorInfo, bool)
	Float32(name string) ([]float32, []int, error)
	Raw(name string) ([]byte, error)
	Close() error
}

type safetensorsSource struct{ *safetensors.File }

func (s safetensorsSource) Info(name string) (TensorInfo, bool) {
	ti, ok := s.File.Info(name)
	return TensorInfo{DType: string(ti.DType), Shape: ti.Shape}, ok
}

type pickleSource struct{ *pickle.File }

func (s pickleSource) Info(name string) (TensorInfo, bool) {
	ti, ok := s.File.Info(name)
	return TensorInfo{DType: string(ti.DType), Shape: ti.Shape}, ok
}

// OpenFile opens one weights file as a Source, choosing the reader from the
// file's first bytes: a zip archive is a PyTorch checkpoint, anything else
// is read as safetensors.
func OpenFile(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: open: %w", err)
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	f.Close()
	head = head[:n]
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		p, err := pickle.Open(path)
		if err != nil {
			return nil, err // already "pickle: open <path>: ..."
		}
		return pickleSource{p}, nil
	case ext == ".gguf" || bytes.HasPrefix(head, []byte("GGUF")):
		return nil, fmt.Errorf("checkpoint: open %s: GGUF files are not supported yet; use a .safetensors or .ckpt file", path)
	}
	s, err := safetensors.Open(path)
	if err != nil {
		return nil, err // already "safetensors: open <path>: ..."
	}
	return safetensorsSource{s}, nil
}

// toFloat32 converts raw bytes of a dtype named like safetensors' dtypes,
// large tensors on every core.
func toFloat32(raw []byte, dtype string) ([]float32, error) {
	d := safetensors.DType(dtype)
	if !d.Valid() || len(raw)%d.Size() != 0 {
		return safetensors.ToFloat32(raw, d) // its error
	}
	size := d.Size()
	dst := make([]float32, len(raw)/size)
	var err error
	var once sync.Once
	par.For(len(dst), 1<<18, func(lo, hi int) {
		if e := safetensors.ToFloat32Into(dst[lo:hi], raw[lo*size:hi*size], d); e != nil {
			once.Do(func() { err = e })
		}
	})
	return dst, err
}
