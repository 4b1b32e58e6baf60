package modelstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"sdgo/internal/modelstore"
)

// layout makes a webui-style models folder holding the given files.
func layout(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestList(t *testing.T) {
	dir := layout(t,
		"Stable-diffusion/b.safetensors", "Stable-diffusion/sub/a.ckpt", "Stable-diffusion/c.safetensors.part",
		"Stable-diffusion/notes.txt", "Stable-diffusion/.hidden/x.safetensors",
		"Lora/style.safetensors", "VAE/style.safetensors", "ESRGAN/x.pth")
	got, err := modelstore.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind modelstore.Kind
		name string
	}{
		{modelstore.Checkpoint, "b.safetensors"}, {modelstore.Checkpoint, "sub/a.ckpt"},
		{modelstore.LoRA, "style.safetensors"}, {modelstore.VAE, "style.safetensors"},
	}
	if len(got) != len(want) {
		t.Fatalf("List = %+v, want %d models", got, len(want))
	}
	for i, w := range want {
		if got[i].Kind != w.kind || got[i].Name != w.name || got[i].Size == 0 || !filepath.IsAbs(got[i].Path) {
			t.Errorf("model %d = %+v, want %s %s", i, got[i], w.kind, w.name)
		}
	}
	if m, err := modelstore.List(filepath.Join(dir, "missing")); err != nil || len(m) != 0 {
		t.Errorf("missing folder: %v, %v; want empty", m, err)
	}
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name    string
		is      error
		removed string // path relative to the models folder
	}{
		{name: "b.safetensors", removed: "Stable-diffusion/b.safetensors"},
		{name: "sub/a.ckpt", removed: "Stable-diffusion/sub/a.ckpt"},
		{name: "Lora/style.safetensors", removed: "Lora/style.safetensors"},
		{name: "style.safetensors", is: modelstore.ErrBadName}, // in Lora and VAE
		{name: "nope.safetensors", is: modelstore.ErrNotFound},
		{name: "notes.txt", is: modelstore.ErrNotFound},
		{name: "../outside.safetensors", is: modelstore.ErrBadName},
		{name: "Stable-diffusion/../../outside.safetensors", is: modelstore.ErrBadName},
		{name: "/etc/passwd", is: modelstore.ErrBadName},
		{name: "", is: modelstore.ErrBadName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := layout(t, "Stable-diffusion/b.safetensors", "Stable-diffusion/sub/a.ckpt", "Stable-diffusion/notes.txt",
				"Lora/style.safetensors", "VAE/style.safetensors", "outside.safetensors")
			m, err := modelstore.Delete(dir, tc.name)
			if tc.is != nil {
				if !errors.Is(err, tc.is) {
					t.Fatalf("err %v, want %v", err, tc.is)
				}
				if all, _ := modelstore.List(dir); len(all) != 4 {
					t.Errorf("a refused delete removed something: %v", all)
				}
				if _, err := os.Stat(filepath.Join(dir, "outside.safetensors")); err != nil {
					t.Errorf("file outside the folders gone: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(tc.removed))); !os.IsNotExist(err) {
				t.Errorf("%s still there (deleted %+v)", tc.removed, m)
			}
			if all, _ := modelstore.List(dir); len(all) != 3 {
				t.Errorf("after delete %d models, want 3", len(all))
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]string{"": "Stable-diffusion", "checkpoint": "Stable-diffusion", "LoRA": "Lora", "vae": "VAE"} {
		k, err := modelstore.ParseKind(in)
		if err != nil || k.Folder() != want {
			t.Errorf("ParseKind(%q) = %v (%s), %v; want folder %s", in, k, k.Folder(), err, want)
		}
	}
	if _, err := modelstore.ParseKind("esrgan"); !errors.Is(err, modelstore.ErrBadName) {
		t.Errorf("ParseKind(esrgan) err %v", err)
	}
}
