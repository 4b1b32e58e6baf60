package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// entry is one LDM-named tensor and how to read it from its source.
type entry struct {
	src  Source
	from []string
	op   op
	info TensorInfo
}

// Checkpoint is an opened model: every tensor under its LDM key, plus what
// detection found. It implements Source. It is safe for concurrent reads;
// WithVAE must not run concurrently with reads.
type Checkpoint struct {
	path    string
	sources []Source // owned, closed by Close
	entries map[string]*entry
	names   []string
	model   Model
	vaePath string
	opts    options
}

type options struct {
	prediction Prediction
	hashCache  string // directory; "" means os.UserCacheDir()/sdgo; "-" disables
}

// Option configures Open.
type Option func(*options)

// WithPrediction overrides the detected prediction type (for SD2 768 models
// whose file name does not say so, or v-prediction SDXL finetunes).
func WithPrediction(p Prediction) Option { return func(o *options) { o.prediction = p } }

// WithHashCache sets the directory of the hash cache file (hashes.json);
// "-" disables the cache. The default is os.UserCacheDir()/sdgo.
func WithHashCache(dir string) Option { return func(o *options) { o.hashCache = dir } }

// Open opens a checkpoint: a .safetensors or .ckpt/.pt/.pth file with LDM
// keys, or a diffusers folder (the one holding model_index.json, unet/,
// vae/, text_encoder/...), whose keys are renamed to the LDM layout. It then
// detects the family; a file that is not a Stable Diffusion checkpoint gives
// an error saying what it seems to be.
func Open(path string, opts ...Option) (*Checkpoint, error) {
	c := &Checkpoint{path: path, entries: map[string]*entry{}}
	for _, o := range opts {
		o(&c.opts)
	}
	if c.opts.prediction != "" && c.opts.prediction != Epsilon && c.opts.prediction != VPrediction {
		return nil, fmt.Errorf("checkpoint: open %s: unknown prediction %q (want %q or %q)", path, c.opts.prediction, Epsilon, VPrediction)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: open: %w", err)
	}
	if st.IsDir() {
		err = c.openDiffusers(path)
	} else {
		err = c.openSingle(path)
	}
	if err == nil {
		err = c.detect()
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Checkpoint) openSingle(path string) error {
	src, err := OpenFile(path)
	if err != nil {
		return err
	}
	c.sources = append(c.sources, src)
	for _, n := range src.Names() {
		ti, _ := src.Info(n)
		to := n
		// Very old SD1 files predate transformers' text_model level.
		if strings.HasPrefix(n, PrefixSD1Text) && !strings.HasPrefix(n, PrefixSD1Text+"text_model.") {
			to = PrefixSD1Text + "text_model." + strings.TrimPrefix(n, PrefixSD1Text)
		}
		c.entries[to] = &entry{src: src, from: []string{n}, info: ti}
	}
	c.sortNames()
	return nil
}

func (c *Checkpoint) sortNames() {
	c.names = c.names[:0]
	for n := range c.entries {
		c.names = append(c.names, n)
	}
	sort.Strings(c.names)
}

func (c *Checkpoint) detect() error {
	m, err := detect(c, c.path)
	if err != nil {
		return fmt.Errorf("checkpoint: open %s: %w", c.path, err)
	}
	if c.opts.prediction != "" {
		m.Prediction, m.PredictionSource = c.opts.prediction, FromOption
	}
	c.model = m
	return nil
}

// Path returns the path the checkpoint was opened from.
func (c *Checkpoint) Path() string { return c.path }

// Model returns everything detection found.
func (c *Checkpoint) Model() Model { return c.model }

// Family returns the model family.
func (c *Checkpoint) Family() Family { return c.model.Family }

// Prediction returns eps or v.
func (c *Checkpoint) Prediction() Prediction { return c.model.Prediction }

// Inpainting reports whether the UNet is an inpainting UNet (9 input channels).
func (c *Checkpoint) Inpainting() bool { return c.model.Inpainting }

// LatentScale returns the family's latent scale factor (0.18215 or 0.13025).
func (c *Checkpoint) LatentScale() float32 { return c.model.Family.LatentScale() }

// Components lists the networks present and where their keys live.
func (c *Checkpoint) Components() []ComponentInfo {
	return append([]ComponentInfo(nil), c.model.Components...)
}

// VAEPath returns the file given to WithVAE, or "" when the checkpoint's own
// VAE is in use.
func (c *Checkpoint) VAEPath() string { return c.vaePath }

// Names returns every tensor name (LDM keys), sorted.
func (c *Checkpoint) Names() []string { return append([]string(nil), c.names...) }

// Info returns a tensor's dtype and shape.
func (c *Checkpoint) Info(name string) (TensorInfo, bool) {
	e, ok := c.entries[name]
	if !ok {
		return TensorInfo{}, false
	}
	return TensorInfo{DType: e.info.DType, Shape: append([]int(nil), e.info.Shape...)}, true
}

// Raw returns a tensor's little-endian bytes in its stored dtype. For plain
// renames the slice may alias a memory map (read-only, valid until Close);
// concatenated or transposed tensors are new slices.
func (c *Checkpoint) Raw(name string) ([]byte, error) {
	e, ok := c.entries[name]
	if !ok {
		return nil, fmt.Errorf("checkpoint: read %s: no tensor %q", c.path, name)
	}
	b, err := e.raw()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read %s: tensor %q: %w", c.path, name, err)
	}
	return b, nil
}

// Float32 returns a tensor converted to float32 and its shape.
func (c *Checkpoint) Float32(name string) ([]float32, []int, error) {
	e, ok := c.entries[name]
	if !ok {
		return nil, nil, fmt.Errorf("checkpoint: read %s: no tensor %q", c.path, name)
	}
	shape := append([]int(nil), e.info.Shape...)
	if e.op == opCopy || e.op == opReshape {
		v, _, err := e.src.Float32(e.from[0])
		if err != nil {
			return nil, nil, fmt.Errorf("checkpoint: %w", err)
		}
		return v, shape, nil
	}
	raw, err := c.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	v, err := toFloat32(raw, e.info.DType)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: read %s: tensor %q: %w", c.path, name, err)
	}
	return v, shape, nil
}

// Close releases every file the checkpoint holds.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, s := range c.sources {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	c.sources = nil
	return errors.Join(errs...)
}

func (e *entry) raw() ([]byte, error) {
	switch e.op {
	case opCopy, opReshape:
		return e.src.Raw(e.from[0])
	case opConcat:
		var out []byte
		for _, f := range e.from {
			b, err := e.src.Raw(f)
			if err != nil {
				return nil, err
			}
			out = append(out, b...)
		}
		return out, nil
	case opTranspose:
		b, err := e.src.Raw(e.from[0])
		if err != nil {
			return nil, err
		}
		ti, _ := e.src.Info(e.from[0])
		return transpose2D(b, ti.Shape[0], ti.Shape[1], len(b)/max(1, ti.NumElements())), nil
	}
	return nil, fmt.Errorf("unknown rename op %d", e.op)
}

// transpose2D transposes a rows x cols matrix of size-byte elements.
func transpose2D(b []byte, rows, cols, size int) []byte {
	out := make([]byte, len(b))
	for r := 0; r < rows; r++ {
		for col := 0; col < cols; col++ {
			copy(out[(col*rows+r)*size:(col*rows+r+1)*size], b[(r*cols+col)*size:(r*cols+col+1)*size])
		}
	}
	return out
}

// addRenames adds LDM entries from src under prefix, computing each
// entry's info from its sources.
func (c *Checkpoint) addRenames(src Source, prefix string, rs []rename) error {
	for _, r := range rs {
		ti, ok := src.Info(r.from[0])
		if !ok {
			return fmt.Errorf("tensor %q is missing", r.from[0])
		}
		info := TensorInfo{DType: ti.DType, Shape: append([]int(nil), ti.Shape...)}
		switch r.op {
		case opReshape:
			info.Shape = append(info.Shape, 1, 1)
		case opTranspose:
			if len(ti.Shape) != 2 {
				return fmt.Errorf("tensor %q: cannot transpose shape %v", r.from[0], ti.Shape)
			}
			info.Shape = []int{ti.Shape[1], ti.Shape[0]}
		case opConcat:
			info.Shape[0] = 0
			for _, f := range r.from {
				fi, ok := src.Info(f)
				if !ok {
					return fmt.Errorf("tensor %q is missing", f)
				}
				if fi.DType != ti.DType || len(fi.Shape) != len(ti.Shape) || !equalInts(fi.Shape[1:], ti.Shape[1:]) {
					return fmt.Errorf("cannot concatenate %q (%s%v) with %q (%s%v)", f, fi.DType, fi.Shape, r.from[0], ti.DType, ti.Shape)
				}
				info.Shape[0] += fi.Shape[0]
			}
		}
		name := prefix + r.to
		if _, dup := c.entries[name]; dup {
			return fmt.Errorf("two tensors rename to %q", name)
		}
		c.entries[name] = &entry{src: src, from: r.from, op: r.op, info: info}
	}
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
