package engine

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"sdgo/internal/safetensors"
)

// TestEmbeddingsReload checks the embeddings cache: the first existing
// folder is read, the database is reused while nothing changes, and a new
// width or a changed folder reloads it.
func TestEmbeddingsReload(t *testing.T) {
	root := t.TempDir()
	models := filepath.Join(root, "models")
	webuiDir := filepath.Join(root, "embeddings") // webui layout: beside models/
	os.MkdirAll(webuiDir, 0o755)
	write := func(name string, width int) {
		if err := safetensors.WriteFile(filepath.Join(webuiDir, name), []safetensors.Tensor{
			safetensors.F32Tensor("emb_params", []int{1, width}, make([]float32, width))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	write("a.safetensors", 32)
	write("b.safetensors", 64)
	m := embeddings{dirs: embeddingDirs(models, filepath.Join(models, "embeddings"))}
	db, err := m.get(32, false)
	if err != nil || db.Dir != webuiDir || len(db.Loaded) != 1 || len(db.Skipped) != 1 {
		t.Fatalf("width 32: %+v %v, want a loaded and b skipped from %s", db, err, webuiDir)
	}
	if again, _ := m.get(32, false); again != db {
		t.Error("an unchanged folder was read again")
	}
	if db64, _ := m.get(64, false); db64 == db || db64.Loaded["b"] == nil {
		t.Error("a new width did not reload")
	}
	past := time.Now().Add(-time.Hour)
	os.Chtimes(webuiDir, past, past)
	m.get(32, false)
	write("c.safetensors", 32)
	if db, _ := m.get(32, false); db.Loaded["c"] == nil {
		t.Error("a new file was not picked up")
	}
	if db, _ := m.get(0, true); len(db.Loaded) != 3 {
		t.Errorf("width 0 loaded %d, want all 3", len(db.Loaded))
	}
	none := embeddings{dirs: embeddingDirs("", "")}
	if db, err := none.get(32, false); err != nil || len(db.Loaded) != 0 {
		t.Errorf("no folder: %v %v", db, err)
	}
}
