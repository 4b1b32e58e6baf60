package model

import (
	"fmt"

	"sdgo/internal/checkpoint"
	"sdgo/internal/lora"
)

// LoRA is one LoRA file merged into a model.
type LoRA struct {
	Path      string
	Name      string            // file name without extension (webui's network name)
	Alias     string            // ss_output_name metadata, or Name
	Family    checkpoint.Family // what the file was trained for ("" when it does not tell)
	TE, UNet  float64           // multipliers of the text-encoder and UNet modules
	Unmatched []string          // modules that match no weight of the model (skipped, as webui does)

	file *lora.File
}

// Hash returns webui's short hash of the file for the "Lora hashes"
// infotext entry (12 hex digits).
func (l LoRA) Hash() (string, error) { return l.file.Hash() }

// loraSource is the checkpoint with LoRA deltas added to its weights, in
// float32, as they are read.
type loraSource struct {
	base    Source
	patches []*lora.Patch
	applied []LoRA
}

func (s *loraSource) Names() []string { return s.base.Names() }

func (s *loraSource) Float32(name string) ([]float32, []int, error) {
	v, shape, err := s.base.Float32(name) // a fresh copy: safe to change
	if err != nil {
		return nil, nil, err
	}
	for _, p := range s.patches {
		if err := p.Apply(name, v); err != nil {
			return nil, nil, err
		}
	}
	return v, shape, nil
}

// Info and Raw hand out the checkpoint's stored bytes for the tensors no
// applied LoRA changes (most of a UNet), so they keep the loader's raw fast
// path instead of a float32 round trip; changed tensors report no raw form.
func (s *loraSource) Info(name string) (checkpoint.TensorInfo, bool) {
	rs, ok := s.base.(rawSource)
	if !ok {
		return checkpoint.TensorInfo{}, false
	}
	for _, p := range s.patches {
		if p.Changes(name) {
			return checkpoint.TensorInfo{}, false
		}
	}
	return rs.Info(name)
}

// Raw is the stored bytes of a tensor Info reports (see Info).
func (s *loraSource) Raw(name string) ([]byte, error) {
	if _, ok := s.Info(name); !ok {
		return nil, fmt.Errorf("model: %s has no raw form under the applied LoRAs", name)
	}
	return s.base.(rawSource).Raw(name)
}

// ApplyLoRA merges the LoRA file at path into the model's weights at
// multiplier (both text encoder and UNet). Several LoRAs may be applied in
// turn; each adds to the weights. On error the model is unchanged.
func (m *Model) ApplyLoRA(path string, multiplier float64) error {
	return m.ApplyLoRAParts(path, multiplier, multiplier)
}

// ApplyLoRAParts is ApplyLoRA with separate multipliers for the
// text-encoder and UNet modules, as webui's <lora:name:te:unet>.
//
// The tensors the LoRA changes are read again at once (those not loaded
// yet, when first used); compiled graphs are kept. Call it between
// generations, never during one.
func (m *Model) ApplyLoRAParts(path string, te, unet float64) error {
	f, err := lora.Open(path)
	if err != nil {
		return err
	}
	p, err := f.Bind(m.ckpt, m.Family, te, unet)
	if err != nil {
		return err
	}
	cur := m.loraSource()
	next := &loraSource{
		base:    cur.base,
		patches: append(append([]*lora.Patch(nil), cur.patches...), p),
		applied: append(append([]LoRA(nil), cur.applied...), LoRA{
			Path: path, Name: f.Name(), Alias: f.Alias(), Family: f.Family(),
			TE: te, UNet: unet, Unmatched: p.Unmatched, file: f,
		}),
	}
	m.swapWeights(next, patchKeys(p))
	return nil
}

// patchKeys are the checkpoint keys the patches change.
func patchKeys(ps ...*lora.Patch) map[string]bool {
	keys := map[string]bool{}
	for _, p := range ps {
		for _, k := range p.Keys() {
			keys[k] = true
		}
	}
	return keys
}

// LoRAs lists the LoRAs applied to the model, in order.
func (m *Model) LoRAs() []LoRA {
	return append([]LoRA(nil), m.loraSource().applied...)
}

// ClearLoRAs removes every applied LoRA: the weights reload from the
// checkpoint alone.
func (m *Model) ClearLoRAs() {
	cur := m.loraSource()
	if len(cur.patches) == 0 {
		return
	}
	m.swapWeights(cur.base, patchKeys(cur.patches...))
}

// loraSource returns the runner's source as a loraSource (one without
// patches when no LoRA is applied).
func (m *Model) loraSource() *loraSource {
	if s, ok := m.nets[netUNet].loader.src.(*loraSource); ok {
		return s
	}
	return &loraSource{base: m.nets[netUNet].loader.src}
}

// String describes an applied LoRA like webui's tag.
func (l LoRA) String() string {
	if l.TE == l.UNet {
		return fmt.Sprintf("<lora:%s:%g>", l.Name, l.TE)
	}
	return fmt.Sprintf("<lora:%s:%g:%g>", l.Name, l.TE, l.UNet)
}
