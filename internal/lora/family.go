package lora

import (
	"fmt"
	"path/filepath"
	"strings"

	"sdgo/internal/checkpoint"
)

// Family returns the model family the LoRA was trained for, or "" when
// neither its keys, its shapes nor its metadata tell.
func (f *File) Family() checkpoint.Family { return f.family }

// CheckFamily returns an error naming both families when the LoRA was
// made for another family than the model's. An undetected family passes.
func (f *File) CheckFamily(model checkpoint.Family) error {
	if f.family == "" || model == "" || f.family == model {
		return nil
	}
	return fmt.Errorf("lora: %s is an %s LoRA, the model is %s", filepath.Base(f.path), f.family, model)
}

// Widths that identify a family: the UNet's cross-attention context and
// the text encoder's hidden size.
var (
	contextFamily = map[int]checkpoint.Family{768: checkpoint.SD1, 1024: checkpoint.SD2, 2048: checkpoint.SDXL}
	textFamily    = map[int]checkpoint.Family{768: checkpoint.SD1, 1024: checkpoint.SD2}
)

// detectFamily looks at, in order: SDXL's two text-encoder prefixes; the
// input width of cross-attention k/v (the context width); the width of the
// text encoder's q projection; the trainer's metadata.
func detectFamily(mods []*module, meta map[string]string) checkpoint.Family {
	for _, m := range mods {
		if strings.HasPrefix(m.name, prefixTE1) || strings.HasPrefix(m.name, prefixTE2) {
			return checkpoint.SDXL
		}
	}
	for _, m := range mods {
		if strings.HasPrefix(m.name, prefixUNet) && (strings.HasSuffix(m.name, "attn2_to_k") || strings.HasSuffix(m.name, "attn2_to_v")) {
			if fam, ok := contextFamily[m.inputWidth()]; ok {
				return fam
			}
		}
	}
	for _, m := range mods {
		if strings.HasPrefix(m.name, prefixTE) && strings.HasSuffix(m.name, "self_attn_q_proj") {
			if fam, ok := textFamily[m.inputWidth()]; ok {
				return fam
			}
		}
	}
	switch arch := meta["modelspec.architecture"]; {
	case strings.HasPrefix(meta["ss_base_model_version"], "sdxl_"), strings.HasPrefix(arch, "stable-diffusion-xl-v1-base"):
		return checkpoint.SDXL
	case meta["ss_v2"] == "True", strings.HasPrefix(arch, "stable-diffusion-v2"):
		return checkpoint.SD2
	case strings.HasPrefix(arch, "stable-diffusion-v1"):
		return checkpoint.SD1
	}
	return ""
}

// inputWidth is the input features of the layer a module changes, where
// its tensors show it (0 otherwise).
func (m *module) inputWidth() int {
	var t tensor
	switch m.kind {
	case KindLoRA:
		t = m.parts["lora_down.weight"]
	case KindLoHa:
		t = m.parts["hada_w1_b"]
	case KindFull:
		t = m.parts["diff"]
	}
	if len(t.shape) < 2 {
		return 0
	}
	return t.shape[1]
}
