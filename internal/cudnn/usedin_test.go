package cudnn

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the "go" backend
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// TestUsedInNamesTheGraph checks that UsedIn tells the graph that got a
// fused attention call from others built meanwhile. On the pure-Go backend
// the statement rewrite fails (the graph is not XLA's), after the graph is
// recorded, which is the case the model's fallback handles.
func TestUsedInNamesTheGraph(t *testing.T) {
	b, err := backends.NewWithConfig("go:ops_sequential")
	if err != nil {
		t.Skip(err)
	}
	defer b.Finalize()
	fused, other := graph.NewGraph(b, "fused"), graph.NewGraph(b, "other")
	s := shapes.Make(dtypes.Float32, 1, 8, 2, 8) // Attention itself does not check the dtype
	q := graph.Parameter(fused, "q", s)
	func() {
		defer func() { _ = recover() }()
		Attention(q, q, q, 0.125)
	}()
	graph.Parameter(other, "x", s)
	if !UsedIn(fused) || UsedIn(other) || UsedIn(nil) {
		t.Errorf("UsedIn: fused graph %v, other graph %v, nil %v; want true, false, false", UsedIn(fused), UsedIn(other), UsedIn(nil))
	}
}
