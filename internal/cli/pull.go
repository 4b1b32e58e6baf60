package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"

	"sdgo/internal/config"
	"sdgo/internal/modelstore"
)

func init() {
	register("pull", "download a model from Hugging Face into the models folder (resumable, sha256-checked)", runPull)
}

// Environment variables of `sdgo pull`.
const (
	envHFEndpoint = "SDGO_HF_ENDPOINT" // hub URL, for mirrors and tests (HF_ENDPOINT also works)
	envHFToken    = "HF_TOKEN"         // access token for private and gated repositories
)

func runPull(ctx context.Context, e *Env, args []string) error {
	cfg := config.FromEnv(e.Getenv)
	fs := newFlags("pull", e)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sdgo pull [flags] OWNER/REPO[/FILE]\n\nWith OWNER/REPO alone, the repository's single .safetensors checkpoint is taken (fp16 preferred).\n\nflags:")
		fs.PrintDefaults()
	}
	dir := fs.String("models-dir", cfg.ModelsDir, "webui-style models folder; env "+config.EnvModelsDir)
	kind := fs.String("type", "checkpoint", "what the file is, which decides its folder: checkpoint (Stable-diffusion/), lora (Lora/) or vae (VAE/)")
	force := fs.Bool("force", false, "download again even if the file exists")
	endpoint := fs.String("endpoint", firstEnv(e, envHFEndpoint, "HF_ENDPOINT"), "Hugging Face hub URL (default "+modelstore.DefaultEndpoint+"); env "+envHFEndpoint)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one OWNER/REPO[/FILE], e.g. sdgo pull stable-diffusion-v1-5/stable-diffusion-v1-5/v1-5-pruned-emaonly.safetensors")
	}
	k, err := modelstore.ParseKind(*kind)
	if err != nil {
		return usageError{err}
	}
	repo, file, err := modelstore.ParseRef(pos[0])
	if err != nil {
		return usageError{err}
	}
	opts := modelstore.Options{Endpoint: *endpoint, Token: firstEnv(e, envHFToken, "HUGGING_FACE_HUB_TOKEN"), Dir: *dir, Kind: k, Force: *force}
	var bar *progressbar.ProgressBar
	progress := func(done, total int64) {
		if bar == nil {
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(e.Stderr), progressbar.OptionSetDescription("pull"),
				progressbar.OptionShowBytes(true), progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(e.Stderr) }))
		}
		_ = bar.Set64(done)
	}
	r, err := modelstore.PullFile(ctx, opts, repo, file, progress)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	check := "sha256 " + r.SHA256 + " (the server announced none to check against)"
	if r.Verified {
		check = "sha256 " + r.SHA256 + " verified"
	}
	fmt.Fprintf(e.Stderr, "%s: %d bytes, %s\n", r.File, r.Size, check)
	fmt.Fprintln(e.Stdout, r.Path)
	return nil
}

// firstEnv returns the first non-empty value among the variables.
func firstEnv(e *Env, names ...string) string {
	for _, n := range names {
		if v := e.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}
