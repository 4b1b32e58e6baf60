package config

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// The environment variables Config reads (flags override them).
const (
	EnvListen     = "SDGO_LISTEN"      // HOST:PORT
	EnvModelsDir  = "SDGO_MODELS_DIR"  // webui-style models folder
	EnvOutputsDir = "SDGO_OUTPUTS_DIR" // where saved images go
	EnvModel      = "SDGO_MODEL"       // checkpoint name or path to load first
	EnvBackend    = "SDGO_BACKEND"     // go, cuda, xla:/path
	EnvDType      = "SDGO_DTYPE"       // f32, f16, bf16
	EnvClipVocab  = "SDGO_CLIP_VOCAB"  // CLIP vocabulary folder or file
	EnvAPIAuth    = "SDGO_API_AUTH"    // user:pass[,user2:pass2]
	EnvCORSOrigin = "SDGO_CORS_ORIGIN" // comma-separated allowed origins
)

// Config is everything `sdgo serve` needs to know.
type Config struct {
	Listen      string   // address to listen on, 127.0.0.1:7860 by default
	ModelsDir   string   // webui's models folder: Stable-diffusion/, VAE/, Lora/, ESRGAN/
	OutputsDir  string   // saved images go under it (txt2img-images/<date>/)
	Model       string   // the checkpoint to load first: a name in ModelsDir or a path ("" = the first found)
	Backend     string   // compute backend, as model.Options.Backend
	DType       string   // weight dtype, as model.Options.DType
	ClipVocab   string   // CLIP vocabulary location, as tokenizer.Find's configured path
	APIAuth     string   // "user:pass[,user2:pass2]"; "" = no auth
	CORSOrigins []string // origins allowed cross-site requests; none = CORS off
	Limits      Limits
}

// Limits are the admin's bounds on what one request may ask for.
type Limits struct {
	MaxBodyBytes int64 // request body size
	MaxWidth     int   // pixels
	MaxHeight    int
	MaxSteps     int
	MaxBatchSize int // images per batch
	MaxNIter     int // batches per job
	MaxQueue     int // jobs waiting (queue full = HTTP 503)
	KeepFinished int // finished jobs (and their images) kept for the job API
}

// Default returns the built-in settings.
func Default() Config {
	return Config{
		Listen:     "127.0.0.1:7860",
		ModelsDir:  "models",
		OutputsDir: "outputs",
		Limits: Limits{
			MaxBodyBytes: 64 << 20, MaxWidth: 2048, MaxHeight: 2048, MaxSteps: 150,
			MaxBatchSize: 8, MaxNIter: 32, MaxQueue: 256, KeepFinished: 200,
		},
	}
}

// FromEnv returns Default with the environment's settings applied.
func FromEnv(getenv func(string) string) Config {
	c := Default()
	set := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	set(&c.Listen, EnvListen)
	set(&c.ModelsDir, EnvModelsDir)
	set(&c.OutputsDir, EnvOutputsDir)
	set(&c.Model, EnvModel)
	set(&c.Backend, EnvBackend)
	set(&c.DType, EnvDType)
	set(&c.ClipVocab, EnvClipVocab)
	set(&c.APIAuth, EnvAPIAuth)
	if v := getenv(EnvCORSOrigin); v != "" {
		c.CORSOrigins = SplitList(v)
	}
	return c
}

// SplitList splits a comma-separated list, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Validate reports every bad setting.
func (c Config) Validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("config: listen %q: want HOST:PORT, e.g. 127.0.0.1:7860", c.Listen))
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		errs = append(errs, fmt.Errorf("config: listen %q: bad port", c.Listen))
	}
	if c.ModelsDir == "" {
		errs = append(errs, errors.New("config: models dir is empty"))
	}
	if c.OutputsDir == "" {
		errs = append(errs, errors.New("config: outputs dir is empty"))
	}
	if _, err := ParseAuth(c.APIAuth); err != nil {
		errs = append(errs, err)
	}
	l := c.Limits
	for _, v := range []struct {
		name string
		v    int64
	}{{"max body bytes", l.MaxBodyBytes}, {"max width", int64(l.MaxWidth)}, {"max height", int64(l.MaxHeight)},
		{"max steps", int64(l.MaxSteps)}, {"max batch size", int64(l.MaxBatchSize)}, {"max n_iter", int64(l.MaxNIter)},
		{"max queue", int64(l.MaxQueue)}, {"keep finished", int64(l.KeepFinished)}} {
		if v.v < 1 {
			errs = append(errs, fmt.Errorf("config: %s must be at least 1, got %d", v.name, v.v))
		}
	}
	if l.MaxWidth%8 != 0 || l.MaxHeight%8 != 0 {
		errs = append(errs, fmt.Errorf("config: max size %dx%d must be multiples of 8", l.MaxWidth, l.MaxHeight))
	}
	return errors.Join(errs...)
}

// ParseAuth parses "user:pass[,user2:pass2]" into user -> password.
// An empty string means no auth (nil map).
func ParseAuth(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, pair := range SplitList(s) {
		user, pass, ok := strings.Cut(pair, ":")
		if !ok || user == "" || pass == "" {
			return nil, fmt.Errorf("config: api auth %q: want user:password[,user2:password2]", redact(pair))
		}
		out[user] = pass
	}
	return out, nil
}

// redact hides a credential's password in error messages.
func redact(pair string) string {
	if user, _, ok := strings.Cut(pair, ":"); ok {
		return user + ":***"
	}
	return "***"
}

// CheckpointDir holds checkpoints (webui: models/Stable-diffusion).
func (c Config) CheckpointDir() string { return filepath.Join(c.ModelsDir, "Stable-diffusion") }

// VAEDir holds VAE files.
func (c Config) VAEDir() string { return filepath.Join(c.ModelsDir, "VAE") }

// LoraDir holds LoRA files.
func (c Config) LoraDir() string { return filepath.Join(c.ModelsDir, "Lora") }

// ESRGANDir holds ESRGAN upscaler models.
func (c Config) ESRGANDir() string { return filepath.Join(c.ModelsDir, "ESRGAN") }

// EmbeddingsDir holds textual-inversion embeddings.
func (c Config) EmbeddingsDir() string { return filepath.Join(c.ModelsDir, "embeddings") }

// Txt2ImgOutputDir is where saved txt2img images go (a dated subfolder is
// added per day).
func (c Config) Txt2ImgOutputDir() string { return filepath.Join(c.OutputsDir, "txt2img-images") }

// Img2ImgOutputDir is where saved img2img images go.
func (c Config) Img2ImgOutputDir() string { return filepath.Join(c.OutputsDir, "img2img-images") }
