package pickle

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
)

// maxPickleSize bounds data.pkl (it holds structure only; tensors are
// separate entries, so real files have a few MiB at most).
const maxPickleSize = 64 << 20

// legacyMagic starts torch files written before torch 1.6 (not zip archives).
var legacyMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// TensorInfo describes one tensor of a checkpoint.
type TensorInfo struct {
	DType DType
	Shape []int
	// Storage is the zip entry key; Offset and Stride are in elements.
	Storage string
	Offset  int64
	Stride  []int64
}

// Contiguous reports whether the tensor's elements are stored in C order,
// which Raw and Float32 require.
func (ti TensorInfo) Contiguous() bool {
	t := Tensor{Shape: make([]int64, len(ti.Shape)), Stride: ti.Stride}
	for i, d := range ti.Shape {
		t.Shape[i] = int64(d)
	}
	return t.Contiguous()
}

// File is an open PyTorch checkpoint. It is safe for concurrent reads.
type File struct {
	path    string
	data    []byte // the whole file, memory-mapped
	zr      *zip.Reader
	entries map[string]*zip.File // storage key -> entry
	root    any
	tensors map[string]*Tensor
	names   []string

	mu       sync.Mutex
	release  func() error
	inflated map[string][]byte // decompressed storages (compressed archives only)
}

// Open reads the archive at path, runs its pickle with the restricted
// machine and indexes the state dict: the dict under the top-level
// "state_dict" key if there is one, else the top-level dict. Tensor bytes are
// not read until Raw or Float32.
func Open(p string) (*File, error) {
	f, err := open(p)
	if err != nil {
		return nil, fmt.Errorf("pickle: open %s: %w", p, err)
	}
	return f, nil
}

func open(p string) (*File, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errors.New("is a directory")
	}
	var head [16]byte
	n, _ := io.ReadFull(fh, head[:])
	if n >= len(legacyMagic) && bytes.Equal(head[:len(legacyMagic)], legacyMagic) {
		return nil, errors.New("legacy (pre-1.6) PyTorch format is not supported: load and re-save it with a current PyTorch, or convert it to .safetensors")
	}
	if n < 4 || string(head[:4]) != "PK\x03\x04" {
		return nil, fmt.Errorf("not a PyTorch zip archive (starts with %q)", head[:min(n, 8)])
	}
	data, release, err := mapFile(fh, st.Size())
	if err != nil {
		return nil, err
	}
	f := &File{path: p, data: data, release: release, entries: map[string]*zip.File{}, inflated: map[string][]byte{}}
	if err := f.index(); err != nil {
		release()
		return nil, err
	}
	return f, nil
}

func (f *File) index() error {
	zr, err := zip.NewReader(bytes.NewReader(f.data), int64(len(f.data)))
	if err != nil {
		return fmt.Errorf("reading zip archive (truncated download?): %w", err)
	}
	f.zr = zr
	var pkl *zip.File
	for _, e := range zr.File {
		if path.Base(e.Name) == "data.pkl" && strings.Count(e.Name, "/") == 1 {
			if pkl != nil {
				return fmt.Errorf("archive has two pickles: %s and %s", pkl.Name, e.Name)
			}
			pkl = e
		}
	}
	if pkl == nil {
		return errors.New("archive has no <name>/data.pkl entry: not a torch.save file")
	}
	prefix := path.Dir(pkl.Name) + "/"
	for _, e := range zr.File {
		switch {
		case e.Name == prefix+"byteorder":
			b, err := f.readEntry(e, 16)
			if err != nil {
				return err
			}
			if s := strings.TrimSpace(string(b)); s != "little" {
				return fmt.Errorf("byte order %q is not supported (only little-endian)", s)
			}
		case strings.HasPrefix(e.Name, prefix+"data/"):
			f.entries[strings.TrimPrefix(e.Name, prefix+"data/")] = e
		}
	}
	prog, err := f.readEntry(pkl, maxPickleSize)
	if err != nil {
		return err
	}
	load := storageLoader(func(s *Storage) error {
		e, ok := f.entries[s.Key]
		if !ok {
			return fmt.Errorf("storage %q has no entry %sdata/%s in the archive (truncated file?)", s.Key, prefix, s.Key)
		}
		if need := uint64(s.Numel) * uint64(s.DType.Size()); e.UncompressedSize64 < need {
			return fmt.Errorf("storage %q: entry holds %d bytes, %d %s elements need %d", s.Key, e.UncompressedSize64, s.Numel, s.DType, need)
		}
		return nil
	})
	m := &machine{data: prog, memo: map[uint64]any{}, lim: Limits{}.withDefaults(), persist: load}
	root, err := m.run()
	if err != nil {
		return fmt.Errorf("%s: %w", pkl.Name, err)
	}
	f.root = root
	return f.collect()
}

// readEntry returns a (small) entry's bytes, at most limit.
func (f *File) readEntry(e *zip.File, limit int64) ([]byte, error) {
	if e.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("entry %s is %d bytes, more than %d", e.Name, e.UncompressedSize64, limit)
	}
	rc, err := e.Open()
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", e.Name, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, limit)); err != nil {
		return nil, fmt.Errorf("entry %s: %w", e.Name, err)
	}
	return buf.Bytes(), nil
}

// collect finds the state dict and indexes its tensors.
func (f *File) collect() error {
	sd := StateDict(f.root)
	f.tensors = map[string]*Tensor{}
	if sd == nil {
		return nil
	}
	for i := 0; i < sd.Len(); i++ {
		k, v := sd.Entry(i)
		name, ok := k.(string)
		t, isTensor := v.(*Tensor)
		if !ok || !isTensor {
			continue
		}
		e := f.entries[t.Storage.Key]
		bytesEnd := (t.Offset + t.NumElements()) * int64(t.Storage.DType.Size())
		if t.NumElements() > 0 && (!t.Contiguous() || uint64(bytesEnd) > e.UncompressedSize64) {
			// Record it; Raw reports the problem if the tensor is used.
			if !t.Contiguous() {
				f.tensors[name] = t
				continue
			}
			return fmt.Errorf("tensor %q: elements [%d,%d) run past storage %q (%d bytes)", name, t.Offset, t.Offset+t.NumElements(), t.Storage.Key, e.UncompressedSize64)
		}
		f.tensors[name] = t
	}
	f.names = make([]string, 0, len(f.tensors))
	for n := range f.tensors {
		f.names = append(f.names, n)
	}
	sort.Strings(f.names)
	return nil
}

// readAll reads the whole file into memory (the fallback where mmap fails).
func readAll(f *os.File, size int64) ([]byte, func() error, error) {
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, nil, err
	}
	return b, func() error { return nil }, nil
}

// StateDict returns the dict holding a checkpoint's tensors: root["state_dict"]
// when root is a dict with such a dict entry, else root itself if it is a
// dict, else nil.
func StateDict(root any) *Dict {
	d, ok := root.(*Dict)
	if !ok {
		return nil
	}
	if v, ok := d.Get("state_dict"); ok {
		if sd, ok := v.(*Dict); ok {
			return sd
		}
	}
	return d
}

// Path returns the path the file was opened from.
func (f *File) Path() string { return f.path }

// Root returns the whole unpickled object (dicts, lists, tensors, Skipped...).
func (f *File) Root() any { return f.root }

// Names returns the state dict's tensor names, sorted.
func (f *File) Names() []string { return append([]string(nil), f.names...) }

// Info returns a tensor's dtype, shape and storage layout.
func (f *File) Info(name string) (TensorInfo, bool) {
	t, ok := f.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	ti := TensorInfo{DType: t.Storage.DType, Shape: make([]int, len(t.Shape)), Storage: t.Storage.Key, Offset: t.Offset, Stride: append([]int64(nil), t.Stride...)}
	for i, d := range t.Shape {
		ti.Shape[i] = int(d)
	}
	return ti, true
}

// Raw returns a tensor's little-endian bytes in its stored dtype. For stored
// (uncompressed) archives, which torch.save writes, the slice aliases the
// memory-mapped file: do not modify it or use it after Close.
func (f *File) Raw(name string) ([]byte, error) {
	t, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("pickle: read %s: no tensor %q", f.path, name)
	}
	if !t.Contiguous() {
		return nil, fmt.Errorf("pickle: read %s: tensor %q is not contiguous (shape %v, strides %v): re-save it with tensor.contiguous() or convert the file to .safetensors", f.path, name, t.Shape, t.Stride)
	}
	size := int64(t.Storage.DType.Size())
	begin, end := t.Offset*size, (t.Offset+t.NumElements())*size
	if t.NumElements() == 0 {
		return []byte{}, nil
	}
	storage, err := f.storageBytes(t.Storage.Key, end)
	if err != nil {
		return nil, fmt.Errorf("pickle: read %s: tensor %q: %w", f.path, name, err)
	}
	return storage[begin:end:end], nil
}

// storageBytes returns at least need bytes of a storage entry.
func (f *File) storageBytes(key string, need int64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.data == nil {
		return nil, errors.New("file is closed")
	}
	e := f.entries[key]
	if uint64(need) > e.UncompressedSize64 {
		return nil, fmt.Errorf("storage %q holds %d bytes, need %d", key, e.UncompressedSize64, need)
	}
	if e.Method == zip.Store {
		off, err := e.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("storage %q: %w", key, err)
		}
		if off < 0 || off+need > int64(len(f.data)) || e.CompressedSize64 < uint64(need) {
			return nil, fmt.Errorf("storage %q runs past the end of the file (truncated download?)", key)
		}
		return f.data[off : off+need], nil
	}
	if b, ok := f.inflated[key]; ok && int64(len(b)) >= need {
		return b, nil
	}
	rc, err := e.Open()
	if err != nil {
		return nil, fmt.Errorf("storage %q: %w", key, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, need)); err != nil {
		return nil, fmt.Errorf("storage %q: %w", key, err)
	}
	if int64(buf.Len()) < need {
		return nil, fmt.Errorf("storage %q: entry ends after %d bytes, need %d", key, buf.Len(), need)
	}
	f.inflated[key] = buf.Bytes()
	return buf.Bytes(), nil
}

// Float32 returns a tensor converted to float32 (a new slice) and its shape.
func (f *File) Float32(name string) ([]float32, []int, error) {
	raw, err := f.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	ti, _ := f.Info(name)
	dst := make([]float32, len(raw)/ti.DType.Size())
	if err := toFloat32(dst, raw, ti.DType); err != nil {
		return nil, nil, fmt.Errorf("pickle: read %s: tensor %q: %w", f.path, name, err)
	}
	return dst, ti.Shape, nil
}

// Close unmaps the file. Slices from Raw must not be used afterwards.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.release == nil {
		return nil
	}
	err := f.release()
	f.release, f.data, f.inflated = nil, nil, nil
	if err != nil {
		return fmt.Errorf("pickle: close %s: %w", f.path, err)
	}
	return nil
}
