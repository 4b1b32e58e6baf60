package verify

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"sdgo/internal/fixture"
)

// TestTolerancesByPrecision: network cases keep the fixtures' float32
// tolerances in f32 and get the stated half-precision ones (never tighter
// than the case's) in f16 and bf16; exact tolerances stay exact.
func TestTolerancesByPrecision(t *testing.T) {
	c := &fixture.Case{Tolerance: fixture.Tolerance{Atol: 2e-5, Rtol: 1e-4}}
	wide := &fixture.Case{Tolerance: fixture.Tolerance{Atol: 3, Rtol: 1e-3}, ToleranceUint8: &fixture.Tolerance{MaxAbs: 3}}
	exact := &fixture.Case{Tolerance: fixture.Tolerance{Exact: true}}
	for _, tc := range []struct {
		dtype, backend       string
		forward, guided, lat float64
		uint8, wideUint8     float64
		suffix               string
	}{
		{"", "go", 2e-5, 2e-5, 2e-5, 2, 3, ""},
		{"f32", "xla:/opt/plugin.so", 2e-5, 2e-5, 2e-5, 2, 3, ""},
		{"", "xla:/opt/plugin.so", 6e-3, 5e-2, 1, 2, 3, " (f16)"},
		{"bf16", "go", 1e-1, 5e-1, 2, 6, 6, " (bf16)"},
		{"f16", "go", 2e-5, 2e-5, 2e-5, 2, 3, ""}, // not runnable: the model load says why
	} {
		r := &Runner{Opts: Options{DType: tc.dtype, Backend: tc.backend}}
		name := tc.dtype + "/" + tc.backend
		for k, want := range map[outputKind]float64{forwardOut: tc.forward, guidedOut: tc.guided, sampledOut: tc.lat} {
			if got := r.tol(c, k); got.Atol != want || got.Rtol != 1e-4 || got.Exact {
				t.Errorf("%s: kind %d tolerance %+v, want atol %g rtol 1e-4", name, k, got, want)
			}
			if got := r.tol(wide, k); got.Atol != 3 {
				t.Errorf("%s: kind %d narrowed a case's atol 3 to %g", name, k, got.Atol)
			}
			if got := r.tol(exact, k); !got.Exact {
				t.Errorf("%s: kind %d made an exact tolerance %+v", name, k, got)
			}
		}
		if got := r.uint8Tol(c); got != tc.uint8 {
			t.Errorf("%s: 8-bit tolerance %g, want %g", name, got, tc.uint8)
		}
		if got := r.uint8Tol(wide); got != tc.wideUint8 {
			t.Errorf("%s: 8-bit tolerance of a case with 3 levels %g, want %g", name, got, tc.wideUint8)
		}
		if res := r.newNetResult(c, ""); !strings.HasSuffix(res.Tol, "rtol 0.0001"+tc.suffix) {
			t.Errorf("%s: tolerance described as %q, want it to end in %q", name, res.Tol, tc.suffix)
		}
	}
}

// TestRunBFloat16: the UNet's CFG case and txt2img run in bf16 on the
// pure-Go backend pass under the bf16 tolerances, and the output says which
// tolerances those were; the same cases in f32 keep the fixtures' own.
func TestRunBFloat16(t *testing.T) {
	dir, err := fixture.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dtype, want, cfg string }{
		{"bf16", "(bf16)", "eps_cfg atol 0.5"},
		{"", "tol atol 4e-05 rtol 0.0001\n", ""},
	} {
		var out bytes.Buffer
		results, err := Run(context.Background(), dir, Options{Kinds: []string{"unet"}, Match: "cfg_batch", DType: tc.dtype}, &out)
		if err != nil {
			t.Fatalf("dtype %q: %v\n%s", tc.dtype, err, out.String())
		}
		if len(results) == 0 || !strings.Contains(out.String(), tc.want) || !strings.Contains(out.String(), tc.cfg) {
			t.Errorf("dtype %q: output does not name %q and %q:\n%s", tc.dtype, tc.want, tc.cfg, out.String())
		}
		if tc.dtype == "" {
			continue
		}
		// In bf16 the errors are far above float32's tolerance: the case
		// passes only because the bf16 one applies.
		for _, r := range results {
			if r.MaxErr < 1e-3 {
				t.Errorf("dtype %q: %s has max_err %g, not a bf16-sized error", tc.dtype, r.ID, r.MaxErr)
			}
		}
	}
	var out bytes.Buffer
	if _, err := Run(context.Background(), dir, Options{Kinds: []string{"txt2img"}, DType: "bf16"}, &out); err != nil {
		t.Fatalf("txt2img in bf16: %v\n%s", err, out.String())
	}
	for _, want := range []string{"x_final atol 2", "image atol 0.5", "max_abs 6"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("txt2img in bf16: output does not name %q:\n%s", want, out.String())
		}
	}
}
