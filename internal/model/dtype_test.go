package model

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

func TestComputeDType(t *testing.T) {
	t.Setenv(BackendEnv, "")
	for _, tc := range []struct {
		dtype, backend string
		want           dtypes.DType
		err            string // part of the error, "" for none
	}{
		{"", "", dtypes.Float32, ""},
		{"", "go", dtypes.Float32, ""},
		{"", "xla:/opt/pjrt_c_api_cuda_plugin.so", dtypes.Float16, ""},
		{"bf16", "go", dtypes.BFloat16, ""},
		{"f32", "xla:/opt/plugin.so", dtypes.Float32, ""},
		{"fp16", "xla:/opt/plugin.so", dtypes.Float16, ""},
		{"f16", "go", dtypes.InvalidDType, "cannot compute in f16"},
		{"f16", "", dtypes.InvalidDType, "--backend cuda"},
		{"f8", "go", dtypes.InvalidDType, "use f32, f16 or bf16"},
		{"", "tpu", dtypes.InvalidDType, "unknown backend"},
	} {
		got, err := ComputeDType(tc.dtype, tc.backend)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ComputeDType(%q, %q) error %v, want one saying %q", tc.dtype, tc.backend, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ComputeDType(%q, %q) = %v, %v; want %v", tc.dtype, tc.backend, got, err, tc.want)
		}
	}
}
