package clip

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Layout is the key layout of a text encoder's weights.
type Layout int

const (
	// LayoutHF is transformers' CLIPTextModel under the prefix
	// (".text_model." included): embeddings.token_embedding,
	// embeddings.position_embedding, encoder.layers.N.{layer_norm1,
	// self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2},
	// final_layer_norm and, for CLIPTextModelWithProjection,
	// text_projection.weight [proj, width] (a Linear).
	LayoutHF Layout = iota
	// LayoutOpenCLIP is OpenCLIP's text tower: token_embedding,
	// positional_embedding, transformer.resblocks.N.{ln_1,
	// attn.in_proj_weight/in_proj_bias (q, k, v stacked), attn.out_proj,
	// ln_2, mlp.c_fc, mlp.c_proj}, ln_final and text_projection
	// [width, proj] (applied as x @ text_projection).
	LayoutOpenCLIP
)

func (l Layout) String() string {
	if l == LayoutOpenCLIP {
		return "openclip"
	}
	return "hf"
}

// Activation is the MLP non-linearity.
type Activation int

const (
	// QuickGELU is x*sigmoid(1.702x), OpenAI CLIP's (CLIP-L, SD1).
	QuickGELU Activation = iota
	// GELU is the exact erf GELU, OpenCLIP-H and bigG's.
	GELU
)

func (a Activation) String() string {
	if a == GELU {
		return "gelu"
	}
	return "quick_gelu"
}

// ParseActivation reads an activation name as configs spell it:
// "quick_gelu" (or "quickgelu") and "gelu".
func ParseActivation(name string) (Activation, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "quick_gelu", "quickgelu":
		return QuickGELU, nil
	case "gelu":
		return GELU, nil
	}
	return 0, fmt.Errorf("clip: activation %q: want quick_gelu or gelu", name)
}

// Config holds every architecture fact of a CLIP text encoder.
type Config struct {
	Layout    Layout     // key layout of the weights
	Width     int        // hidden size: 768 CLIP-L, 1024 OpenCLIP-H, 1280 bigG
	Layers    int        // transformer layers present in the weights (12, 24, 32)
	Heads     int        // attention heads; not in shapes, default Width/64
	MLP       int        // inner width of the MLP, normally 4*Width
	Vocab     int        // token embedding rows, 49408
	Positions int        // position embedding rows, 77
	Act       Activation // not in shapes; default QuickGELU for HF, GELU for OpenCLIP
	ProjDim   int        // output size of text_projection; 0 when there is none
	Eps       float64    // LayerNorm epsilon, 1e-5 for every known encoder
}

// Validate checks that the config describes a buildable network.
func (c Config) Validate() error {
	switch {
	case c.Width <= 0 || c.Layers <= 0 || c.MLP <= 0 || c.Vocab <= 0 || c.Positions <= 0:
		return fmt.Errorf("clip: config %+v: sizes must be positive", c)
	case c.Heads <= 0 || c.Width%c.Heads != 0:
		return fmt.Errorf("clip: config: %d heads do not divide width %d", c.Heads, c.Width)
	}
	return nil
}

// names are the key names of a layout, relative to the encoder's prefix
// (scopes) or to their scope (the tensor names posName).
type names struct {
	tokenEmb          string // scope of the token embedding "weight"
	posScope, posName string // position embedding: scope and tensor name
	layer             string // format of a layer's scope, with %d
	ln1, ln2          string
	qkv               string // OpenCLIP's attention (in_proj_*); HF uses q/k/v
	outProj, fc1, fc2 string
	finalLN           string
}

var layoutNames = map[Layout]names{
	LayoutHF: {
		tokenEmb: "embeddings.token_embedding", posScope: "embeddings.position_embedding", posName: "weight",
		layer: "encoder.layers.%d", ln1: "layer_norm1", ln2: "layer_norm2", qkv: "self_attn",
		outProj: "self_attn.out_proj", fc1: "mlp.fc1", fc2: "mlp.fc2", finalLN: "final_layer_norm",
	},
	LayoutOpenCLIP: {
		tokenEmb: "token_embedding", posName: "positional_embedding",
		layer: "transformer.resblocks.%d", ln1: "ln_1", ln2: "ln_2", qkv: "attn",
		outProj: "attn.out_proj", fc1: "mlp.c_fc", fc2: "mlp.c_proj", finalLN: "ln_final",
	},
}

// key joins scope parts and a tensor name into a key below the prefix.
func key(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p != "" {
			nonEmpty = append(nonEmpty, p)
		}
	}
	return strings.Join(nonEmpty, ".")
}

// DetectConfig reads a text encoder's config from the tensor shapes of a
// checkpoint, for the encoder whose keys start with prefix (for example
// "cond_stage_model.transformer.text_model." for SD1,
// "cond_stage_model.model." for SD2, "conditioner.embedders.1.model." for
// SDXL's bigG; the trailing dot is optional). Heads and Act get the family
// defaults; ApplyHints overrides them.
func DetectConfig(shapes map[string][]int, prefix string) (Config, error) {
	if prefix != "" && !strings.HasSuffix(prefix, ".") {
		prefix += "."
	}
	var c Config
	switch {
	case shapes[prefix+key(layoutNames[LayoutOpenCLIP].tokenEmb, "weight")] != nil:
		c.Layout, c.Act = LayoutOpenCLIP, GELU
	case shapes[prefix+key(layoutNames[LayoutHF].tokenEmb, "weight")] != nil:
		c.Layout, c.Act = LayoutHF, QuickGELU
	default:
		return c, fmt.Errorf("clip: detect config: missing %q (or %q)",
			prefix+key(layoutNames[LayoutHF].tokenEmb, "weight"), prefix+key(layoutNames[LayoutOpenCLIP].tokenEmb, "weight"))
	}
	n := layoutNames[c.Layout]
	get := func(key string, rank int) ([]int, error) {
		s, ok := shapes[prefix+key]
		if !ok {
			return nil, fmt.Errorf("clip: detect config: missing %q", prefix+key)
		}
		if len(s) != rank {
			return nil, fmt.Errorf("clip: detect config: %q has shape %v, want rank %d", prefix+key, s, rank)
		}
		return s, nil
	}
	tok, err := get(key(n.tokenEmb, "weight"), 2)
	if err != nil {
		return c, err
	}
	c.Vocab, c.Width = tok[0], tok[1]
	pos, err := get(key(n.posScope, n.posName), 2)
	if err != nil {
		return c, err
	}
	c.Positions = pos[0]
	for shapes[prefix+key(fmt.Sprintf(n.layer, c.Layers), n.ln1, "weight")] != nil {
		c.Layers++
	}
	if c.Layers == 0 {
		return c, fmt.Errorf("clip: detect config: missing %q", prefix+key(fmt.Sprintf(n.layer, 0), n.ln1, "weight"))
	}
	fc, err := get(key(fmt.Sprintf(n.layer, 0), n.fc1, "weight"), 2)
	if err != nil {
		return c, err
	}
	c.MLP = fc[0]
	if p, ok := shapes[prefix+"text_projection"]; ok && c.Layout == LayoutOpenCLIP && len(p) == 2 {
		c.ProjDim = p[1]
	}
	if p, ok := shapes[prefix+"text_projection.weight"]; ok && c.Layout == LayoutHF && len(p) == 2 {
		c.ProjDim = p[0]
	}
	c.Heads = max(1, c.Width/64)
	c.Eps = 1e-5
	return c, c.Validate()
}

// Hints are the facts a model description may give that shapes cannot: the
// JSON object of a fixture manifest's models.<name>.ldm.text (or a similar
// config). Fields absent from the JSON leave the config unchanged.
type Hints struct {
	Heads     int     `json:"heads"`
	NumHeads  int     `json:"num_heads"`
	HeadDim   int     `json:"head_dim"`
	Act       string  `json:"act"`
	HiddenAct string  `json:"hidden_act"`
	Eps       float64 `json:"layer_norm_eps"`
}

// ApplyHints overrides Heads, Act and Eps from a JSON object such as
// {"heads": 4, "act": "quick_gelu"} (also accepted: num_heads, head_dim,
// hidden_act, layer_norm_eps). Other fields are ignored.
func (c *Config) ApplyHints(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var h Hints
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("clip: hints: %w", err)
	}
	switch {
	case h.Heads > 0:
		c.Heads = h.Heads
	case h.NumHeads > 0:
		c.Heads = h.NumHeads
	case h.HeadDim > 0 && c.Width%h.HeadDim == 0:
		c.Heads = c.Width / h.HeadDim
	}
	act := h.Act
	if act == "" {
		act = h.HiddenAct
	}
	if act != "" {
		a, err := ParseActivation(act)
		if err != nil {
			return fmt.Errorf("clip: hints: %w", err)
		}
		c.Act = a
	}
	if h.Eps > 0 {
		c.Eps = h.Eps
	}
	return c.Validate()
}

// WeightShapes lists every tensor the graph functions read for c, keyed
// relative to the encoder's prefix, with its shape: what a loader must find
// in a checkpoint (extra keys such as position_ids or logit_scale are not
// needed). OpenCLIP's text_projection is listed only when ProjDim > 0.
func (c Config) WeightShapes() map[string][]int {
	n := layoutNames[c.Layout]
	out := map[string][]int{
		key(n.tokenEmb, "weight"):  {c.Vocab, c.Width},
		key(n.posScope, n.posName): {c.Positions, c.Width},
		key(n.finalLN, "weight"):   {c.Width},
		key(n.finalLN, "bias"):     {c.Width},
	}
	for i := 0; i < c.Layers; i++ {
		l := fmt.Sprintf(n.layer, i)
		for _, norm := range []string{n.ln1, n.ln2} {
			out[key(l, norm, "weight")] = []int{c.Width}
			out[key(l, norm, "bias")] = []int{c.Width}
		}
		linears := map[string][2]int{n.outProj: {c.Width, c.Width}, n.fc1: {c.MLP, c.Width}, n.fc2: {c.Width, c.MLP}}
		if c.Layout == LayoutHF {
			for _, p := range []string{"q_proj", "k_proj", "v_proj"} {
				linears[key(n.qkv, p)] = [2]int{c.Width, c.Width}
			}
		} else {
			out[key(l, n.qkv, "in_proj_weight")] = []int{3 * c.Width, c.Width}
			out[key(l, n.qkv, "in_proj_bias")] = []int{3 * c.Width}
		}
		for name, s := range linears {
			out[key(l, name, "weight")] = []int{s[0], s[1]}
			out[key(l, name, "bias")] = []int{s[0]}
		}
	}
	if c.ProjDim > 0 {
		if c.Layout == LayoutHF {
			out["text_projection.weight"] = []int{c.ProjDim, c.Width}
		} else {
			out["text_projection"] = []int{c.Width, c.ProjDim}
		}
	}
	return out
}
