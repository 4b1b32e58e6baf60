package engine

import (
	"context"
	"fmt"
)

// Models lists the checkpoints (the --model path first, if any, then the
// folder's files by name).
func (e *Engine) Models() []Checkpoint { return e.cat.list() }

// Refresh rescans the model folders.
func (e *Engine) Refresh() error { return e.cat.refresh() }

// VAEs lists the VAE folder.
func (e *Engine) VAEs() []File {
	e.cat.mu.Lock()
	defer e.cat.mu.Unlock()
	return append([]File(nil), e.cat.vaes...)
}

// LoRAs lists the LoRA folder with each file's metadata.
func (e *Engine) LoRAs() ([]LoRAInfo, error) { return e.cat.loras() }

// ResolveModel finds a checkpoint by any name webui accepts ("" = the
// default).
func (e *Engine) ResolveModel(name string) (Checkpoint, error) { return e.resolveModel(name) }

// ResolveVAE checks a VAE name ("", "Automatic" and "None" are always fine).
func (e *Engine) ResolveVAE(name string) (File, error) { return e.cat.resolveVAE(name) }

// Defaults returns the default checkpoint (zero if none) and VAE name.
func (e *Engine) Defaults() (Checkpoint, string) {
	e.mu.Lock()
	name, vae := e.defModel, e.defVAE
	e.mu.Unlock()
	ck, _ := e.cat.resolve(name)
	if name == "" {
		ck = Checkpoint{}
	}
	return ck, vae
}

// Loaded returns the checkpoint in memory and its VAE path; ok is false
// when none is loaded.
func (e *Engine) Loaded() (ck Checkpoint, vae string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.loadedCk, e.loadedVAE, e.loaded != nil
}

// SetDefaults makes a checkpoint and VAE the defaults for later jobs,
// loading them through the queue first (as webui's options do); on failure
// the defaults are unchanged. Empty model keeps the current one.
func (e *Engine) SetDefaults(ctx context.Context, modelName, vae string) (Checkpoint, error) {
	if vae == "" {
		vae = "Automatic"
	}
	ck, err := e.resolveModel(modelName)
	if err != nil {
		return Checkpoint{}, err
	}
	if _, err := e.cat.resolveVAE(vae); err != nil {
		return Checkpoint{}, err
	}
	j, err := e.Submit(Request{LoadOnly: true, Model: ck.Name, VAE: vae, Client: "options"})
	if err != nil {
		return Checkpoint{}, err
	}
	s, err := j.Wait(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	if s.Status != Done {
		return Checkpoint{}, fmt.Errorf("engine: switch to %s: %s", ck.Name, s.Error)
	}
	e.mu.Lock()
	e.defModel, e.defVAE = ck.Name, vae
	e.mu.Unlock()
	ck, _ = e.cat.resolve(ck.Name)
	return ck, nil
}
