package embedding

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sdgo/internal/safetensors"
)

func TestDatabaseLoad(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	writeST(t, filepath.Join(dir, "Bravo.safetensors"), safetensors.F32Tensor("emb_params", []int{2, 4}, ramp(8, 0)))
	writeTorch(t, filepath.Join(dir, "sub", "alpha.pt"), webuiProg([]int{1, 4}, 3), map[string][]float32{"0": ramp(4, 0)})
	writeST(t, filepath.Join(dir, "wide.safetensors"), safetensors.F32Tensor("emb_params", []int{1, 6}, ramp(6, 0)))
	os.WriteFile(filepath.Join(dir, "empty.pt"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an embedding"), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.pt"), []byte("garbage"), 0o644)

	db, err := Load(dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := db.Names(); !reflect.DeepEqual(got, []string{"alpha", "Bravo"}) {
		t.Errorf("names %v, want [alpha Bravo] (case-insensitive order)", got)
	}
	if s, ok := db.Skipped["wide"]; !ok || s.Shape != 6 || !strings.Contains(s.Reason, "width 6") {
		t.Errorf("skipped %+v, want wide (width 6)", db.Skipped)
	}
	if len(db.Errors) != 1 || filepath.Base(db.Errors[0].Path) != "broken.pt" {
		t.Errorf("errors %v, want broken.pt only (empty and .txt files are ignored)", db.Errors)
	}
	if e, ok := db.Get("alpha"); !ok || e.Step == nil || *e.Step != 3 {
		t.Errorf("alpha = %+v", e)
	}

	all, err := Load(dir, 0)
	if err != nil || len(all.Loaded) != 3 || len(all.Skipped) != 0 {
		t.Errorf("shape 0: loaded %d skipped %d err %v, want 3 0", len(all.Loaded), len(all.Skipped), err)
	}
	none, err := Load(filepath.Join(dir, "missing"), 4)
	if err != nil || len(none.Loaded) != 0 {
		t.Errorf("missing folder: %v %v, want an empty database", none, err)
	}
	if _, err := Load(filepath.Join(dir, "notes.txt"), 4); err == nil {
		t.Error("a file as folder: no error")
	}
}

func TestFinder(t *testing.T) {
	// A toy tokenizer: one id per word, from a fixed table.
	ids := map[string]int{"my": 1, "emb": 2, "style": 3, "a": 4, "cat": 5}
	tokenize := func(s string) []int {
		var out []int
		for _, w := range strings.Fields(strings.NewReplacer("-", " ", "_", " ").Replace(s)) {
			out = append(out, ids[w])
		}
		return out
	}
	db := &Database{Loaded: map[string]*Embedding{}}
	for _, n := range []string{"my-emb", "my-emb-style", "cat"} {
		db.Loaded[n] = &Embedding{Name: n}
	}
	f := db.Finder(tokenize)
	tests := []struct {
		tokens []int
		pos    int
		name   string
		n      int
	}{
		{[]int{4, 1, 2, 3}, 1, "my-emb-style", 3}, // longest match first
		{[]int{4, 1, 2, 4}, 1, "my-emb", 2},
		{[]int{1, 2}, 0, "my-emb", 2},
		{[]int{1, 3}, 0, "", 0},
		{[]int{5}, 0, "cat", 1},
		{[]int{4, 5}, 0, "", 0},
		{[]int{4}, 3, "", 0},
	}
	for _, tt := range tests {
		e, n, ok := f.Find(tt.tokens, tt.pos)
		name := ""
		if ok {
			name = e.Name
		}
		if name != tt.name || n != tt.n {
			t.Errorf("Find(%v, %d) = %q %d, want %q %d", tt.tokens, tt.pos, name, n, tt.name, tt.n)
		}
	}
	var nilDB *Database
	if _, _, ok := nilDB.Finder(tokenize).Find([]int{5}, 0); ok {
		t.Error("nil database found something")
	}
}
