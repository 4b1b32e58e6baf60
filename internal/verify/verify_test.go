package verify

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"sdgo/internal/fixture"
)

// pendingKinds are case kinds of the shared fixtures whose runners are not
// finished yet; TestShared leaves them out. Delete a kind here once its
// runner passes.
var pendingKinds = []string{}

// TestShared runs every case of the shared fixture folder, except the kinds
// in pendingKinds, through Run and requires every result to pass.
func TestShared(t *testing.T) {
	dir, err := fixture.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	m, err := fixture.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var kindList []string
	for _, c := range m.Cases {
		if !slices.Contains(kindList, c.Kind) && !slices.Contains(pendingKinds, c.Kind) {
			kindList = append(kindList, c.Kind)
		}
	}
	m.Close()

	var out bytes.Buffer
	results, err := Run(context.Background(), dir, Options{Kinds: kindList}, &out)
	t.Logf("verify output:\n%s", out.String())
	if err != nil {
		t.Error(err)
	}
	perKind := map[string]int{}
	for _, r := range results {
		if r.Status != Pass {
			t.Errorf("%s", r.Line())
			continue
		}
		perKind[r.Kind]++
	}
	for _, k := range kindList {
		if perKind[k] == 0 {
			t.Errorf("kind %s: no passing result", k)
		}
	}
	t.Logf("passing results per kind: %v", perKind)
}
