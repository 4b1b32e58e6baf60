package checkpoint

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// This file is the one table that renames foreign layouts to the original
// single-file (LDM) keys. Each rule maps a source key to an LDM key and says
// how the tensor changes on the way (most are copies).

// op is how an LDM tensor is made from its source tensors.
type op int

const (
	opCopy      op = iota // same bytes, same shape
	opReshape             // same bytes, new shape (1x1 conv from linear)
	opConcat              // concatenate several sources on axis 0 (q,k,v -> in_proj)
	opTranspose           // 2-D transpose (HF text_projection -> OpenCLIP)
)

// rename is one LDM tensor built from source tensors.
type rename struct {
	to   string
	from []string
	op   op
}

// Layouts of Stable Diffusion prefixes in the original single-file format.
const (
	PrefixUNet        = "model.diffusion_model."
	PrefixVAE         = "first_stage_model."
	PrefixSD1Text     = "cond_stage_model.transformer."
	PrefixSD2Text     = "cond_stage_model.model."
	PrefixSDXLText1   = "conditioner.embedders.0.transformer."
	PrefixSDXLText2   = "conditioner.embedders.1.model."
	PrefixRefinerText = "conditioner.embedders.0.model."
)

var (
	reDownBlock = regexp.MustCompile(`^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$`)
	reDownSamp  = regexp.MustCompile(`^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$`)
	reUpBlock   = regexp.MustCompile(`^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$`)
	reUpSamp    = regexp.MustCompile(`^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$`)
	reMid       = regexp.MustCompile(`^mid_block\.(resnets|attentions)\.(\d+)\.(.+)$`)
)

// unetFixed maps diffusers UNet modules outside the blocks.
var unetFixed = map[string]string{
	"time_embedding.linear_1": "time_embed.0",
	"time_embedding.linear_2": "time_embed.2",
	"add_embedding.linear_1":  "label_emb.0.0",
	"add_embedding.linear_2":  "label_emb.0.2",
	"conv_in":                 "input_blocks.0.0",
	"conv_norm_out":           "out.0",
	"conv_out":                "out.2",
}

// unetResnet maps the parts of a diffusers ResnetBlock2D to an LDM ResBlock.
var unetResnet = map[string]string{
	"norm1":         "in_layers.0",
	"conv1":         "in_layers.2",
	"time_emb_proj": "emb_layers.1",
	"norm2":         "out_layers.0",
	"conv2":         "out_layers.3",
	"conv_shortcut": "skip_connection",
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// splitFirst splits "a.b.c" into "a" and "b.c".
func splitFirst(s string) (string, string) {
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// splitLast splits "a.b.weight" into "a.b" and "weight".
func splitLast(s string) (string, string) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return "", s
	}
	return s[:i], s[i+1:]
}

func resnetPart(rest string, table map[string]string) (string, bool) {
	part, tail := splitFirst(rest)
	to, ok := table[part]
	if !ok {
		return "", false
	}
	return to + "." + tail, true
}

// UNetLayout is what renaming diffusers UNet keys needs to know beyond the
// key itself: resnets per down block, and which up blocks have attention
// (the upsampler's index inside an LDM output block depends on it).
type UNetLayout struct {
	LayersPerBlock int
	UpAttention    map[int]bool
}

// UNetLayoutOf infers the layout from a complete list of diffusers UNet keys.
func UNetLayoutOf(names []string) UNetLayout {
	l := UNetLayout{UpAttention: map[int]bool{}}
	for _, n := range names {
		if m := reDownBlock.FindStringSubmatch(n); m != nil && m[1] == "0" && m[2] == "resnets" {
			l.LayersPerBlock = max(l.LayersPerBlock, atoi(m[3])+1)
		}
		if m := reUpBlock.FindStringSubmatch(n); m != nil && m[2] == "attentions" {
			l.UpAttention[atoi(m[1])] = true
		}
	}
	return l
}

// UNetKeyToLDM renames one diffusers UNet key (e.g.
// "down_blocks.0.attentions.1.proj_in.weight") to its LDM key without the
// "model.diffusion_model." prefix ("input_blocks.2.1.proj_in.weight").
func UNetKeyToLDM(key string, l UNetLayout) (string, bool) {
	step := l.LayersPerBlock + 1
	if mod, leaf := splitLast(key); unetFixed[mod] != "" {
		return unetFixed[mod] + "." + leaf, true
	}
	if m := reDownBlock.FindStringSubmatch(key); m != nil {
		idx := step*atoi(m[1]) + atoi(m[3]) + 1
		if m[2] == "attentions" {
			return fmt.Sprintf("input_blocks.%d.1.%s", idx, m[4]), true
		}
		r, ok := resnetPart(m[4], unetResnet)
		return fmt.Sprintf("input_blocks.%d.0.%s", idx, r), ok
	}
	if m := reDownSamp.FindStringSubmatch(key); m != nil {
		return fmt.Sprintf("input_blocks.%d.0.op.%s", step*(atoi(m[1])+1), m[2]), true
	}
	if m := reUpBlock.FindStringSubmatch(key); m != nil {
		idx := step*atoi(m[1]) + atoi(m[3])
		if m[2] == "attentions" {
			return fmt.Sprintf("output_blocks.%d.1.%s", idx, m[4]), true
		}
		r, ok := resnetPart(m[4], unetResnet)
		return fmt.Sprintf("output_blocks.%d.0.%s", idx, r), ok
	}
	if m := reUpSamp.FindStringSubmatch(key); m != nil {
		i := atoi(m[1])
		pos := 1
		if l.UpAttention[i] {
			pos = 2
		}
		return fmt.Sprintf("output_blocks.%d.%d.conv.%s", step*i+l.LayersPerBlock, pos, m[2]), true
	}
	if m := reMid.FindStringSubmatch(key); m != nil {
		if m[1] == "attentions" {
			return "middle_block.1." + m[3], m[2] == "0"
		}
		r, ok := resnetPart(m[3], unetResnet)
		return fmt.Sprintf("middle_block.%d.%s", 2*atoi(m[2]), r), ok
	}
	return "", false
}

var (
	reVAEDown    = regexp.MustCompile(`^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$`)
	reVAEDownS   = regexp.MustCompile(`^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$`)
	reVAEUp      = regexp.MustCompile(`^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$`)
	reVAEUpS     = regexp.MustCompile(`^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$`)
	reVAEMidRes  = regexp.MustCompile(`^(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)$`)
	reVAEMidAttn = regexp.MustCompile(`^(encoder|decoder)\.mid_block\.attentions\.0\.(.+)\.(weight|bias)$`)
)

var vaeResnet = map[string]string{
	"norm1": "norm1", "conv1": "conv1", "norm2": "norm2", "conv2": "conv2", "conv_shortcut": "nin_shortcut",
}

// vaeAttn maps the mid-block attention of a diffusers VAE (current and
// pre-0.14 names) to the LDM AttnBlock, whose q/k/v/proj_out are 1x1 convs.
var vaeAttn = map[string]string{
	"group_norm": "norm",
	"to_q":       "q", "query": "q",
	"to_k": "k", "key": "k",
	"to_v": "v", "value": "v",
	"to_out.0": "proj_out", "proj_attn": "proj_out",
}

// vaeRenames converts diffusers AutoencoderKL keys to LDM keys (without the
// "first_stage_model." prefix). shapes gives each key's shape, to turn the
// attention's linear weights [C,C] into 1x1 conv weights [C,C,1,1].
func vaeRenames(names []string, shapes map[string][]int) ([]rename, []string) {
	ups := 0
	for _, n := range names {
		if m := reVAEUp.FindStringSubmatch(n); m != nil {
			ups = max(ups, atoi(m[1])+1)
		}
	}
	var out []rename
	var unknown []string
	for _, n := range names {
		r := rename{from: []string{n}}
		switch mod, leaf := splitLast(n); {
		case mod == "encoder.conv_in" || mod == "encoder.conv_out" || mod == "decoder.conv_in" || mod == "decoder.conv_out" ||
			mod == "quant_conv" || mod == "post_quant_conv":
			r.to = n
		case mod == "encoder.conv_norm_out" || mod == "decoder.conv_norm_out":
			r.to = strings.TrimSuffix(mod, "conv_norm_out") + "norm_out." + leaf
		default:
			r.to = vaeBlockKey(n, ups)
		}
		if m := reVAEMidAttn.FindStringSubmatch(n); m != nil {
			part, ok := vaeAttn[m[2]]
			if !ok {
				unknown = append(unknown, n)
				continue
			}
			r.to = m[1] + ".mid.attn_1." + part + "." + m[3]
			if s := shapes[n]; m[3] == "weight" && part != "norm" && len(s) == 2 {
				r.op = opReshape
			}
		}
		if r.to == "" {
			unknown = append(unknown, n)
			continue
		}
		out = append(out, r)
	}
	return out, unknown
}

func vaeBlockKey(n string, ups int) string {
	if m := reVAEDown.FindStringSubmatch(n); m != nil {
		if r, ok := resnetPart(m[3], vaeResnet); ok {
			return fmt.Sprintf("encoder.down.%s.block.%s.%s", m[1], m[2], r)
		}
	}
	if m := reVAEDownS.FindStringSubmatch(n); m != nil {
		return fmt.Sprintf("encoder.down.%s.downsample.conv.%s", m[1], m[2])
	}
	if m := reVAEUp.FindStringSubmatch(n); m != nil {
		if r, ok := resnetPart(m[3], vaeResnet); ok {
			return fmt.Sprintf("decoder.up.%d.block.%s.%s", ups-1-atoi(m[1]), m[2], r)
		}
	}
	if m := reVAEUpS.FindStringSubmatch(n); m != nil {
		return fmt.Sprintf("decoder.up.%d.upsample.conv.%s", ups-1-atoi(m[1]), m[2])
	}
	if m := reVAEMidRes.FindStringSubmatch(n); m != nil {
		if r, ok := resnetPart(m[3], vaeResnet); ok {
			return fmt.Sprintf("%s.mid.block_%d.%s", m[1], atoi(m[2])+1, r)
		}
	}
	return ""
}

// unetRenames converts a diffusers UNet to LDM keys (without prefix).
func unetRenames(names []string) ([]rename, []string) {
	l := UNetLayoutOf(names)
	var out []rename
	var unknown []string
	for _, n := range names {
		to, ok := UNetKeyToLDM(n, l)
		if !ok {
			unknown = append(unknown, n)
			continue
		}
		out = append(out, rename{to: to, from: []string{n}})
	}
	return out, unknown
}

// openCLIPLayer maps HF CLIP encoder-layer parts to OpenCLIP resblock parts.
var openCLIPLayer = map[string]string{
	"self_attn.out_proj": "attn.out_proj",
	"layer_norm1":        "ln_1",
	"layer_norm2":        "ln_2",
	"mlp.fc1":            "mlp.c_fc",
	"mlp.fc2":            "mlp.c_proj",
}

var reHFLayer = regexp.MustCompile(`^text_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$`)

// openCLIPRenames converts a Hugging Face CLIPTextModel(WithProjection) to the
// OpenCLIP layout LDM checkpoints use for SD2 and SDXL's bigG encoder:
// q/k/v projections concatenate into in_proj_weight/bias, and the projection
// matrix is stored transposed (x @ P rather than a Linear).
func openCLIPRenames(names []string) ([]rename, []string) {
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	var out []rename
	var unknown []string
	for _, n := range names {
		switch n {
		case "text_model.embeddings.token_embedding.weight":
			out = append(out, rename{to: "token_embedding.weight", from: []string{n}})
			continue
		case "text_model.embeddings.position_embedding.weight":
			out = append(out, rename{to: "positional_embedding", from: []string{n}})
			continue
		case "text_model.embeddings.position_ids":
			continue // a buffer OpenCLIP does not store
		case "text_model.final_layer_norm.weight", "text_model.final_layer_norm.bias":
			_, leaf := splitLast(n)
			out = append(out, rename{to: "ln_final." + leaf, from: []string{n}})
			continue
		case "text_projection.weight":
			out = append(out, rename{to: "text_projection", from: []string{n}, op: opTranspose})
			continue
		}
		m := reHFLayer.FindStringSubmatch(n)
		if m == nil {
			unknown = append(unknown, n)
			continue
		}
		layer, part, leaf := m[1], m[2], m[3]
		prefix := "transformer.resblocks." + layer + "."
		switch part {
		case "self_attn.q_proj":
			base := "text_model.encoder.layers." + layer + ".self_attn."
			from := []string{base + "q_proj." + leaf, base + "k_proj." + leaf, base + "v_proj." + leaf}
			for _, f := range from {
				if !have[f] {
					unknown = append(unknown, f+" (missing)")
				}
			}
			out = append(out, rename{to: prefix + "attn.in_proj_" + leaf, from: from, op: opConcat})
		case "self_attn.k_proj", "self_attn.v_proj":
			// consumed with q_proj
		default:
			to, ok := openCLIPLayer[part]
			if !ok {
				unknown = append(unknown, n)
				continue
			}
			out = append(out, rename{to: prefix + to + "." + leaf, from: []string{n}})
		}
	}
	return out, unknown
}

// hfCLIPRenames keeps Hugging Face CLIP keys under the LDM prefix.
func hfCLIPRenames(names []string) ([]rename, []string) {
	var out []rename
	var unknown []string
	for _, n := range names {
		if !strings.HasPrefix(n, "text_model.") && n != "text_projection.weight" {
			unknown = append(unknown, n)
			continue
		}
		out = append(out, rename{to: n, from: []string{n}})
	}
	return out, unknown
}

// unknownError formats the keys a rule set could not map.
func unknownError(what string, unknown []string) error {
	sort.Strings(unknown)
	shown := unknown
	if len(shown) > 5 {
		shown = shown[:5]
	}
	return fmt.Errorf("%s: %d keys have no rename to the original layout (%s); is this a supported Stable Diffusion component?", what, len(unknown), strings.Join(shown, ", "))
}
