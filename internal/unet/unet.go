package unet

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"

	"sdgo/internal/nn"
)

// Forward runs the UNet of cfg with its weights under s (positioned at
// "model.diffusion_model"):
//
//	x       [B, InChannels, H, W]  latent (NCHW), any float dtype
//	t       [B] or [1]             timesteps, float32, may be fractional
//	context [B, L, ContextDim]     cross-attention context
//	y       [B, ADMInChannels]     SDXL's ADM vector, nil when cfg has none
//
// and returns the prediction [B, OutChannels, H, W] in Float32. H and W need
// not be multiples of 8: each Upsample produces the size of the skip
// connection it meets (as diffusers and ComfyUI do; LDM's plain 2x would
// fail on odd sizes). Port of LDM openaimodel.UNetModel.forward.
func Forward(s *nn.Scope, cfg Config, x, t, context, y *Node) *Node {
	b := x.Shape().Dimensions[0]
	emb := timeEmbed(s, cfg, t, b)
	if cfg.ADMInChannels > 0 {
		if y == nil {
			panic(fmt.Errorf("unet: the model has label_emb (adm_in_channels %d) but y is nil", cfg.ADMInChannels))
		}
		emb = Add(emb, mlp(s.In("label_emb.0"), s.Cast(y)))
	}
	if context != nil {
		context = s.Cast(context)
	}
	c := newConds(s, cfg, emb, context)
	h := s.Cast(TransposeAllAxes(x, 0, 2, 3, 1))
	h = nn.Conv2D(s.In("input_blocks.0.0"), h, 1, 1)
	skips := []*Node{h}
	stages, _ := cfg.inputStages()
	for i, st := range stages {
		h = inputStage(s.Inf("input_blocks.%d", i+1), cfg, st, h, c)
		skips = append(skips, h)
	}
	h = middle(s.In("middle_block"), cfg, h, c)
	for i, st := range cfg.outputStages() {
		h = Concatenate([]*Node{h, skips[len(skips)-1]}, -1)
		skips = skips[:len(skips)-1]
		var size []int
		if st.up {
			size = skips[len(skips)-1].Shape().Dimensions[1:3]
		}
		h = outputStage(s.Inf("output_blocks.%d", i), cfg, st, h, c, size)
	}
	h = nn.SiLU(nn.GroupNorm(s.In("out.0"), h, cfg.NormGroups, resNormEps))
	h = nn.Conv2D(s.In("out.2"), h, 1, 1)
	return ConvertDType(TransposeAllAxes(h, 0, 3, 1, 2), dtypes.Float32)
}

// timeEmbed is time_embed(timestep_embedding(t, ModelChannels)) [B, TimeEmbedDim];
// the sinusoidal part is computed in Float32 like PyTorch.
func timeEmbed(s *nn.Scope, cfg Config, t *Node, b int) *Node {
	t = Reshape(t, -1)
	if n := t.Shape().Dimensions[0]; n != b {
		if n != 1 {
			panic(fmt.Errorf("unet: %d timesteps for a batch of %d", n, b))
		}
		t = BroadcastToDims(t, b)
	}
	e := s.Cast(nn.TimestepEmbedding(t, cfg.ModelChannels))
	return mlp(s.In("time_embed"), e)
}

// mlp is LDM's Sequential(Linear, SiLU, Linear) stored as s.0 and s.2.
func mlp(s *nn.Scope, x *Node) *Node {
	return nn.Linear(s.In("2"), nn.SiLU(nn.Linear(s.In("0"), x)))
}

// inputStage applies input_blocks.i: a Downsample (3x3 conv, stride 2,
// pad 1, "op"), or a ResBlock followed by an optional SpatialTransformer.
func inputStage(s *nn.Scope, cfg Config, st stage, h *Node, c *conds) *Node {
	if st.down {
		return nn.Conv2D(s.In("0.op"), h, 2, 1)
	}
	h = resBlock(s.In("0"), cfg, h, c)
	if st.depth > 0 {
		h = spatialTransformer(s.In("1"), cfg, h, c, st.depth)
	}
	return h
}

// outputStage applies output_blocks.i: ResBlock, optional
// SpatialTransformer, optional Upsample (nearest to size, then 3x3 conv).
func outputStage(s *nn.Scope, cfg Config, st stage, h *Node, c *conds, size []int) *Node {
	h = resBlock(s.In("0"), cfg, h, c)
	if st.depth > 0 {
		h = spatialTransformer(s.In("1"), cfg, h, c, st.depth)
	}
	if st.up {
		h = nn.UpsampleConv(s.Inf("%d.conv", st.upIndex()), h, size[0], size[1])
	}
	return h
}

// middle applies middle_block: ResBlock, SpatialTransformer, ResBlock (or
// two ResBlocks when the middle block has no attention).
func middle(s *nn.Scope, cfg Config, h *Node, c *conds) *Node {
	h = resBlock(s.In("0"), cfg, h, c)
	if cfg.MiddleDepth == 0 {
		return resBlock(s.In("1"), cfg, h, c)
	}
	h = spatialTransformer(s.In("1"), cfg, h, c, cfg.MiddleDepth)
	return resBlock(s.In("2"), cfg, h, c)
}

// resBlock is LDM's ResBlock on h [B, H, W, Cin] with the time embedding
// of c, giving [B, H, W, Cout]:
// out_layers(in_layers(h) + emb_layers(emb)) + skip_connection(h).
func resBlock(s *nn.Scope, cfg Config, h *Node, c *conds) *Node {
	r := nn.SiLU(nn.GroupNorm(s.In("in_layers.0"), h, cfg.NormGroups, resNormEps))
	r = nn.Conv2D(s.In("in_layers.2"), r, 1, 1)
	e := c.embedding(s) // [B, Cout]
	d := e.Shape().Dimensions
	// The embedding is added inside the norm: added here, XLA would hand
	// it to the convolution above as a full-size side input.
	r = nn.SiLU(nn.GroupNormAdd(s.In("out_layers.0"), r, e, cfg.NormGroups, resNormEps))
	r = nn.Conv2D(s.In("out_layers.3"), r, 1, 1)
	if h.Shape().Dimensions[3] != d[1] {
		// A matrix product, not a 1x1 convolution: XLA runs convolutions
		// outside its CUDA graphs, and each one splits the step's graph in
		// two. A graph launch costs the host ~42 us, the costliest
		// convolution launches 40-130 us (H100, JAX's profiler on sdgo's
		// step; the host spends ~5 ms launching each 6.5 ms SD 1.5 step).
		h = nn.LinearOrConv1x1(s.In("skip_connection"), h)
	}
	return Add(h, r)
}
