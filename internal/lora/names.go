package lora

import (
	"regexp"
	"strconv"
	"strings"

	"sdgo/internal/checkpoint"
)

// Site is the weight a module changes.
type Site struct {
	Key  string // LDM key, e.g. "model.diffusion_model.input_blocks.1.1.proj_in.weight"
	Row  int    // first row changed: q/k/v projections inside OpenCLIP's attn.in_proj_weight
	Rows int    // rows changed; 0 = the whole tensor
}

// Target is the model a LoRA is matched against: its LDM tensor names and
// shapes (a *checkpoint.Checkpoint or any checkpoint.Source).
type Target interface {
	Names() []string
	Info(name string) (checkpoint.TensorInfo, bool)
}

// Module name prefixes kohya writes, longest first where one could be read
// as another.
const (
	prefixUNet = "lora_unet_"
	prefixTE   = "lora_te_"
	prefixTE1  = "lora_te1_" // SDXL CLIP-L
	prefixTE2  = "lora_te2_" // SDXL OpenCLIP bigG
)

// diffusersWords are the names (some holding underscores) a diffusers
// UNet2DConditionModel module path is made of; numbers are indices.
var diffusersWords = words(
	"down_blocks", "up_blocks", "mid_block", "resnets", "attentions", "downsamplers", "upsamplers",
	"conv", "conv1", "conv2", "conv_shortcut", "norm", "norm1", "norm2", "norm3", "time_emb_proj",
	"proj_in", "proj_out", "transformer_blocks", "attn1", "attn2", "to_q", "to_k", "to_v", "to_out",
	"ff", "net", "proj", "conv_in", "conv_out", "conv_norm_out",
	"time_embedding", "add_embedding", "linear_1", "linear_2")

// hfCLIPWords are the names of a Hugging Face CLIPTextModel module path.
var hfCLIPWords = words(
	"text_model", "encoder", "layers", "self_attn", "q_proj", "k_proj", "v_proj", "out_proj",
	"mlp", "fc1", "fc2", "layer_norm1", "layer_norm2", "final_layer_norm",
	"embeddings", "token_embedding", "position_embedding")

func words(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// dotted undoes kohya's dots→underscores: it splits name into the longest
// known words and numbers and joins them with dots ("down_blocks_0_attentions_1_transformer_blocks_0_attn1_to_out_0"
// → "down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_out.0").
func dotted(name string, vocab map[string]bool) (string, bool) {
	parts := strings.Split(name, "_")
	out := make([]string, 0, len(parts))
	for i := 0; i < len(parts); {
		next := 0
		for j := min(len(parts), i+3); j > i; j-- {
			if vocab[strings.Join(parts[i:j], "_")] {
				next = j
				break
			}
		}
		if next == 0 {
			if _, err := strconv.Atoi(parts[i]); err != nil {
				return "", false
			}
			next = i + 1
		}
		out = append(out, strings.Join(parts[i:next], "_"))
		i = next
	}
	return strings.Join(out, "."), len(out) > 0
}

// encoder is one text encoder of the target.
type encoder struct {
	prefix   string // LDM prefix, e.g. "cond_stage_model.transformer."
	openCLIP bool   // transformer.resblocks.N layout (SD2, SDXL bigG)
}

// resolver maps module names to sites in one target.
type resolver struct {
	shapes map[string][]int
	layout checkpoint.UNetLayout
	te     map[string]encoder // module prefix -> encoder
	flat   map[string]string  // underscore form of every ".weight" key -> key
}

var (
	reInputOp   = regexp.MustCompile(`^model\.diffusion_model\.input_blocks\.(\d+)\.0\.op\.weight$`)
	reOutputAtt = regexp.MustCompile(`^model\.diffusion_model\.output_blocks\.(\d+)\.1\.proj_in\.weight$`)
	reHFPath    = regexp.MustCompile(`^text_model\.encoder\.layers\.(\d+)\.(.+)$`)
)

// openCLIPPart maps a Hugging Face CLIP layer module to its OpenCLIP
// resblock weight.
var openCLIPPart = map[string]string{
	"self_attn.out_proj": "attn.out_proj.weight",
	"mlp.fc1":            "mlp.c_fc.weight",
	"mlp.fc2":            "mlp.c_proj.weight",
	"layer_norm1":        "ln_1.weight",
	"layer_norm2":        "ln_2.weight",
}

func newResolver(t Target) *resolver {
	r := &resolver{shapes: map[string][]int{}, te: map[string]encoder{}, flat: map[string]string{}}
	names := t.Names()
	firstOp := 0
	for _, n := range names {
		if info, ok := t.Info(n); ok {
			r.shapes[n] = info.Shape
		}
		if m := reInputOp.FindStringSubmatch(n); m != nil {
			if i, _ := strconv.Atoi(m[1]); firstOp == 0 || i < firstOp {
				firstOp = i
			}
		}
		if stem, ok := strings.CutSuffix(n, ".weight"); ok {
			r.flat[strings.ReplaceAll(stem, ".", "_")] = n
		}
	}
	// An LDM UNet level holds LayersPerBlock res blocks, then (but for the
	// last level) a downsampler: the first "op" sits at LayersPerBlock+1.
	r.layout = checkpoint.UNetLayout{LayersPerBlock: 2, UpAttention: map[int]bool{}}
	if firstOp > 1 {
		r.layout.LayersPerBlock = firstOp - 1
	}
	for _, n := range names {
		if m := reOutputAtt.FindStringSubmatch(n); m != nil {
			i, _ := strconv.Atoi(m[1])
			r.layout.UpAttention[i/(r.layout.LayersPerBlock+1)] = true
		}
	}
	hf := func(prefix string) bool { return r.shapes[prefix+"text_model.final_layer_norm.weight"] != nil }
	oc := func(prefix string) bool { return r.shapes[prefix+"ln_final.weight"] != nil }
	switch {
	case hf(checkpoint.PrefixSD1Text):
		r.te[prefixTE] = encoder{prefix: checkpoint.PrefixSD1Text}
	case oc(checkpoint.PrefixSD2Text):
		r.te[prefixTE] = encoder{prefix: checkpoint.PrefixSD2Text, openCLIP: true}
	case oc(checkpoint.PrefixRefinerText):
		r.te[prefixTE] = encoder{prefix: checkpoint.PrefixRefinerText, openCLIP: true}
	}
	if hf(checkpoint.PrefixSDXLText1) {
		r.te[prefixTE1] = encoder{prefix: checkpoint.PrefixSDXLText1}
	}
	if oc(checkpoint.PrefixSDXLText2) {
		r.te[prefixTE2] = encoder{prefix: checkpoint.PrefixSDXLText2, openCLIP: true}
	}
	return r
}

// site finds the weight module name changes in the target.
func (r *resolver) site(name string) (Site, bool) {
	if rest, ok := strings.CutPrefix(name, prefixUNet); ok {
		return r.unetSite(rest)
	}
	for _, p := range []string{prefixTE1, prefixTE2, prefixTE} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			enc, ok := r.te[p]
			if !ok {
				return Site{}, false
			}
			return r.textSite(enc, rest)
		}
	}
	return Site{}, false
}

// unetSite maps a diffusers module path through checkpoint's rename table,
// or else reads the name as an LDM path ("input_blocks_4_1_proj_in", as
// kohya's SDXL trainer writes).
func (r *resolver) unetSite(rest string) (Site, bool) {
	if path, ok := dotted(rest, diffusersWords); ok {
		if ldm, ok := checkpoint.UNetKeyToLDM(path+".weight", r.layout); ok {
			if key := checkpoint.PrefixUNet + ldm; r.shapes[key] != nil {
				return Site{Key: key}, true
			}
		}
	}
	return r.flatSite(checkpoint.PrefixUNet, rest)
}

// textSite maps a Hugging Face CLIP module path to the encoder's layout:
// the same path under the prefix, or the OpenCLIP resblock weight, where
// q, k and v are row blocks of attn.in_proj_weight.
func (r *resolver) textSite(enc encoder, rest string) (Site, bool) {
	path, ok := dotted(rest, hfCLIPWords)
	if !ok {
		return r.flatSite(enc.prefix, rest)
	}
	if !enc.openCLIP {
		key := enc.prefix + path + ".weight"
		return Site{Key: key}, r.shapes[key] != nil
	}
	m := reHFPath.FindStringSubmatch(path)
	if m == nil {
		return r.flatSite(enc.prefix, rest)
	}
	block := enc.prefix + "transformer.resblocks." + m[1] + "."
	if part, ok := openCLIPPart[m[2]]; ok {
		key := block + part
		return Site{Key: key}, r.shapes[key] != nil
	}
	qkv := map[string]int{"self_attn.q_proj": 0, "self_attn.k_proj": 1, "self_attn.v_proj": 2}
	i, ok := qkv[m[2]]
	key := block + "attn.in_proj_weight"
	shape := r.shapes[key]
	if !ok || len(shape) != 2 || shape[0]%3 != 0 {
		return Site{}, false
	}
	d := shape[0] / 3
	return Site{Key: key, Row: i * d, Rows: d}, true
}

// flatSite reads rest as the underscore form of a key under prefix.
func (r *resolver) flatSite(prefix, rest string) (Site, bool) {
	stem := strings.ReplaceAll(strings.TrimSuffix(prefix, "."), ".", "_") + "_" + rest
	key, ok := r.flat[stem]
	if !ok || !strings.HasPrefix(key, prefix) {
		return Site{}, false
	}
	return Site{Key: key}, true
}

// Sites maps every module of the file to the weight it changes in target,
// and lists the modules that match nothing there (webui skips those).
func (f *File) Sites(target Target) (map[string]Site, []string) {
	r := newResolver(target)
	sites := map[string]Site{}
	var unmatched []string
	for _, m := range f.modules {
		if s, ok := r.site(m.name); ok {
			sites[m.name] = s
		} else {
			unmatched = append(unmatched, m.name)
		}
	}
	return sites, unmatched
}
