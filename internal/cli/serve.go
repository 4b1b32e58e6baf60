package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"sdgo/internal/config"
	"sdgo/internal/engine"
	"sdgo/internal/server"
	"sdgo/internal/tokenizer"
)

func init() {
	register("serve", "serve the web UI and a webui-compatible API (/sdapi/v1) with a job queue", runServe)
}

func runServe(ctx context.Context, e *Env, args []string) error {
	cfg := config.FromEnv(e.Getenv)
	fs := newFlags("serve", e)
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HOST:PORT to listen on; env "+config.EnvListen)
	fs.StringVar(&cfg.ModelsDir, "models-dir", cfg.ModelsDir, "webui-style models folder (Stable-diffusion/, VAE/, Lora/, ESRGAN/); env "+config.EnvModelsDir)
	fs.StringVar(&cfg.Model, "model", cfg.Model, "checkpoint to load first: a name in the models folder or a path (default: the first found); env "+config.EnvModel)
	fs.StringVar(&cfg.OutputsDir, "outputs", cfg.OutputsDir, "folder for saved images (save_images); env "+config.EnvOutputsDir)
	fs.StringVar(&cfg.APIAuth, "api-auth", cfg.APIAuth, "require HTTP basic auth: user:pass[,user2:pass2]; env "+config.EnvAPIAuth)
	cors := fs.String("cors-origin", "", "comma-separated origins allowed cross-site requests (* = any); off by default; env "+config.EnvCORSOrigin)
	fs.StringVar(&cfg.ClipVocab, "clip-vocab", e.Getenv(tokenizer.EnvVocab), "CLIP vocabulary: a folder with vocab.json+merges.txt or bpe_simple_vocab_16e6.txt.gz; env "+tokenizer.EnvVocab)
	backend, dtype := backendFlags(fs, e)
	l := &cfg.Limits
	fs.IntVar(&l.MaxWidth, "max-width", l.MaxWidth, "largest width a request may ask for")
	fs.IntVar(&l.MaxHeight, "max-height", l.MaxHeight, "largest height a request may ask for")
	fs.IntVar(&l.MaxSteps, "max-steps", l.MaxSteps, "most sampling steps a request may ask for")
	fs.IntVar(&l.MaxBatchSize, "max-batch-size", l.MaxBatchSize, "most images per batch")
	fs.IntVar(&l.MaxNIter, "max-n-iter", l.MaxNIter, "most batches per job")
	fs.IntVar(&l.MaxQueue, "max-queue", l.MaxQueue, "most jobs waiting; more are refused with 503")
	fs.Int64Var(&l.MaxBodyBytes, "max-body-bytes", l.MaxBodyBytes, "largest request body")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	cfg.Backend, cfg.DType = *backend, *dtype
	if *cors != "" {
		cfg.CORSOrigins = config.SplitList(*cors)
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	log := slog.New(slog.NewTextHandler(e.Stderr, nil))
	eng, err := engine.New(engine.Options{Config: cfg, Logger: log})
	if err != nil {
		return err
	}
	defer eng.Close()
	srv, err := server.New(cfg, eng, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	ck, _ := eng.Defaults()
	if ck.Name == "" {
		fmt.Fprintf(e.Stderr, "no checkpoint in %s: put a .safetensors or .ckpt file there (or pass --model PATH) and POST /sdapi/v1/refresh-checkpoints\n", cfg.CheckpointDir())
	} else {
		fmt.Fprintf(e.Stderr, "loading %s in the background\n", ck.Name)
	}
	fmt.Fprintf(e.Stdout, "sdgo serving on http://%s/ (API: /sdapi/v1, /api/v1/jobs)\n", ln.Addr())
	return srv.Serve(ctx, ln)
}
