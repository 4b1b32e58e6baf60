package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sdgo/internal/config"
	"sdgo/internal/model"
	"sdgo/internal/modelstore"
	"sdgo/internal/pipeline"
)

// xyzFlags are the X/Y/Z plot script's options.
type xyzFlags struct {
	axes                [3]pipeline.Axis
	noLegend, keepSeeds bool
	vary                [3]bool
	margin              int
	modelsDir           string
}

func addXYZFlags(fs *flag.FlagSet) *xyzFlags {
	x := &xyzFlags{}
	for i, n := range []string{"x", "y", "z"} {
		fs.StringVar(&x.axes[i].Type, n+"-type", "", "xyz: the "+strings.ToUpper(n)+" axis type: a webui label (\"CFG Scale\", \"Prompt S/R\") or a short form (steps, cfg, seed, sampler, scheduler, prompt-sr, checkpoint, vae, denoising, clip-skip, size, hires-steps, hires-upscaler, ...)")
		fs.StringVar(&x.axes[i].Values, n+"-values", "", "xyz: the "+strings.ToUpper(n)+" values, comma-separated (\"quoted, with commas\"), ranges 1-5, 1-9 (+2), 10-20 [3]")
		fs.BoolVar(&x.vary[i], "xyz-vary-seeds-"+n, false, "xyz: add the cell's "+strings.ToUpper(n)+" index to the seed (webui's \"Vary seeds for "+strings.ToUpper(n)+"\")")
	}
	fs.BoolVar(&x.noLegend, "xyz-no-legend", false, "xyz: draw the grid without axis labels")
	fs.BoolVar(&x.keepSeeds, "xyz-keep-random-seeds", false, "xyz: keep -1 seeds random per cell instead of drawing one for the whole plot (webui's \"Keep -1 for seeds\")")
	fs.IntVar(&x.margin, "xyz-margin", 0, "xyz: pixels between the grid's cells (0-500, with the legend)")
	fs.StringVar(&x.modelsDir, "xyz-models-dir", config.FromEnv(os.Getenv).ModelsDir, "xyz: webui-style models folder where checkpoint and VAE values are looked up (Stable-diffusion/, VAE/); env "+config.EnvModelsDir)
	return x
}

// check parses the axes before the model loads.
func (x *xyzFlags) check() error {
	if x.axes[0].Type == "" && x.axes[1].Type == "" && x.axes[2].Type == "" {
		return usagef("--script xyz needs an axis, e.g. --x-type steps --x-values \"10,20\"")
	}
	if x.margin < 0 || x.margin > 500 {
		return usagef("--xyz-margin %d: want 0-500", x.margin)
	}
	for i, a := range x.axes {
		if _, _, err := pipeline.ParseAxis(a); err != nil {
			return usagef("--%c-type/--%c-values: %v", "xyz"[i], "xyz"[i], err)
		}
	}
	return nil
}

// run plots, loading the checkpoint and VAE values through an xyzModels
// built from the command's model flags.
func (x *xyzFlags) run(ctx context.Context, fs *flag.FlagSet, job pipeline.Job, p pipeline.Params) ([]pipeline.Result, *pipeline.XYZResult, error) {
	ms := newXYZModels(fs, job, x.modelsDir)
	defer ms.close()
	o := pipeline.XYZOptions{NoLegend: x.noLegend, KeepRandomSeeds: x.keepSeeds, Margin: x.margin,
		VarySeedsX: x.vary[0], VarySeedsY: x.vary[1], VarySeedsZ: x.vary[2], Load: ms.load, Check: ms.check}
	res, err := pipeline.XYZPlot(ctx, job, p, x.axes[0], x.axes[1], x.axes[2], o)
	if res == nil {
		return nil, nil, err
	}
	return res.Cells, res, err
}

// xyzModels loads the checkpoints and VAEs of a plot's model axes. A value
// is a path, a file next to --model, or a name (with or without its
// extension) in the models folder; for VAEs "None" is the checkpoint's own
// and "Automatic" (or no VAE axis) the --vae flag's. The model --model
// loaded stays with its owner; the one other model loaded here is freed
// when the next is loaded and at the end.
type xyzModels struct {
	base                    pipeline.Job
	basePath, baseVAE       string // absolute
	backend, dtype, predict string
	clipVocab, dir          string
	log                     io.Writer
	cur                     *model.Model // loaded here; nil while base runs
	curKey                  [2]string
	curJob                  pipeline.Job
}

func newXYZModels(fs *flag.FlagSet, base pipeline.Job, dir string) *xyzModels {
	get := func(name string) string {
		if f := fs.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	return &xyzModels{base: base, basePath: absPath(get("model")), baseVAE: absPath(get("vae")), backend: get("backend"), dtype: get("dtype"),
		predict: get("prediction"), clipVocab: get("clip-vocab"), dir: dir, log: fs.Output()}
}

// absPath makes p absolute so that two spellings of one file compare
// equal ("" stays "").
func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// resolve finds a checkpoint or VAE file for a plot value.
func (ms *xyzModels) resolve(v string, kind modelstore.Kind) (string, error) {
	if v == "" {
		return "", nil
	}
	if exists(v) {
		return absPath(v), nil
	}
	if p := filepath.Join(filepath.Dir(ms.basePath), v); ms.basePath != "" && !filepath.IsAbs(v) && exists(p) {
		return p, nil
	}
	list, err := modelstore.List(ms.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var known []string
	for _, m := range list {
		if m.Kind != kind {
			continue
		}
		if m.Name == v || strings.TrimSuffix(m.Name, filepath.Ext(m.Name)) == v {
			return absPath(m.Path), nil
		}
		known = append(known, m.Name)
	}
	where := "no such file"
	if ms.basePath != "" {
		where += ", not next to --model in " + filepath.Dir(ms.basePath)
	}
	k := "none"
	if len(known) > 0 {
		k = strings.Join(known, ", ")
	}
	return "", fmt.Errorf("%s %q: %s, not in %s (known: %s)", kind, v, where, filepath.Join(ms.dir, kind.Folder()), k)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// key resolves a cell's checkpoint and VAE values to files.
func (ms *xyzModels) key(ckpt, vae string) ([2]string, error) {
	var k [2]string
	var err error
	if k[0], err = ms.resolve(ckpt, modelstore.Checkpoint); err != nil {
		return k, err
	}
	if k[0] == "" {
		k[0] = ms.basePath
	}
	switch {
	case vae == "" || strings.EqualFold(vae, "Automatic"):
		k[1] = ms.baseVAE
	case strings.EqualFold(vae, "None"):
		k[1] = ""
	default:
		if k[1], err = ms.resolve(vae, modelstore.VAE); err != nil {
			return k, err
		}
	}
	return k, nil
}

func (ms *xyzModels) check(ckpt, vae string) error {
	_, err := ms.key(ckpt, vae)
	return err
}

// load returns the job for a cell's checkpoint and VAE, loading them
// unless they are --model's or the ones loaded last.
func (ms *xyzModels) load(ctx context.Context, ckpt, vae string) (pipeline.Job, error) {
	k, err := ms.key(ckpt, vae)
	if err != nil {
		return pipeline.Job{}, err
	}
	if k == [2]string{ms.basePath, ms.baseVAE} {
		ms.close()
		return ms.base, nil
	}
	if ms.cur != nil && k == ms.curKey {
		return ms.curJob, nil
	}
	ms.close()
	start := time.Now()
	m, err := model.Load(k[0], model.Options{Backend: ms.backend, DType: ms.dtype, VAE: k[1], Prediction: ms.predict})
	if err != nil {
		return pipeline.Job{}, err
	}
	tok, err := findTokenizer(&modelFlags{model: &k[0], clipVocab: &ms.clipVocab})
	if err != nil {
		m.Close()
		return pipeline.Job{}, err
	}
	ms.cur, ms.curKey, ms.curJob = m, k, pipeline.Job{Model: m, Tok: tok}
	vaeNote := ""
	if k[1] != "" {
		vaeNote = " with VAE " + filepath.Base(k[1])
	}
	fmt.Fprintf(ms.log, "xyz: loaded %s%s in %s\n", filepath.Base(k[0]), vaeNote, time.Since(start).Round(time.Millisecond))
	return ms.curJob, nil
}

// close frees the model loaded here, if any.
func (ms *xyzModels) close() {
	if ms.cur != nil {
		ms.cur.Close()
		ms.cur, ms.curKey = nil, [2]string{}
	}
}
