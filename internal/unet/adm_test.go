package unet_test

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"sdgo/internal/unet"
)

// TestADMVector checks SDXL's y = [pooled, emb(orig h), emb(orig w),
// emb(crop top), emb(crop left), emb(target h), emb(target w)] against the
// sinusoidal formula written out (cos of the first half of the frequencies,
// then sin; f_i = 10000^(-i/128)).
func TestADMVector(t *testing.T) {
	const b, p, n, d = 2, 1280, 6, 256
	cfg := unet.Config{ADMInChannels: p + n*d}
	pooled := ramp(b * p)
	sizes := []float32{1024, 1024, 0, 0, 1024, 1024, 768, 1344, 16, 32, 832, 1216}
	exec, err := context.NewExec(goBackend(t), context.New(), func(ctx *context.Context, pooled, sizes *Node) *Node {
		return unet.ADMVector(cfg, pooled, sizes)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(pooled, b, p), tensors.FromFlatDataAndDimensions(sizes, b, n))
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Shape().Dimensions; got[0] != b || got[1] != cfg.ADMInChannels {
		t.Fatalf("shape %v, want [%d %d]", got, b, cfg.ADMInChannels)
	}
	y := tensors.MustCopyFlatData[float32](out[0])
	for r := 0; r < b; r++ {
		row := y[r*cfg.ADMInChannels : (r+1)*cfg.ADMInChannels]
		for i := 0; i < p; i++ {
			if row[i] != pooled[r*p+i] {
				t.Fatalf("row %d pooled[%d] = %v, want %v", r, i, row[i], pooled[r*p+i])
			}
		}
		for k := 0; k < n; k++ {
			v := float64(sizes[r*n+k])
			for i := 0; i < d/2; i++ {
				f := math.Exp(-math.Log(10000) * float64(i) / (d / 2))
				cos, sin := row[p+k*d+i], row[p+k*d+d/2+i]
				if math.Abs(float64(cos)-math.Cos(v*f)) > 2e-4 || math.Abs(float64(sin)-math.Sin(v*f)) > 2e-4 {
					t.Fatalf("row %d size %d freq %d: got (%v, %v), want (%v, %v)", r, k, i, cos, sin, math.Cos(v*f), math.Sin(v*f))
				}
			}
		}
	}
}
