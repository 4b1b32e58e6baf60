package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"sdgo/internal/cudnn"
	"sdgo/internal/fixture"
	"sdgo/internal/nn"
	"sdgo/internal/safetensors"
)

func tinyRunner(t *testing.T, dtype dtypes.DType) (*Runner, *safetensors.File) {
	t.Helper()
	dir, err := fixture.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(filepath.Join(dir, "tiny-sd1", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	b, err := OpenBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	return NewRunner(b, f, dtype), f
}

func TestRunnerLoadsWeightsLazily(t *testing.T) {
	r, f := tinyRunner(t, dtypes.Float32)
	const key = "cond_stage_model.transformer.text_model.final_layer_norm.weight"
	want, _, err := f.Float32(key)
	if err != nil {
		t.Fatal(err)
	}
	probe := func(s *nn.Scope, in []*Node) []*Node {
		w := s.In("cond_stage_model.transformer.text_model.final_layer_norm").W("weight")
		return []*Node{Add(w, in[0])}
	}
	zeros := tensors.FromFlatDataAndDimensions(make([]float32, len(want)), len(want))
	out, err := r.Run("probe", probe, zeros)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Float32s(out[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("weight[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestRunnerMissingTensorIsAnError(t *testing.T) {
	r, _ := tinyRunner(t, dtypes.Float32)
	probe := func(s *nn.Scope, in []*Node) []*Node {
		return []*Node{Add(s.In("no.such.module").W("weight"), in[0])}
	}
	_, err := r.Run("missing", probe, tensors.FromFlatDataAndDimensions([]float32{0}, 1))
	if err == nil || !strings.Contains(err.Error(), "no.such.module.weight") {
		t.Fatalf("err = %v, want one naming the missing key", err)
	}
}

func TestResolveBackendSpec(t *testing.T) {
	tests := []struct{ in, want, errPart string }{
		{"go", GoBackendConfig, ""},
		{"xla:/opt/p.so", "xla:/opt/p.so", ""},
		{"tpu", "", "unknown backend"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ResolveBackendSpec(tt.in)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want %q", err, tt.errPart)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFindCUDAPluginSaysWhereItLooked(t *testing.T) {
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	p, err := FindCUDAPlugin()
	if err == nil {
		t.Skipf("a CUDA plugin is installed here (%s)", p.Path)
	}
	if !strings.Contains(err.Error(), "PJRT_PLUGIN_LIBRARY_PATH") || !strings.Contains(err.Error(), "jax_plugins") {
		t.Fatalf("error does not say where it looked and how to fix it: %v", err)
	}
}

// A graph whose fused attention fails (here: the custom call cannot be
// spliced into the pure-Go backend's graph, as a GPU without cuDNN flash
// attention would refuse to compile it) is built again with plain
// attention, and the fused path stays off; a graph failing for another
// reason (no fused attention in it) is not retried.
func TestRunnerFallsBackFromFusedAttention(t *testing.T) {
	if !cudnn.Enabled() {
		t.Skip("SDGO_FMHA=0 turned the fused path off")
	}
	r, _ := tinyRunner(t, dtypes.Float32)
	builds := 0
	bad := func(s *nn.Scope, in []*Node) []*Node {
		builds++
		return []*Node{Add(s.In("no.such.module").W("weight"), in[0])}
	}
	if _, err := r.Run("bad", bad, tensors.FromFlatDataAndDimensions([]float32{0}, 1)); err == nil || builds != 1 {
		t.Fatalf("err %v after %d builds, want an error after 1", err, builds)
	}
	builds = 0
	attn := func(s *nn.Scope, in []*Node) []*Node {
		builds++
		q := Reshape(in[0], 1, 4, 2, 8) // [B, L, H, D]
		if cudnn.Enabled() {
			return []*Node{Reshape(cudnn.Attention(q, q, q, 0.25), 1, 4, 16)}
		}
		return []*Node{nn.Attention(in[0], in[0], in[0], 2, nil)}
	}
	x := make([]float32, 4*16)
	for i := range x {
		x[i] = float32(i%7) * 0.1
	}
	out, err := r.Run("attn", attn, tensors.FromFlatDataAndDimensions(x, 1, 4, 16))
	if err != nil {
		t.Fatalf("no fallback: %v", err)
	}
	if builds != 2 || cudnn.Enabled() {
		t.Fatalf("builds %d, fused enabled %v; want 2 builds and the fused path off", builds, cudnn.Enabled())
	}
	if got, _ := Float32s(out[0]); len(got) != len(x) {
		t.Fatalf("%d outputs, want %d", len(got), len(x))
	}
}

// TestXLAFlagDefaults checks that sdgo's XLA flags are added to XLA_FLAGS
// and that a flag the user set is left as it is.
func TestXLAFlagDefaults(t *testing.T) {
	for _, tc := range []struct{ before, want string }{
		{"", "--xla_disable_hlo_passes=dot-merger"},
		{"--xla_dump_to=/tmp/x", "--xla_dump_to=/tmp/x --xla_disable_hlo_passes=dot-merger"},
		{"--xla_disable_hlo_passes=fusion", "--xla_disable_hlo_passes=fusion"},
	} {
		t.Setenv("XLA_FLAGS", tc.before)
		xlaPasses()
		if got := os.Getenv("XLA_FLAGS"); got != tc.want {
			t.Errorf("XLA_FLAGS %q: got %q, want %q", tc.before, got, tc.want)
		}
	}
}
