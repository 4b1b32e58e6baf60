package checkpoint

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Family is a Stable Diffusion model family.
type Family string

// The families sdgo knows.
const (
	SD1         Family = "SD1"
	SD2         Family = "SD2"
	SDXL        Family = "SDXL"
	SDXLRefiner Family = "SDXL-refiner"
)

// LatentScale returns the factor latents are multiplied by after VAE
// encoding (and divided by before decoding).
func (f Family) LatentScale() float32 {
	if f == SDXL || f == SDXLRefiner {
		return 0.13025
	}
	return 0.18215
}

// Prediction is what the UNet predicts.
type Prediction string

// The parameterizations.
const (
	Epsilon     Prediction = "eps" // the added noise
	VPrediction Prediction = "v"   // the velocity alpha*eps - sigma*x0
)

// How a Prediction was decided (Model.PredictionSource).
const (
	FromOption   = "option"    // the caller said so
	FromKey      = "key"       // the checkpoint has a "v_pred" marker tensor
	FromFileName = "file name" // e.g. SD2 "768" / "v-pred" in the name
	FromDefault  = "default"   // nothing said otherwise
)

// Component is one network of a checkpoint.
type Component string

// The components.
const (
	UNet         Component = "unet"
	VAE          Component = "vae"
	TextEncoder  Component = "text_encoder"   // CLIP-L (SD1, SDXL) or OpenCLIP-H (SD2) or bigG (refiner)
	TextEncoder2 Component = "text_encoder_2" // OpenCLIP-bigG of SDXL base
)

// Text-encoder key layouts.
const (
	LayoutHFCLIP   = "hf-clip"  // Hugging Face CLIPTextModel keys (text_model.*)
	LayoutOpenCLIP = "openclip" // OpenCLIP keys (transformer.resblocks.*, in_proj_weight)
	LayoutLDM      = "ldm"      // UNet and VAE in the original layout
)

// ComponentInfo says where a component's tensors live.
type ComponentInfo struct {
	Component Component
	Prefix    string // LDM key prefix, e.g. "model.diffusion_model."
	Layout    string // LayoutLDM, LayoutHFCLIP or LayoutOpenCLIP
	Tensors   int
}

// Model is what detection found out about a checkpoint.
type Model struct {
	Family           Family
	Inpainting       bool // UNet takes 9 input channels (latent + mask + masked image)
	InChannels       int  // UNet input channels (4, 8 for instruct-pix2pix, 9 for inpainting)
	ContextDim       int  // UNet cross-attention width
	Prediction       Prediction
	PredictionSource string // FromKey, FromFileName, FromDefault or FromOption
	ZeroTerminalSNR  bool   // the checkpoint has a "ztsnr" marker tensor
	Components       []ComponentInfo
}

// LatentScale returns the family's latent scale factor.
func (m Model) LatentScale() float32 { return m.Family.LatentScale() }

const unetSentinel = PrefixUNet + "input_blocks.0.0.weight"

// ErrUnknownModel is wrapped by errors for files that are not a Stable
// Diffusion checkpoint sdgo knows.
var ErrUnknownModel = errors.New("unknown model")

// Detect works out the family and properties of a checkpoint in LDM layout
// from its keys and shapes alone (no config files). name is the file name;
// it is used only as a v-prediction hint for SD2 ("768", "v-pred").
// When detection fails the error says what the file seems to be instead.
func Detect(src Source, name string) (Model, error) {
	m, err := detect(src, name)
	if err != nil {
		return Model{}, fmt.Errorf("checkpoint: %w", err)
	}
	return m, nil
}

func detect(src Source, name string) (Model, error) {
	names := src.Names()
	in, ok := src.Info(unetSentinel)
	if !ok || len(in.Shape) != 4 {
		return Model{}, fmt.Errorf("%w: %s", ErrUnknownModel, describe(names))
	}
	m := Model{InChannels: in.Shape[1]}
	m.Inpainting = m.InChannels == 9
	for _, n := range names {
		if strings.HasPrefix(n, PrefixUNet) && strings.HasSuffix(n, ".attn2.to_k.weight") {
			if ti, _ := src.Info(n); len(ti.Shape) == 2 {
				m.ContextDim = ti.Shape[1]
				break
			}
		}
	}
	m.Components = components(src, names)
	has := func(c Component, layout string) bool {
		for _, ci := range m.Components {
			if ci.Component == c && (layout == "" || ci.Layout == layout) {
				return true
			}
		}
		return false
	}
	_, label := src.Info(PrefixUNet + "label_emb.0.0.weight")
	switch {
	case label && has(TextEncoder2, ""):
		m.Family = SDXL
	case label && has(TextEncoder, LayoutOpenCLIP):
		m.Family = SDXLRefiner
	case has(TextEncoder, LayoutOpenCLIP):
		m.Family = SD2
	case has(TextEncoder, LayoutHFCLIP):
		m.Family = SD1
	case label && m.ContextDim == 2048:
		m.Family = SDXL
	case label && m.ContextDim == 1280:
		m.Family = SDXLRefiner
	case m.ContextDim == 1024:
		m.Family = SD2
	case m.ContextDim == 768:
		m.Family = SD1
	default:
		return Model{}, fmt.Errorf("%w: UNet found (%d input channels, cross-attention width %d) but no text encoder keys (%s*, %s*, conditioner.embedders.*) and the width matches no known family",
			ErrUnknownModel, m.InChannels, m.ContextDim, PrefixSD1Text, PrefixSD2Text)
	}
	_, vpred := src.Info("v_pred")
	_, m.ZeroTerminalSNR = src.Info("ztsnr")
	m.Prediction, m.PredictionSource = Epsilon, FromDefault
	switch {
	case vpred:
		m.Prediction, m.PredictionSource = VPrediction, FromKey
	case nameSaysV(name, m.Family):
		m.Prediction, m.PredictionSource = VPrediction, FromFileName
	}
	return m, nil
}

// nameSaysV reads a v-prediction hint from a file name. SD2 768 models are
// v-prediction (the 512 "base" and inpainting models are eps); webui decides
// SD2 by running the UNet once, which callers can do when PredictionSource is
// FromDefault.
func nameSaysV(name string, f Family) bool {
	n := strings.ToLower(filepath.Base(name))
	for _, marker := range []string{"v-pred", "vpred", "v_pred", "768-v", "768v"} {
		if strings.Contains(n, marker) {
			return true
		}
	}
	return f == SD2 && strings.Contains(n, "768")
}

// components lists the networks present, by LDM prefix.
func components(src Source, names []string) []ComponentInfo {
	count := func(prefix string) int {
		n := 0
		for _, k := range names {
			if strings.HasPrefix(k, prefix) {
				n++
			}
		}
		return n
	}
	cands := []ComponentInfo{
		{UNet, PrefixUNet, LayoutLDM, 0},
		{VAE, PrefixVAE, LayoutLDM, 0},
		{TextEncoder, PrefixSD1Text, LayoutHFCLIP, 0},
		{TextEncoder, PrefixSD2Text, LayoutOpenCLIP, 0},
		{TextEncoder, PrefixSDXLText1, LayoutHFCLIP, 0},
		{TextEncoder, PrefixRefinerText, LayoutOpenCLIP, 0},
		{TextEncoder2, PrefixSDXLText2, LayoutOpenCLIP, 0},
	}
	var out []ComponentInfo
	for _, c := range cands {
		if c.Tensors = count(c.Prefix); c.Tensors > 0 {
			out = append(out, c)
		}
	}
	return out
}

// describe summarizes keys that are not a checkpoint, guessing what they are.
func describe(names []string) string {
	if len(names) == 0 {
		return "the file holds no tensors"
	}
	prefixes := map[string]int{}
	for _, n := range names {
		p := n
		if i := strings.IndexAny(n, "."); i >= 0 {
			p = n[:i]
		}
		if strings.HasPrefix(p, "lora_") {
			if j := strings.Index(p[5:], "_"); j >= 0 {
				p = p[:5+j+1]
			}
		}
		prefixes[p]++
	}
	type pc struct {
		p string
		n int
	}
	var list []pc
	for p, n := range prefixes {
		list = append(list, pc{p, n})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].n > list[j].n || list[i].n == list[j].n && list[i].p < list[j].p })
	var parts []string
	for i, e := range list {
		if i == 4 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", e.p, e.n))
	}
	msg := fmt.Sprintf("no UNet keys (%s*) found; found %d tensors with prefixes %s", PrefixUNet, len(names), strings.Join(parts, ", "))
	if guess := guessKind(names); guess != "" {
		msg += "; " + guess
	}
	return msg
}

func guessKind(names []string) string {
	any := func(pred func(string) bool) bool {
		for _, n := range names {
			if pred(n) {
				return true
			}
		}
		return false
	}
	switch {
	case any(func(n string) bool {
		return strings.HasPrefix(n, "lora_") || strings.Contains(n, ".lora_down.") || strings.Contains(n, ".lora_A.") || strings.Contains(n, "hada_w1")
	}):
		return "this looks like a LoRA file: use it in a prompt as <lora:name:weight>"
	case any(func(n string) bool {
		return strings.HasPrefix(n, "control_model.") || strings.Contains(n, "input_hint_block")
	}):
		return "this looks like a ControlNet model, not a checkpoint"
	case any(func(n string) bool { return strings.HasPrefix(n, "encoder.down") || strings.HasPrefix(n, "decoder.up") }):
		return "this looks like a VAE file: pass it as the VAE of a checkpoint"
	case any(func(n string) bool { return strings.HasPrefix(n, "down_blocks.") || strings.HasPrefix(n, "mid_block.") }):
		return "this looks like one component of a diffusers folder: open the whole folder (the one with model_index.json)"
	case any(func(n string) bool {
		return n == "emb_params" || n == "string_to_param" || strings.HasPrefix(n, "string_to_param.") || n == "clip_l" || n == "clip_g"
	}):
		return "this looks like a textual-inversion embedding, not a checkpoint"
	case any(func(n string) bool { return strings.HasPrefix(n, "text_model.") }):
		return "this looks like a text encoder on its own, not a checkpoint"
	case any(func(n string) bool {
		return n == "conv_first.weight" || strings.HasPrefix(n, "model.0.") || strings.HasPrefix(n, "body.")
	}):
		return "this looks like an upscaler model, not a checkpoint"
	}
	return ""
}
