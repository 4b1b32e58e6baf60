package unet

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph"

	"sdgo/internal/nn"
)

// spatialTransformer is LDM's SpatialTransformer on h [B, H, W, C] with
// context [B, L, ContextDim]: GroupNorm (eps 1e-6), proj_in (1x1 conv or
// Linear, the same map on channels-last data), depth transformer blocks on
// the H*W tokens, proj_out, plus the input.
func spatialTransformer(s *nn.Scope, cfg Config, h *Node, cd *conds, depth int) *Node {
	d := h.Shape().Dimensions
	b, hh, ww, c := d[0], d[1], d[2], d[3]
	heads := cfg.Heads(c)
	if heads <= 0 || c%heads != 0 {
		panic(fmt.Errorf("unet: %s: %d channels cannot be split into %d heads (num_heads %d, num_head_channels %d)",
			s.Path(), c, heads, cfg.NumHeads, cfg.NumHeadChannels))
	}
	x := nn.GroupNorm(s.In("norm"), h, cfg.NormGroups, attnNormEps)
	x = Reshape(nn.LinearOrConv1x1(s.In("proj_in"), x), b, hh*ww, c)
	for i := 0; i < depth; i++ {
		x = transformerBlock(s.Inf("transformer_blocks.%d", i), x, cd, heads)
	}
	x = nn.LinearOrConv1x1(s.In("proj_out"), x)
	return Add(h, Reshape(x, b, hh, ww, c))
}

// transformerBlock is LDM's BasicTransformerBlock on x [B, N, C]:
// self-attention, cross-attention on c's context, GEGLU feed-forward,
// each after a LayerNorm and with a residual connection.
func transformerBlock(s *nn.Scope, x *Node, c *conds, heads int) *Node {
	n := nn.LayerNorm(s.In("norm1"), x, layerNormEps)
	self := s.In("attn1")
	x = Add(x, attention(self, n, nn.Linear(self.In("to_k"), n), nn.Linear(self.In("to_v"), n), heads))
	cross := s.In("attn2")
	k, v := c.keysValues(cross)
	n = nn.LayerNorm(s.In("norm2"), x, layerNormEps)
	x = Add(x, attention(cross, n, k, v, heads))
	n = nn.LayerNorm(s.In("norm3"), x, layerNormEps)
	ff := nn.Linear(s.In("ff.net.2"), nn.GEGLU(s.In("ff.net.0.proj"), n))
	return Add(x, ff)
}

// attention is LDM's CrossAttention given the keys and values k, v
// [B, L, inner] (to_k and to_v of the context): bias-free to_q on x
// [B, N, C], multi-head attention, then to_out.0.
func attention(s *nn.Scope, x, k, v *Node, heads int) *Node {
	q := nn.Linear(s.In("to_q"), x)
	return nn.Linear(s.In("to_out.0"), nn.Attention(q, k, v, heads, nil))
}
