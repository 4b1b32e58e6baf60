package xlacache

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends/xla"
)

// TestInternalsAvailable pins the fields Install reaches: GoMLX's
// xla.Backend.plugin, go-xla's Plugin.api, and the PJRT_Api entries the
// cache uses.
func TestInternalsAvailable(t *testing.T) {
	pf, ok := reflect.TypeOf(xla.Backend{}).FieldByName("plugin")
	if !ok || pf.Type.Kind() != reflect.Pointer {
		t.Fatalf("xla.Backend has no plugin pointer")
	}
	if cf, ok := reflect.TypeOf(xla.Backend{}).FieldByName("client"); !ok || cf.Type.String() != "*pjrt.Client" {
		t.Errorf("xla.Backend has no *pjrt.Client field client (the salt reads its platform version)")
	}
	af, ok := pf.Type.Elem().FieldByName("api")
	if !ok {
		t.Fatalf("%s has no api field", pf.Type.Elem())
	}
	offs, size, err := layout(af.Type)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range offs {
		if o == 0 || o >= size {
			t.Errorf("%s at %d of %d bytes", entries[i], o, size)
		}
	}
}

// executables lists the cached files of dir.
func executables(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+Suffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCompileThroughCache compiles through the fake plugin: a program is
// compiled and stored once, then loaded; anything in its key that differs
// compiles again.
func TestCompileThroughCache(t *testing.T) {
	dir := t.TempDir()
	table := fakeInstall(dir, "device A", DefaultMaxBytes)
	steps := []struct {
		name, salt, code, opts string
		compiles, loads        int // the plugin's calls in this step
	}{
		{"first compile", "", "prog-1", "opts-1", 1, 0},
		{"same program loads", "", "prog-1", "opts-1", 0, 1},
		{"other options compile", "", "prog-1", "opts-2", 1, 0},
		{"other program compiles", "", "prog-2", "opts-1", 1, 0},
		{"other device compiles", "device B", "prog-1", "opts-1", 1, 0},
		{"and then loads", "", "prog-1", "opts-1", 0, 1},
	}
	files := 0
	for _, s := range steps {
		if s.salt != "" {
			table = fakeInstall(dir, s.salt, DefaultMaxBytes)
		}
		c0, d0, s0 := fakeCount(entryCompile), fakeCount(entryDeserialize), fakeCount(entrySerialize)
		got, err := compileVia(table, s.code, s.opts)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.code {
			t.Errorf("%s: the executable holds %q, want %q", s.name, got, s.code)
		}
		compiles, loads, stores := fakeCount(entryCompile)-c0, fakeCount(entryDeserialize)-d0, fakeCount(entrySerialize)-s0
		if compiles != s.compiles || loads != s.loads || stores != s.compiles {
			t.Errorf("%s: %d compiles, %d loads, %d serializations; want %d, %d, %d", s.name, compiles, loads, stores, s.compiles, s.loads, s.compiles)
		}
		files += s.compiles
		if n := len(executables(t, dir)); n != files {
			t.Errorf("%s: %d files in the cache, want %d", s.name, n, files)
		}
	}
	if st, ok := Installed(); !ok || st.Hits != 1 || st.Misses != 1 || st.Stores != 1 {
		t.Errorf("stats of the last install %+v (installed %v), want 1 hit, 1 miss, 1 store", st, ok)
	}
}

// TestBadFileCompiles: a cached file the plugin cannot load is replaced by
// a fresh compile, and a program that fails to compile leaves no file.
func TestBadFileCompiles(t *testing.T) {
	dir := t.TempDir()
	table := fakeInstall(dir, "x", DefaultMaxBytes)
	if _, err := compileVia(table, "prog", "o"); err != nil {
		t.Fatal(err)
	}
	files := executables(t, dir)
	if len(files) != 1 {
		t.Fatalf("%d files, want 1", len(files))
	}
	if err := os.WriteFile(files[0], []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	c0 := fakeCount(entryCompile)
	got, err := compileVia(table, "prog", "o")
	if err != nil || got != "prog" {
		t.Fatalf("after a bad file: %q, %v", got, err)
	}
	if fakeCount(entryCompile) != c0+1 {
		t.Errorf("a bad file did not lead to a compile")
	}
	if data, err := os.ReadFile(files[0]); err != nil || string(data) != "exe:prog" {
		t.Errorf("the bad file was not replaced: %q, %v", data, err)
	}
	if st, _ := Installed(); st.Bad != 1 {
		t.Errorf("bad files counted %d, want 1", st.Bad)
	}

	_, err = compileVia(table, "bad program", "o")
	if err == nil || !strings.Contains(err.Error(), "does not compile") {
		t.Errorf("the compile error did not come through: %v", err)
	}
	if n := len(executables(t, dir)); n != 1 {
		t.Errorf("%d files after a failed compile, want 1", n)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "tmp-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// TestTrimDropsLeastRecentlyUsed: beyond the size limit the oldest
// executables go, and a load counts as a use.
func TestTrimDropsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	// Each file is "exe:" + 6 bytes = 10 bytes; room for two.
	table := fakeInstall(dir, "x", 25)
	path := map[string]string{}
	for i, code := range []string{"prog-a", "prog-b"} {
		before := executables(t, dir)
		if _, err := compileVia(table, code, ""); err != nil {
			t.Fatal(err)
		}
		after := executables(t, dir)
		if len(after) != len(before)+1 {
			t.Fatalf("%s: %d files, want %d", code, len(after), len(before)+1)
		}
		for _, f := range after {
			if !slices.Contains(before, f) {
				path[code] = f
			}
		}
		// Distinct, ordered modification times.
		old := time.Now().Add(time.Duration(i-10) * time.Minute)
		if err := os.Chtimes(path[code], old, old); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := compileVia(table, "prog-a", ""); err != nil { // a load: prog-a becomes the newest
		t.Fatal(err)
	}
	if _, err := compileVia(table, "prog-c", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path["prog-b"]); !os.IsNotExist(err) {
		t.Errorf("the least recently used executable (prog-b) was kept")
	}
	if _, err := os.Stat(path["prog-a"]); err != nil {
		t.Errorf("the recently loaded executable (prog-a) was removed: %v", err)
	}
	if n := len(executables(t, dir)); n != 2 {
		t.Errorf("%d files, want 2", n)
	}
}

// TestInstallLeavesOtherBackendsAlone: only GoMLX's XLA backend is
// changed.
func TestInstallLeavesOtherBackendsAlone(t *testing.T) {
	for _, b := range []any{nil, 3, &struct{}{}} {
		if ok, err := Install(b, t.TempDir(), ""); ok || err != nil {
			t.Errorf("Install(%T) = %v, %v; want false, nil", b, ok, err)
		}
	}
}

// TestSaltCoversDeviceAndFlags: executables compiled for another card, XLA
// flags or library path get other keys.
func TestSaltCoversDeviceAndFlags(t *testing.T) {
	t.Setenv("XLA_FLAGS", "--a=1")
	t.Setenv("LD_LIBRARY_PATH", "/x")
	base := salt(nil, nil, "NVIDIA H100 80GB HBM3")
	if other := salt(nil, nil, "NVIDIA A100-SXM4-80GB"); other == base {
		t.Error("another card gives the same salt")
	}
	t.Setenv("XLA_FLAGS", "--a=2")
	if salt(nil, nil, "NVIDIA H100 80GB HBM3") == base {
		t.Error("other XLA flags give the same salt")
	}
	t.Setenv("XLA_FLAGS", "--a=1")
	t.Setenv("LD_LIBRARY_PATH", "/y")
	if salt(nil, nil, "NVIDIA H100 80GB HBM3") == base {
		t.Error("another library path gives the same salt")
	}
	t.Setenv("LD_LIBRARY_PATH", "/x")
	if salt(nil, nil, "NVIDIA H100 80GB HBM3") != base {
		t.Error("the same inputs give another salt")
	}
}

// TestStoreFailureWarnsOnce: an executable the plugin cannot serialize is
// still returned, nothing is written, and only the first failure is a
// warning (a plugin without serialization would fail for every program).
func TestStoreFailureWarnsOnce(t *testing.T) {
	var logs bytes.Buffer
	saved := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(saved)
	dir := t.TempDir()
	table := fakeInstall(dir, "x", DefaultMaxBytes)
	for _, code := range []string{"noser-1", "noser-2", "noser-3"} {
		got, err := compileVia(table, code, "")
		if err != nil || got != code {
			t.Fatalf("%s: %q, %v", code, got, err)
		}
	}
	if n := len(executables(t, dir)); n != 0 {
		t.Errorf("%d files written, want none", n)
	}
	text := logs.String()
	if w, d := strings.Count(text, "level=WARN"), strings.Count(text, "level=DEBUG msg=\"xla executable cache: not stored\""); w != 1 || d != 2 {
		t.Errorf("%d warnings and %d debug lines for 3 failed stores, want 1 and 2:\n%s", w, d, text)
	}
	if !strings.Contains(text, "cannot be serialized") {
		t.Errorf("the plugin's message is not logged:\n%s", text)
	}
}
