package embedding

import (
	"archive/zip"
	"fmt"
	"io"
	"path"
	"strings"

	"sdgo/internal/pickle"
	"sdgo/internal/safetensors"
)

// maxTensorBytes bounds one embedding tensor (real ones hold a few vectors:
// kilobytes; 75 vectors of 2048 float32 are 600 KB).
const maxTensorBytes = 64 << 20

// loadSafetensors reads a .safetensors embedding: one tensor (webui names
// it emb_params) or SDXL's clip_l + clip_g.
func loadSafetensors(p string) (*Embedding, error) {
	f, err := safetensors.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	terms := map[string]tensor{}
	names := f.Names()
	for _, n := range names {
		if len(names) > 1 && n != "clip_l" && n != "clip_g" {
			continue // fromTerms reports the count
		}
		v, shape, err := f.Float32(n)
		if err != nil {
			return nil, err
		}
		terms[n] = tensor{shape, v}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: the file holds no tensors", ErrFormat)
	}
	return fromTerms(terms, names)
}

// loadTorch reads a torch.save file through the restricted unpickler:
// webui's {"string_to_param": {"*": tensor}, "name", "step",
// "sd_checkpoint", "sd_checkpoint_name"}, SDXL's {"clip_l", "clip_g"} or a
// diffusers concept {token: tensor}.
func loadTorch(p string) (*Embedding, error) {
	pf, err := pickle.Open(p)
	if err != nil {
		return nil, err
	}
	root := pf.Root()
	pf.Close()
	d, ok := root.(*pickle.Dict)
	if !ok {
		return nil, fmt.Errorf("%w: the pickle holds %T, want a dict", ErrFormat, root)
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	r := torchReader{zr: &zr.Reader}
	var e *Embedding
	if sp, ok := d.Get("string_to_param"); ok {
		params, ok := sp.(*pickle.Dict)
		if !ok {
			return nil, fmt.Errorf("%w: string_to_param is %T, want a dict (re-save the embedding with a current webui)", ErrFormat, sp)
		}
		if params.Len() != 1 {
			return nil, fmt.Errorf("%w: string_to_param has %d terms, want 1", ErrFormat, params.Len())
		}
		_, v := params.Entry(0)
		t, err := r.read(v)
		if err != nil {
			return nil, fmt.Errorf("string_to_param: %w", err)
		}
		pt, err := part("", t)
		if err != nil {
			return nil, err
		}
		e = &Embedding{Vectors: len(pt.Data) / pt.Width, Shape: pt.Width, Parts: []Part{pt}}
	} else {
		terms := map[string]tensor{}
		var order []string
		for i := 0; i < d.Len(); i++ {
			k, v := d.Entry(i)
			name, _ := k.(string)
			order = append(order, name)
			if _, isTensor := v.(*pickle.Tensor); !isTensor {
				return nil, fmt.Errorf("%w: entry %q is %T: neither a webui embedding (string_to_param) nor a diffusers concept {token: tensor}", ErrFormat, name, v)
			}
			if d.Len() > 1 && name != "clip_l" && name != "clip_g" {
				continue
			}
			if terms[name], err = r.read(v); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		if len(order) == 0 {
			return nil, fmt.Errorf("%w: the dict is empty", ErrFormat)
		}
		if e, err = fromTerms(terms, order); err != nil {
			return nil, err
		}
	}
	e.Step = intField(d, "step")
	e.SDCheckpoint = stringField(d, "sd_checkpoint")
	e.SDCheckpointName = stringField(d, "sd_checkpoint_name")
	return e, nil
}

func intField(d *pickle.Dict, k string) *int64 {
	v, _ := d.Get(k)
	if n, ok := v.(int64); ok {
		return &n
	}
	return nil
}

func stringField(d *pickle.Dict, k string) *string {
	v, _ := d.Get(k)
	if s, ok := v.(string); ok {
		return &s
	}
	return nil
}

// torchReader reads tensors of a torch zip archive: the unpickled Tensor
// names its storage entry <archive>/data/<key>.
type torchReader struct{ zr *zip.Reader }

func (r torchReader) read(v any) (tensor, error) {
	t, ok := v.(*pickle.Tensor)
	if !ok {
		return tensor{}, fmt.Errorf("%w: %T is not a tensor", ErrFormat, v)
	}
	if !t.Contiguous() {
		return tensor{}, fmt.Errorf("%w: tensor of shape %v is not contiguous (strides %v)", ErrFormat, t.Shape, t.Stride)
	}
	size := int64(t.Storage.DType.Size())
	if size == 0 {
		return tensor{}, fmt.Errorf("%w: tensor dtype %s", ErrFormat, t.Storage.DType)
	}
	n := t.NumElements()
	begin, end := t.Offset*size, (t.Offset+n)*size
	if end > maxTensorBytes || begin < 0 {
		return tensor{}, fmt.Errorf("%w: tensor of shape %v is too large for an embedding", ErrFormat, t.Shape)
	}
	raw, err := r.storage(t.Storage.Key, end)
	if err != nil {
		return tensor{}, err
	}
	data, err := safetensors.ToFloat32(raw[begin:end], safetensors.DType(t.Storage.DType))
	if err != nil {
		return tensor{}, err
	}
	shape := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = int(d)
	}
	return tensor{shape, data}, nil
}

// storage returns the first need bytes of storage key.
func (r torchReader) storage(key string, need int64) ([]byte, error) {
	for _, f := range r.zr.File {
		dir, base := path.Split(f.Name)
		if base != key || !strings.HasSuffix(dir, "/data/") || strings.Count(dir, "/") != 2 {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("storage %q: %w", key, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, need))
		if err != nil {
			return nil, fmt.Errorf("storage %q: %w", key, err)
		}
		if int64(len(b)) < need {
			return nil, fmt.Errorf("storage %q holds %d bytes, need %d (truncated file?)", key, len(b), need)
		}
		return b, nil
	}
	return nil, fmt.Errorf("no storage entry %q in the archive (truncated file?)", key)
}
