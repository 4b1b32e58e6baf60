package engine

import (
	"os"
	"path/filepath"
	"sync"
	"time"

	"sdgo/internal/embedding"
	"sdgo/internal/pipeline"
)

// embeddings keeps the textual-inversion database of the embeddings
// folder, reloaded (as webui does before each generation) when the
// folder's modification time or the loaded model's width changes.
type embeddings struct {
	dirs []string // candidate folders; the first that exists is read

	mu    sync.Mutex
	db    *embedding.Database
	dir   string
	width int
	mtime time.Time
}

// embeddingDirs are where the engine looks for embeddings: the models
// folder's embeddings/ (sdgo's layout), then embeddings/ beside it (webui's
// layout, where models/ and embeddings/ share a parent).
func embeddingDirs(modelsDir, embeddingsDir string) []string {
	if modelsDir == "" {
		return nil
	}
	return []string{embeddingsDir, filepath.Join(filepath.Dir(filepath.Clean(modelsDir)), "embeddings")}
}

// get returns the database for a model of the given text width (0 = no
// model loaded: every embedding counts as loaded). force rereads the
// folder even when it looks unchanged.
func (m *embeddings) get(width int, force bool) (*embedding.Database, error) {
	dir, mtime := "", time.Time{}
	for _, d := range m.dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			dir, mtime = d, st.ModTime()
			break
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !force && m.db != nil && dir == m.dir && width == m.width && mtime.Equal(m.mtime) {
		return m.db, nil
	}
	db, err := embedding.Load(dir, width)
	if err != nil {
		return nil, err
	}
	m.db, m.dir, m.width, m.mtime = db, dir, width, mtime
	return db, nil
}

// Embeddings returns the textual-inversion embeddings of the models
// folder, split into loaded and skipped for the loaded model's width (all
// loaded when no model is). refresh rereads the folder.
func (e *Engine) Embeddings(refresh bool) (*embedding.Database, error) {
	width := 0
	e.mu.Lock()
	if e.loaded != nil && e.loaded.Model != nil {
		width = pipeline.TextWidth(e.loaded.Model)
	}
	e.mu.Unlock()
	return e.emb.get(width, refresh)
}
