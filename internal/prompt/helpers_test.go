package prompt

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// fixtureCase is the part of a cases.json entry these tests read.
type fixtureCase struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Inputs   json.RawMessage `json:"inputs"`
	Expected json.RawMessage `json:"expected"`
}

// fixturesDir is $SDGO_FIXTURES or the shared/fixtures folder found by
// walking up from the working directory.
func fixturesDir(t testing.TB) string {
	t.Helper()
	if fx := os.Getenv("SDGO_FIXTURES"); fx != "" {
		return fx
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "fixtures")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no shared/fixtures above the working directory; set SDGO_FIXTURES")
		}
		dir = parent
	}
}

// casesOf returns the cases of one kind from cases.json.
func casesOf(t testing.TB, kind string) []fixtureCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixturesDir(t), "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Cases []fixtureCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var out []fixtureCase
	for _, c := range m.Cases {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s cases in cases.json", kind)
	}
	return out
}

func decode(t testing.TB, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}
