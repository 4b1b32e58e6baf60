package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"sdgo/internal/imagefile"
)

// save writes img under the outputs folder as webui names files:
// txt2img-images (or img2img-images)/<YYYY-MM-DD>/<NNNNN>-<seed>.<ext>, NNNNN one more than the
// highest number in the folder. Only the worker saves, so numbers do not
// race within one server. Nothing from the request reaches the path.
func (e *Engine) save(img Image, img2img bool) (string, error) {
	root := e.cfg.Txt2ImgOutputDir()
	if img2img {
		root = e.cfg.Img2ImgOutputDir()
	}
	dir := filepath.Join(root, time.Now().Format("2006-01-02"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("engine: save: %w", err)
	}
	next := imagefile.NextSequenceNumber(dir, "")
	for tries := 0; tries < 100; tries++ {
		path := filepath.Join(dir, fmt.Sprintf("%05d-%d.%s", next, img.Seed, img.Ext()))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			next++
			continue
		}
		if err != nil {
			return "", fmt.Errorf("engine: save: %w", err)
		}
		if _, err := f.Write(img.Data); err != nil {
			f.Close()
			os.Remove(path)
			return "", fmt.Errorf("engine: save %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return "", fmt.Errorf("engine: save %s: %w", path, err)
		}
		return path, nil
	}
	return "", fmt.Errorf("engine: save: no free file name in %s", dir)
}
