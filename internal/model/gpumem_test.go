package model

import (
	"path/filepath"
	"testing"

	"sdgo/internal/checkpoint"
	"sdgo/internal/fixture"
)

func TestParseGPU(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want gpu
		ok   bool
	}{
		{"NVIDIA H100 80GB HBM3, 81559\n", gpu{"NVIDIA H100 80GB HBM3", 81559 << 20}, true},
		{"NVIDIA H200, 143771\nNVIDIA H200, 143771\n", gpu{"NVIDIA H200", 143771 << 20}, true},
		{"A, B, 100", gpu{"A, B", 100 << 20}, true},
		{"", gpu{}, false},
		{"NVIDIA H100, [N/A]", gpu{}, false},
		{", 100", gpu{}, false},
		{"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", gpu{}, false},
	} {
		got, ok := parseGPU(tc.out)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseGPU(%q) = %+v, %v; want %+v, %v", tc.out, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAllocatorOptions(t *testing.T) {
	h100 := gpu{"NVIDIA H100 80GB HBM3", 80 << 30}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		reserve int64
		card    gpu
		known   bool
		want    map[string]any
	}{
		{"reserve on a known card", nil, 2 << 30, h100, true,
			map[string]any{"allocator": "cuda_async", "preallocate": true, "memory_fraction": float32(0.025)}},
		{"no reserve", nil, 0, h100, true, map[string]any{"preallocate": false}},
		{"unknown card", nil, 2 << 30, gpu{}, false, map[string]any{"preallocate": false}},
		{"reserve capped at 90%", nil, 100 << 30, h100, true,
			map[string]any{"allocator": "cuda_async", "preallocate": true, "memory_fraction": float32(0.9)}},
		{"env picks bfc", map[string]string{"SDGO_XLA_ALLOCATOR": "bfc"}, 2 << 30, h100, true,
			map[string]any{"allocator": "bfc", "preallocate": false}},
		{"env fraction", map[string]string{"SDGO_XLA_MEMORY_FRACTION": "0.5"}, 2 << 30, h100, true,
			map[string]any{"allocator": "cuda_async", "preallocate": true, "memory_fraction": float32(0.5)}},
		{"env preallocate off", map[string]string{"SDGO_XLA_PREALLOCATE": "0"}, 2 << 30, h100, true,
			map[string]any{"allocator": "cuda_async", "preallocate": false, "memory_fraction": float32(0.025)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"SDGO_XLA_ALLOCATOR", "SDGO_XLA_MEMORY_FRACTION", "SDGO_XLA_PREALLOCATE"} {
				t.Setenv(k, tc.env[k])
			}
			got := allocatorOptions(tc.reserve, tc.card, tc.known)
			if len(got) != len(tc.want) {
				t.Fatalf("options %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v (%T), want %v", k, got[k], got[k], v)
				}
			}
		})
	}
}

// The reserve counts the networks' weights (not EMA copies) in the compute
// dtype, plus 320 MiB for an SD1 image's activations.
func TestGPUReserve(t *testing.T) {
	dir, err := fixture.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Open(filepath.Join(dir, "tiny-sd1", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	var all, nets int64
	for _, name := range ck.Names() {
		ti, _ := ck.Info(name)
		all += int64(ti.NumElements())
		if isNetworkKey(name) {
			nets += int64(ti.NumElements())
		}
	}
	if nets == 0 || nets == all {
		t.Fatalf("network elements %d of %d: the tiny model has schedule buffers outside the networks", nets, all)
	}
	if got, want := gpuReserve(ck, 2, 1), 2*nets+320<<20; got != want {
		t.Errorf("f16 reserve %d, want %d", got, want)
	}
	if got, want := gpuReserve(ck, 2, 0), gpuReserve(ck, 2, 1); got != want {
		t.Errorf("f16 reserve for 0 images %d, want batch 1's %d", got, want)
	}
	if d := gpuReserve(ck, 4, 1) - gpuReserve(ck, 2, 1); d != 2*nets {
		t.Errorf("f32 - f16 reserve = %d, want %d", d, 2*nets)
	}
	if d := gpuReserve(ck, 2, 8) - gpuReserve(ck, 2, 1); d != 7*400<<20 {
		t.Errorf("batch 8 - batch 1 reserve = %d, want 7 x 400 MiB", d)
	}
	for _, tc := range []struct {
		key string
		net bool
	}{
		{"model.diffusion_model.input_blocks.0.0.weight", true},
		{"first_stage_model.decoder.conv_in.weight", true},
		{"cond_stage_model.transformer.text_model.final_layer_norm.weight", true},
		{"conditioner.embedders.1.model.ln_final.weight", true},
		{"model_ema.diffusion_modelinput_blocks00weight", false},
		{"alphas_cumprod", false},
	} {
		if got := isNetworkKey(tc.key); got != tc.net {
			t.Errorf("isNetworkKey(%q) = %v", tc.key, got)
		}
	}
}
