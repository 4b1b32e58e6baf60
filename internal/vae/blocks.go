package vae

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX graph DSL

	"sdgo/internal/nn"
)

// norm is the LDM Normalize layer: GroupNorm(cfg.Groups, eps cfg.Eps).
func norm(s *nn.Scope, cfg Config, x *Node) *Node {
	return nn.GroupNorm(s, x, cfg.Groups, cfg.Eps)
}

// resnetBlock is LDM's ResnetBlock without time embedding on x [B,H,W,in]:
// conv2(silu(norm2(conv1(silu(norm1(x)))))) plus x, through the 1x1
// nin_shortcut when the channel count changes. Gives [B,H,W,out].
func resnetBlock(s *nn.Scope, cfg Config, x *Node) *Node {
	h := nn.SiLU(norm(s.In("norm1"), cfg, x))
	h = nn.Conv2D(s.In("conv1"), h, 1, 1)
	h = nn.SiLU(norm(s.In("norm2"), cfg, h))
	h = nn.Conv2D(s.In("conv2"), h, 1, 1)
	if x.Shape().Dim(-1) != h.Shape().Dim(-1) {
		x = nn.LinearOrConv1x1(s.In("nin_shortcut"), x)
	}
	return Add(x, h)
}

// attnBlock is LDM's AttnBlock on x [B,H,W,C]: single-head self-attention
// over the H*W pixels of norm(x), with q, k, v and proj_out stored as 1x1
// convs [C,C,1,1] or Linear [C,C], added to x.
func attnBlock(s *nn.Scope, cfg Config, x *Node) *Node {
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	hn := Reshape(norm(s.In("norm"), cfg, x), b, h*w, c)
	q := nn.LinearOrConv1x1(s.In("q"), hn)
	k := nn.LinearOrConv1x1(s.In("k"), hn)
	v := nn.LinearOrConv1x1(s.In("v"), hn)
	o := nn.LinearOrConv1x1(s.In("proj_out"), nn.Attention(q, k, v, 1, nil))
	return Add(x, Reshape(o, b, h, w, c))
}

// mid is the middle of encoder and decoder: block_1, attn_1, block_2.
func mid(s *nn.Scope, cfg Config, x *Node) *Node {
	x = resnetBlock(s.In("block_1"), cfg, x)
	if cfg.MidAttention {
		x = attnBlock(s.In("attn_1"), cfg, x)
	}
	return resnetBlock(s.In("block_2"), cfg, x)
}

// downsample is LDM's Downsample with conv: pad bottom and right by one,
// then a 3x3 stride-2 convolution without padding: [B,H,W,C] ->
// [B,ceil(H/2),ceil(W/2),C].
func downsample(s *nn.Scope, x *Node) *Node {
	return nn.Conv2DPad(s.In("conv"), x, 2, [][2]int{{0, 1}, {0, 1}})
}

// upsample is LDM's Upsample with conv: nearest 2x, then a 3x3 conv.
func upsample(s *nn.Scope, x *Node) *Node {
	d := x.Shape().Dimensions
	return nn.UpsampleConv(s.In("conv"), x, 2*d[1], 2*d[2])
}

// encoder is LDM's Encoder on x [B,H,W,in] (NHWC, compute dtype), giving
// [B,H/2^(L-1),W/2^(L-1),2z] (z channels when not DoubleZ).
func encoder(s *nn.Scope, cfg Config, x *Node) *Node {
	h := nn.Conv2D(s.In("conv_in"), x, 1, 1)
	for i := range cfg.ChMult {
		for j := 0; j < cfg.NumResBlocks; j++ {
			h = resnetBlock(s.Inf("down.%d.block.%d", i, j), cfg, h)
			if cfg.AttnLevels[i] {
				h = attnBlock(s.Inf("down.%d.attn.%d", i, j), cfg, h)
			}
		}
		if i != len(cfg.ChMult)-1 {
			h = downsample(s.Inf("down.%d.downsample", i), h)
		}
	}
	h = mid(s.In("mid"), cfg, h)
	h = nn.SiLU(norm(s.In("norm_out"), cfg, h))
	return nn.Conv2D(s.In("conv_out"), h, 1, 1)
}

// decoder is LDM's Decoder on z [B,h,w,z] (NHWC, compute dtype), giving
// [B,h*2^(L-1),w*2^(L-1),out].
func decoder(s *nn.Scope, cfg Config, z *Node) *Node {
	h := nn.Conv2D(s.In("conv_in"), z, 1, 1)
	h = mid(s.In("mid"), cfg, h)
	for i := len(cfg.ChMult) - 1; i >= 0; i-- {
		for j := 0; j <= cfg.NumResBlocks; j++ {
			h = resnetBlock(s.Inf("up.%d.block.%d", i, j), cfg, h)
			if cfg.AttnLevels[i] {
				h = attnBlock(s.Inf("up.%d.attn.%d", i, j), cfg, h)
			}
		}
		if i != 0 {
			h = upsample(s.Inf("up.%d.upsample", i), h)
		}
	}
	h = nn.SiLU(norm(s.In("norm_out"), cfg, h))
	return nn.Conv2DNarrow(s.In("conv_out"), h, 1, 1, 8)
}
