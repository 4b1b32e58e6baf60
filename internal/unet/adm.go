package unet

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph"

	"sdgo/internal/nn"
)

// ADMVector builds SDXL's extra conditioning y [B, ADMInChannels] from the
// pooled text embedding pooled [B, P] and the size conditioning sizes
// [B, N] (Float32): for the SDXL base model N = 6, the values being
// original height, original width, crop top, crop left, target height and
// target width in pixels; for the refiner N = 5 (original size, crop,
// aesthetic score). Each value gets the sinusoidal timestep embedding of
// width (ADMInChannels-P)/N (256), and y = [pooled, emb(v1), ..., emb(vN)],
// as sgm's ConcatTimestepEmbedderND and diffusers' add_time_ids do. The
// result is Float32; Forward casts it.
func ADMVector(cfg Config, pooled, sizes *Node) *Node {
	pd := pooled.Shape().Dimensions
	sd := sizes.Shape().Dimensions
	b, n := sd[0], sd[1]
	rest := cfg.ADMInChannels - pd[1]
	if cfg.ADMInChannels == 0 || rest <= 0 || rest%n != 0 || (rest/n)%2 != 0 {
		panic(fmt.Errorf("unet: ADM vector: adm_in_channels %d cannot hold pooled width %d and %d size embeddings",
			cfg.ADMInChannels, pd[1], n))
	}
	emb := nn.TimestepEmbedding(Reshape(sizes, b*n), rest/n) // [B*N, rest/N]
	emb = Reshape(emb, b, rest)
	return Concatenate([]*Node{ConvertDType(pooled, emb.DType()), emb}, -1)
}
