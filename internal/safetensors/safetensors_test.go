package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenTinySD1(t *testing.T) {
	f, err := Open(filepath.Join(fixturesDir(t), "tiny-sd1", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := f.Names()
	if len(names) != 968 {
		t.Fatalf("got %d tensors, want 968", len(names))
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("names not sorted at %d: %q, %q", i, names[i-1], names[i])
		}
	}
	count := map[DType]int{}
	for _, n := range names {
		ti, _ := f.Info(n)
		count[ti.DType]++
	}
	if count[F32] != 3 || count[I64] != 1 || count[F16] != 964 {
		t.Errorf("dtype counts = %v, want 964 F16, 3 F32, 1 I64", count)
	}

	tests := []struct {
		name  string
		dtype DType
		shape []int
	}{
		{"cond_stage_model.transformer.text_model.embeddings.position_ids", I64, []int{1, 77}},
		{"alphas_cumprod", F32, []int{1000}},
		{"model.diffusion_model.input_blocks.0.0.weight", F16, []int{32, 4, 3, 3}},
		{"first_stage_model.decoder.mid.attn_1.q.weight", F16, []int{64, 64, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ti, ok := f.Info(tc.name)
			if !ok {
				t.Fatalf("missing")
			}
			if ti.DType != tc.dtype || !equalInts(ti.Shape, tc.shape) {
				t.Fatalf("got %s%v, want %s%v", ti.DType, ti.Shape, tc.dtype, tc.shape)
			}
			raw, err := f.Raw(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) != ti.NumElements()*tc.dtype.Size() {
				t.Fatalf("raw has %d bytes", len(raw))
			}
			v, shape, err := f.Float32(tc.name)
			if err != nil || len(v) != ti.NumElements() || !equalInts(shape, tc.shape) {
				t.Fatalf("Float32: %d values, shape %v, err %v", len(v), shape, err)
			}
		})
	}
	pos, _, _ := f.Float32("cond_stage_model.transformer.text_model.embeddings.position_ids")
	for i, v := range pos {
		if v != float32(i) {
			t.Fatalf("position_ids[%d] = %v", i, v)
		}
	}
	ac, _, _ := f.Float32("alphas_cumprod")
	if math.Abs(float64(ac[0])-(1-0.00085)) > 1e-6 || ac[999] <= 0 || ac[999] >= ac[0] {
		t.Errorf("alphas_cumprod[0]=%v [999]=%v", ac[0], ac[999])
	}
	if _, err := f.Raw("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Raw(missing) error = %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw("alphas_cumprod"); err == nil {
		t.Error("Raw after Close succeeded")
	}
}

// TestOpenRefs checks that every tensor cases.json names is in refs.safetensors.
func TestOpenRefs(t *testing.T) {
	dir := fixturesDir(t)
	f, err := Open(filepath.Join(dir, "refs.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	js, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Cases []struct {
			ID              string            `json:"id"`
			InputTensors    map[string]string `json:"input_tensors"`
			ExpectedTensors map[string]string `json:"expected_tensors"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range m.Cases {
		for _, tab := range []map[string]string{c.InputTensors, c.ExpectedTensors} {
			for role, name := range tab {
				n++
				ti, ok := f.Info(name)
				if !ok {
					t.Errorf("case %s: %s tensor %q missing", c.ID, role, name)
					continue
				}
				if _, _, err := f.Float32(name); err != nil {
					t.Errorf("case %s: %v (%s)", c.ID, err, ti.DType)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no tensors referenced by cases.json")
	}
}

func TestRoundTrip(t *testing.T) {
	tensors := []Tensor{
		F32Tensor("b.f32", []int{2, 3}, []float32{1, -2, 3.5, 0, float32(math.Inf(1)), 1e-30}),
		F16Tensor("a.f16", []int{3}, []float32{1, 0.5, -65504}),
		BF16Tensor("c.bf16", []int{2}, []float32{1, -3}),
		F64Tensor("d.f64", []int{1}, []float64{0.25}),
		I64Tensor("e.i64", []int{2}, []int64{-7, 1 << 40}),
		I32Tensor("f.i32", []int{}, []int32{42}),
		U8Tensor("g.u8", []int{0}, nil),
		U8Tensor("h.u8", []int{2, 2}, []byte{0, 1, 254, 255}),
	}
	want := map[string][]float32{
		"b.f32":  {1, -2, 3.5, 0, float32(math.Inf(1)), 1e-30},
		"a.f16":  {1, 0.5, -65504},
		"c.bf16": {1, -3},
		"d.f64":  {0.25},
		"e.i64":  {-7, 1 << 40},
		"f.i32":  {42},
		"g.u8":   {},
		"h.u8":   {0, 1, 254, 255},
	}
	md := map[string]string{"format": "pt", "note": "ünïcode \"quoted\""}
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := WriteFile(path, tensors, md); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Metadata(); len(got) != 2 || got["note"] != md["note"] {
		t.Errorf("metadata = %v", got)
	}
	if f.DataOffset()%8 != 0 {
		t.Errorf("header not padded to 8: data offset %d", f.DataOffset())
	}
	for _, tt := range tensors {
		ti, ok := f.Info(tt.Name)
		if !ok || ti.DType != tt.DType || !equalInts(ti.Shape, tt.Shape) {
			t.Errorf("%s: info %+v ok=%v", tt.Name, ti, ok)
		}
		raw, _ := f.Raw(tt.Name)
		if !bytes.Equal(raw, tt.Data) {
			t.Errorf("%s: raw bytes differ", tt.Name)
		}
		v, _, err := f.Float32(tt.Name)
		if err != nil || !equalF32(v, want[tt.Name]) {
			t.Errorf("%s: Float32 = %v, %v; want %v", tt.Name, v, err, want[tt.Name])
		}
	}
}

// TestRoundTripTinyModel rewrites the whole tiny checkpoint and compares bytes.
func TestRoundTripTinyModel(t *testing.T) {
	f, err := Open(filepath.Join(fixturesDir(t), "tiny-sd1", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ts []Tensor
	for _, n := range f.Names() {
		ti, _ := f.Info(n)
		raw, _ := f.Raw(n)
		ts = append(ts, Tensor{Name: n, DType: ti.DType, Shape: ti.Shape, Data: raw})
	}
	path := filepath.Join(t.TempDir(), "copy.safetensors")
	if err := WriteFile(path, ts, f.Metadata()); err != nil {
		t.Fatal(err)
	}
	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if !equalStrings(f.Names(), g.Names()) {
		t.Fatal("names differ after round trip")
	}
	for _, n := range f.Names() {
		a, _ := f.Raw(n)
		b, _ := g.Raw(n)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: bytes differ", n)
		}
	}
}

func TestWriteFileKeepsOldOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keep.safetensors")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := []Tensor{{Name: "x", DType: F32, Shape: []int{2}, Data: []byte{1, 2, 3}}}
	err := WriteFile(path, bad, nil)
	if err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("error = %v, want one naming tensor x", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("old file changed to %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary file left behind: %v", entries)
	}
}

func TestWriteRejects(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"duplicate", []Tensor{F32Tensor("a", []int{1}, []float32{1}), F32Tensor("a", []int{1}, []float32{1})}, "twice"},
		{"metadata name", []Tensor{F32Tensor("__metadata__", []int{1}, []float32{1})}, "invalid tensor name"},
		{"empty name", []Tensor{F32Tensor("", []int{1}, []float32{1})}, "invalid tensor name"},
		{"dtype", []Tensor{{Name: "a", DType: "F12", Data: nil}}, "unknown dtype"},
		{"size", []Tensor{{Name: "a", DType: F16, Shape: []int{3}, Data: make([]byte, 4)}}, "needs 6 bytes"},
		{"negative", []Tensor{{Name: "a", DType: F16, Shape: []int{-1}}}, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, tc.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// file builds a safetensors byte string from a header string and data size.
func file(header string, data int) []byte {
	b := make([]byte, 8, 8+len(header)+data)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, data)...)
}

func TestMalformed(t *testing.T) {
	huge := make([]byte, 16)
	binary.LittleEndian.PutUint64(huge, 1<<40)
	past := make([]byte, 16)
	binary.LittleEndian.PutUint64(past, 100)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than the 8-byte"},
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte"},
		{"huge length", huge, "exceeds the"},
		{"length past end", past, "runs past the end"},
		{"not json", file("{abc", 0), "header JSON"},
		{"not object", file("[1,2]", 0), "does not start with '{'"},
		{"pickle", append([]byte("PK\x03\x04\x00\x00\x00\x00"), make([]byte, 64)...), "zip signature"},
		{"trailing", file(`{} xx`, 0), "trailing data"},
		{"unknown dtype", file(`{"a":{"dtype":"F12","shape":[1],"data_offsets":[0,2]}}`, 2), `tensor "a": invalid safetensors file: unknown dtype "F12"`},
		{"missing field", file(`{"a":{"dtype":"F16","shape":[1]}}`, 2), "needs dtype, shape and data_offsets"},
		{"entry not object", file(`{"a":5}`, 0), "entry is not an object"},
		{"negative dim", file(`{"a":{"dtype":"F16","shape":[-1],"data_offsets":[0,2]}}`, 2), "shape[0]"},
		{"float dim", file(`{"a":{"dtype":"F16","shape":[1.5],"data_offsets":[0,2]}}`, 2), "shape[0]"},
		{"size mismatch", file(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,2]}}`, 4), "needs 4"},
		{"past data", file(`{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}`, 4), "run past the 4-byte data area"},
		{"reversed", file(`{"a":{"dtype":"F16","shape":[0],"data_offsets":[4,2]}}`, 4), "end before"},
		{"three offsets", file(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2,4]}}`, 4), "has 3 values"},
		{"overlap", file(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[2],"data_offsets":[2,6]}}`, 6), "overlap"},
		{"overflow", file(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, 0), "too large"},
		{"huge offset", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[99999999999999999999,1]}}`, 0), "data_offsets[0]"},
		{"bad metadata", file(`{"__metadata__":[1]}`, 0), "__metadata__"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q, want it to contain %q and the path", err, tc.want)
			}
			if len(tc.data) >= 8 && !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
		})
	}
}

func TestMetadataNonString(t *testing.T) {
	h, err := ParseHeader(file(`{"__metadata__":{"a":"x","b":3,"c":{"d":1}}}`, 0), int64(len(file(`{"__metadata__":{"a":"x","b":3,"c":{"d":1}}}`, 0))))
	if err != nil {
		t.Fatal(err)
	}
	if h.Metadata["a"] != "x" || h.Metadata["b"] != "3" || h.Metadata["c"] != `{"d":1}` {
		t.Errorf("metadata = %v", h.Metadata)
	}
}

func TestOpenDirectoryAndMissing(t *testing.T) {
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("Open(dir) error = %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) error = %v, want ErrNotExist", err)
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

func equalStrings(a, b []string) bool {
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

func equalF32(a, b []float32) bool {
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
