package clip

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads better unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"sdgo/internal/nn"
)

// Output says which tensors Encode computes.
type Output struct {
	// Skip selects hidden state -Skip in transformers' hidden_states list:
	// 1 is the last layer's output, 2 the penultimate layer's (webui's
	// "Clip skip 2"). 0 counts as 1. Layers after the selected one are not
	// run unless Pooled asks for them.
	Skip int
	// FinalNorm passes the selected hidden state through the final
	// LayerNorm (SD1 and SD2 do; SDXL does not).
	FinalNorm bool
	// Pooled also computes the pooled embedding: the last layer's output
	// after the final LayerNorm, at the EOS position (the first occurrence
	// of the largest id in each row, as transformers and OpenCLIP find it),
	// multiplied by the text projection when the config has one.
	Pooled bool
}

// SD1Output is what webui feeds SD1's UNet for the "Clip skip" setting
// (1 = last layer): hidden state -clipSkip through the final LayerNorm.
func SD1Output(clipSkip int) Output { return Output{Skip: max(clipSkip, 1), FinalNorm: true} }

// SD2Output is SD2's conditioning (LDM's FrozenOpenCLIPEmbedder with layer
// "penultimate"): the penultimate layer's output through ln_final. webui
// ignores its "Clip skip" setting for SD2 and always uses this.
var SD2Output = Output{Skip: 2, FinalNorm: true}

// SDXLOutput is what SDXL's conditioner takes from each of its encoders: the
// penultimate hidden state without the final LayerNorm (CLIP-L's and bigG's
// are concatenated to 2048 channels by the caller). pooled is set for bigG,
// whose pooled output (last layer, ln_final, EOS, text_projection) feeds
// the UNet's vector conditioning.
func SDXLOutput(pooled bool) Output { return Output{Skip: 2, Pooled: pooled} }

// Forward encodes ids [B, L] (integer token ids, L <= cfg.Positions,
// normally 77) with s positioned at the encoder's key prefix. hidden
// [B, L, Width] is hidden state -skip through the final LayerNorm (skip 1:
// transformers' last_hidden_state; skip 2: webui's "Clip skip 2"). pooled
// is [B, ProjDim] when cfg has a text projection and nil otherwise; use
// Encode to choose exactly what is computed.
func Forward(s *nn.Scope, cfg Config, ids *Node, skip int) (hidden, pooled *Node) {
	return Encode(s, cfg, ids, Output{Skip: skip, FinalNorm: true, Pooled: cfg.ProjDim > 0})
}

// Encode encodes ids [B, L] as out asks, with s positioned at the encoder's
// key prefix. hidden is [B, L, Width] in s.DType; pooled is [B, ProjDim]
// ([B, Width] without a projection) when out.Pooled, else nil. It panics
// (with an error) on a skip beyond the layers or a missing weight.
// Reference: transformers' CLIPTextTransformer, OpenCLIP's encode_text.
func Encode(s *nn.Scope, cfg Config, ids *Node, out Output) (hidden, pooled *Node) {
	return encode(s, cfg, ids, nil, nil, out)
}

// EncodeWithVectors is Encode with some input vectors given instead of
// looked up: where replace [B, L] (Bool) is true, the token embedding is
// taken from vecs [B, L, Width] (any float dtype) rather than from the
// token table; position embeddings are added as usual. This is how
// textual-inversion embeddings enter the encoder (webui's
// EmbeddingsWithFixes). ids still decide the pooled output's EOS position.
func EncodeWithVectors(s *nn.Scope, cfg Config, ids, vecs, replace *Node, out Output) (hidden, pooled *Node) {
	return encode(s, cfg, ids, vecs, replace, out)
}

func encode(s *nn.Scope, cfg Config, ids, vecs, replace *Node, out Output) (hidden, pooled *Node) {
	skip := max(out.Skip, 1)
	if skip > cfg.Layers {
		panic(fmt.Errorf("clip: encode: skip %d, but the encoder has %d layers", skip, cfg.Layers))
	}
	n := layoutNames[cfg.Layout]
	x := embed(s, cfg, ids, vecs, replace)
	mask := nn.CausalMask(ids.Graph(), ids.Shape().Dimensions[1], dtypes.Float32)
	stop := cfg.Layers - skip + 1
	run := stop
	if out.Pooled {
		run = cfg.Layers
	}
	for i := 0; i < run; i++ {
		x = block(s.Inf(n.layer, i), cfg, x, mask)
		if i+1 == stop {
			hidden = x
		}
	}
	final := s.In(n.finalLN)
	var lastNormed *Node
	if out.Pooled {
		lastNormed = nn.LayerNorm(final, x, cfg.Eps)
		pooled = pool(s, cfg, lastNormed, ids)
	}
	if out.FinalNorm {
		if skip == 1 && lastNormed != nil {
			hidden = lastNormed
		} else {
			hidden = nn.LayerNorm(final, hidden, cfg.Eps)
		}
	}
	return hidden, pooled
}

// embed returns token plus position embeddings [B, L, Width] of ids [B, L],
// with the token embeddings taken from vecs where replace is true (both
// nil for none).
func embed(s *nn.Scope, cfg Config, ids, vecs, replace *Node) *Node {
	n := layoutNames[cfg.Layout]
	l := ids.Shape().Dimensions[1]
	if l > cfg.Positions {
		panic(fmt.Errorf("clip: encode: %d tokens, but the encoder has %d positions", l, cfg.Positions))
	}
	// Gather from the stored table, then cast only the gathered rows.
	tok := s.Cast(Gather(s.In(n.tokenEmb).Raw("weight"), ExpandAxes(ids, -1)))
	if vecs != nil {
		cond := BroadcastToDims(ExpandAxes(replace, -1), tok.Shape().Dimensions...)
		tok = Where(cond, s.Cast(vecs), tok)
	}
	pos := s.In(n.posScope).W(n.posName)
	if l < cfg.Positions {
		pos = Slice(pos, AxisRange(0, l))
	}
	return Add(tok, ExpandAxes(pos, 0))
}

// block is one pre-LayerNorm transformer layer on x [B, L, Width]:
// x += out_proj(attention(ln1(x))); x += fc2(act(fc1(ln2(x)))).
func block(s *nn.Scope, cfg Config, x, mask *Node) *Node {
	n := layoutNames[cfg.Layout]
	h := nn.LayerNorm(s.In(n.ln1), x, cfg.Eps)
	q, k, v := qkv(s.In(n.qkv), cfg, h)
	a := nn.Attention(q, k, v, cfg.Heads, mask)
	x = Add(x, nn.Linear(s.In(n.outProj), a))
	h = nn.Linear(s.In(n.fc1), nn.LayerNorm(s.In(n.ln2), x, cfg.Eps))
	if cfg.Act == GELU {
		h = nn.GELU(h)
	} else {
		h = nn.QuickGELU(h)
	}
	return Add(x, nn.Linear(s.In(n.fc2), h))
}

// qkv projects h [B, L, Width] to queries, keys and values: three Linears
// (HF q_proj/k_proj/v_proj) or one stacked in_proj (OpenCLIP) split in 3.
func qkv(s *nn.Scope, cfg Config, h *Node) (q, k, v *Node) {
	if cfg.Layout == LayoutHF {
		return nn.Linear(s.In("q_proj"), h), nn.Linear(s.In("k_proj"), h), nn.Linear(s.In("v_proj"), h)
	}
	y := DotGeneral(h, []int{h.Rank() - 1}, nil, s.W("in_proj_weight"), []int{1}, nil)
	y = nn.AddLast(y, s.W("in_proj_bias"))
	parts := Split(y, -1, 3)
	return parts[0], parts[1], parts[2]
}

// pool picks x [B, L, Width] at each row's EOS position (the first
// occurrence of the largest id of ids [B, L]) and applies the text
// projection if there is one, giving [B, ProjDim] or [B, Width].
func pool(s *nn.Scope, cfg Config, x, ids *Node) *Node {
	g := ids.Graph()
	b, l := ids.Shape().Dimensions[0], ids.Shape().Dimensions[1]
	top := BroadcastToDims(ReduceAndKeep(ids, ReduceMax, 1), b, l)
	pos := Iota(g, shapes.Make(dtypes.Int32, b, l), 1)
	none := BroadcastToDims(Scalar(g, dtypes.Int32, l), b, l)
	eos := ReduceMin(Where(Equal(ids, top), pos, none), 1)
	pick := OneHot(eos, l, x.DType())                                // [B, L]
	p := DotGeneral(pick, []int{1}, []int{0}, x, []int{1}, []int{0}) // [B, Width]
	if cfg.ProjDim == 0 {
		return p
	}
	if cfg.Layout == LayoutHF {
		return nn.Linear(s.In("text_projection"), p)
	}
	return DotGeneral(p, []int{1}, nil, s.W("text_projection"), []int{0}, nil)
}
