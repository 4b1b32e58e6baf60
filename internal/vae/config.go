package vae

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Latent scale factors of the families: the latent the UNet sees is the
// VAE's latent times this factor.
const (
	ScaleSD   = 0.18215 // SD1.x and SD2.x
	ScaleSDXL = 0.13025 // SDXL
)

// Config holds every architecture fact of an LDM AutoencoderKL
// (ldm.modules.diffusionmodules.model Encoder/Decoder).
type Config struct {
	// InChannels is the number of image channels the encoder reads (3).
	InChannels int
	// OutChannels is the number of image channels the decoder writes (3).
	OutChannels int
	// Ch is the base channel count (128 in SD, 32 in the tiny fixture).
	Ch int
	// ChMult multiplies Ch per resolution level, e.g. [1,2,4,4]; the encoder
	// halves the resolution after every level but the last, the decoder
	// doubles it before every level but level 0 (levels run in reverse).
	ChMult []int
	// NumResBlocks is the number of ResnetBlocks per encoder level; decoder
	// levels have NumResBlocks+1.
	NumResBlocks int
	// ZChannels is the latent channel count seen by the decoder (4).
	ZChannels int
	// EmbedDim is the channel count between quant_conv and post_quant_conv
	// (4 in SD; the latent the UNet sees has EmbedDim channels).
	EmbedDim int
	// DoubleZ is true when the encoder writes mean and log-variance
	// (2*ZChannels channels), as every SD VAE does.
	DoubleZ bool
	// MidAttention is true when both mid blocks carry attn_1 (single-head
	// self-attention over all pixels).
	MidAttention bool
	// AttnLevels[i] is true when every ResnetBlock of level i is followed by
	// an attention block (LDM attn_resolutions). All false in SD.
	AttnLevels []bool
	// Groups and Eps configure every GroupNorm (32 and 1e-6 in LDM); not
	// visible in shapes.
	Groups int
	Eps    float64
	// ScaleFactor is the family's latent scale (ScaleSD, ScaleSDXL); not
	// visible in shapes. The graphs do not apply it: Encode returns unscaled
	// moments and Decode takes an unscaled latent.
	ScaleFactor float64
}

// DefaultConfig is SD's VAE (SD1.x, SD2.x and SDXL share this architecture).
func DefaultConfig() Config {
	return Config{
		InChannels: 3, OutChannels: 3, Ch: 128, ChMult: []int{1, 2, 4, 4},
		NumResBlocks: 2, ZChannels: 4, EmbedDim: 4, DoubleZ: true,
		MidAttention: true, AttnLevels: make([]bool, 4),
		Groups: 32, Eps: 1e-6, ScaleFactor: ScaleSD,
	}
}

// normPrefix makes "first_stage_model" and "first_stage_model." the same.
func normPrefix(prefix string) string {
	if prefix != "" && !strings.HasSuffix(prefix, ".") {
		return prefix + "."
	}
	return prefix
}

// DetectConfig reads the VAE's architecture from the tensor shapes under
// prefix ("first_stage_model." in checkpoints, "" in standalone VAE files)
// and checks that every tensor the graphs read is present with the shape
// the architecture implies. Groups, Eps and ScaleFactor get SD's defaults;
// set ScaleFactor for SDXL or use ApplyHints.
func DetectConfig(shapes map[string][]int, prefix string) (Config, error) {
	prefix = normPrefix(prefix)
	get := func(key string, rank int) ([]int, error) {
		s, ok := shapes[prefix+key]
		if !ok {
			return nil, fmt.Errorf("vae: detect config: missing tensor %q", prefix+key)
		}
		if len(s) != rank {
			return nil, fmt.Errorf("vae: detect config: tensor %q has shape %v, want rank %d", prefix+key, s, rank)
		}
		return s, nil
	}
	has := func(key string) bool { _, ok := shapes[prefix+key]; return ok }

	cfg := DefaultConfig()
	convIn, err := get("encoder.conv_in.weight", 4)
	if err != nil {
		return cfg, err
	}
	cfg.Ch, cfg.InChannels = convIn[0], convIn[1]
	cfg.ChMult, cfg.AttnLevels = nil, nil
	for i := 0; has(fmt.Sprintf("encoder.down.%d.block.0.conv1.weight", i)); i++ {
		w, err := get(fmt.Sprintf("encoder.down.%d.block.0.conv1.weight", i), 4)
		if err != nil {
			return cfg, err
		}
		if w[0]%cfg.Ch != 0 {
			return cfg, fmt.Errorf("vae: detect config: encoder level %d has %d channels, not a multiple of ch %d", i, w[0], cfg.Ch)
		}
		cfg.ChMult = append(cfg.ChMult, w[0]/cfg.Ch)
		cfg.AttnLevels = append(cfg.AttnLevels, has(fmt.Sprintf("encoder.down.%d.attn.0.q.weight", i)))
	}
	if len(cfg.ChMult) == 0 {
		return cfg, fmt.Errorf("vae: detect config: missing tensor %q", prefix+"encoder.down.0.block.0.conv1.weight")
	}
	cfg.NumResBlocks = 0
	for has(fmt.Sprintf("encoder.down.0.block.%d.conv1.weight", cfg.NumResBlocks)) {
		cfg.NumResBlocks++
	}
	encOut, err := get("encoder.conv_out.weight", 4)
	if err != nil {
		return cfg, err
	}
	decIn, err := get("decoder.conv_in.weight", 4)
	if err != nil {
		return cfg, err
	}
	cfg.ZChannels = decIn[1]
	cfg.DoubleZ = encOut[0] == 2*cfg.ZChannels
	if !cfg.DoubleZ && encOut[0] != cfg.ZChannels {
		return cfg, fmt.Errorf("vae: detect config: encoder.conv_out writes %d channels for z_channels %d", encOut[0], cfg.ZChannels)
	}
	pq, err := get("post_quant_conv.weight", 4)
	if err != nil {
		return cfg, err
	}
	cfg.EmbedDim = pq[1]
	decOut, err := get("decoder.conv_out.weight", 4)
	if err != nil {
		return cfg, err
	}
	cfg.OutChannels = decOut[0]
	cfg.MidAttention = has("encoder.mid.attn_1.q.weight")
	return cfg, cfg.check(shapes, prefix)
}

// check verifies that every tensor of Shapes(cfg) is in shapes with the
// expected shape (attention projections may be Linear [C,C] instead of
// 1x1 convolutions).
func (cfg Config) check(shapes map[string][]int, prefix string) error {
	all := Shapes(cfg)
	for _, key := range Keys(cfg) {
		want := all[key]
		got, ok := shapes[prefix+key]
		if !ok {
			return fmt.Errorf("vae: detect config: missing tensor %q", prefix+key)
		}
		if !slices.Equal(got, want) && !(isAttnProj(key) && slices.Equal(got, want[:2])) {
			return fmt.Errorf("vae: detect config: tensor %q has shape %v, want %v", prefix+key, got, want)
		}
	}
	return nil
}

// isAttnProj reports whether key is an attention q/k/v/proj_out weight,
// which converted files may store as Linear [C,C].
func isAttnProj(key string) bool {
	if !strings.HasSuffix(key, ".weight") || !strings.Contains(key, "attn") {
		return false
	}
	name := strings.TrimSuffix(key, ".weight")
	name = name[strings.LastIndexByte(name, '.')+1:]
	return name == "q" || name == "k" || name == "v" || name == "proj_out"
}

// ApplyHints overrides the facts that shapes cannot show from a fixture
// manifest's models.<name>.ldm object (or its "vae" member): scale_factor,
// norm_groups (or groups) and eps. Architecture fields present in the hints
// (ch, ch_mult, num_res_blocks, z_channels, embed_dim, double_z) must agree
// with cfg when cfg was already detected.
func (cfg *Config) ApplyHints(raw json.RawMessage) error {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(raw, &outer); err != nil {
		return fmt.Errorf("vae: hints: %w", err)
	}
	if v, ok := outer["vae"]; ok {
		raw = v
	}
	var h struct {
		ScaleFactor  *float64 `json:"scale_factor"`
		NormGroups   *int     `json:"norm_groups"`
		Groups       *int     `json:"groups"`
		Eps          *float64 `json:"eps"`
		Ch           *int     `json:"ch"`
		ChMult       []int    `json:"ch_mult"`
		NumResBlocks *int     `json:"num_res_blocks"`
		ZChannels    *int     `json:"z_channels"`
		EmbedDim     *int     `json:"embed_dim"`
		DoubleZ      *bool    `json:"double_z"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("vae: hints: %w", err)
	}
	if h.ScaleFactor != nil {
		cfg.ScaleFactor = *h.ScaleFactor
	}
	if h.Groups != nil {
		cfg.Groups = *h.Groups
	}
	if h.NormGroups != nil {
		cfg.Groups = *h.NormGroups
	}
	if h.Eps != nil {
		cfg.Eps = *h.Eps
	}
	if cfg.Ch == 0 {
		return nil
	}
	mismatch := func(name string, hint, got any) error {
		return fmt.Errorf("vae: hints: %s is %v but the weights say %v", name, hint, got)
	}
	switch {
	case h.Ch != nil && *h.Ch != cfg.Ch:
		return mismatch("ch", *h.Ch, cfg.Ch)
	case h.ChMult != nil && !slices.Equal(h.ChMult, cfg.ChMult):
		return mismatch("ch_mult", h.ChMult, cfg.ChMult)
	case h.NumResBlocks != nil && *h.NumResBlocks != cfg.NumResBlocks:
		return mismatch("num_res_blocks", *h.NumResBlocks, cfg.NumResBlocks)
	case h.ZChannels != nil && *h.ZChannels != cfg.ZChannels:
		return mismatch("z_channels", *h.ZChannels, cfg.ZChannels)
	case h.EmbedDim != nil && *h.EmbedDim != cfg.EmbedDim:
		return mismatch("embed_dim", *h.EmbedDim, cfg.EmbedDim)
	case h.DoubleZ != nil && *h.DoubleZ != cfg.DoubleZ:
		return mismatch("double_z", *h.DoubleZ, cfg.DoubleZ)
	}
	return nil
}

// Keys lists, sorted, the tensor keys (without prefix) that Encode and
// Decode read for cfg.
func Keys(cfg Config) []string {
	m := Shapes(cfg)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Shapes gives the PyTorch shape of every tensor the graphs read for cfg,
// keyed without prefix; attention projections are given as 1x1 convs. It
// mirrors the structure of encoder and decoder below.
func Shapes(cfg Config) map[string][]int {
	m := map[string][]int{}
	conv := func(key string, out, in, k int) {
		m[key+".weight"] = []int{out, in, k, k}
		m[key+".bias"] = []int{out}
	}
	norm := func(key string, c int) {
		m[key+".weight"] = []int{c}
		m[key+".bias"] = []int{c}
	}
	resnet := func(key string, in, out int) {
		norm(key+".norm1", in)
		conv(key+".conv1", out, in, 3)
		norm(key+".norm2", out)
		conv(key+".conv2", out, out, 3)
		if in != out {
			conv(key+".nin_shortcut", out, in, 1)
		}
	}
	attn := func(key string, c int) {
		norm(key+".norm", c)
		for _, p := range []string{"q", "k", "v", "proj_out"} {
			conv(key+"."+p, c, c, 1)
		}
	}
	mid := func(key string, c int) {
		resnet(key+".block_1", c, c)
		if cfg.MidAttention {
			attn(key+".attn_1", c)
		}
		resnet(key+".block_2", c, c)
	}
	levels := len(cfg.ChMult)
	top := cfg.Ch * cfg.ChMult[levels-1]

	conv("encoder.conv_in", cfg.Ch, cfg.InChannels, 3)
	in := cfg.Ch
	for i, mult := range cfg.ChMult {
		out := cfg.Ch * mult
		for j := 0; j < cfg.NumResBlocks; j++ {
			resnet(fmt.Sprintf("encoder.down.%d.block.%d", i, j), in, out)
			if cfg.AttnLevels[i] {
				attn(fmt.Sprintf("encoder.down.%d.attn.%d", i, j), out)
			}
			in = out
		}
		if i != levels-1 {
			conv(fmt.Sprintf("encoder.down.%d.downsample.conv", i), out, out, 3)
		}
	}
	mid("encoder.mid", top)
	norm("encoder.norm_out", top)
	conv("encoder.conv_out", cfg.encoderOut(), top, 3)
	conv("quant_conv", cfg.momentChannels(), cfg.encoderOut(), 1)

	conv("post_quant_conv", cfg.ZChannels, cfg.EmbedDim, 1)
	conv("decoder.conv_in", top, cfg.ZChannels, 3)
	mid("decoder.mid", top)
	in = top
	for i := levels - 1; i >= 0; i-- {
		out := cfg.Ch * cfg.ChMult[i]
		for j := 0; j <= cfg.NumResBlocks; j++ {
			resnet(fmt.Sprintf("decoder.up.%d.block.%d", i, j), in, out)
			if cfg.AttnLevels[i] {
				attn(fmt.Sprintf("decoder.up.%d.attn.%d", i, j), out)
			}
			in = out
		}
		if i != 0 {
			conv(fmt.Sprintf("decoder.up.%d.upsample.conv", i), out, out, 3)
		}
	}
	norm("decoder.norm_out", cfg.Ch*cfg.ChMult[0])
	conv("decoder.conv_out", cfg.OutChannels, cfg.Ch*cfg.ChMult[0], 3)
	return m
}

// encoderOut is the channel count of encoder.conv_out.
func (cfg Config) encoderOut() int {
	if cfg.DoubleZ {
		return 2 * cfg.ZChannels
	}
	return cfg.ZChannels
}

// momentChannels is the channel count of quant_conv's output: mean and
// log-variance of EmbedDim channels each.
func (cfg Config) momentChannels() int { return 2 * cfg.EmbedDim }
