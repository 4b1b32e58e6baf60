package unexported

import (
	"reflect"
	"testing"
	"unsafe"
)

type inner struct{ secret int }

// TestField reads and writes an unexported field and names what is
// missing.
func TestField(t *testing.T) {
	x := inner{secret: 3}
	f, err := Field(reflect.ValueOf(&x).Elem(), "secret")
	if err != nil || f.Int() != 3 {
		t.Fatalf("Field = %v, %v; want 3", f, err)
	}
	f.SetInt(5)
	if x.secret != 5 {
		t.Errorf("set through Field: %d, want 5", x.secret)
	}
	if _, err := Field(reflect.ValueOf(&x).Elem(), "other"); err == nil {
		t.Error("a missing field gave no error")
	}
	if _, err := Field(reflect.ValueOf(3), "secret"); err == nil {
		t.Error("a non-struct gave no error")
	}
}

// fakeAPI is laid out like a PJRT_Api: struct_size first, then function
// pointers.
type fakeAPI struct {
	size  uintptr
	One   *byte
	Two   *byte
	Plain int
}

func TestAPIOffsets(t *testing.T) {
	offs, size, err := APIOffsets(reflect.TypeOf(&fakeAPI{}), "Two", "One")
	if err != nil {
		t.Fatal(err)
	}
	w := unsafe.Sizeof(uintptr(0))
	if size != unsafe.Sizeof(fakeAPI{}) || len(offs) != 2 || offs[0] != 2*w || offs[1] != w {
		t.Errorf("offsets %v, size %d", offs, size)
	}
	for _, name := range []string{"Plain", "Three"} {
		if _, _, err := APIOffsets(reflect.TypeOf(&fakeAPI{}), name); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, _, err := APIOffsets(reflect.TypeOf(fakeAPI{}), "One"); err == nil {
		t.Error("a non-pointer gave no error")
	}
}

func TestPluginAPIOtherBackends(t *testing.T) {
	for _, b := range []any{nil, 3, &inner{}} {
		if _, _, ok, err := PluginAPI(b); ok || err != nil {
			t.Errorf("PluginAPI(%T) = %v, %v; want false, nil", b, ok, err)
		}
	}
}
