package unet

import (
	"fmt"
	"sort"
)

// stage is one TimestepEmbedSequential of input_blocks or output_blocks:
// an optional ResBlock at index 0, an optional SpatialTransformer at
// index 1 and, for output stages, an optional Upsample after them; or, for
// input stages, a lone Downsample at index 0.
type stage struct {
	resIn, resOut int  // ResBlock channels (0 for a Downsample stage)
	depth         int  // SpatialTransformer depth; 0: none
	down          bool // the stage is a Downsample ("<i>.0.op")
	up            bool // an Upsample ("<i>.<n>.conv") ends the stage
	ch            int  // channels the stage outputs
}

// upIndex is the module index of the Upsample inside an output stage.
func (st stage) upIndex() int {
	if st.depth > 0 {
		return 2
	}
	return 1
}

// inputStages lists input_blocks 1.. (block 0 is the input conv) and the
// channels of every skip connection they push, starting with block 0's.
func (c Config) inputStages() (stages []stage, skips []int) {
	ch := c.ModelChannels
	skips = []int{ch}
	for level, m := range c.ChannelMult {
		for r := 0; r < c.NumResBlocks; r++ {
			out := m * c.ModelChannels
			stages = append(stages, stage{resIn: ch, resOut: out, depth: c.TransformerDepth[level], ch: out})
			ch = out
			skips = append(skips, ch)
		}
		if level != len(c.ChannelMult)-1 {
			stages = append(stages, stage{down: true, ch: ch})
			skips = append(skips, ch)
		}
	}
	return stages, skips
}

// middleChannels is the width of the middle block.
func (c Config) middleChannels() int {
	return c.ChannelMult[len(c.ChannelMult)-1] * c.ModelChannels
}

// outputStages lists output_blocks: each concatenates the latest skip
// connection to its input, so its ResBlock reads ch + skip channels.
func (c Config) outputStages() []stage {
	_, skips := c.inputStages()
	ch := c.middleChannels()
	var stages []stage
	for level := len(c.ChannelMult) - 1; level >= 0; level-- {
		out := c.ChannelMult[level] * c.ModelChannels
		for r := 0; r <= c.NumResBlocks; r++ {
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			st := stage{resIn: ch + skip, resOut: out, depth: c.TransformerDepth[level], ch: out}
			st.up = level > 0 && r == c.NumResBlocks
			stages = append(stages, st)
			ch = out
		}
	}
	return stages
}

// Shapes returns every tensor the UNet of c reads, keyed by checkpoint key
// (prefix + LDM name), with its PyTorch shape. Forward reads exactly these
// tensors; a checkpoint holds exactly these under model.diffusion_model.
func Shapes(c Config, prefix string) map[string][]int {
	sh := shapeSet{m: map[string][]int{}, prefix: normPrefix(prefix)}
	mc, ted := c.ModelChannels, c.TimeEmbedDim
	sh.conv("input_blocks.0.0", mc, c.InChannels, 3)
	sh.linear("time_embed.0", ted, mc)
	sh.linear("time_embed.2", ted, ted)
	if c.ADMInChannels > 0 {
		sh.linear("label_emb.0.0", ted, c.ADMInChannels)
		sh.linear("label_emb.0.2", ted, ted)
	}
	stages, _ := c.inputStages()
	for i, st := range stages {
		sh.stage(c, fmt.Sprintf("input_blocks.%d", i+1), st)
	}
	mid := c.middleChannels()
	sh.res(c, "middle_block.0", mid, mid)
	if c.MiddleDepth > 0 {
		sh.transformer(c, "middle_block.1", mid, c.MiddleDepth)
		sh.res(c, "middle_block.2", mid, mid)
	} else {
		sh.res(c, "middle_block.1", mid, mid)
	}
	outs := c.outputStages()
	for i, st := range outs {
		sh.stage(c, fmt.Sprintf("output_blocks.%d", i), st)
	}
	last := outs[len(outs)-1].ch
	sh.vec("out.0", last)
	sh.conv("out.2", c.OutChannels, last, 3)
	return sh.m
}

// Keys returns the sorted checkpoint keys of Shapes(c, prefix).
func Keys(c Config, prefix string) []string {
	m := Shapes(c, prefix)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type shapeSet struct {
	m      map[string][]int
	prefix string
}

func (s shapeSet) add(key string, dims ...int) { s.m[s.prefix+key] = dims }

// vec adds a weight and bias of [n] (norms).
func (s shapeSet) vec(key string, n int) {
	s.add(key+".weight", n)
	s.add(key+".bias", n)
}

func (s shapeSet) linear(key string, out, in int) {
	s.add(key+".weight", out, in)
	s.add(key+".bias", out)
}

func (s shapeSet) conv(key string, out, in, k int) {
	s.add(key+".weight", out, in, k, k)
	s.add(key+".bias", out)
}

func (s shapeSet) stage(c Config, key string, st stage) {
	if st.down {
		s.conv(key+".0.op", st.ch, st.ch, 3)
		return
	}
	s.res(c, key+".0", st.resIn, st.resOut)
	if st.depth > 0 {
		s.transformer(c, key+".1", st.resOut, st.depth)
	}
	if st.up {
		s.conv(fmt.Sprintf("%s.%d.conv", key, st.upIndex()), st.ch, st.ch, 3)
	}
}

func (s shapeSet) res(c Config, key string, in, out int) {
	s.vec(key+".in_layers.0", in)
	s.conv(key+".in_layers.2", out, in, 3)
	s.linear(key+".emb_layers.1", out, c.TimeEmbedDim)
	s.vec(key+".out_layers.0", out)
	s.conv(key+".out_layers.3", out, out, 3)
	if in != out {
		s.conv(key+".skip_connection", out, in, 1)
	}
}

func (s shapeSet) transformer(c Config, key string, ch, depth int) {
	s.vec(key+".norm", ch)
	for _, p := range []string{".proj_in", ".proj_out"} {
		if c.UseLinearProj {
			s.linear(key+p, ch, ch)
		} else {
			s.conv(key+p, ch, ch, 1)
		}
	}
	for d := 0; d < depth; d++ {
		b := fmt.Sprintf("%s.transformer_blocks.%d", key, d)
		for _, a := range []struct {
			name string
			kv   int
		}{{".attn1", ch}, {".attn2", c.ContextDim}} {
			s.add(b+a.name+".to_q.weight", ch, ch)
			s.add(b+a.name+".to_k.weight", ch, a.kv)
			s.add(b+a.name+".to_v.weight", ch, a.kv)
			s.linear(b+a.name+".to_out.0", ch, ch)
		}
		s.linear(b+".ff.net.0.proj", 8*ch, ch)
		s.linear(b+".ff.net.2", ch, 4*ch)
		s.vec(b+".norm1", ch)
		s.vec(b+".norm2", ch)
		s.vec(b+".norm3", ch)
	}
}
