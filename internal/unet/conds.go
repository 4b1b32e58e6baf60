package unet

import (
	"maps"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph"

	"sdgo/internal/nn"
)

// conds is what every block of one UNet call reads besides its input: the
// time embedding and the cross-attention context. The blocks' own
// projections of them (each ResBlock's emb_layers, each cross-attention's
// to_k and to_v) do not depend on the block's input, so they are computed
// up front as two matrix products over joined weights (nn.LinearJoined)
// instead of dozens of small ones, where the model's loader can join them.
type conds struct {
	emb, context *Node
	root         string              // the UNet scope's path
	embs         map[string]*Node    // ResBlock path -> [B, Cout]
	kv           map[string][2]*Node // attn2 path -> keys, values [B, L, inner]
}

func newConds(s *nn.Scope, cfg Config, emb, context *Node) *conds {
	c := &conds{emb: emb, context: context, root: s.Path()}
	shapes := Shapes(cfg, "")
	var embMods, kvMods []string
	var embOuts, kvOuts []int
	for _, key := range slices.Sorted(maps.Keys(shapes)) {
		switch {
		case strings.HasSuffix(key, ".emb_layers.1.weight"):
			embMods = append(embMods, strings.TrimSuffix(key, ".weight"))
			embOuts = append(embOuts, shapes[key][0])
		case strings.HasSuffix(key, ".attn2.to_k.weight"):
			attn := strings.TrimSuffix(key, ".to_k.weight")
			kvMods = append(kvMods, attn+".to_k", attn+".to_v")
			kvOuts = append(kvOuts, shapes[key][0], shapes[attn+".to_v.weight"][0])
		}
	}
	if len(embMods) > 0 {
		if parts := nn.LinearJoined(s, nn.SiLU(emb), embMods, embOuts); parts != nil {
			c.embs = map[string]*Node{}
			for i, m := range embMods {
				c.embs[strings.TrimSuffix(m, ".emb_layers.1")] = parts[i]
			}
		}
	}
	if len(kvMods) > 0 && context != nil {
		if parts := nn.LinearJoined(s, context, kvMods, kvOuts); parts != nil {
			c.kv = map[string][2]*Node{}
			for i := 0; i < len(kvMods); i += 2 {
				c.kv[strings.TrimSuffix(kvMods[i], ".to_k")] = [2]*Node{parts[i], parts[i+1]}
			}
		}
	}
	return c
}

// rel is the path of scope s below the UNet's root.
func (c *conds) rel(s *nn.Scope) string {
	return strings.TrimPrefix(s.Path(), c.root+".")
}

// embedding is the time-embedding projection of the ResBlock at s [B, Cout].
func (c *conds) embedding(s *nn.Scope) *Node {
	if e, ok := c.embs[c.rel(s)]; ok {
		return e
	}
	return nn.Linear(s.In("emb_layers.1"), nn.SiLU(c.emb))
}

// keysValues are the cross-attention at s's keys and values of the context.
func (c *conds) keysValues(s *nn.Scope) (k, v *Node) {
	if kv, ok := c.kv[c.rel(s)]; ok {
		return kv[0], kv[1]
	}
	return nn.Linear(s.In("to_k"), c.context), nn.Linear(s.In("to_v"), c.context)
}
