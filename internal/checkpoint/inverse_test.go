package checkpoint

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// This file is the test's own inverse of the rename table (LDM -> diffusers),
// written independently of convert.go so that round trips check both.

var invResnet = map[string]string{
	"in_layers.0": "norm1", "in_layers.2": "conv1", "emb_layers.1": "time_emb_proj",
	"out_layers.0": "norm2", "out_layers.3": "conv2", "skip_connection": "conv_shortcut",
}

func invResnetPart(rest string) string {
	for from, to := range invResnet {
		if strings.HasPrefix(rest, from+".") {
			return to + rest[len(from):]
		}
	}
	panic("no resnet part in " + rest)
}

var (
	reInvIn  = regexp.MustCompile(`^input_blocks\.(\d+)\.(\d+)\.(.+)$`)
	reInvOut = regexp.MustCompile(`^output_blocks\.(\d+)\.(\d+)\.(.+)$`)
	reInvMid = regexp.MustCompile(`^middle_block\.(\d+)\.(.+)$`)
)

// ldmUNetToDiffusers renames a UNet key (without prefix) for a UNet with
// layersPerBlock resnets per down level.
func ldmUNetToDiffusers(k string, layersPerBlock int) string {
	step := layersPerBlock + 1
	fixed := map[string]string{
		"time_embed.0.": "time_embedding.linear_1.", "time_embed.2.": "time_embedding.linear_2.",
		"label_emb.0.0.": "add_embedding.linear_1.", "label_emb.0.2.": "add_embedding.linear_2.",
		"input_blocks.0.0.": "conv_in.", "out.0.": "conv_norm_out.", "out.2.": "conv_out.",
	}
	for from, to := range fixed {
		if strings.HasPrefix(k, from) {
			return to + k[len(from):]
		}
	}
	if m := reInvIn.FindStringSubmatch(k); m != nil {
		b := atoi(m[1]) - 1
		lvl, j := b/step, b%step
		switch {
		case j == layersPerBlock:
			return fmt.Sprintf("down_blocks.%d.downsamplers.0.conv.%s", lvl, strings.TrimPrefix(m[3], "op."))
		case m[2] == "0":
			return fmt.Sprintf("down_blocks.%d.resnets.%d.%s", lvl, j, invResnetPart(m[3]))
		default:
			return fmt.Sprintf("down_blocks.%d.attentions.%d.%s", lvl, j, m[3])
		}
	}
	if m := reInvOut.FindStringSubmatch(k); m != nil {
		b := atoi(m[1])
		lvl, j := b/step, b%step
		switch {
		case m[2] == "0":
			return fmt.Sprintf("up_blocks.%d.resnets.%d.%s", lvl, j, invResnetPart(m[3]))
		case strings.HasPrefix(m[3], "conv."):
			return fmt.Sprintf("up_blocks.%d.upsamplers.0.%s", lvl, m[3])
		default:
			return fmt.Sprintf("up_blocks.%d.attentions.%d.%s", lvl, j, m[3])
		}
	}
	if m := reInvMid.FindStringSubmatch(k); m != nil {
		if m[1] == "1" {
			return "mid_block.attentions.0." + m[2]
		}
		return fmt.Sprintf("mid_block.resnets.%d.%s", atoi(m[1])/2, invResnetPart(m[2]))
	}
	panic("unknown UNet key " + k)
}

var (
	reInvVAEDown = regexp.MustCompile(`^encoder\.down\.(\d+)\.(block\.(\d+)|downsample)\.(.+)$`)
	reInvVAEUp   = regexp.MustCompile(`^decoder\.up\.(\d+)\.(block\.(\d+)|upsample)\.(.+)$`)
	reInvVAEMid  = regexp.MustCompile(`^(encoder|decoder)\.mid\.(block_(\d)|attn_1)\.(.+)$`)
)

// ldmVAEToDiffusers renames a VAE key (without prefix); reshape reports a
// 1x1-conv attention weight that diffusers stores as [C,C].
func ldmVAEToDiffusers(k string, levels int) (name string, reshape bool) {
	res := func(s string) string { return strings.Replace(s, "nin_shortcut", "conv_shortcut", 1) }
	if m := reInvVAEDown.FindStringSubmatch(k); m != nil {
		if m[3] == "" {
			return fmt.Sprintf("encoder.down_blocks.%s.downsamplers.0.%s", m[1], m[4]), false
		}
		return fmt.Sprintf("encoder.down_blocks.%s.resnets.%s.%s", m[1], m[3], res(m[4])), false
	}
	if m := reInvVAEUp.FindStringSubmatch(k); m != nil {
		i := levels - 1 - atoi(m[1])
		if m[3] == "" {
			return fmt.Sprintf("decoder.up_blocks.%d.upsamplers.0.%s", i, m[4]), false
		}
		return fmt.Sprintf("decoder.up_blocks.%d.resnets.%s.%s", i, m[3], res(m[4])), false
	}
	if m := reInvVAEMid.FindStringSubmatch(k); m != nil {
		if m[3] != "" {
			return fmt.Sprintf("%s.mid_block.resnets.%d.%s", m[1], atoi(m[3])-1, res(m[4])), false
		}
		part, leaf := splitLast(m[4])
		to := map[string]string{"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}[part]
		return m[1] + ".mid_block.attentions.0." + to + "." + leaf, part != "norm" && leaf == "weight"
	}
	if strings.HasPrefix(k, "encoder.norm_out.") || strings.HasPrefix(k, "decoder.norm_out.") {
		return strings.Replace(k, "norm_out", "conv_norm_out", 1), false
	}
	return k, false // conv_in, conv_out, quant_conv, post_quant_conv
}

// openCLIPInverse describes how one OpenCLIP key becomes HF keys.
type openCLIPInverse struct {
	names     []string // 1 name, or q/k/v for in_proj
	transpose bool
}

var reInvRes = regexp.MustCompile(`^transformer\.resblocks\.(\d+)\.(.+)\.(weight|bias)$`)
var reInvInProj = regexp.MustCompile(`^transformer\.resblocks\.(\d+)\.attn\.in_proj_(weight|bias)$`)

func ldmOpenCLIPToHF(k string) openCLIPInverse {
	switch k {
	case "token_embedding.weight":
		return openCLIPInverse{names: []string{"text_model.embeddings.token_embedding.weight"}}
	case "positional_embedding":
		return openCLIPInverse{names: []string{"text_model.embeddings.position_embedding.weight"}}
	case "ln_final.weight", "ln_final.bias":
		return openCLIPInverse{names: []string{"text_model.final_layer_norm." + strings.TrimPrefix(k, "ln_final.")}}
	case "text_projection":
		return openCLIPInverse{names: []string{"text_projection.weight"}, transpose: true}
	}
	if m := reInvInProj.FindStringSubmatch(k); m != nil {
		b := "text_model.encoder.layers." + m[1] + ".self_attn."
		return openCLIPInverse{names: []string{b + "q_proj." + m[2], b + "k_proj." + m[2], b + "v_proj." + m[2]}}
	}
	if m := reInvRes.FindStringSubmatch(k); m != nil {
		part := map[string]string{"attn.out_proj": "self_attn.out_proj", "ln_1": "layer_norm1", "ln_2": "layer_norm2", "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}[m[2]]
		return openCLIPInverse{names: []string{"text_model.encoder.layers." + m[1] + "." + part + "." + m[3]}}
	}
	panic("unknown OpenCLIP key " + k)
}

// fakeTensor and fakeSource are an in-memory Source for tests; data may be
// nil when only names and shapes matter.
type fakeTensor struct {
	info TensorInfo
	data []byte
}

type fakeSource map[string]fakeTensor

func (f fakeSource) Names() []string {
	var n []string
	for k := range f {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
func (f fakeSource) Info(n string) (TensorInfo, bool) { t, ok := f[n]; return t.info, ok }
func (f fakeSource) Raw(n string) ([]byte, error) {
	t, ok := f[n]
	if !ok {
		return nil, fmt.Errorf("no %q", n)
	}
	return t.data, nil
}
func (f fakeSource) Float32(n string) ([]float32, []int, error) {
	raw, err := f.Raw(n)
	if err != nil {
		return nil, nil, err
	}
	v, err := toFloat32(raw, f[n].info.DType)
	return v, f[n].info.Shape, err
}
func (f fakeSource) Close() error { return nil }

// toDiffusers splits an LDM source into diffusers component sources.
// teOpenCLIP selects the OpenCLIP inverse for the text encoder prefix.
type diffusersParts struct {
	unet, vae, te, te2 fakeSource
}

func splitQKV(t fakeTensor) [3]fakeTensor {
	var out [3]fakeTensor
	rows := t.info.Shape[0] / 3
	for i := range out {
		shape := append([]int{rows}, t.info.Shape[1:]...)
		out[i].info = TensorInfo{DType: t.info.DType, Shape: shape}
		if t.data != nil {
			n := len(t.data) / 3
			out[i].data = t.data[i*n : (i+1)*n]
		}
	}
	return out
}

func transposeFake(t fakeTensor) fakeTensor {
	r, c := t.info.Shape[0], t.info.Shape[1]
	out := fakeTensor{info: TensorInfo{DType: t.info.DType, Shape: []int{c, r}}}
	if t.data != nil {
		out.data = transpose2D(t.data, r, c, len(t.data)/(r*c))
	}
	return out
}

func toDiffusers(src fakeSource, layersPerBlock, vaeLevels int) diffusersParts {
	p := diffusersParts{unet: fakeSource{}, vae: fakeSource{}, te: fakeSource{}, te2: fakeSource{}}
	openclip := func(dst fakeSource, k string, t fakeTensor) {
		inv := ldmOpenCLIPToHF(k)
		switch {
		case len(inv.names) == 3:
			for i, part := range splitQKV(t) {
				dst[inv.names[i]] = part
			}
		case inv.transpose:
			dst[inv.names[0]] = transposeFake(t)
		default:
			dst[inv.names[0]] = t
		}
	}
	for k, t := range src {
		switch {
		case strings.HasPrefix(k, PrefixUNet):
			p.unet[ldmUNetToDiffusers(strings.TrimPrefix(k, PrefixUNet), layersPerBlock)] = t
		case strings.HasPrefix(k, PrefixVAE):
			n, reshape := ldmVAEToDiffusers(strings.TrimPrefix(k, PrefixVAE), vaeLevels)
			if reshape {
				t.info.Shape = t.info.Shape[:2]
			}
			p.vae[n] = t
		case strings.HasPrefix(k, PrefixSD1Text):
			p.te[strings.TrimPrefix(k, PrefixSD1Text)] = t
		case strings.HasPrefix(k, PrefixSDXLText1):
			p.te[strings.TrimPrefix(k, PrefixSDXLText1)] = t
		case strings.HasPrefix(k, PrefixSD2Text):
			openclip(p.te, strings.TrimPrefix(k, PrefixSD2Text), t)
		case strings.HasPrefix(k, PrefixSDXLText2):
			openclip(p.te2, strings.TrimPrefix(k, PrefixSDXLText2), t)
		}
	}
	return p
}
