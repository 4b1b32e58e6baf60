package lora

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sdgo/internal/checkpoint"
	"sdgo/internal/safetensors"
)

// Kind is how a module stores its weight change.
type Kind string

// The module kinds sdgo merges.
const (
	KindLoRA Kind = "lora" // lora_down / lora_up (+ lora_mid for LoCon's CP form), alpha
	KindLoHa Kind = "loha" // LyCORIS Hadamard product: hada_w1_a/b, hada_w2_a/b (+ hada_t1/t2)
	KindLoKr Kind = "lokr" // LyCORIS Kronecker product: lokr_w1 or w1_a/b, lokr_w2 or w2_a/b (+ lokr_t2)
	KindFull Kind = "full" // a stored difference: diff (+ diff_b), or w_norm/b_norm for norm layers
)

// tensor is one stored tensor of a module, kept as its raw bytes (a copy, so
// the file can be closed) and converted to float32 when a delta is built.
type tensor struct {
	raw   []byte
	dtype string
	shape []int
}

func (t tensor) float32s() ([]float32, error) {
	return safetensors.ToFloat32(t.raw, safetensors.DType(t.dtype))
}

func (t tensor) size() int { return prod(t.shape) }

// module is one named module of a LoRA file: its parts ("lora_down.weight",
// "alpha", "hada_w1_a", ...) and its kind.
type module struct {
	name  string
	kind  Kind
	parts map[string]tensor
}

func (m *module) has(part string) bool { _, ok := m.parts[part]; return ok }

// File is an opened LoRA file. Its tensors are copied into memory at Open,
// so nothing stays open.
type File struct {
	path       string
	meta       map[string]string
	modules    []*module // sorted by name
	family     checkpoint.Family
	dataOffset int64 // where safetensors data begins; -1 for other formats
}

// reader is what Open needs from a weights file.
type reader interface {
	Names() []string
	Info(name string) (checkpoint.TensorInfo, bool)
	Raw(name string) ([]byte, error)
	Close() error
}

type stReader struct{ *safetensors.File }

func (s stReader) Info(name string) (checkpoint.TensorInfo, bool) {
	ti, ok := s.File.Info(name)
	return checkpoint.TensorInfo{DType: string(ti.DType), Shape: ti.Shape}, ok
}

// Open reads a LoRA file: kohya-style .safetensors (or a PyTorch .pt/.ckpt
// zip) whose keys are "<module>.<part>" with module names such as
// "lora_unet_down_blocks_0_attentions_0_proj_in" or
// "lora_te_text_model_encoder_layers_0_self_attn_q_proj".
func Open(path string) (*File, error) {
	f := &File{path: path, meta: map[string]string{}, dataOffset: -1}
	var r reader
	if isZip(path) {
		src, err := checkpoint.OpenFile(path)
		if err != nil {
			return nil, fmt.Errorf("lora: open %s: %w", path, err)
		}
		r = src
	} else {
		st, err := safetensors.Open(path)
		if err != nil {
			return nil, fmt.Errorf("lora: open %s: %w", path, err)
		}
		f.meta, f.dataOffset = st.Metadata(), st.DataOffset()
		r = stReader{st}
	}
	defer r.Close()
	if err := f.read(r); err != nil {
		return nil, fmt.Errorf("lora: open %s: %w", path, err)
	}
	f.family = detectFamily(f.modules, f.meta)
	return f, nil
}

func isZip(path string) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(fh, head)
	return bytes.Equal(head[:n], []byte("PK\x03\x04"))
}

// read groups the tensors into modules (the name up to the first dot) and
// works out each module's kind.
func (f *File) read(r reader) error {
	byName := map[string]*module{}
	var foreign []string
	for _, key := range r.Names() {
		name, part, ok := strings.Cut(key, ".")
		if !ok || !strings.HasPrefix(name, "lora_") {
			foreign = append(foreign, key)
			continue
		}
		info, _ := r.Info(key)
		if !safetensors.DType(info.DType).IsFloat() {
			return fmt.Errorf("tensor %s has dtype %s, want a float type", key, info.DType)
		}
		raw, err := r.Raw(key)
		if err != nil {
			return err
		}
		m := byName[name]
		if m == nil {
			m = &module{name: name, parts: map[string]tensor{}}
			byName[name] = m
		}
		m.parts[part] = tensor{raw: append([]byte(nil), raw...), dtype: info.DType, shape: info.Shape}
	}
	if len(byName) == 0 {
		return fmt.Errorf("no kohya-style LoRA modules (keys like lora_unet_*.lora_down.weight); found %s: "+
			"diffusers/PEFT LoRA files are not supported yet", sample(foreign, 3))
	}
	for _, m := range byName {
		k, err := kindOf(m)
		if err != nil {
			return err
		}
		m.kind = k
		f.modules = append(f.modules, m)
	}
	sort.Slice(f.modules, func(i, j int) bool { return f.modules[i].name < f.modules[j].name })
	return nil
}

// kindOf decides a module's kind from the parts it has, as webui's module
// types do (extra parts are ignored, except those that change the formula).
func kindOf(m *module) (Kind, error) {
	switch {
	case m.has("dora_scale"):
		return "", fmt.Errorf("module %s is DoRA (dora_scale), which is not supported yet", m.name)
	case m.has("lora_up.weight") && m.has("lora_down.weight"):
		return KindLoRA, nil
	case m.has("hada_w1_a") && m.has("hada_w1_b") && m.has("hada_w2_a") && m.has("hada_w2_b"):
		return KindLoHa, nil
	case (m.has("lokr_w1") || m.has("lokr_w1_a") && m.has("lokr_w1_b")) &&
		(m.has("lokr_w2") || m.has("lokr_w2_a") && m.has("lokr_w2_b")):
		return KindLoKr, nil
	case m.has("diff"):
		return KindFull, nil
	case m.has("w_norm") && m.has("b_norm"):
		return KindFull, nil
	case m.has("on_input"):
		return "", fmt.Errorf("module %s is (IA)^3, which is not supported yet", m.name)
	}
	parts := make([]string, 0, len(m.parts))
	for p := range m.parts {
		parts = append(parts, p)
	}
	sort.Strings(parts)
	return "", fmt.Errorf("module %s has parts %s that no supported kind uses (LoRA, LoHa, LoKr, full diff)", m.name, strings.Join(parts, ", "))
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Name returns the file name without folder and extension (webui's network name).
func (f *File) Name() string {
	base := filepath.Base(f.path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// Alias returns the name webui also accepts in <lora:...> tags: the
// ss_output_name metadata, or Name.
func (f *File) Alias() string {
	if a := f.meta["ss_output_name"]; a != "" {
		return a
	}
	return f.Name()
}

// Metadata returns a copy of the safetensors metadata (empty for other formats).
func (f *File) Metadata() map[string]string {
	out := make(map[string]string, len(f.meta))
	for k, v := range f.meta {
		out[k] = v
	}
	return out
}

// Modules returns the module names, sorted.
func (f *File) Modules() []string {
	out := make([]string, len(f.modules))
	for i, m := range f.modules {
		out[i] = m.name
	}
	return out
}

// Kinds counts the modules of each kind.
func (f *File) Kinds() map[Kind]int {
	out := map[Kind]int{}
	for _, m := range f.modules {
		out[m.kind]++
	}
	return out
}

// SHA256 returns the hash webui records for a LoRA: the sshs_model_hash
// metadata if present, else for a .safetensors file the "addnet" hash
// (SHA-256 of the bytes after the header), else the SHA-256 of the file.
func (f *File) SHA256() (string, error) {
	if h := strings.ToLower(strings.TrimSpace(f.meta["sshs_model_hash"])); h != "" {
		return h, nil
	}
	fh, err := os.Open(f.path)
	if err != nil {
		return "", fmt.Errorf("lora: hash: %w", err)
	}
	defer fh.Close()
	var src io.Reader = fh
	if f.dataOffset >= 0 {
		st, err := fh.Stat()
		if err != nil {
			return "", fmt.Errorf("lora: hash: %w", err)
		}
		src = io.NewSectionReader(fh, f.dataOffset, st.Size()-f.dataOffset)
	}
	h := sha256.New()
	if _, err := io.Copy(h, src); err != nil {
		return "", fmt.Errorf("lora: hash %s: %w", f.path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Hash returns webui's short LoRA hash for infotext ("Lora hashes"): the
// first 12 hex digits of SHA256.
func (f *File) Hash() (string, error) {
	h, err := f.SHA256()
	if err != nil {
		return "", err
	}
	if len(h) > 12 {
		h = h[:12]
	}
	return h, nil
}

func prod(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// sample formats up to n names of a list, and how many more there are.
func sample(names []string, n int) string {
	if len(names) == 0 {
		return "nothing"
	}
	s := append([]string(nil), names...)
	sort.Strings(s)
	more := ""
	if len(s) > n {
		more = fmt.Sprintf(" and %d more", len(s)-n)
		s = s[:n]
	}
	return strings.Join(s, ", ") + more
}
