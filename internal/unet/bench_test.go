package unet_test

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"sdgo/internal/testutil"
)

// BenchmarkForwardTiny times one tiny-sd1 UNet call on the go backend
// (compilation excluded): batch 1 and a CFG batch of 2 at the fixtures'
// 8x8 latent, and a 32x32 latent (a 256x256 image).
func BenchmarkForwardTiny(b *testing.B) {
	m := testutil.Fixtures(b)
	ctx := testutil.Context(b, m.Path("tiny-sd1/model.safetensors"), prefix, "")
	u := newTinyUNet(b, m, ctx)
	for _, bc := range []struct{ batch, size int }{{1, 8}, {2, 8}, {1, 32}} {
		b.Run(fmt.Sprintf("b%d_%dx%d", bc.batch, bc.size, bc.size), func(b *testing.B) {
			x := tensors.FromFlatDataAndDimensions(ramp(bc.batch*4*bc.size*bc.size), bc.batch, 4, bc.size, bc.size)
			ts := tensors.FromFlatDataAndDimensions(make([]float32, bc.batch), bc.batch)
			c := tensors.FromFlatDataAndDimensions(ramp(bc.batch*77*u.cfg.ContextDim), bc.batch, 77, u.cfg.ContextDim)
			u.run(b, x, ts, c) // compile
			b.ResetTimer()
			for range b.N {
				u.run(b, x, ts, c)
			}
		})
	}
}
