package unet

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Config describes one LDM openaimodel UNet. DetectConfig fills every field
// it can from tensor shapes; the head layout and the parameterization are not
// visible in shapes and take family defaults that ApplyHints can override.
type Config struct {
	// InChannels is the number of latent channels the UNet reads: 4, or 9
	// for inpainting models (latent, mask, masked-image latent).
	InChannels int
	// OutChannels is the number of channels predicted (4).
	OutChannels int
	// ModelChannels is the width of the first level (320 for SD1/SD2/SDXL).
	ModelChannels int
	// ChannelMult multiplies ModelChannels per resolution level:
	// (1,2,4,4) for SD1/SD2, (1,2,4) for SDXL.
	ChannelMult []int
	// NumResBlocks is the number of ResBlocks per level on the way down
	// (the way up has one more).
	NumResBlocks int
	// TransformerDepth is the number of transformer blocks of the
	// SpatialTransformer after each ResBlock, per level; 0 means the level
	// has no attention (SDXL: 0, 2, 10).
	TransformerDepth []int
	// MiddleDepth is the transformer depth of the middle block (SDXL: 10).
	MiddleDepth int
	// ContextDim is the width of the cross-attention context
	// (768 SD1, 1024 SD2, 2048 SDXL).
	ContextDim int
	// UseLinearProj is true when the SpatialTransformer's proj_in/proj_out
	// are Linear layers (SD2, SDXL) rather than 1x1 convolutions (SD1).
	UseLinearProj bool
	// NumHeads is the number of attention heads at every level; used when
	// NumHeadChannels is 0 (SD1: 8).
	NumHeads int
	// NumHeadChannels, when > 0, fixes the head width instead, so a level
	// of C channels has C/NumHeadChannels heads (SD2, SDXL: 64).
	NumHeadChannels int
	// TimeEmbedDim is the width of the timestep embedding MLP (1280).
	TimeEmbedDim int
	// ADMInChannels is the width of the extra conditioning vector y added
	// to the time embedding through label_emb (SDXL: 2816 = pooled text
	// embedding 1280 + 6 size/crop/target embeddings of 256); 0 when the
	// model has no label_emb.
	ADMInChannels int
	// NormGroups is the GroupNorm group count (32).
	NormGroups int
	// Parameterization is what the UNet predicts, "eps" or "v". It does not
	// change the graph; it is carried for the denoiser wrapper.
	Parameterization string
}

// Norm epsilons of the LDM UNet: ResBlocks and the output norm use
// GroupNorm32 (1e-5); the SpatialTransformer's input norm uses 1e-6; the
// transformer blocks' LayerNorms use 1e-5.
const (
	resNormEps   = 1e-5
	attnNormEps  = 1e-6
	layerNormEps = 1e-5
)

// Heads returns the attention head count of a level of ch channels.
func (c Config) Heads(ch int) int {
	if c.NumHeadChannels > 0 {
		return ch / c.NumHeadChannels
	}
	return c.NumHeads
}

// Levels returns the number of resolution levels.
func (c Config) Levels() int { return len(c.ChannelMult) }

// normPrefix returns prefix with exactly one trailing dot (or "").
func normPrefix(prefix string) string {
	if prefix == "" || strings.HasSuffix(prefix, ".") {
		return prefix
	}
	return prefix + "."
}

// shapeReader reads shapes under a key prefix and remembers the first
// missing key.
type shapeReader struct {
	shapes map[string][]int
	prefix string
}

func (r shapeReader) has(key string) bool {
	_, ok := r.shapes[r.prefix+key]
	return ok
}

func (r shapeReader) get(key string, rank int) ([]int, error) {
	s, ok := r.shapes[r.prefix+key]
	if !ok {
		return nil, fmt.Errorf("unet: detect config: tensor %q is missing", r.prefix+key)
	}
	if len(s) != rank {
		return nil, fmt.Errorf("unet: detect config: tensor %q has shape %v, want rank %d", r.prefix+key, s, rank)
	}
	return s, nil
}

// depth counts the transformer blocks of the SpatialTransformer at key.
func (r shapeReader) depth(key string) int {
	d := 0
	for r.has(fmt.Sprintf("%s.transformer_blocks.%d.norm1.weight", key, d)) {
		d++
	}
	return d
}

// DetectConfig reads a UNet's architecture from the shapes of its tensors,
// whose checkpoint keys start with prefix (normally
// "model.diffusion_model."). The head layout defaults to 8 heads for
// 1x1-conv projections (SD1) and 64-channel heads for linear projections
// (SD2, SDXL); ApplyHints overrides it. The result is checked against every
// tensor it implies: a missing tensor or a wrong shape is an error naming
// the key.
func DetectConfig(shapes map[string][]int, prefix string) (Config, error) {
	r := shapeReader{shapes: shapes, prefix: normPrefix(prefix)}
	c := Config{NormGroups: 32, Parameterization: "eps"}
	convIn, err := r.get("input_blocks.0.0.weight", 4)
	if err != nil {
		return c, err
	}
	c.ModelChannels, c.InChannels = convIn[0], convIn[1]
	convOut, err := r.get("out.2.weight", 4)
	if err != nil {
		return c, err
	}
	c.OutChannels = convOut[0]
	te, err := r.get("time_embed.0.weight", 2)
	if err != nil {
		return c, err
	}
	c.TimeEmbedDim = te[0]
	if r.has("label_emb.0.0.weight") {
		le, err := r.get("label_emb.0.0.weight", 2)
		if err != nil {
			return c, err
		}
		c.ADMInChannels = le[1]
	}
	if err := r.detectLevels(&c); err != nil {
		return c, err
	}
	if err := r.detectAttention(&c); err != nil {
		return c, err
	}
	if c.UseLinearProj {
		c.NumHeadChannels = 64
	} else {
		c.NumHeads = 8
	}
	return c, c.check(r)
}

// detectLevels walks input_blocks: ResBlocks give each level's width and
// SpatialTransformer depth, Downsample ops separate the levels.
func (r shapeReader) detectLevels(c *Config) error {
	var resCount []int
	level := 0
	for i := 1; ; i++ {
		if r.has(fmt.Sprintf("input_blocks.%d.0.op.weight", i)) {
			level++
			continue
		}
		key := fmt.Sprintf("input_blocks.%d.0.in_layers.2.weight", i)
		if !r.has(key) {
			break
		}
		w, err := r.get(key, 4)
		if err != nil {
			return err
		}
		if w[0]%c.ModelChannels != 0 {
			return fmt.Errorf("unet: detect config: %s%s has %d output channels, not a multiple of model channels %d", r.prefix, key, w[0], c.ModelChannels)
		}
		depth := r.depth(fmt.Sprintf("input_blocks.%d.1", i))
		switch {
		case level > len(c.ChannelMult):
			return fmt.Errorf("unet: detect config: level %d has no ResBlocks", level-1)
		case level == len(c.ChannelMult):
			c.ChannelMult = append(c.ChannelMult, w[0]/c.ModelChannels)
			c.TransformerDepth = append(c.TransformerDepth, depth)
			resCount = append(resCount, 0)
		case c.ChannelMult[level] != w[0]/c.ModelChannels || c.TransformerDepth[level] != depth:
			return fmt.Errorf("unet: detect config: input block %d differs from the other blocks of level %d", i, level)
		}
		resCount[level]++
	}
	if len(c.ChannelMult) == 0 || len(c.ChannelMult) != level+1 {
		return fmt.Errorf("unet: detect config: no ResBlocks found under %sinput_blocks", r.prefix)
	}
	c.NumResBlocks = resCount[0]
	for l, n := range resCount {
		if n != c.NumResBlocks {
			return fmt.Errorf("unet: detect config: level %d has %d ResBlocks, level 0 has %d", l, n, c.NumResBlocks)
		}
	}
	return nil
}

// detectAttention reads the middle block's depth, the context width and
// the projection kind from the first SpatialTransformer found.
func (r shapeReader) detectAttention(c *Config) error {
	c.MiddleDepth = r.depth("middle_block.1")
	key := ""
	if c.MiddleDepth > 0 {
		key = "middle_block.1"
	}
	for i := 1; key == "" && i <= len(c.ChannelMult)*(c.NumResBlocks+1); i++ {
		if r.depth(fmt.Sprintf("input_blocks.%d.1", i)) > 0 {
			key = fmt.Sprintf("input_blocks.%d.1", i)
		}
	}
	if key == "" {
		return nil // no attention anywhere
	}
	k, err := r.get(key+".transformer_blocks.0.attn2.to_k.weight", 2)
	if err != nil {
		return err
	}
	c.ContextDim = k[1]
	p, ok := r.shapes[r.prefix+key+".proj_in.weight"]
	if !ok {
		return fmt.Errorf("unet: detect config: tensor %q is missing", r.prefix+key+".proj_in.weight")
	}
	c.UseLinearProj = len(p) == 2
	return nil
}

// check verifies that every tensor the config implies is present with the
// right shape.
func (c Config) check(r shapeReader) error {
	for key, want := range Shapes(c, r.prefix) {
		got, ok := r.shapes[key]
		if !ok {
			return fmt.Errorf("unet: detect config: tensor %q is missing", key)
		}
		if !equalInts(got, want) {
			return fmt.Errorf("unet: detect config: tensor %q has shape %v, want %v", key, got, want)
		}
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

// hints is the subset of an LDM model config (the "unet" object of a
// fixture manifest's models.<name>.ldm, or the params of an LDM yaml) that
// shapes cannot show.
type hints struct {
	NumHeads         *int    `json:"num_heads"`
	NumHeadChannels  *int    `json:"num_head_channels"`
	NormGroups       *int    `json:"norm_groups"`
	Parameterization *string `json:"parameterization"`
}

// ApplyHints overrides the facts shapes cannot show from an LDM-style JSON
// object: either the UNet's own object or one holding it under "unet". It
// reads num_heads, num_head_channels (which wins when > 0, as in LDM),
// norm_groups and parameterization; other fields are ignored.
func (c *Config) ApplyHints(raw json.RawMessage) error {
	var wrap struct {
		UNet json.RawMessage `json:"unet"`
	}
	if err := json.Unmarshal(raw, &wrap); err != nil {
		return fmt.Errorf("unet: apply hints: %w", err)
	}
	if len(wrap.UNet) > 0 {
		raw = wrap.UNet
	}
	var h hints
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("unet: apply hints: %w", err)
	}
	switch {
	case h.NumHeadChannels != nil && *h.NumHeadChannels > 0:
		c.NumHeadChannels, c.NumHeads = *h.NumHeadChannels, 0
	case h.NumHeads != nil && *h.NumHeads > 0:
		c.NumHeads, c.NumHeadChannels = *h.NumHeads, 0
	}
	if h.NormGroups != nil && *h.NormGroups > 0 {
		c.NormGroups = *h.NormGroups
	}
	if h.Parameterization != nil && *h.Parameterization != "" {
		c.Parameterization = *h.Parameterization
	}
	return nil
}
