package embedding

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Skipped is an embedding that loaded but does not fit the model.
type Skipped struct {
	*Embedding
	Reason string
}

// LoadError is a file of the folder that could not be read.
type LoadError struct {
	Path string
	Err  error
}

// Database is the embeddings of a folder, as webui's EmbeddingDatabase: a
// later file with the same trigger word replaces an earlier one. It is
// read-only after Load and safe for concurrent use.
type Database struct {
	Dir     string
	Shape   int                   // the width embeddings must have (0 = any)
	Loaded  map[string]*Embedding // by trigger word
	Skipped map[string]Skipped    // by trigger word
	Errors  []LoadError
}

// Load reads every .pt, .bin and .safetensors file under dir (subfolders
// included, empty files ignored, as webui). shape is the width the loaded
// model's embeddings have: the sum of its text encoders' widths (768 for
// SD1, 1024 for SD2, 2048 for SDXL); embeddings of another width are
// Skipped. shape 0 accepts every width. A missing folder gives an empty
// database; files that fail to load are listed in Errors, not returned.
func Load(dir string, shape int) (*Database, error) {
	db := &Database{Dir: dir, Shape: shape, Loaded: map[string]*Embedding{}, Skipped: map[string]Skipped{}}
	if dir == "" {
		return db, nil
	}
	if st, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return db, nil
	} else if err != nil {
		return nil, fmt.Errorf("embedding: load folder: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("embedding: load folder %s: not a folder", dir)
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			db.Errors = append(db.Errors, LoadError{p, err})
			return nil
		}
		if d.IsDir() || !slices.Contains(Exts, strings.ToLower(filepath.Ext(p))) {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() == 0 {
			return nil
		}
		e, err := LoadFile(p)
		if err != nil {
			db.Errors = append(db.Errors, LoadError{p, err})
			return nil
		}
		db.add(e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedding: load folder %s: %w", dir, err)
	}
	return db, nil
}

// add registers e, or lists it as skipped when its width does not fit.
func (db *Database) add(e *Embedding) {
	delete(db.Loaded, e.Name)
	delete(db.Skipped, e.Name)
	if db.Shape != 0 && e.Shape != db.Shape {
		db.Skipped[e.Name] = Skipped{e, fmt.Sprintf("width %d, the model's text encoders take %d", e.Shape, db.Shape)}
		return
	}
	db.Loaded[e.Name] = e
}

// Names returns the loaded trigger words sorted case-insensitively, as
// webui lists them.
func (db *Database) Names() []string {
	if db == nil {
		return nil
	}
	names := make([]string, 0, len(db.Loaded))
	for n := range db.Loaded {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := strings.ToLower(names[i]), strings.ToLower(names[j])
		if a != b {
			return a < b
		}
		return names[i] < names[j]
	})
	return names
}

// Get returns a loaded embedding by trigger word.
func (db *Database) Get(name string) (*Embedding, bool) {
	if db == nil {
		return nil, false
	}
	e, ok := db.Loaded[name]
	return e, ok
}

// Finder finds trigger words in one tokenizer's ids. Build one per
// tokenizer with Database.Finder.
type Finder struct {
	byFirst map[int][]entry // first id -> candidates, longest first
}

type entry struct {
	ids []int
	e   *Embedding
}

// Finder tokenizes every trigger word with tokenize (no BOS/EOS, the
// function the prompt chunker uses) so that Find can match them in a
// prompt's ids. A nil or empty database gives a Finder that finds nothing.
func (db *Database) Finder(tokenize func(string) []int) *Finder {
	f := &Finder{byFirst: map[int][]entry{}}
	for _, name := range db.Names() {
		ids := tokenize(name)
		if len(ids) == 0 {
			continue
		}
		f.byFirst[ids[0]] = append(f.byFirst[ids[0]], entry{ids, db.Loaded[name]})
	}
	for _, c := range f.byFirst {
		sort.SliceStable(c, func(i, j int) bool { return len(c[i].ids) > len(c[j].ids) })
	}
	return f
}

// Find returns the embedding whose trigger word's ids start at
// tokens[pos], the longest such one, and how many ids it covers (webui's
// find_embedding_at_position). ok is false when none matches.
func (f *Finder) Find(tokens []int, pos int) (e *Embedding, n int, ok bool) {
	if f == nil || pos < 0 || pos >= len(tokens) {
		return nil, 0, false
	}
	for _, c := range f.byFirst[tokens[pos]] {
		if pos+len(c.ids) <= len(tokens) && slices.Equal(tokens[pos:pos+len(c.ids)], c.ids) {
			return c.e, len(c.ids), true
		}
	}
	return nil, 0, false
}
