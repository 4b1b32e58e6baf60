package pickle

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLightningCheckpoint opens an archive shaped like a CompVis/Lightning
// checkpoint (made by testdata/gen.py): pytorch_lightning callbacks and numpy
// scalars become placeholders, tensors and views load, a transposed tensor
// is reported as non-contiguous.
func TestLightningCheckpoint(t *testing.T) {
	f, err := Open(filepath.Join("testdata", "lightning.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []string{"model.diffusion_model.h", "model.diffusion_model.w", "model.diffusion_model.wT", "model.diffusion_model.w_tail"}
	if got := f.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("names = %v, want %v", got, want)
	}
	tests := []struct {
		name  string
		dtype DType
		shape []int
		want  []float32
	}{
		{"model.diffusion_model.w", F32, []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}},
		{"model.diffusion_model.w_tail", F32, []int{2}, []float32{5, 6}},
		{"model.diffusion_model.h", F16, []int{3}, []float32{0.5, -1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ti, ok := f.Info(tc.name)
			if !ok || ti.DType != tc.dtype || !equalInts(ti.Shape, tc.shape) {
				t.Fatalf("info %+v ok=%v", ti, ok)
			}
			raw, err := f.Raw(tc.name)
			if err != nil || len(raw) != len(tc.want)*tc.dtype.Size() {
				t.Fatalf("raw: %d bytes, %v", len(raw), err)
			}
			v, shape, err := f.Float32(tc.name)
			if err != nil || !equalInts(shape, tc.shape) || !equalF32(v, tc.want) {
				t.Fatalf("Float32 = %v %v %v, want %v", v, shape, err, tc.want)
			}
		})
	}
	ti, _ := f.Info("model.diffusion_model.wT")
	if ti.Contiguous() {
		t.Error("transposed tensor reported contiguous")
	}
	if _, err := f.Raw("model.diffusion_model.wT"); err == nil || !strings.Contains(err.Error(), "not contiguous") || !strings.Contains(err.Error(), "wT") {
		t.Errorf("Raw(non-contiguous) error = %v", err)
	}
	root := f.Root().(*Dict)
	if gs, _ := root.Get("global_step"); !isSkipped(gs, "numpy.core.multiarray.scalar") {
		t.Errorf("global_step = %v, want a numpy placeholder", gs)
	}
	cb, _ := root.Get("callbacks")
	k, v := cb.(*Dict).Entry(0)
	if !isSkipped(k, "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint") || !isSkipped(v, "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint") {
		t.Errorf("callbacks entry = %v: %v", k, v)
	}
}

func isSkipped(v any, global string) bool {
	s, ok := v.(*Skipped)
	return ok && s.Global == global
}

func TestFlatStateDict(t *testing.T) {
	f, err := Open(filepath.Join("testdata", "flat.pt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.Names(), ","); got != "a.bf16,b.i64" {
		t.Fatalf("names = %s", got)
	}
	v, _, err := f.Float32("a.bf16")
	if err != nil || !equalF32(v, []float32{1, -3}) {
		t.Errorf("a.bf16 = %v, %v", v, err)
	}
	v, shape, err := f.Float32("b.i64")
	if err != nil || !equalF32(v, []float32{0, 1, 2}) || !equalInts(shape, []int{1, 3}) {
		t.Errorf("b.i64 = %v %v, %v", v, shape, err)
	}
}

// Opcode helpers for hand-built pickles.
func short(s string) string { return "\x8c" + string(rune(len(s))) + s } // SHORT_BINUNICODE (len < 128)

func TestRefusedGlobals(t *testing.T) {
	tests := []struct {
		name   string
		prog   string
		global string
	}{
		{"GLOBAL os.system", "\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.", "os.system"},
		{"STACK_GLOBAL posix.system", "\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00" + short("posix") + short("system") + "\x93" + short("id") + "\x85R.", "posix.system"},
		{"builtins.eval", "\x80\x02cbuiltins\neval\n" + short("1") + "\x85R.", "builtins.eval"},
		{"INST subprocess", "(" + short("ls") + "isubprocess\nPopen\n.", "subprocess.Popen"},
		{"OBJ nt.system", "(cnt\nsystem\n" + short("x") + "o.", "nt.system"},
		{"inside state dict", "\x80\x02}(X\x0a\x00\x00\x00state_dictccollections\nOrderedDict\n)R(" + short("a") + "cbuiltins\nexec\n" + short("x") + "\x85Rutu.", "builtins.exec"},
		{"getattr", "\x80\x02cbuiltins\ngetattr\n.", "builtins.getattr"},
		{"torch.load", "\x80\x02ctorch\nload\n.", "torch.load"},
		{"load_from_bytes", "\x80\x02ctorch.storage\n_load_from_bytes\nC\x01x\x85R.", "torch.storage._load_from_bytes"},
		{"numpy.load", "\x80\x02cnumpy\nload\n.", "numpy.load"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unpickle([]byte(tc.prog), nil, Limits{})
			want := `pickle: refused global "` + tc.global + `"`
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error = %v, want prefix %s", err, want)
			}
			var re *RefusedError
			if !errors.As(err, &re) || re.Global != tc.global || !errors.Is(err, ErrRefused) {
				t.Errorf("error is not a RefusedError for %s: %#v", tc.global, err)
			}
		})
	}
}

// TestRefusedInArchive checks that Open names the refused global.
func TestRefusedInArchive(t *testing.T) {
	path := writeArchive(t, map[string]string{
		"archive/data.pkl": "\x80\x02cposix\nsystem\nX\x05\x00\x00\x00touchq\x01\x85R.",
	})
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), `refused global "posix.system"`) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error = %v", err)
	}
}

func writeArchive(t *testing.T, entries map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.ckpt")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tensorProg is a pickle for {"w": tensor(storage "0" of F32, size, stride)}.
func tensorProg(numel byte, size, stride string) string {
	return "\x80\x02}" + short("w") +
		"ctorch._utils\n_rebuild_tensor_v2\n(" +
		"(" + short("storage") + "ctorch\nFloatStorage\n" + short("0") + short("cpu") + "K" + string(rune(numel)) + "tQ" +
		"K\x00" + size + stride + "\x89ccollections\nOrderedDict\n)Rt" +
		"Rs."
}

func TestArchiveErrors(t *testing.T) {
	f32 := func(vs ...float32) string {
		var b []byte
		for _, v := range vs {
			u := math.Float32bits(v)
			b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
		}
		return string(b)
	}
	ok := tensorProg(2, "K\x02\x85", "K\x01\x85")
	tests := []struct {
		name    string
		entries map[string]string
		want    string
	}{
		{"no pickle", map[string]string{"archive/other": "x"}, "no <name>/data.pkl"},
		{"missing storage", map[string]string{"archive/data.pkl": ok}, `storage "0" has no entry archive/data/0`},
		{"short storage", map[string]string{"archive/data.pkl": ok, "archive/data/0": "abc"}, "entry holds 3 bytes"},
		{"tensor past storage", map[string]string{"archive/data.pkl": tensorProg(2, "K\x03\x85", "K\x01\x85"), "archive/data/0": f32(1, 2)}, "run past storage"},
		{"big endian", map[string]string{"archive/data.pkl": ok, "archive/data/0": f32(1, 2), "archive/byteorder": "big"}, "byte order"},
		{"truncated pickle", map[string]string{"archive/data.pkl": ok[:20], "archive/data/0": f32(1, 2)}, "truncated pickle"},
		{"bad storage class", map[string]string{"archive/data.pkl": strings.Replace(ok, "FloatStorage", "QInt8Storage", 1), "archive/data/0": f32(1, 2)}, `refused global "torch.QInt8Storage"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(writeArchive(t, tc.entries))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
	f, err := Open(writeArchive(t, map[string]string{"archive/data.pkl": ok, "archive/data/0": f32(1.5, -2), "archive/byteorder": "little"}))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _, err := f.Float32("w"); err != nil || !equalF32(v, []float32{1.5, -2}) {
		t.Errorf("w = %v, %v", v, err)
	}
}

func TestCompressedArchive(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"a/data.pkl": tensorProg(2, "K\x02\x85", "K\x01\x85"),
		"a/data/0":   "\x00\x00\x80\x3f\x00\x00\x00\x40",
	} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		w.Write([]byte(body))
	}
	zw.Close()
	path := filepath.Join(t.TempDir(), "c.pt")
	os.WriteFile(path, buf.Bytes(), 0o644)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _, err := f.Float32("w"); err != nil || !equalF32(v, []float32{1, 2}) {
		t.Errorf("w = %v, %v", v, err)
	}
}

func TestNotAnArchive(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"safetensors", []byte("\x10\x00\x00\x00\x00\x00\x00\x00{}              "), "not a PyTorch zip archive"},
		{"legacy", append(append([]byte{}, legacyMagic...), 0, 0), "legacy (pre-1.6)"},
		{"truncated zip", []byte("PK\x03\x04 truncated"), "truncated download"},
		{"empty", nil, "not a PyTorch zip archive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			os.WriteFile(p, tc.data, 0o644)
			_, err := Open(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestValues(t *testing.T) {
	tests := []struct {
		name string
		prog string
		want string // fmt of the result
	}{
		{"ints", "\x80\x02(K\x05M\x00\x01J\xff\xff\xff\xff\x8a\x01\xff\x8a\x00I42\nL-7L\ntq\x00.", "[5 256 -1 -1 0 42 -7]"},
		{"bools none", "\x80\x02(\x88\x89NI01\nI00\nt.", "[true false <nil> true false]"},
		{"floats", "\x80\x02(G?\xf8\x00\x00\x00\x00\x00\x00F2.5\nt.", "[1.5 2.5]"},
		{"strings", "\x80\x02(X\x02\x00\x00\x00hiC\x02\x01\x02S'a\\nb'\nVcaf\\u00e9\nt.", "[hi [1 2] [97 10 98] café]"},
		{"memo", "\x80\x02]q\x00(K\x01h\x00K\x02e0h\x00.", "&{[1 0xSELF 2]}"},
		{"big int", "\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.", "18446744073709551616"},
		{"codecs bytes", "\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00\xc3\xbf" + short("latin1") + "\x86R.", "[255]"},
		{"pop mark", "\x80\x02K\x01(K\x02K\x031.", "1"},
		{"set", "\x80\x04\x8f(K\x01K\x02\x90.", "&{[1 2]}"},
		{"ordered dict from list", "\x80\x02ccollections\nOrderedDict\n]" + short("a") + "K\x01\x86a\x85R.", "dict[a:1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Unpickle([]byte(tc.prog), nil, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := show(v); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// show formats values compactly for TestValues; a list containing itself
// prints 0xSELF.
func show(v any) string {
	switch x := v.(type) {
	case Tuple:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = show(it)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case *List:
		parts := make([]string, len(x.Items))
		for i, it := range x.Items {
			if it == any(x) {
				parts[i] = "0xSELF"
				continue
			}
			parts[i] = show(it)
		}
		return "&{[" + strings.Join(parts, " ") + "]}"
	case *Set:
		return show(&List{Items: x.Items})
	case *Dict:
		parts := make([]string, x.Len())
		for i := range parts {
			k, v := x.Entry(i)
			parts[i] = show(k) + ":" + show(v)
		}
		return "dict[" + strings.Join(parts, " ") + "]"
	case []byte:
		return fmt.Sprint(x)
	case string:
		return x
	case nil:
		return "<nil>"
	}
	return fmt.Sprint(v)
}

func TestMalformedPrograms(t *testing.T) {
	tests := []struct {
		name string
		prog string
		lim  Limits
		want string
	}{
		{"empty", "", Limits{}, "no STOP"},
		{"underflow", "\x80\x02R.", Limits{}, "stack underflow"},
		{"stop on empty", ".", Limits{}, "stack underflow"},
		{"bad memo", "\x80\x02h\x05.", Limits{}, "memo has no entry 5"},
		{"unknown opcode", "\x80\x02\xff.", Limits{}, "unknown opcode 0xff"},
		{"protocol 9", "\x80\x09N.", Limits{}, "protocol 9"},
		{"huge string", "\x80\x02X\xff\xff\xff\x7f.", Limits{}, "exceeds the"},
		{"long string", "\x80\x02X\xff\xff\x00\x00abc.", Limits{}, "truncated pickle"},
		{"string limit", "\x80\x02X\x05\x00\x00\x00hello.", Limits{MaxString: 4}, "exceeds the 4-byte limit"},
		{"stack limit", "\x80\x02NNNNN.", Limits{MaxStack: 3}, "stack exceeds 3"},
		{"mark limit", "\x80\x02((((N.", Limits{MaxMarks: 2}, "more than 2 nested MARKs"},
		{"memo limit", "\x80\x02Nq\x00q\x01q\x02.", Limits{MaxMemo: 2}, "memo exceeds 2"},
		{"object limit", "\x80\x02" + strings.Repeat("N0", 10) + "N.", Limits{MaxObjects: 5}, "more than 5 values"},
		{"append to int", "\x80\x02K\x01K\x02a.", Limits{}, "cannot append"},
		{"call a string", "\x80\x02" + short("x") + ")R.", Limits{}, "cannot call"},
		{"call storage class", "\x80\x02ctorch\nFloatStorage\n)R.", Limits{}, "cannot be called"},
		{"persid without loader", "\x80\x02NQ.", Limits{}, "without a loader"},
		{"ext", "\x80\x02\x82\x01.", Limits{}, "extension"},
		{"long too long", "\x80\x02\x8b\x00\x00\x01\x00.", Limits{}, "too long"},
		{"tensor without storage", "\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(NK\x00)))tR.", Limits{}, "not a torch storage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unpickle([]byte(tc.prog), nil, tc.lim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
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
