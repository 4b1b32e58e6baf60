package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseHeader checks that no header bytes make the parser panic, hang or
// allocate hugely, and that every accepted header is self-consistent.
func FuzzParseHeader(f *testing.F) {
	f.Add(file(`{}`, 0))
	f.Add(file(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[2,1],"data_offsets":[0,4]}}`, 4))
	f.Add(file(`{"a":{"dtype":"BF16","shape":[],"data_offsets":[0,2]},"b":{"dtype":"I64","shape":[1],"data_offsets":[2,10]}}`, 10))
	f.Add(file(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[2],"data_offsets":[2,6]}}`, 6))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data, int64(len(data)))
		if err != nil {
			return
		}
		dataLen := int64(len(data)) - h.DataOffset
		for name, ti := range h.Tensors {
			if ti.Begin < 0 || ti.End > dataLen || ti.Begin > ti.End {
				t.Fatalf("%q: accepted range [%d,%d) outside %d data bytes", name, ti.Begin, ti.End, dataLen)
			}
			if int64(ti.NumElements()*ti.DType.Size()) != ti.End-ti.Begin {
				t.Fatalf("%q: accepted size mismatch", name)
			}
		}
	})
}

// FuzzOpen runs Open and every reader on arbitrary file contents.
func FuzzOpen(f *testing.F) {
	f.Add(file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4))
	f.Add(file(`{"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}`, 3))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.safetensors")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sf, err := Open(path)
		if err != nil {
			return
		}
		defer sf.Close()
		for _, n := range sf.Names() {
			raw, err := sf.Raw(n)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, raw[:len(raw):len(raw)]) {
				t.Fatal("unreachable")
			}
			if _, _, err := sf.Float32(n); err != nil {
				t.Fatal(err)
			}
		}
	})
}
