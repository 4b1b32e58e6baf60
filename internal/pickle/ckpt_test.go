package pickle

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// stEntry is one tensor of a safetensors header, read here without
// importing the safetensors package (the two readers are independent leaves).
type stEntry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

func readSafetensors(t *testing.T, path string) (map[string]stEntry, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var h map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	out := map[string]stEntry{}
	for k, v := range h {
		if k == "__metadata__" {
			continue
		}
		var e stEntry
		if err := json.Unmarshal(v, &e); err != nil {
			t.Fatal(err)
		}
		out[k] = e
	}
	return out, b[8+n:]
}

// TestTinyCkptMatchesSafetensors checks that model.ckpt gives exactly the
// names, dtypes, shapes and bytes of model.safetensors.
func TestTinyCkptMatchesSafetensors(t *testing.T) {
	dir := filepath.Join(fixturesDir(t), "tiny-sd1")
	want, data := readSafetensors(t, filepath.Join(dir, "model.safetensors"))
	f, err := Open(filepath.Join(dir, "model.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := f.Names()
	if len(names) != len(want) || len(names) != 968 {
		t.Fatalf("got %d tensors, safetensors has %d (want 968)", len(names), len(want))
	}
	for _, n := range names {
		e, ok := want[n]
		if !ok {
			t.Fatalf("tensor %q not in model.safetensors", n)
		}
		ti, _ := f.Info(n)
		if string(ti.DType) != e.DType || !equalInts(ti.Shape, e.Shape) {
			t.Fatalf("%s: ckpt %s%v, safetensors %s%v", n, ti.DType, ti.Shape, e.DType, e.Shape)
		}
		raw, err := f.Raw(n)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, data[e.Offsets[0]:e.Offsets[1]]) {
			t.Fatalf("%s: bytes differ", n)
		}
	}
	pos, shape, err := f.Float32("cond_stage_model.transformer.text_model.embeddings.position_ids")
	if err != nil || !equalInts(shape, []int{1, 77}) || pos[76] != 76 {
		t.Errorf("position_ids: shape %v, err %v", shape, err)
	}
	root, ok := f.Root().(*Dict)
	if !ok {
		t.Fatalf("root is %T", f.Root())
	}
	if gs, _ := root.Get("global_step"); gs != int64(470000) {
		t.Errorf("global_step = %v, want 470000", gs)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
