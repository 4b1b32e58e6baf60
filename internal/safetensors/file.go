package safetensors

import (
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
)

// File is an open safetensors file. Its tensor bytes are memory-mapped where
// the platform allows, so opening is cheap and Raw is zero-copy. A File is
// safe for concurrent reads; slices returned by Raw are valid until Close.
type File struct {
	path   string
	data   []byte // the whole file
	header *Header
	names  []string

	mu      sync.Mutex
	release func() error
}

// Open maps the file at path and validates its header: the length field, the
// JSON, and that every tensor's byte range lies inside the file, matches its
// dtype and shape and overlaps no other tensor.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: open: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: open %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("safetensors: open %s: is a directory", path)
	}
	// Validate the header from a small read first, so a hostile length field
	// never makes us map or read a huge file for nothing.
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		return nil, fmt.Errorf("safetensors: open %s: %w", path, invalid("file is %d bytes, shorter than the 8-byte header length (not a safetensors file, or truncated)", st.Size()))
	}
	data, release, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("safetensors: open %s: %w", path, err)
	}
	h, err := ParseHeader(data, st.Size())
	if err != nil {
		release()
		return nil, fmt.Errorf("safetensors: open %s: %w", path, err)
	}
	sf := &File{path: path, data: data, header: h, release: release}
	sf.names = make([]string, 0, len(h.Tensors))
	for n := range h.Tensors {
		sf.names = append(sf.names, n)
	}
	sort.Strings(sf.names)
	return sf, nil
}

// readAll reads the whole file into memory (the fallback where mmap fails).
func readAll(f *os.File, size int64) ([]byte, func() error, error) {
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, nil, err
	}
	return b, func() error { return nil }, nil
}

// Path returns the path the file was opened from.
func (f *File) Path() string { return f.path }

// Close unmaps the file. Slices from Raw must not be used afterwards.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.release == nil {
		return nil
	}
	err := f.release()
	f.release = nil
	f.data = nil
	if err != nil {
		return fmt.Errorf("safetensors: close %s: %w", f.path, err)
	}
	return nil
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string { return append([]string(nil), f.names...) }

// Len returns the number of tensors.
func (f *File) Len() int { return len(f.names) }

// Info returns the dtype, shape and byte range of a tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	ti, ok := f.header.Tensors[name]
	if ok {
		ti.Shape = append([]int(nil), ti.Shape...)
	}
	return ti, ok
}

// Metadata returns a copy of the __metadata__ map (empty if the file has none).
func (f *File) Metadata() map[string]string {
	m := make(map[string]string, len(f.header.Metadata))
	for k, v := range f.header.Metadata {
		m[k] = v
	}
	return m
}

// DataOffset returns the file offset where tensor data starts (8 + header
// length); the LoRA "addnet" hash covers the bytes from here to the end.
func (f *File) DataOffset() int64 { return f.header.DataOffset }

// Raw returns the stored little-endian bytes of a tensor without copying.
// The slice aliases the mapping: do not modify it or use it after Close.
func (f *File) Raw(name string) ([]byte, error) {
	ti, ok := f.header.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: read %s: no tensor %q", f.path, name)
	}
	f.mu.Lock()
	data := f.data
	f.mu.Unlock()
	if data == nil {
		return nil, fmt.Errorf("safetensors: read %s: tensor %q: file is closed", f.path, name)
	}
	off := f.header.DataOffset
	return data[off+ti.Begin : off+ti.End : off+ti.End], nil
}

// Float32 returns a tensor converted to float32 (a new slice) and its shape.
// F16, BF16, F64, fp8 and integer and bool types convert by value.
func (f *File) Float32(name string) ([]float32, []int, error) {
	raw, err := f.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	ti := f.header.Tensors[name]
	dst := make([]float32, ti.NumElements())
	if err := convert(dst, raw, ti.DType); err != nil {
		return nil, nil, fmt.Errorf("safetensors: read %s: tensor %q: %w", f.path, name, err)
	}
	return dst, append([]int(nil), ti.Shape...), nil
}
