package modelstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Errors returned by the store; callers test them with errors.Is.
var (
	ErrBadName  = errors.New("modelstore: bad name")
	ErrNotFound = errors.New("modelstore: not found")
	ErrExists   = errors.New("modelstore: file exists")
	ErrChecksum = errors.New("modelstore: sha256 mismatch")
	ErrAuth     = errors.New("modelstore: unauthorized")
)

// Kind is the sort of model file, which decides its folder.
type Kind string

// The kinds of model file and their webui folders.
const (
	Checkpoint Kind = "checkpoint" // DIR/Stable-diffusion
	LoRA       Kind = "lora"       // DIR/Lora
	VAE        Kind = "vae"        // DIR/VAE
)

// Kinds lists every kind in display order.
var Kinds = []Kind{Checkpoint, LoRA, VAE}

// ParseKind accepts "checkpoint" (or "", "ckpt"), "lora" and "vae",
// case-insensitively.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "checkpoint", "ckpt", "stable-diffusion":
		return Checkpoint, nil
	case "lora":
		return LoRA, nil
	case "vae":
		return VAE, nil
	}
	return "", fmt.Errorf("%w: kind %q: want checkpoint, lora or vae", ErrBadName, s)
}

// Folder is the kind's folder name under the models folder.
func (k Kind) Folder() string {
	switch k {
	case LoRA:
		return "Lora"
	case VAE:
		return "VAE"
	}
	return "Stable-diffusion"
}

// exts are the file extensions listed for every kind (as the engine scans).
var exts = map[string]bool{".safetensors": true, ".ckpt": true, ".pt": true}

// Model is one model file in the models folder.
type Model struct {
	Kind    Kind      `json:"kind"`
	Name    string    `json:"name"` // path relative to the kind's folder, slash-separated
	Path    string    `json:"path"` // absolute path
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
}

// CheckName refuses a file name that could reach outside a folder: empty,
// absolute, with a backslash, a NUL, or a "." or ".." part. Slashes between
// plain parts are allowed only when allowDirs is set.
func CheckName(name string, allowDirs bool) error {
	if name == "" || strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/") || filepath.IsAbs(name) {
		return fmt.Errorf("%w %q: want a plain file name", ErrBadName, name)
	}
	parts := strings.Split(name, "/")
	if len(parts) > 1 && !allowDirs {
		return fmt.Errorf("%w %q: no path separators allowed", ErrBadName, name)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return fmt.Errorf("%w %q: no empty, . or .. parts allowed", ErrBadName, name)
		}
	}
	return nil
}

// List returns the model files under dir's Stable-diffusion, Lora and VAE
// folders, by kind then name. Missing folders are empty; hidden files and
// folders and unfinished ".part" downloads are skipped.
func List(dir string) ([]Model, error) {
	var out []Model
	for _, k := range Kinds {
		ms, err := listKind(dir, k)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

func listKind(dir string, k Kind) ([]Model, error) {
	root, err := filepath.Abs(filepath.Join(dir, k.Folder()))
	if err != nil {
		return nil, fmt.Errorf("modelstore: list %s: %w", dir, err)
	}
	var out []Model
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != root {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() || !exts[strings.ToLower(filepath.Ext(p))] {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, Model{Kind: k, Name: filepath.ToSlash(rel), Path: p, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("modelstore: list %s: %w", root, err)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil
}

// Delete removes the model file called name from dir. The name is as List
// gives it ("sub/model.safetensors"), optionally prefixed by its folder
// ("Lora/style.safetensors") when the same name exists under two kinds.
// Only files that List finds can be deleted.
func Delete(dir, name string) (Model, error) {
	if err := CheckName(name, true); err != nil {
		return Model{}, err
	}
	all, err := List(dir)
	if err != nil {
		return Model{}, err
	}
	var hits []Model
	for _, m := range all {
		if m.Name == name || m.Kind.Folder()+"/"+m.Name == name {
			hits = append(hits, m)
		}
	}
	switch len(hits) {
	case 0:
		return Model{}, fmt.Errorf("%w: no model %q in %s (see 'sdgo models list')", ErrNotFound, name, dir)
	case 1:
	default:
		return Model{}, fmt.Errorf("%w %q: ambiguous; prefix it with its folder, e.g. %s/%s", ErrBadName, name, hits[1].Kind.Folder(), name)
	}
	if err := os.Remove(hits[0].Path); err != nil {
		return Model{}, fmt.Errorf("modelstore: delete %s: %w", name, err)
	}
	return hits[0], nil
}
