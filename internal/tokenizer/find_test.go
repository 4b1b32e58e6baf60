package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFind(t *testing.T) {
	clip := sharedDir(t, "clip")
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // an empty user cache dir
	t.Setenv("HOME", t.TempDir())

	root := t.TempDir()
	// A diffusers folder with tokenizer/vocab.json + merges.txt.
	diffusers := filepath.Join(root, "diffusers-model")
	copyFile(t, filepath.Join(clip, VocabJSON), filepath.Join(diffusers, "tokenizer", VocabJSON))
	copyFile(t, filepath.Join(clip, MergesTXT), filepath.Join(diffusers, "tokenizer", MergesTXT))
	// A single-file model with the BPE file beside it.
	single := filepath.Join(root, "models", "model.safetensors")
	copyFile(t, filepath.Join(clip, BPEGz), filepath.Join(root, "models", BPEGz))
	if err := os.WriteFile(single, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(root, "bare", "model.safetensors")
	if err := os.MkdirAll(filepath.Dir(bare), 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, model, configured string
	}{
		{"diffusers folder", diffusers, ""},
		{"file inside a diffusers component", filepath.Join(diffusers, "unet", "diffusion_pytorch_model.safetensors"), ""},
		{"beside a single file", single, ""},
		{"configured folder", bare, clip},
		{"configured vocab.json", bare, filepath.Join(clip, VocabJSON)},
		{"configured merges.txt", "", filepath.Join(clip, MergesTXT)},
		{"configured bpe file", "", filepath.Join(clip, BPEGz)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Find(tc.model, tc.configured)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Encode("a photo of a cat"); len(got) != 5 || got[4] != 2368 {
				t.Errorf("Encode = %v", got)
			}
		})
	}

	t.Run("cache dir", func(t *testing.T) {
		cache := CacheDir()
		copyFile(t, filepath.Join(clip, BPEGz), filepath.Join(cache, BPEGz))
		defer os.RemoveAll(cache)
		if _, err := Find(bare, ""); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := Find(bare, "")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		msg := err.Error()
		for _, want := range []string{filepath.Join(root, "bare", "tokenizer"), filepath.Join(root, "bare"), CacheDir(), BPEGz, EnvVocab, "fix:"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error does not mention %q:\n%s", want, msg)
			}
		}
	})

	t.Run("configured path missing", func(t *testing.T) {
		_, err := Find("", filepath.Join(root, "nope"))
		if err == nil || !strings.Contains(err.Error(), "nope") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("broken file is an error, not skipped", func(t *testing.T) {
		dir := filepath.Join(root, "broken")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, BPEGz), []byte("\x1f\x8bnot gzip"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Find("", dir)
		if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), BPEGz) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct{ name, vocab, merges, want string }{
		{"bad json", "{", "", "vocab.json"},
		{"merge not in vocab", `{"<|startoftext|>":0,"<|endoftext|>":1,"a":2}`, "#version: 0.2\na b\n", "not in the vocabulary"},
		{"bad merge line", `{"<|startoftext|>":0,"<|endoftext|>":1}`, "#version: 0.2\nabc\n", "line 2"},
		{"no special tokens", `{"a":0}`, "", "<|startoftext|>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.vocab), strings.NewReader(tc.merges))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := ReadBPE(strings.NewReader("header\na b\n")); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("short BPE file: err = %v", err)
	}
}
