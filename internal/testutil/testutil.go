package testutil

import (
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the "go" backend
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"sdgo/internal/fixture"
	"sdgo/internal/nn"
	"sdgo/internal/safetensors"
)

var (
	backendOnce sync.Once
	backend     backends.Backend
	backendErr  error
)

// Backend returns one shared pure-Go backend (tensors cannot cross backend
// instances, so tests share this one). Ops run sequentially: GoMLX
// v0.26.0's parallel scheduler can deadlock on 2 cores (see
// model.GoBackendConfig).
func Backend(t testing.TB) backends.Backend {
	t.Helper()
	backendOnce.Do(func() { backend, backendErr = backends.NewWithConfig("go:ops_sequential") })
	if backendErr != nil {
		t.Fatal(backendErr)
	}
	return backend
}

// Fixtures opens the shared fixture manifest.
func Fixtures(t testing.TB) *fixture.Manifest {
	t.Helper()
	dir, err := fixture.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	m, err := fixture.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// Context loads every floating-point tensor of the safetensors file at path
// whose key starts with prefix into a new GoMLX context as float32, under
// its checkpoint key (with keyPrefix prepended).
func Context(t testing.TB, path, prefix, keyPrefix string) *context.Context {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.New()
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		if !strings.HasPrefix(name, prefix) || !info.DType.IsFloat() {
			continue
		}
		v, shape, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		nn.SetVariable(ctx, keyPrefix+name, tensors.FromFlatDataAndDimensions(v, shape...))
	}
	return ctx
}

// Check compares got with the expected tensor name of m under tol and fails
// the test with the max error when it is out of tolerance.
func Check(t testing.TB, m *fixture.Manifest, label, name string, got []float32, tol fixture.Tolerance) fixture.Diff {
	t.Helper()
	want, _, err := m.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := fixture.Compare(got, want, tol)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	if !d.OK() {
		t.Errorf("%s: max abs err %.3g (ratio %.3g at %d: got %v want %v), tolerance atol %g rtol %g",
			label, d.MaxAbs, d.MaxRatio, d.Worst, got[d.Worst], want[d.Worst], tol.Atol, tol.Rtol)
	} else {
		t.Logf("%s: max abs err %.3g (tolerance atol %g rtol %g)", label, d.MaxAbs, tol.Atol, tol.Rtol)
	}
	return d
}
