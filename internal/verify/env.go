package verify

import (
	"os"
	"path/filepath"
	"sync"

	"sdgo/internal/fixture"
	"sdgo/internal/tokenizer"
)

// env holds what is loaded once per run: the tokenizer and the models of
// the fixture folder.
type env struct {
	m    *fixture.Manifest
	opts Options

	tokOnce sync.Once
	tok     *tokenizer.Tokenizer
	tokErr  error
}

func newEnv(m *fixture.Manifest, opts Options) *env { return &env{m: m, opts: opts} }

func (e *env) close() {}

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
