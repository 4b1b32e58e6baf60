package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// weightFiles are the single-file names diffusers and transformers save, in
// order of preference.
var weightFiles = []string{
	"diffusion_pytorch_model.safetensors", "model.safetensors",
	"diffusion_pytorch_model.fp16.safetensors", "model.fp16.safetensors",
	"diffusion_pytorch_model.bin", "pytorch_model.bin",
	"diffusion_pytorch_model.fp16.bin", "pytorch_model.fp16.bin",
}

// shardIndexes are the index files of sharded weights.
var shardIndexes = []string{
	"diffusion_pytorch_model.safetensors.index.json", "model.safetensors.index.json",
	"diffusion_pytorch_model.safetensors.index.fp16.json", "model.safetensors.index.fp16.json",
	"diffusion_pytorch_model.fp16.safetensors.index.json", "model.fp16.safetensors.index.json",
}

// openComponent opens the weights of one diffusers component folder.
// It returns (nil, nil) when the folder does not exist.
func openComponent(dir string) (Source, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil
	}
	for _, name := range weightFiles {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return OpenFile(p)
		}
	}
	for _, name := range shardIndexes {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return openShards(p)
		}
	}
	return nil, fmt.Errorf("checkpoint: %s has no weights file (looked for %s, %s, ... and sharded indexes)", dir, weightFiles[0], weightFiles[1])
}

// multiSource joins the shards of one component.
type multiSource struct {
	srcs  []Source
	owner map[string]Source
	names []string
}

func openShards(index string) (Source, error) {
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("checkpoint: shard index %s: %w", index, err)
	}
	files := map[string]bool{}
	for _, f := range idx.WeightMap {
		if filepath.Base(f) != f {
			return nil, fmt.Errorf("checkpoint: shard index %s names a file outside its folder: %q", index, f)
		}
		files[f] = true
	}
	ms := &multiSource{owner: map[string]Source{}}
	var order []string
	for f := range files {
		order = append(order, f)
	}
	sort.Strings(order)
	for _, f := range order {
		s, err := OpenFile(filepath.Join(filepath.Dir(index), f))
		if err != nil {
			ms.Close()
			return nil, err
		}
		ms.srcs = append(ms.srcs, s)
		for _, n := range s.Names() {
			if _, dup := ms.owner[n]; dup {
				ms.Close()
				return nil, fmt.Errorf("checkpoint: shard index %s: tensor %q is in two shards", index, n)
			}
			ms.owner[n] = s
			ms.names = append(ms.names, n)
		}
	}
	sort.Strings(ms.names)
	return ms, nil
}

func (m *multiSource) Names() []string { return append([]string(nil), m.names...) }
func (m *multiSource) Info(n string) (TensorInfo, bool) {
	if s, ok := m.owner[n]; ok {
		return s.Info(n)
	}
	return TensorInfo{}, false
}
func (m *multiSource) Raw(n string) ([]byte, error) {
	if s, ok := m.owner[n]; ok {
		return s.Raw(n)
	}
	return nil, fmt.Errorf("checkpoint: no tensor %q", n)
}
func (m *multiSource) Float32(n string) ([]float32, []int, error) {
	if s, ok := m.owner[n]; ok {
		return s.Float32(n)
	}
	return nil, nil, fmt.Errorf("checkpoint: no tensor %q", n)
}
func (m *multiSource) Close() error {
	var errs []error
	for _, s := range m.srcs {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// textConfig is the part of a transformers config.json that tells an
// OpenCLIP-derived encoder (gelu) from OpenAI CLIP (quick_gelu).
type textConfig struct {
	HiddenAct  string `json:"hidden_act"`
	HiddenSize int    `json:"hidden_size"`
}

func readTextConfig(dir string) (textConfig, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return textConfig{}, false
	}
	var tc textConfig
	if json.Unmarshal(b, &tc) != nil {
		return textConfig{}, false
	}
	return tc, true
}

// isOpenCLIP decides the LDM layout of a diffusers text_encoder: SD2's
// OpenCLIP-H uses gelu where OpenAI's CLIP-L uses quick_gelu; without a
// config, a width of 1024 means OpenCLIP-H.
func isOpenCLIP(dir string, src Source) bool {
	if tc, ok := readTextConfig(dir); ok && tc.HiddenAct != "" {
		return tc.HiddenAct == "gelu"
	}
	ti, _ := src.Info("text_model.embeddings.token_embedding.weight")
	return len(ti.Shape) == 2 && ti.Shape[1] == 1024
}

// openDiffusers opens a diffusers folder and renames every component to
// the LDM layout.
func (c *Checkpoint) openDiffusers(dir string) error {
	wrap := func(err error) error { return fmt.Errorf("checkpoint: open %s: %w", dir, err) }
	open := func(sub string) (Source, error) {
		s, err := openComponent(filepath.Join(dir, sub))
		if s != nil {
			c.sources = append(c.sources, s)
		}
		return s, err
	}
	unet, err := open("unet")
	if err != nil {
		return err
	}
	if unet == nil {
		return wrap(errors.New("not a diffusers folder: no unet/ subfolder (expected model_index.json, unet/, vae/, text_encoder/)"))
	}
	vae, err := open("vae")
	if err != nil {
		return err
	}
	te, err := open("text_encoder")
	if err != nil {
		return err
	}
	te2, err := open("text_encoder_2")
	if err != nil {
		return err
	}
	teOpenCLIP := te != nil && te2 == nil && isOpenCLIP(filepath.Join(dir, "text_encoder"), te)
	if err := c.fromDiffusers(unet, vae, te, te2, teOpenCLIP); err != nil {
		return wrap(err)
	}
	return nil
}

// fromDiffusers adds the renamed tensors of diffusers components (vae, te
// and te2 may be nil). teOpenCLIP says that te is SD2's OpenCLIP-H.
func (c *Checkpoint) fromDiffusers(unet, vae, te, te2 Source, teOpenCLIP bool) error {
	type part struct {
		name   string
		src    Source
		prefix string
		rules  func([]string) ([]rename, []string)
	}
	parts := []part{{"unet", unet, PrefixUNet, unetRenames}}
	if vae != nil {
		parts = append(parts, part{"vae", vae, PrefixVAE, func(n []string) ([]rename, []string) { return vaeRenames(n, shapesOf(vae, n)) }})
	}
	switch {
	case te != nil && te2 != nil: // SDXL base
		parts = append(parts, part{"text_encoder", te, PrefixSDXLText1, hfCLIPRenames}, part{"text_encoder_2", te2, PrefixSDXLText2, openCLIPRenames})
	case te2 != nil: // SDXL refiner
		parts = append(parts, part{"text_encoder_2", te2, PrefixRefinerText, openCLIPRenames})
	case te != nil && teOpenCLIP: // SD2
		parts = append(parts, part{"text_encoder", te, PrefixSD2Text, openCLIPRenames})
	case te != nil: // SD1
		parts = append(parts, part{"text_encoder", te, PrefixSD1Text, hfCLIPRenames})
	}
	for _, p := range parts {
		rs, unknown := p.rules(p.src.Names())
		if len(unknown) > 0 {
			return unknownError(p.name, unknown)
		}
		if err := c.addRenames(p.src, p.prefix, rs); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	c.sortNames()
	return nil
}

func shapesOf(src Source, names []string) map[string][]int {
	m := make(map[string][]int, len(names))
	for _, n := range names {
		ti, _ := src.Info(n)
		m[n] = ti.Shape
	}
	return m
}
