package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"sdgo/internal/imagefile"
	"sdgo/internal/model"
	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
	"sdgo/internal/tokenizer"
)

func init() {
	register("txt2img", "generate images from a prompt", runTxt2Img)
}

// modelFlags are the flags that choose and load a model.
type modelFlags struct {
	model, vae, clipVocab, prediction *string
	backend, dtype                    *string
	ti                                *tiFlags   // --embeddings-dir (embeddings.go)
	lora                              *loraFlags // --lora-dir (lora.go)
	images                            int        // the batch size the command runs (sizes the GPU memory reserve)
}

func addModelFlags(fs *flag.FlagSet, e *Env) *modelFlags {
	f := &modelFlags{
		model:      fs.String("model", e.Getenv("SDGO_MODEL"), "checkpoint: .safetensors, .ckpt or a diffusers folder; env SDGO_MODEL"),
		vae:        fs.String("vae", "", "a VAE file that replaces the checkpoint's VAE"),
		clipVocab:  fs.String("clip-vocab", e.Getenv(tokenizer.EnvVocab), "CLIP vocabulary: a folder with vocab.json+merges.txt or bpe_simple_vocab_16e6.txt.gz; env "+tokenizer.EnvVocab),
		prediction: fs.String("prediction", "", "override the detected prediction type: eps or v"),
	}
	f.backend, f.dtype = backendFlags(fs, e)
	f.ti = addTIFlags(fs, e)
	f.lora = addLoRAFlags(fs, e)
	return f
}

// load opens the model and finds its tokenizer.
func (f *modelFlags) load(stderr interface{ Write([]byte) (int, error) }) (*model.Model, *tokenizer.Tokenizer, error) {
	if *f.model == "" {
		return nil, nil, usagef("--model is required (a .safetensors, .ckpt or diffusers folder), e.g. --model ../shared/fixtures/tiny-sd1/model.safetensors")
	}
	if _, err := os.Stat(*f.model); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, usagef("--model %s: no such file or folder; give the path of a .safetensors or .ckpt checkpoint or a diffusers folder (or set SDGO_MODEL)", *f.model)
	}
	start := time.Now()
	m, err := model.Load(*f.model, model.Options{Backend: *f.backend, DType: *f.dtype, VAE: *f.vae, Prediction: *f.prediction, Images: f.images})
	if err != nil {
		return nil, nil, err
	}
	tok, err := findTokenizer(f)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "loaded %s: %s (%s prediction) in %s\n", filepath.Base(*f.model), m.Family, m.Prediction, time.Since(start).Round(time.Millisecond))
	if _, err := f.ti.load(m, *f.model, stderr); err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, tok, nil
}

func findTokenizer(f *modelFlags) (*tokenizer.Tokenizer, error) {
	tok, err := tokenizer.Find(*f.model, *f.clipVocab)
	if err != nil && *f.clipVocab != "" && !errors.Is(err, tokenizer.ErrNotFound) {
		// The not-found error lists its own fix; a bad configured path does not.
		return nil, fmt.Errorf("%w\nfix: point --clip-vocab (or $%s) at a folder holding vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz, or at one of those files", err, tokenizer.EnvVocab)
	}
	return tok, err
}

// intFlag registers an int flag under several names (-W and --width).
func intFlag(fs *flag.FlagSet, p *int, names []string, def int, usage string) {
	*p = def
	for _, n := range names {
		fs.IntVar(p, n, def, usage)
	}
}

func stringFlag(fs *flag.FlagSet, p *string, names []string, def, usage string) {
	*p = def
	for _, n := range names {
		fs.StringVar(p, n, def, usage)
	}
}

func runTxt2Img(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("txt2img", e)
	mf := addModelFlags(fs, e)
	var p pipeline.Params
	g := addGenFlags(fs, &p)
	addHiresFlags(fs, &p.Hires)
	extras := addPromptExtras(fs)
	scripts := addScriptFlags(fs)
	outs := addOutputFlags(fs, &g.out)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if err := outs.check(fs); err != nil {
		return err
	}
	if err := scripts.check(); err != nil {
		return err
	}
	if err := extras.apply(fs, &p); err != nil {
		return err
	}
	if err := g.apply(&p); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return usageError{err}
	}
	mf.images = p.BatchSize
	m, tok, err := mf.load(e.Stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	total := (p.Steps + hiresBarSteps(p)) * p.BatchCount
	if scripts.script != "" {
		total = -1 // a script's step count depends on its jobs: count steps without a total
	}
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(e.Stderr),
		progressbar.OptionSetDescription("sampling"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("it"), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond))
	loras, err := mf.lora.finder(*mf.model)
	if err != nil {
		return err
	}
	job := pipeline.Job{Model: m, Tok: tok, Embeddings: mf.ti.db, Networks: loras, OnStep: func(_, _ int, _ sample.Step) { bar.Add(1) }}
	results, grid, err := scripts.run(ctx, job, p)
	bar.Finish()
	fmt.Fprintln(e.Stderr)
	if err != nil {
		grid = nil // a failed script's grid is incomplete
	}
	if werr := outs.save(e, "txt2img", scripts.script, p, extras.styles, results, grid); werr != nil {
		return werr
	}
	return err
}

// writeImage saves r at path, creating its folder: PNG with the infotext
// in a text chunk, or JPEG/WebP (of the given quality, or lossless WebP)
// with it in the Exif UserComment.
func writeImage(path string, r pipeline.Result, quality int, lossless bool) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create output folder: %w", err)
		}
	}
	switch outputFileFormat(path) {
	case "jpg":
		return imagefile.WriteJPEG(path, r.Image, quality, r.Infotext)
	case "webp":
		return imagefile.WriteWebP(path, r.Image, imagefile.WebPOptions{Quality: quality, Lossless: lossless}, r.Infotext)
	}
	return imagefile.WritePNG(path, r.Image, r.Infotext)
}

// jpegQuality is the default JPEG and WebP quality (webui makes it an
// option, "jpeg_quality").
const jpegQuality = 95

func samplerNames() []string {
	var out []string
	for _, s := range sample.Samplers {
		out = append(out, s.Name)
	}
	return out
}
