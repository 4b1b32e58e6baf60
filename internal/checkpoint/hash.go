package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The AUTOMATIC1111 hashes:
//   - model hash: SHA-256 of the whole file, the first 10 hex digits;
//   - legacy model hash: SHA-256 of the 64 KiB at offset 1 MiB, first 8 hex.
const (
	legacyOffset = 0x100000
	legacyLength = 0x10000
)

// SHA256 returns the full SHA-256 (hex) of the checkpoint file, from the
// hash cache when the file's size and modification time are unchanged. For
// a diffusers folder it is sdgo's own identifier: the SHA-256 of the list of
// "<component>/<file> <sha256>" lines of its weight files.
func (c *Checkpoint) SHA256() (string, error) {
	st, err := os.Stat(c.path)
	if err != nil {
		return "", fmt.Errorf("checkpoint: hash: %w", err)
	}
	if !st.IsDir() {
		return FileSHA256(c.path, c.opts.hashCache)
	}
	var files []string
	for _, sub := range []string{"unet", "vae", "text_encoder", "text_encoder_2"} {
		m, _ := filepath.Glob(filepath.Join(c.path, sub, "*.safetensors"))
		b, _ := filepath.Glob(filepath.Join(c.path, sub, "*.bin"))
		files = append(files, m...)
		files = append(files, b...)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		s, err := FileSHA256(f, c.opts.hashCache)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(c.path, f)
		fmt.Fprintf(h, "%s %s\n", filepath.ToSlash(rel), s)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Hash returns the webui model hash: the first 10 hex digits of SHA256.
func (c *Checkpoint) Hash() (string, error) {
	s, err := c.SHA256()
	if err != nil {
		return "", err
	}
	return s[:10], nil
}

// LegacyHash returns the pre-2023 webui model hash of the checkpoint file.
func (c *Checkpoint) LegacyHash() (string, error) { return LegacyHash(c.path) }

// LegacyHash returns webui's old 8-hex model hash of a file: SHA-256 of the
// 0x10000 bytes at offset 0x100000 (fewer, or none, for small files).
func LegacyHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("checkpoint: legacy hash: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return "", fmt.Errorf("checkpoint: legacy hash %s: a folder has no legacy hash", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, legacyOffset, legacyLength)); err != nil {
		return "", fmt.Errorf("checkpoint: legacy hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:8], nil
}

// hashCache is the on-disk cache: absolute path -> size, mtime and hash.
type hashCache struct {
	Version int                  `json:"version"`
	Entries map[string]hashEntry `json:"entries"`
}

type hashEntry struct {
	Size   int64  `json:"size"`
	MTime  int64  `json:"mtime_ns"`
	SHA256 string `json:"sha256"`
}

func cachePath(dir string) (string, bool) {
	if dir == "-" {
		return "", false
	}
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", false
		}
		dir = filepath.Join(base, "sdgo")
	}
	return filepath.Join(dir, "hashes.json"), true
}

// FileSHA256 returns the SHA-256 (hex) of a file, using and updating the
// cache file hashes.json in cacheDir ("" = os.UserCacheDir()/sdgo, "-" = no
// cache). Entries are keyed by absolute path and trusted only while the
// file's size and modification time are unchanged. Concurrent writers may
// drop each other's new entries; that only costs a recomputation.
func FileSHA256(path, cacheDir string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("checkpoint: hash: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("checkpoint: hash: %w", err)
	}
	cp, useCache := cachePath(cacheDir)
	cache := hashCache{Version: 1, Entries: map[string]hashEntry{}}
	if useCache {
		if b, err := os.ReadFile(cp); err == nil {
			var c hashCache
			if json.Unmarshal(b, &c) == nil && c.Version == 1 && c.Entries != nil {
				cache = c
			}
		}
		if e, ok := cache.Entries[abs]; ok && e.Size == st.Size() && e.MTime == st.ModTime().UnixNano() && len(e.SHA256) == 64 && isHex(e.SHA256) {
			return e.SHA256, nil
		}
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", fmt.Errorf("checkpoint: hash: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checkpoint: hash %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if useCache {
		cache.Entries[abs] = hashEntry{Size: st.Size(), MTime: st.ModTime().UnixNano(), SHA256: sum}
		// A cache that cannot be written is not an error: the hash is right.
		_ = writeCache(cp, cache)
	}
	return sum, nil
}

func writeCache(path string, c hashCache) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".hashes-*.json")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// isHex reports whether s is lowercase hexadecimal.
func isHex(s string) bool {
	return s != "" && strings.Trim(s, "0123456789abcdef") == ""
}
