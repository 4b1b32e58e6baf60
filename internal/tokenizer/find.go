package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvVocab is the environment variable a caller may read to get the
// configured vocabulary path it passes to Find.
const EnvVocab = "SDGO_CLIP_VOCAB"

// CacheDir is where Find looks last: <user cache dir>/sdgo/clip
// (~/.cache/sdgo/clip on Linux). It is "" when the system has no cache dir.
func CacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "sdgo", "clip")
}

// Find loads the CLIP vocabulary for the model at modelPath. It looks, in
// order, at:
//
//  1. the model: a diffusers tokenizer/ folder inside modelPath (a model
//     folder) or beside it (a model file, or a file inside a diffusers
//     component folder such as unet/), then the vocabulary files in the
//     model's own folder;
//  2. configured (a --clip-vocab flag or $SDGO_CLIP_VOCAB, read by the
//     caller): a folder, a vocab.json or merges.txt (its partner beside
//     it), or a bpe_simple_vocab_16e6.txt.gz;
//  3. CacheDir().
//
// Empty arguments are skipped. When nothing is found the error wraps
// ErrNotFound and lists every place it looked and how to fix it. A file
// that is there but broken is reported as such, not skipped.
func Find(modelPath, configured string) (*Tokenizer, error) {
	var looked []string
	try := func(dir string) (*Tokenizer, bool, error) {
		if !isDir(dir) {
			looked = append(looked, dir+" (no such folder)")
			return nil, false, nil
		}
		t, err := Load(dir)
		if errors.Is(err, ErrNotFound) {
			looked = append(looked, dir+" (no vocabulary files)")
			return nil, false, nil
		}
		return t, err == nil, err
	}
	for _, dir := range modelDirs(modelPath) {
		if t, ok, err := try(dir); ok || err != nil {
			return t, err
		}
	}
	if configured != "" {
		t, ok, err := loadConfigured(configured, try)
		if ok || err != nil {
			return t, err
		}
	}
	if dir := CacheDir(); dir != "" {
		if t, ok, err := try(dir); ok || err != nil {
			return t, err
		}
	}
	return nil, notFound(looked, configured)
}

// modelDirs lists the folders that may hold a model's vocabulary.
func modelDirs(modelPath string) []string {
	if modelPath == "" {
		return nil
	}
	if isDir(modelPath) {
		return []string{filepath.Join(modelPath, "tokenizer"), modelPath}
	}
	dir := filepath.Dir(modelPath)
	return []string{
		filepath.Join(dir, "tokenizer"),
		filepath.Join(filepath.Dir(dir), "tokenizer"),
		dir,
	}
}

// loadConfigured loads a configured path: a folder or one of the files.
func loadConfigured(path string, try func(string) (*Tokenizer, bool, error)) (*Tokenizer, bool, error) {
	if isDir(path) {
		return try(path)
	}
	if !isFile(path) {
		return nil, false, fmt.Errorf("tokenizer: find: configured vocabulary %s (--clip-vocab or %s): no such file or folder", path, EnvVocab)
	}
	dir, base := filepath.Split(path)
	switch {
	case base == VocabJSON:
		t, err := LoadFiles(path, filepath.Join(dir, MergesTXT))
		return t, err == nil, err
	case base == MergesTXT:
		t, err := LoadFiles(filepath.Join(dir, VocabJSON), path)
		return t, err == nil, err
	default:
		t, err := LoadBPE(path)
		return t, err == nil, err
	}
}

func notFound(looked []string, configured string) error {
	var sb strings.Builder
	sb.WriteString("looked in:")
	for _, l := range looked {
		sb.WriteString("\n  - ")
		sb.WriteString(l)
	}
	if configured == "" {
		fmt.Fprintf(&sb, "\n  - no configured path (--clip-vocab or $%s)", EnvVocab)
	}
	cache := CacheDir()
	if cache == "" {
		cache = "a folder of your choice"
	}
	fmt.Fprintf(&sb, "\nfix: copy %s (from OpenAI's CLIP repository) or %s + %s (from the tokenizer/ folder of any SD 1.x diffusers model) into %s, or point --clip-vocab / $%s at them",
		BPEGz, VocabJSON, MergesTXT, cache, EnvVocab)
	return fmt.Errorf("%w; %s", ErrNotFound, sb.String())
}
