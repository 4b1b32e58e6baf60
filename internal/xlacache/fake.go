package xlacache

/*
#include <stdlib.h>
#include <string.h>
#include "xlacache.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// The tests drive the cache through a fake plugin (xlacache.c), since test
// files cannot use cgo: fakeInstall installs the cache over it, compileVia
// compiles through a table's compile entry, fakeCount reads its counts.

// fakeOffsets are the fake table's entries: after struct_size and one
// unused slot, in enum order.
func fakeOffsets() (offs [C.SDGO_ENTRIES]uintptr) {
	for i := range offs {
		offs[i] = uintptr(2+i) * unsafe.Sizeof(uintptr(0))
	}
	return offs
}

// fakeInstall installs a cache over dir in front of the fake plugin and
// returns the new table.
func fakeInstall(dir, salt string, maxBytes int64) unsafe.Pointer {
	table := installTable(C.sdgo_fake_api(), unsafe.Sizeof([2 + C.SDGO_ENTRIES]uintptr{}), fakeOffsets())
	current.Store(&cache{dir: dir, salt: salt, maxBytes: maxBytes})
	return table
}

// compileVia compiles code with options through table's compile entry and
// returns the code the loaded executable holds.
func compileVia(table unsafe.Pointer, code, options string) (string, error) {
	prog := (*C.sdgo_program)(C.calloc(1, C.size_t(unsafe.Sizeof(C.sdgo_program{}))))
	defer C.free(unsafe.Pointer(prog))
	args := (*C.sdgo_compile_args)(C.calloc(1, C.size_t(unsafe.Sizeof(C.sdgo_compile_args{}))))
	defer C.free(unsafe.Pointer(args))
	format := C.CString("mlir")
	defer C.free(unsafe.Pointer(format))
	cCode, cOpts := C.CString(code), C.CString(options)
	defer C.free(unsafe.Pointer(cCode))
	defer C.free(unsafe.Pointer(cOpts))
	prog.struct_size = C.size_t(unsafe.Sizeof(*prog))
	prog.code, prog.code_size = cCode, C.size_t(len(code))
	prog.format, prog.format_size = format, 4
	args.struct_size = C.size_t(unsafe.Sizeof(*args))
	args.program = prog
	args.compile_options, args.compile_options_size = cOpts, C.size_t(len(options))
	perr := C.sdgo_cache_call_compile(table, C.size_t(fakeOffsets()[C.SDGO_COMPILE]), unsafe.Pointer(args))
	if perr != nil {
		return "", errors.New(C.GoString((*C.char)(perr)))
	}
	var n C.size_t
	p := C.sdgo_fake_loaded_code(args.executable, &n)
	s := C.GoStringN((*C.char)(p), C.int(n))
	C.sdgo_fake_free_loaded(args.executable)
	return s, nil
}

// fakeCount is how often the fake plugin's entry which ran.
func fakeCount(which int) int { return int(C.sdgo_fake_count(C.int(which))) }

// The entries by name, for the tests.
const (
	entryCompile     = int(C.SDGO_COMPILE)
	entrySerialize   = int(C.SDGO_SERIALIZE)
	entryDeserialize = int(C.SDGO_DESERIALIZE)
)
