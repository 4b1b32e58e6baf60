package verify

import "sdgo/internal/fixture"

// env holds what is loaded once per run: models per fixture model file and
// the tokenizer.
type env struct {
	m    *fixture.Manifest
	opts Options
}

func newEnv(m *fixture.Manifest, opts Options) *env { return &env{m: m, opts: opts} }

func (e *env) close() {}
