package embedding

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrFormat marks a file that is readable but is not an embedding webui
// would load (several terms, no tensor, a bad shape).
var ErrFormat = errors.New("not a textual-inversion embedding")

// Part is one tensor of an embedding: [Vectors, Width] float32 values. An
// SD1 or SD2 embedding has one part (Key ""); an SDXL embedding has
// "clip_l" (768 wide) and "clip_g" (1280 wide).
type Part struct {
	Key   string
	Width int
	Data  []float32
}

// Embedding is one textual-inversion embedding.
type Embedding struct {
	Name string // the trigger word: the file name without its extension
	Path string
	// Step, SDCheckpoint and SDCheckpointName are what webui's training
	// wrote into a .pt file (nil when the file does not say).
	Step             *int64
	SDCheckpoint     *string
	SDCheckpointName *string
	Vectors          int    // tokens the embedding stands for
	Shape            int    // width: the sum of the parts' widths (2048 for SDXL)
	Hash             string // SHA-256 of the file, hex
	Parts            []Part
}

// ShortHash is the hash infotexts record as "TI hashes": the first 12 hex
// digits of the file's SHA-256, as webui's Embedding.shorthash.
func (e *Embedding) ShortHash() string {
	if len(e.Hash) < 12 {
		return e.Hash
	}
	return e.Hash[:12]
}

// VectorsFor returns the vectors ([Vectors, width] values) for a text
// encoder of the given width: the part of that width (SDXL's clip_l for
// CLIP-L, clip_g for OpenCLIP-bigG). ok is false when there is none.
func (e *Embedding) VectorsFor(width int) (v []float32, ok bool) {
	for _, p := range e.Parts {
		if p.Width == width {
			return p.Data, true
		}
	}
	return nil, false
}

// Exts are the file extensions LoadFile reads (compared case-insensitively).
var Exts = []string{".pt", ".bin", ".safetensors"}

// LoadFile reads one embedding file (.pt, .bin or .safetensors) and names
// it after the file.
func LoadFile(path string) (*Embedding, error) {
	ext := strings.ToLower(filepath.Ext(path))
	var (
		e   *Embedding
		err error
	)
	switch ext {
	case ".pt", ".bin":
		e, err = loadTorch(path)
	case ".safetensors":
		e, err = loadSafetensors(path)
	default:
		err = fmt.Errorf("unknown extension %q (want .pt, .bin or .safetensors)", ext)
	}
	if err != nil {
		return nil, fmt.Errorf("embedding: load %s: %w", path, err)
	}
	e.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	e.Path = path
	if e.Hash, err = fileSHA256(path); err != nil {
		return nil, fmt.Errorf("embedding: hash %s: %w", path, err)
	}
	return e, nil
}

// tensor is a decoded tensor of a file.
type tensor struct {
	shape []int
	data  []float32
}

// fromTerms builds an embedding from the tensors webui would pick: an SDXL
// pair (clip_l and clip_g), or a single term ([n, w] or [w]).
func fromTerms(terms map[string]tensor, order []string) (*Embedding, error) {
	l, hasL := terms["clip_l"]
	g, hasG := terms["clip_g"]
	if hasL && hasG {
		pl, err := part("clip_l", l)
		if err != nil {
			return nil, err
		}
		pg, err := part("clip_g", g)
		if err != nil {
			return nil, err
		}
		nl, ng := len(pl.Data)/pl.Width, len(pg.Data)/pg.Width
		if nl != ng {
			return nil, fmt.Errorf("%w: clip_l has %d vectors and clip_g %d", ErrFormat, nl, ng)
		}
		return &Embedding{Vectors: ng, Shape: pl.Width + pg.Width, Parts: []Part{pl, pg}}, nil
	}
	if len(order) != 1 {
		return nil, fmt.Errorf("%w: the file holds %d tensors (%s), want one term or clip_l + clip_g", ErrFormat, len(order), strings.Join(order, ", "))
	}
	p, err := part("", terms[order[0]])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", order[0], err)
	}
	return &Embedding{Vectors: len(p.Data) / p.Width, Shape: p.Width, Parts: []Part{p}}, nil
}

// part checks a term's shape: [w] counts as one vector, [n, w] as n.
func part(key string, t tensor) (Part, error) {
	switch {
	case len(t.shape) == 1 && t.shape[0] > 0:
		return Part{Key: key, Width: t.shape[0], Data: t.data}, nil
	case len(t.shape) == 2 && t.shape[0] > 0 && t.shape[1] > 0:
		return Part{Key: key, Width: t.shape[1], Data: t.data}, nil
	}
	return Part{}, fmt.Errorf("%w: tensor %q has shape %v, want [vectors, width]", ErrFormat, key, t.shape)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
