package nn

import (
	"math"

	"sdgo/internal/cudnn"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// Linear applies a PyTorch nn.Linear stored as s.weight [out, in] and an
// optional s.bias [out] to x [..., in], giving [..., out].
func Linear(s *Scope, x *Node) *Node {
	w := s.W("weight")
	y := DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{1}, nil)
	if s.Has("bias") {
		y = AddLast(y, s.W("bias"))
	}
	return y
}

// LinearJoined applies the Linear modules of s named modules to x as one
// matrix product over their weights joined along the output axis
// (Scope.Merged), and returns each module's output: outs[i] values of
// module i (nil outs: all equal). Either every module has a bias or none
// has. nil when the weights cannot be joined (weights set one by one, as in
// tests) or only some modules have a bias: the caller then applies each
// Linear on its own.
func LinearJoined(s *Scope, x *Node, modules []string, outs []int) []*Node {
	w := s.Merged(modules, "weight")
	if w == nil {
		return nil
	}
	b := s.Merged(modules, "bias")
	if b == nil {
		for _, m := range modules {
			if s.In(m).Has("bias") {
				return nil // some modules have a bias, others not
			}
		}
	}
	y := DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{1}, nil)
	if b != nil {
		y = AddLast(y, b)
	}
	if outs == nil {
		n := w.Shape().Dimensions[0] / len(modules)
		for range modules {
			outs = append(outs, n)
		}
	}
	parts := make([]*Node, len(modules))
	at := 0
	for i, n := range outs {
		parts[i] = SliceAxis(y, -1, AxisRange(at, at+n))
		at += n
	}
	return parts
}

// LinearOrConv1x1 applies a projection stored either as a Linear weight
// [out, in] or as a 1x1 convolution (SD1's proj_in/proj_out, the VAE's
// attention q/k/v) to x [..., in].
func LinearOrConv1x1(s *Scope, x *Node) *Node {
	w := s.W("weight")
	if w.Rank() == 4 {
		w = Reshape(w, w.Shape().Dimensions[0], -1) // [out, 1, 1, in]
	}
	y := DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{1}, nil)
	if s.Has("bias") {
		y = AddLast(y, s.W("bias"))
	}
	return y
}

// nhwcAxes describes NHWC images with [out, kh, kw, in] kernels (see
// KernelShape).
var nhwcAxes = backends.ConvolveAxesConfig{
	InputBatch: 0, InputSpatial: []int{1, 2}, InputChannels: 3,
	KernelOutputChannels: 0, KernelInputChannels: 3, KernelSpatial: []int{1, 2},
	OutputBatch: 0, OutputSpatial: []int{1, 2}, OutputChannels: 3,
}

// Conv2D applies a PyTorch nn.Conv2d (weight [out, kh, kw, in] as loaded by
// KernelTensor, optional bias) to x [B, H, W, in] with the given stride and
// symmetric padding.
func Conv2D(s *Scope, x *Node, stride, pad int) *Node {
	return Conv2DPad(s, x, stride, [][2]int{{pad, pad}, {pad, pad}})
}

// Conv2DPad is Conv2D with explicit (before, after) padding per spatial axis.
func Conv2DPad(s *Scope, x *Node, stride int, pads [][2]int) *Node {
	y := conv(s, x, s.W("weight"), stride, pads)
	if s.Has("bias") {
		y = AddLast(y, s.W("bias"))
	}
	return y
}

// conv convolves x [B, H, W, in] with the kernel w [out, kh, kw, in], as
// im2col when s asks for it.
func conv(s *Scope, x, w *Node, stride int, pads [][2]int) *Node {
	if s.Im2Col {
		return conv2DIm2Col(x, w, stride, pads)
	}
	return Convolve(x, w).AxesConfig(nhwcAxes).Strides(stride).PaddingPerDim(pads).Done()
}

// GroupNorm applies PyTorch's nn.GroupNorm (s.weight, s.bias of [C]) to
// x [B, ..., C] (channels last), computing statistics in Float32.
func GroupNorm(s *Scope, x *Node, groups int, eps float64) *Node {
	return GroupNormAdd(s, x, nil, groups, eps)
}

// GroupNormAdd is GroupNorm of x + add, where add [B, C] (nil for none) is
// added at every position, in Float32, inside the norm's own kernels: a
// ResBlock's time embedding then never becomes a tensor of x's size.
//
// The statistics take two passes (the mean, then the mean squared distance
// from it), each summing runs of groupNormRows positions first and then the
// partial sums. XLA reduces a whole group's positions (4096 rows of 320
// channels for SD 1.5 at 64x64) with few thread blocks; the runs give it
// thousands. The result is applied as one scale and shift per image and
// channel, so no centred copy of x is kept between the passes.
func GroupNormAdd(s *Scope, x, add *Node, groups int, eps float64) *Node {
	dims := x.Shape().Dimensions
	b, c := dims[0], dims[len(dims)-1]
	cg := c / groups
	hw := x.Shape().Size() / (b * c)
	xf := Reshape(ConvertDType(x, dtypes.Float32), b, hw, c)
	if add != nil {
		xf = Add(xf, Reshape(ConvertDType(add, dtypes.Float32), b, 1, c))
	}
	rows := groupNormRun(hw)
	x5 := Reshape(xf, b, hw/rows, rows, groups, cg)
	n := float64(hw * cg)
	// stat averages v [B, K, rows, G, cg] over each run, then over the runs
	// and the group's channels: [B, 1, 1, G, 1]. The scaling between the two
	// sums keeps XLA from merging them back into one reduction.
	stat := func(v *Node) *Node {
		part := MulScalar(ReduceSum(v, 2), 1/n)                   // [B, K, G, cg]
		return Reshape(ReduceSum(part, 1, 3), b, 1, 1, groups, 1) // [B, 1, 1, G, 1]
	}
	mean := stat(x5)
	variance := stat(Square(Sub(x5, mean)))
	inv := Rsqrt(AddScalar(variance, eps))
	gamma := Reshape(s.F32("weight"), 1, 1, 1, groups, cg)
	scale := Mul(inv, gamma) // [B, 1, 1, G, cg]
	shift := Sub(Reshape(s.F32("bias"), 1, 1, 1, groups, cg), Mul(mean, scale))
	y := Add(Mul(x5, scale), shift)
	return s.Cast(Reshape(y, dims...))
}

// groupNormRows is the run length GroupNormAdd sums first; 0 sums each
// group in one reduction.
var groupNormRows = 64

// groupNormRun returns the run length for hw positions: the largest divisor
// of hw from groupNormRows/4 to groupNormRows; hw itself (one reduction)
// when hw is that small or has no such divisor.
func groupNormRun(hw int) int {
	if groupNormRows <= 0 || hw <= groupNormRows {
		return hw
	}
	for r := groupNormRows; r >= max(2, groupNormRows/4); r-- {
		if hw%r == 0 {
			return r
		}
	}
	return hw
}

// LayerNorm applies PyTorch's nn.LayerNorm over the last axis with s.weight
// and s.bias, computing statistics in Float32.
func LayerNorm(s *Scope, x *Node, eps float64) *Node {
	xf := ConvertDType(x, dtypes.Float32)
	mean := ReduceAndKeep(xf, ReduceMean, -1)
	centered := Sub(xf, mean)
	variance := ReduceAndKeep(Square(centered), ReduceMean, -1)
	y := Mul(centered, Rsqrt(AddScalar(variance, eps)))
	y = AddLast(MulLast(y, s.F32("weight")), s.F32("bias"))
	return s.Cast(y)
}

// SiLU is x * sigmoid(x).
func SiLU(x *Node) *Node { return Mul(x, Sigmoid(x)) }

// GELU is the exact (erf) GELU, PyTorch's default.
func GELU(x *Node) *Node {
	return Mul(MulScalar(x, 0.5), OnePlus(Erf(MulScalar(x, 1/math.Sqrt2))))
}

// QuickGELU is OpenAI CLIP's x * sigmoid(1.702 x).
func QuickGELU(x *Node) *Node { return Mul(x, Sigmoid(MulScalar(x, 1.702))) }

// Attention is scaled dot-product attention over q [B, Lq, H*D],
// k and v [B, Lk, H*D] with heads heads, giving [B, Lq, H*D]. mask, if not
// nil, is added to the logits and must broadcast to [B, H, Lq, Lk]. The
// softmax runs in Float32. When the logits would exceed AttentionChunkBytes
// (SD 1.5's self-attention at 4096 tokens takes 512 MiB at batch 2, 4 GiB at
// batch 16) the queries are processed in chunks, each with the whole of k
// and v: the same arithmetic per query, with a fraction of the memory live
// at once. On XLA's CUDA backend, in half precision, unmasked attention is
// one cuDNN flash-attention kernel instead (package cudnn), which never
// holds the logits.
func Attention(q, k, v *Node, heads int, mask *Node) *Node {
	qd := q.Shape().Dimensions
	b, lq := qd[0], qd[1]
	lk := k.Shape().Dimensions[1]
	if mask == nil && cudnn.Eligible(q, k, v, heads) {
		d := qd[2] / heads
		out := cudnn.Attention(Reshape(q, b, lq, heads, d), Reshape(k, b, lk, heads, d),
			Reshape(v, b, lk, heads, d), 1/math.Sqrt(float64(d)))
		return Reshape(out, b, lq, qd[2])
	}
	per := int64(b) * int64(heads) * int64(lk) * int64(q.DType().Size()) // logits bytes per query
	chunk := lq
	if per*int64(lq) > AttentionChunkBytes && mask == nil {
		chunk = max(1, int(AttentionChunkBytes/per))
		for lq%chunk != 0 { // equal chunks: one compiled shape
			chunk--
		}
	}
	if chunk == lq {
		return attention(q, k, v, heads, mask)
	}
	parts := make([]*Node, 0, lq/chunk)
	for at := 0; at < lq; at += chunk {
		parts = append(parts, attention(Slice(q, AxisRange(), AxisRange(at, at+chunk)), k, v, heads, nil))
	}
	return Concatenate(parts, 1)
}

// AttentionChunkBytes bounds the attention logits held at once (see
// Attention). Measured on an H100 (SD 1.5 UNet, batch 16): chunks of 256 MiB
// took the peak from 34.4 to 4.8 GB and the call from 66 to 70 ms; at batch 2
// (512 MiB of logits) chunking only cost time, so the bound is 1 GiB.
var AttentionChunkBytes int64 = 1 << 30

func attention(q, k, v *Node, heads int, mask *Node) *Node {
	qd := q.Shape().Dimensions
	b, lq, inner := qd[0], qd[1], qd[2]
	lk := k.Shape().Dimensions[1]
	d := inner / heads
	q = Reshape(q, b, lq, heads, d)
	k = Reshape(k, b, lk, heads, d)
	v = Reshape(v, b, lk, heads, d)
	q = MulScalar(q, 1/math.Sqrt(float64(d)))
	// logits [B, H, Lq, Lk]
	logits := DotGeneral(q, []int{3}, []int{0, 2}, k, []int{3}, []int{0, 2})
	logits = ConvertDType(logits, dtypes.Float32)
	if mask != nil {
		logits = Add(logits, ConvertDType(mask, dtypes.Float32))
	}
	p := ConvertDType(Softmax(logits, -1), q.DType())
	// out [B, H, Lq, D]
	out := DotGeneral(p, []int{3}, []int{0, 1}, v, []int{1}, []int{0, 2})
	out = TransposeAllAxes(out, 0, 2, 1, 3)
	return Reshape(out, b, lq, inner)
}

// CausalMask returns a [1, 1, n, n] additive mask that hides future tokens.
func CausalMask(g *Graph, n int, dtype dtypes.DType) *Node {
	row := Iota(g, shapesOf(dtypes.Int32, n, n), 0)
	col := Iota(g, shapesOf(dtypes.Int32, n, n), 1)
	neg := Scalar(g, dtype, -1e9)
	if dtype == dtypes.Float16 {
		neg = Scalar(g, dtype, -6e4)
	}
	m := Where(GreaterThan(col, row), BroadcastToDims(neg, n, n), ZerosLike(BroadcastToDims(neg, n, n)))
	return Reshape(m, 1, 1, n, n)
}

// Upsample2x repeats every pixel of x [B, H, W, C] twice along both spatial
// axes (nearest neighbour), giving [B, 2H, 2W, C].
func Upsample2x(x *Node) *Node {
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	y := Reshape(x, b, h, 1, w, 1, c)
	y = BroadcastToDims(y, b, h, 2, w, 2, c)
	return Reshape(y, b, 2*h, 2*w, c)
}

// TimestepEmbedding is LDM's sinusoidal embedding of t [B] (Float32,
// possibly fractional): [cos(t*f), sin(t*f)] with f_i = 10000^(-i/half),
// giving [B, dim] in Float32.
func TimestepEmbedding(t *Node, dim int) *Node {
	g := t.Graph()
	half := dim / 2
	// PyTorch computes the frequencies in float32 step by step:
	// exp(float32(-ln 10000) * i / half); rounding each step the same way
	// matters because t*f is taken for t up to 999.
	freqs := make([]float32, half)
	for i := range freqs {
		e := float32(-math.Log(10000)) * float32(i) / float32(half)
		freqs[i] = float32(math.Exp(float64(e)))
	}
	f := Const(g, freqs)
	args := Mul(ExpandAxes(ConvertDType(t, dtypes.Float32), -1), ExpandAxes(f, 0))
	return Concatenate([]*Node{Cos(args), Sin(args)}, -1)
}

// AddLast adds vec [C] to x [..., C] along the last axis.
func AddLast(x, vec *Node) *Node { return Add(x, ExpandLeftToRank(vec, x.Rank())) }

// MulLast multiplies x [..., C] by vec [C] along the last axis.
func MulLast(x, vec *Node) *Node { return Mul(x, ExpandLeftToRank(vec, x.Rank())) }

// Conv2DNarrow is Conv2D for a convolution with fewer than n output
// channels (a VAE decoder's three colours): the kernel gets zero output
// channels up to n and the result is cut back. With 3 output channels
// cuDNN ran the SD decoder's 512x512 conv_out as a generic kernel taking
// 122 us of a 6.1 ms decode on an H100 (tools/gpu/prof15.sh), about six
// times the time to read its input once; 8 channels meet the alignment of
// its tensor-core kernels. (Its effect was measured only together with
// the folded upsampling, see UpsampleConv.)
func Conv2DNarrow(s *Scope, x *Node, stride, pad, n int) *Node {
	w := s.W("weight")
	o := w.Shape().Dimensions[0]
	if o >= n {
		return Conv2D(s, x, stride, pad)
	}
	d := w.Shape().Dimensions
	w = Concatenate([]*Node{w, Zeros(w.Graph(), shapesOf(w.DType(), n-o, d[1], d[2], d[3]))}, 0)
	y := conv(s, x, w, stride, [][2]int{{pad, pad}, {pad, pad}})
	y = SliceAxis(y, 3, AxisRange(0, o))
	if s.Has("bias") {
		y = AddLast(y, s.W("bias"))
	}
	return y
}
