package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sdgo/internal/config"
	"sdgo/internal/embedding"
	"sdgo/internal/model"
	"sdgo/internal/pipeline"
)

// tiFlags choose the textual-inversion embeddings folder.
type tiFlags struct {
	dir    string
	getenv func(string) string
	db     *embedding.Database // set by load
}

func addTIFlags(fs *flag.FlagSet, e *Env) *tiFlags {
	f := &tiFlags{getenv: e.Getenv}
	fs.StringVar(&f.dir, "embeddings-dir", "", "textual-inversion embeddings folder (.pt, .bin, .safetensors; the file name is the trigger word); default: embeddings/ beside the model's webui-style models folder, or in $"+config.EnvModelsDir)
	return f
}

// emphasisUsage documents the --emphasis flag (registered with the
// generation flags).
var emphasisUsage = "emphasis mode as webui: " + strings.Join(pipeline.Emphases, ", ") + " (No norm: weights without the mean restore; Ignore: weights 1; None: brackets are text)"

// webuiModelsDir is the webui models folder a checkpoint sits in
// (models/Stable-diffusion/x.safetensors gives models), or "" when its
// folder is not named Stable-diffusion.
func webuiModelsDir(modelPath string) string {
	abs, err := filepath.Abs(modelPath)
	if err != nil {
		return ""
	}
	if dir := filepath.Dir(abs); strings.EqualFold(filepath.Base(dir), "Stable-diffusion") {
		return filepath.Dir(dir)
	}
	return ""
}

// folder is the embeddings folder to read: the flag, else the first
// existing default for the model at modelPath ("" for none).
func (f *tiFlags) folder(modelPath string) (string, error) {
	if f.dir != "" {
		if st, err := os.Stat(f.dir); err != nil || !st.IsDir() {
			return "", usagef("--embeddings-dir %s: not a folder; give the folder holding the .pt/.safetensors embeddings", f.dir)
		}
		return f.dir, nil
	}
	var candidates []string
	if models := webuiModelsDir(modelPath); models != "" {
		candidates = append(candidates, filepath.Join(models, "embeddings"), filepath.Join(filepath.Dir(models), "embeddings"))
	}
	if f.getenv != nil {
		if cfg := config.FromEnv(f.getenv); cfg.ModelsDir != "" {
			candidates = append(candidates, cfg.EmbeddingsDir())
		}
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c, nil
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("embeddings folder %s: %w", c, err)
		}
	}
	return "", nil
}

// load reads the embeddings that fit m and reports what it found on w.
func (f *tiFlags) load(m *model.Model, modelPath string, w io.Writer) (*embedding.Database, error) {
	dir, err := f.folder(modelPath)
	if err != nil || dir == "" {
		return nil, err
	}
	db, err := embedding.Load(dir, pipeline.TextWidth(m))
	if err != nil {
		return nil, err
	}
	for _, le := range db.Errors {
		fmt.Fprintf(w, "embedding %s: %v\n", le.Path, le.Err)
	}
	if len(db.Loaded)+len(db.Skipped) > 0 {
		fmt.Fprintf(w, "textual inversion embeddings loaded(%d): %s\n", len(db.Loaded), strings.Join(db.Names(), ", "))
	}
	if len(db.Skipped) > 0 {
		var names []string
		for n, s := range db.Skipped {
			names = append(names, n+" ("+s.Reason+")")
		}
		sort.Strings(names)
		fmt.Fprintf(w, "textual inversion embeddings skipped(%d): %s\n", len(names), strings.Join(names, ", "))
	}
	f.db = db
	return db, nil
}
