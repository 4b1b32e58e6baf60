package verify

import (
	"os"
	"path/filepath"
	"sync"

	"sdgo/internal/fixture"
	"sdgo/internal/model"
	"sdgo/internal/tokenizer"
)

// env holds what is loaded once per run: the tokenizer and the models of
// the fixture folder.
type env struct {
	m    *fixture.Manifest
	opts Options

	mu     sync.Mutex
	models map[modelKey]loaded

	tokOnce sync.Once
	tok     *tokenizer.Tokenizer
	tokErr  error
}

func newEnv(m *fixture.Manifest, opts Options) *env {
	return &env{m: m, opts: opts, models: map[modelKey]loaded{}}
}

func (e *env) close() {
	for _, l := range e.models {
		if l.m != nil {
			l.m.Close()
		}
	}
}

// tokenizer finds the CLIP vocabulary: --clip-vocab / $SDGO_CLIP_VOCAB, else
// a clip/ folder beside the fixture folder (shared/clip next to
// shared/fixtures), else the usual places of tokenizer.Find.
func (e *env) tokenizer() (*tokenizer.Tokenizer, error) {
	e.tokOnce.Do(func() {
		configured := e.opts.ClipVocab
		if configured == "" {
			configured = os.Getenv(tokenizer.EnvVocab)
		}
		if configured == "" {
			configured = filepath.Join(e.m.Dir, "..", "clip")
		}
		e.tok, e.tokErr = tokenizer.Find("", configured)
	})
	return e.tok, e.tokErr
}

// modelKey names one way of loading a fixture model.
type modelKey struct {
	name, file, vae, lora string
	multiplier            float64
}

// model loads (once) the fixture model name from file (relative to the
// model's folder; "" = model.safetensors), with an optional VAE file.
func (e *env) model(k modelKey) (*model.Model, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m, ok := e.models[k]; ok {
		return m.m, m.err
	}
	file := k.file
	if file == "" {
		file = "model.safetensors"
	}
	opt := model.Options{Backend: e.opts.Backend, DType: e.opts.DType, Hints: e.m.Models[k.name]}
	if k.vae != "" {
		opt.VAE = e.m.Path(k.vae)
	}
	m, err := model.Load(e.m.Path(filepath.Join(k.name, file)), opt)
	if err == nil && k.lora != "" {
		err = applyLoRA(m, e.m.Path(k.lora), k.multiplier)
	}
	e.models[k] = loaded{m, err}
	return m, err
}

type loaded struct {
	m   *model.Model
	err error
}

// modelFiles lists the files of fixture model name that exist on disk, for
// the cases that are checked with every file of the folder.
func (e *env) modelFiles(name string) []string {
	var out []string
	for _, f := range []string{"model.safetensors", "model-fp32.safetensors", "model.ckpt"} {
		if _, err := os.Stat(e.m.Path(filepath.Join(name, f))); err == nil {
			out = append(out, f)
		}
	}
	return out
}
