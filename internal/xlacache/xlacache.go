package xlacache

/*
#include <stdlib.h>
#include "xlacache.h"
*/
import "C"

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends"

	"sdgo/internal/unexported"
)

// Suffix ends the name of every executable file in the folder.
const Suffix = ".xlaexe"

// DefaultMaxBytes is the folder's size beyond which the least recently used
// executables are removed (SD 1.5's text encoder, UNet and VAE for one
// size take 2.3 MB on an H100).
const DefaultMaxBytes = 4 << 30

// entries are the PJRT_Api members used, in the order of xlacache.h's enum.
var entries = [C.SDGO_ENTRIES]string{
	"PJRT_Client_Compile",
	"PJRT_LoadedExecutable_GetExecutable",
	"PJRT_Executable_Serialize",
	"PJRT_Executable_DeserializeAndLoad",
	"PJRT_Executable_Destroy",
	"PJRT_Error_Message",
	"PJRT_Error_Destroy",
}

// Stats counts what the cache did since Install.
type Stats struct {
	Hits, Misses, Stores, Bad int64
}

// cache is the installed cache: one per process, as the C side keeps one
// set of the plugin's entries.
type cache struct {
	dir      string
	salt     string // plugin, device and flags the executables are for
	maxBytes int64
	prune    sync.Mutex
	hits     atomic.Int64
	misses   atomic.Int64
	stores   atomic.Int64
	bad      atomic.Int64
	// storeWarned is set once a failed store was logged as a warning.
	storeWarned atomic.Bool
}

var (
	mu      sync.Mutex
	current atomic.Pointer[cache]
)

// Install gives the PJRT plugin behind backend (a *xla.Backend of GoMLX)
// an API table whose compiles go through the folder dir, and returns
// whether it did: other backends are left alone. device names the card
// (PJRT's device description does not always), for the files' key. One
// plugin per process gets the cache; the first Install wins.
func Install(backend any, dir, device string) (bool, error) {
	api, plugin, ok, err := unexported.PluginAPI(backend)
	if !ok || err != nil {
		return false, wrap(err)
	}
	offs, size, err := layout(api.Type())
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("xlacache: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if current.Load() != nil {
		return false, nil
	}
	table := installTable(api.UnsafePointer(), size, offs)
	if table == nil {
		return false, errors.New("xlacache: the plugin's API table lacks serialization entries (or memory is short)")
	}
	current.Store(&cache{dir: dir, salt: salt(backend, plugin.Interface(), device), maxBytes: DefaultMaxBytes})
	api.Set(reflect.NewAt(api.Type().Elem(), table))
	return true, nil
}

// Installed returns the cache's counts, and whether one is installed.
func Installed() (s Stats, ok bool) {
	c := current.Load()
	if c == nil {
		return Stats{}, false
	}
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Stores: c.stores.Load(), Bad: c.bad.Load()}, true
}

// salt describes what a serialized executable is only valid for: the
// plugin (file, size, time, version and attributes), the platform version
// the client reports, the device (as named by the caller and by PJRT), the
// XLA flags of this process and the
// library path (which CUDA and cuDNN libraries the plugin loads).
func salt(backend, plugin any, device string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sdgo xlacache 1\ndevice %s\n", device)
	if d, ok := backend.(backends.Backend); ok {
		fmt.Fprintf(&b, "%s\n%s\n", d.Description(), d.DeviceDescription(0))
	}
	if p, ok := plugin.(*pjrt.Plugin); ok {
		if st, err := os.Stat(p.Path()); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", p.Path(), st.Size(), st.ModTime().UnixNano())
		}
		major, minor := p.Version()
		fmt.Fprintf(&b, "%d.%d %v\n", major, minor, p.Attributes()) // fmt sorts map keys
	}
	if v := reflect.ValueOf(backend); v.Kind() == reflect.Pointer && !v.IsNil() {
		if c, err := unexported.Field(v.Elem(), "client"); err == nil {
			if client, ok := c.Interface().(*pjrt.Client); ok && client != nil {
				fmt.Fprintf(&b, "%s %s\n", client.Platform(), client.PlatformVersion())
			}
		}
	}
	fmt.Fprintf(&b, "XLA_FLAGS=%s\nLD_LIBRARY_PATH=%s\n", os.Getenv("XLA_FLAGS"), os.Getenv("LD_LIBRARY_PATH"))
	return b.String()
}

// layout returns the offsets of the entries used and the size of the
// PJRT_Api struct that apiType (go-xla's *C.PJRT_Api) points to.
func layout(apiType reflect.Type) (offs [C.SDGO_ENTRIES]uintptr, size uintptr, err error) {
	o, size, err := unexported.APIOffsets(apiType, entries[:]...)
	if err != nil {
		return offs, 0, wrap(err)
	}
	copy(offs[:], o)
	return offs, size, nil
}

// wrap prefixes err (nil stays nil) with the package name.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("xlacache: %w", err)
}

// installTable copies the API table at api with the compile entry
// replaced (nil when an entry is missing or memory is short).
func installTable(api unsafe.Pointer, size uintptr, offs [C.SDGO_ENTRIES]uintptr) unsafe.Pointer {
	var c [C.SDGO_ENTRIES]C.size_t
	for i, o := range offs {
		c[i] = C.size_t(o)
	}
	return C.sdgo_cache_install(api, C.size_t(size), &c[0])
}

//export sdgoCacheCompile
func sdgoCacheCompile(p unsafe.Pointer) unsafe.Pointer {
	c := current.Load()
	if c == nil {
		return C.sdgo_cache_real_compile(p)
	}
	return c.compile((*C.sdgo_compile_args)(p))
}

// compile serves one PJRT_Client_Compile call.
func (c *cache) compile(a *C.sdgo_compile_args) unsafe.Pointer {
	path := filepath.Join(c.dir, c.key(a)+Suffix)
	start := time.Now()
	if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
		var loaded unsafe.Pointer
		perr := C.sdgo_cache_deserialize(a.client, unsafe.Pointer(&data[0]), C.size_t(len(data)), &loaded)
		if perr == nil && loaded != nil {
			a.executable = loaded
			c.hits.Add(1)
			now := time.Now()
			_ = os.Chtimes(path, now, now) // most recently used
			slog.Debug("xla executable loaded from the cache", "file", path, "bytes", len(data), "ms", time.Since(start).Milliseconds())
			return nil
		}
		c.bad.Add(1)
		slog.Warn("xla executable cache: a cached file does not load; compiling", "file", path, "err", takeError(perr))
		_ = os.Remove(path)
	}
	c.misses.Add(1)
	if perr := C.sdgo_cache_real_compile(unsafe.Pointer(a)); perr != nil {
		return perr
	}
	if err := c.store(path, a.executable); err != nil {
		// Once at warning level: a plugin that cannot serialize fails
		// for every program.
		level := slog.LevelDebug
		if c.storeWarned.CompareAndSwap(false, true) {
			level = slog.LevelWarn
		}
		slog.Log(context.Background(), level, "xla executable cache: not stored", "file", path, "err", err)
	}
	return nil
}

// key names a program: a SHA-256 of the salt, its format, compile options
// and code.
func (c *cache) key(a *C.sdgo_compile_args) string {
	h := sha256.New()
	h.Write([]byte(c.salt))
	prog := a.program
	h.Write([]byte{0})
	h.Write(bytesAt(unsafe.Pointer(prog.format), prog.format_size))
	h.Write([]byte{0})
	h.Write(bytesAt(unsafe.Pointer(a.compile_options), a.compile_options_size))
	h.Write([]byte{0})
	h.Write(bytesAt(unsafe.Pointer(prog.code), prog.code_size))
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// bytesAt views n bytes of C memory at p (no copy).
func bytesAt(p unsafe.Pointer, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(p), int(n))
}

// store serializes the loaded executable into path (through a temporary
// file renamed into place, so a reader never sees half a file), then keeps
// the folder under its size.
func (c *cache) store(path string, loaded unsafe.Pointer) error {
	var bytes, handle, deleter unsafe.Pointer
	var n C.size_t
	if perr := C.sdgo_cache_serialize(loaded, &bytes, &n, &handle, &deleter); perr != nil {
		C.sdgo_cache_free_serialized(handle, deleter)
		return fmt.Errorf("serialize: %s", takeError(perr))
	}
	defer C.sdgo_cache_free_serialized(handle, deleter)
	tmp, err := os.CreateTemp(c.dir, "tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(bytesAt(bytes, n))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	c.stores.Add(1)
	slog.Debug("xla executable stored in the cache", "file", path, "bytes", int(n))
	c.trim()
	return nil
}

// trim removes the least recently used executables (by modification time;
// a hit touches its file) until the folder's executables fit maxBytes.
func (c *cache) trim() {
	c.prune.Lock()
	defer c.prune.Unlock()
	type file struct {
		path string
		size int64
		mod  time.Time
	}
	var files []file
	var total int64
	_ = filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, Suffix) {
			return nil
		}
		if info, err := d.Info(); err == nil {
			files = append(files, file{p, info.Size(), info.ModTime()})
			total += info.Size()
		}
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].mod.Before(files[j].mod) })
	for _, f := range files {
		if total <= c.maxBytes {
			break
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}

// takeError returns a PJRT error's message and destroys the error.
func takeError(perr unsafe.Pointer) string {
	if perr == nil {
		return "no executable returned"
	}
	var msg *C.char
	n := C.sdgo_cache_error_message(perr, &msg)
	s := C.GoStringN(msg, C.int(n))
	C.sdgo_cache_error_destroy(perr)
	return s
}
