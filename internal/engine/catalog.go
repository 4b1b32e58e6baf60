package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"sdgo/internal/safetensors"
)

// Errors the catalogue returns; the server maps them to HTTP statuses.
var (
	ErrUnknownModel = errors.New("engine: unknown model")
	ErrBadName      = errors.New("engine: bad name")
	ErrNoModel      = errors.New("engine: no checkpoint")
)

// Checkpoint is one model file found in the checkpoint folder (or given by
// path on the command line), named as webui names it.
type Checkpoint struct {
	Name      string // path relative to the folder, slash-separated: "sub/model.safetensors"
	ModelName string // Name without extension, folders joined by "_": "sub_model"
	Stem      string // file name without extension: "model" (the infotext's "Model:")
	Path      string // absolute path
	SHA256    string // full hash once known (after the first load), else ""
}

// ShortHash is webui's 10-hex model hash, or "" while unknown.
func (c Checkpoint) ShortHash() string {
	if len(c.SHA256) < 10 {
		return ""
	}
	return c.SHA256[:10]
}

// Title is webui's "name [hash]" (just the name while the hash is unknown).
func (c Checkpoint) Title() string {
	if h := c.ShortHash(); h != "" {
		return c.Name + " [" + h + "]"
	}
	return c.Name
}

// File is a VAE, LoRA or other auxiliary model file.
type File struct {
	Name string // path relative to its folder, slash-separated
	Stem string // file name without extension
	Path string // absolute path
}

// catalog is the scanned content of the model folders.
type catalog struct {
	mu          sync.Mutex
	ckptDir     string
	vaeDir      string
	loraDir     string
	extra       *Checkpoint // --model given as a path outside the folder
	checkpoints []Checkpoint
	vaes        []File
	hashes      map[string]string // absolute path -> SHA-256 learned at load
}

var (
	checkpointExts = []string{".safetensors", ".ckpt"}
	vaeExts        = []string{".safetensors", ".pt", ".ckpt"}
	loraExts       = []string{".safetensors", ".pt", ".ckpt"}
)

// scan lists the files under dir with one of exts, sorted by name. A
// missing folder is empty, not an error.
func scan(dir string, exts []string) ([]File, error) {
	var out []File
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("engine: scan %s: %w", dir, err)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		for _, e := range exts {
			if ext == e {
				rel, _ := filepath.Rel(root, p)
				out = append(out, File{Name: filepath.ToSlash(rel), Stem: strings.TrimSuffix(d.Name(), filepath.Ext(d.Name())), Path: p})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engine: scan %s: %w", dir, err)
	}
	sort.Slice(out, func(i, k int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[k].Name) })
	return out, nil
}

func checkpointOf(f File, sha string) Checkpoint {
	mn := strings.TrimSuffix(f.Name, filepath.Ext(f.Name))
	mn = strings.ReplaceAll(mn, "/", "_")
	return Checkpoint{Name: f.Name, ModelName: mn, Stem: f.Stem, Path: f.Path, SHA256: sha}
}

// refresh rescans the checkpoint and VAE folders.
func (c *catalog) refresh() error {
	files, err := scan(c.ckptDir, checkpointExts)
	if err != nil {
		return err
	}
	vaes, err := scan(c.vaeDir, vaeExts)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checkpoints = c.checkpoints[:0]
	if c.extra != nil {
		c.extra.SHA256 = c.hashes[c.extra.Path]
		c.checkpoints = append(c.checkpoints, *c.extra)
	}
	for _, f := range files {
		if c.extra != nil && f.Path == c.extra.Path {
			continue
		}
		c.checkpoints = append(c.checkpoints, checkpointOf(f, c.hashes[f.Path]))
	}
	c.vaes = vaes
	return nil
}

// addPath registers a checkpoint given by path (the admin's --model).
func (c *catalog) addPath(path string) (Checkpoint, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("engine: model %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return Checkpoint{}, fmt.Errorf("engine: model %s: %w", path, err)
	}
	base := filepath.Base(abs)
	ck := checkpointOf(File{Name: base, Stem: strings.TrimSuffix(base, filepath.Ext(base)), Path: abs}, "")
	c.mu.Lock()
	c.extra = &ck
	c.mu.Unlock()
	return ck, c.refresh()
}

// setHash records a checkpoint's SHA-256 once it is known.
func (c *catalog) setHash(path, sha string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hashes == nil {
		c.hashes = map[string]string{}
	}
	c.hashes[path] = sha
	for i := range c.checkpoints {
		if c.checkpoints[i].Path == path {
			c.checkpoints[i].SHA256 = sha
		}
	}
	if c.extra != nil && c.extra.Path == path {
		c.extra.SHA256 = sha
	}
}

func (c *catalog) list() []Checkpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Checkpoint(nil), c.checkpoints...)
}

// CheckName rejects names that could reach outside a model folder: names
// are matched against the scanned lists only, but a path-like name is
// refused outright so the error says why.
func CheckName(name string) error {
	clean := strings.TrimSpace(name)
	if i := strings.LastIndex(clean, " ["); i >= 0 && strings.HasSuffix(clean, "]") {
		clean = clean[:i]
	}
	if strings.Contains(clean, "\\") || strings.HasPrefix(clean, "/") || filepath.IsAbs(clean) || strings.ContainsRune(clean, 0) {
		return fmt.Errorf("%w %q: names are relative to the model folder; no absolute paths or backslashes", ErrBadName, name)
	}
	for _, part := range strings.Split(clean, "/") {
		if part == ".." || part == "." {
			return fmt.Errorf("%w %q: names may not contain . or .. parts", ErrBadName, name)
		}
	}
	return nil
}

// resolve finds a checkpoint by title, name, model name, stem or short
// hash, as webui's sd_model_checkpoint accepts.
func (c *catalog) resolve(name string) (Checkpoint, error) {
	if err := CheckName(name); err != nil {
		return Checkpoint{}, err
	}
	name = strings.TrimSpace(name)
	bare := name
	if i := strings.LastIndex(name, " ["); i >= 0 && strings.HasSuffix(name, "]") {
		bare = name[:i]
	}
	list := c.list()
	for _, match := range []func(Checkpoint) bool{
		func(k Checkpoint) bool { return k.Title() == name || k.Name == name },
		func(k Checkpoint) bool { return k.Name == bare || k.ModelName == bare },
		func(k Checkpoint) bool { return k.Stem == bare },
		func(k Checkpoint) bool { h := k.ShortHash(); return h != "" && (h == name || k.SHA256 == name) },
	} {
		for _, k := range list {
			if match(k) {
				return k, nil
			}
		}
	}
	return Checkpoint{}, fmt.Errorf("%w %q: not in %s (known: %s)", ErrUnknownModel, name, c.ckptDir, names(list))
}

func names(list []Checkpoint) string {
	if len(list) == 0 {
		return "none"
	}
	var s []string
	for _, k := range list {
		s = append(s, k.Name)
	}
	return strings.Join(s, ", ")
}

// resolveVAE finds a VAE file by name or stem; "", "Automatic" and "None"
// mean the checkpoint's own VAE and return a zero File.
func (c *catalog) resolveVAE(name string) (File, error) {
	if name == "" || strings.EqualFold(name, "Automatic") || strings.EqualFold(name, "None") {
		return File{}, nil
	}
	if err := CheckName(name); err != nil {
		return File{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.vaes {
		if f.Name == name || f.Stem == name {
			return f, nil
		}
	}
	return File{}, fmt.Errorf("%w: VAE %q not in %s", ErrUnknownModel, name, c.vaeDir)
}

// LoRAInfo is a LoRA file with its safetensors metadata.
type LoRAInfo struct {
	File
	Metadata map[string]string
}

// loras scans the LoRA folder and reads each safetensors header's metadata.
func (c *catalog) loras() ([]LoRAInfo, error) {
	files, err := scan(c.loraDir, loraExts)
	if err != nil {
		return nil, err
	}
	out := make([]LoRAInfo, 0, len(files))
	for _, f := range files {
		li := LoRAInfo{File: f, Metadata: map[string]string{}}
		if strings.EqualFold(filepath.Ext(f.Path), ".safetensors") {
			if sf, err := safetensors.Open(f.Path); err == nil {
				li.Metadata = sf.Metadata()
				sf.Close()
			}
		}
		out = append(out, li)
	}
	return out, nil
}
