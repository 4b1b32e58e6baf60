package xlaasync

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/gomlx/gomlx/backends/xla"
)

// TestInternalsAvailable pins the fields Install reaches: GoMLX's
// xla.Backend.plugin, go-xla's Plugin.api, and the PJRT_Api layout with its
// event-await entry.
func TestInternalsAvailable(t *testing.T) {
	bt := reflect.TypeOf(xla.Backend{})
	if bt.String() != "xla.Backend" {
		t.Fatalf("GoMLX's XLA backend type is %s; Install looks for xla.Backend", bt)
	}
	pf, ok := bt.FieldByName("plugin")
	if !ok || pf.Type.Kind() != reflect.Pointer {
		t.Fatalf("xla.Backend has no plugin pointer")
	}
	af, ok := pf.Type.Elem().FieldByName("api")
	if !ok {
		t.Fatalf("%s has no api field", pf.Type.Elem())
	}
	off, size, err := layout(af.Type)
	if err != nil {
		t.Fatal(err)
	}
	if off == 0 || off >= size || off%unsafe.Sizeof(uintptr(0)) != 0 {
		t.Errorf("await entry at %d of %d bytes", off, size)
	}
}

// TestAwaitSkippedOnlyInNoWait installs the replacement table over a fake
// API: its await reaches the plugin's outside NoWait and returns at once
// (nil) inside it, on that thread only, and the original table is
// untouched.
func TestAwaitSkippedOnlyInNoWait(t *testing.T) {
	api := fakeAPI()
	const off = 2 * unsafe.Sizeof(uintptr(0))
	table := installTable(api, 4*unsafe.Sizeof(uintptr(0)), off)
	if table == nil {
		t.Fatal("no table")
	}
	arg := unsafe.Pointer(&struct{ x int }{})
	n := fakeAwaits()
	if got := callAwait(table, off, arg); got != arg || fakeAwaits() != n+1 {
		t.Errorf("outside NoWait: await returned %v after %d calls, want the plugin's (%v, 1 call)", got, fakeAwaits()-n, arg)
	}
	NoWait(func() {
		if got := callAwait(table, off, arg); got != nil || fakeAwaits() != n+1 {
			t.Errorf("inside NoWait: await returned %v and the plugin's ran %d times, want nil and no call", got, fakeAwaits()-n-1)
		}
		done := make(chan int)
		go func() { // another goroutine (another thread) still waits
			callAwait(table, off, arg)
			done <- fakeAwaits()
		}()
		if got := <-done; got != n+2 {
			t.Errorf("another thread inside NoWait's span: plugin's await ran %d times, want 2", got-n)
		}
	})
	if got := callAwait(api, off, arg); got != arg {
		t.Errorf("the original table's await changed")
	}
	if installTable(api, 4*unsafe.Sizeof(uintptr(0)), 4*unsafe.Sizeof(uintptr(0))) != nil {
		t.Errorf("an await entry past the table's struct_size was installed")
	}
}

// TestInstallLeavesOtherBackendsAlone checks that anything but GoMLX's XLA
// backend is not touched.
func TestInstallLeavesOtherBackendsAlone(t *testing.T) {
	for _, b := range []any{nil, 3, &struct{ plugin *int }{}} {
		if ok, err := Install(b); ok || err != nil {
			t.Errorf("Install(%T) = %v, %v; want false, nil", b, ok, err)
		}
	}
}
