package xlaasync

/*
#include <stdlib.h>
#include <string.h>

typedef void *(*sdgo_await_fn)(void *);

static sdgo_await_fn sdgo_plugin_await;
static __thread int sdgo_no_wait;

// sdgo_await is the table's PJRT_Event_Await: no wait inside NoWait.
static void *sdgo_await(void *args) {
	if (sdgo_no_wait) {
		return NULL;
	}
	return sdgo_plugin_await(args);
}

// sdgo_install copies the API table (its own struct_size bytes, in a
// block of at least size, zeroed beyond) with the await entry at offset
// off replaced; NULL when the table is too short to have it or memory is
// short.
static void *sdgo_install(void *api, size_t size, size_t off) {
	size_t own = *(size_t *)api;
	if (off + sizeof(sdgo_await_fn) > own) {
		return NULL;
	}
	void *table = calloc(1, own > size ? own : size);
	if (table == NULL) {
		return NULL;
	}
	memcpy(table, api, own);
	sdgo_plugin_await = *(sdgo_await_fn *)((char *)api + off);
	*(sdgo_await_fn *)((char *)table + off) = sdgo_await;
	return table;
}

static void sdgo_set_no_wait(int v) { sdgo_no_wait = v; }

// For the tests (see fakeAPI).
static int sdgo_fake_awaits;
static void *sdgo_fake_await(void *args) { sdgo_fake_awaits++; return args; }
static void *sdgo_fake_table[4];
static void *sdgo_fake_api(void) {
	sdgo_fake_table[0] = (void *)sizeof(sdgo_fake_table);
	sdgo_fake_table[2] = (void *)sdgo_fake_await;
	return sdgo_fake_table;
}
static int sdgo_fake_count(void) { return sdgo_fake_awaits; }
static void *sdgo_call_await(void *table, size_t off, void *args) {
	return (*(sdgo_await_fn *)((char *)table + off))(args);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sync"
	"unsafe"

	"sdgo/internal/unexported"
)

// awaitField is the PJRT_Api member this package replaces.
const awaitField = "PJRT_Event_Await"

var (
	mu        sync.Mutex
	installed = map[uintptr]bool{} // plugins (by address) given the table
	plugins   int
)

// Install gives the PJRT plugin behind backend (a *xla.Backend of GoMLX)
// the API table that NoWait needs; other backends are left alone and get
// false. It installs once per plugin and returns true when NoWait applies.
// SDGO_ASYNC=0 turns it off.
func Install(backend any) (bool, error) {
	if os.Getenv("SDGO_ASYNC") == "0" {
		return false, nil
	}
	api, plugin, ok, err := unexported.PluginAPI(backend)
	if !ok || err != nil {
		return false, wrap(err)
	}
	off, size, err := layout(api.Type())
	if err != nil {
		return false, err
	}
	mu.Lock()
	defer mu.Unlock()
	key := plugin.Pointer()
	if installed[key] {
		return true, nil
	}
	if plugins > 0 {
		// One replaced await per process: a second plugin keeps waiting.
		return false, nil
	}
	table := installTable(api.UnsafePointer(), size, off)
	if table == nil {
		return false, errors.New("xlaasync: the plugin's API table has no event-await entry (or memory is short)")
	}
	api.Set(reflect.NewAt(api.Type().Elem(), table))
	installed[key] = true
	plugins++
	return true, nil
}

// layout returns the offset of the await entry and the size of the
// PJRT_Api struct that apiType (go-xla's *C.PJRT_Api) points to.
func layout(apiType reflect.Type) (off, size uintptr, err error) {
	offs, size, err := unexported.APIOffsets(apiType, awaitField)
	if err != nil {
		return 0, 0, wrap(err)
	}
	return offs[0], size, nil
}

// wrap prefixes err (nil stays nil) with the package name.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("xlaasync: %w", err)
}

// installTable copies the API table at api with the await entry at off
// replaced (nil when out of memory).
func installTable(api unsafe.Pointer, size, off uintptr) unsafe.Pointer {
	return C.sdgo_install(api, C.size_t(size), C.size_t(off))
}

// fakeAPI, fakeAwaits and callAwait serve the tests (test files cannot use
// cgo): a fake table {struct_size, f0, await, f2} whose await counts its
// calls and returns its argument, and a call through a table's await.
func fakeAPI() unsafe.Pointer { return C.sdgo_fake_api() }
func fakeAwaits() int         { return int(C.sdgo_fake_count()) }
func callAwait(table unsafe.Pointer, off uintptr, arg unsafe.Pointer) unsafe.Pointer {
	return C.sdgo_call_await(table, C.size_t(off), arg)
}

// NoWait runs fn with the waits for executions' completion skipped on
// this thread: executions fn starts return as soon as they are queued.
// fn must only launch executions (no host-to-device or device-to-host
// copies, whose waits would be skipped too).
func NoWait(fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	C.sdgo_set_no_wait(1)
	defer C.sdgo_set_no_wait(0)
	fn()
}
