package cli

import (
	"flag"
	"fmt"
	"image"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sdgo/internal/config"
	"sdgo/internal/imagefile"
	"sdgo/internal/infotext"
	"sdgo/internal/pipeline"
)

// outputFlags say where and how generated images are saved, as webui's
// save_image does: into dated folders under the outputs root (or the -o
// folder) with sequence-numbered names, or into the one file -o names.
type outputFlags struct {
	out      *string // -o/--output, registered with the generation flags
	pattern  string
	format   string
	quality  int
	lossless bool
	outSet   bool      // -o given explicitly
	started  time.Time // [job_timestamp]
}

// addOutputFlags registers the saving flags on fs; out is the -o value.
func addOutputFlags(fs *flag.FlagSet, out *string) *outputFlags {
	o := &outputFlags{out: out}
	fs.StringVar(&o.pattern, "filename-pattern", imagefile.DefaultPattern, "file name pattern after the sequence number (webui tags: [seed], [steps], [cfg], [sampler], [scheduler], [model_name], [model_hash], [width], [height], [prompt], [prompt_spaces], [prompt_words], [prompt_hash], [date], [datetime<%Y%m%d%H%M%S>], [job_timestamp], [batch_number], [none], ...)")
	fs.StringVar(&o.format, "format", "png", "image format when -o is a folder: png, jpg or webp (infotext in a PNG text chunk, else Exif UserComment)")
	fs.IntVar(&o.quality, "quality", jpegQuality, "JPEG and lossy WebP quality, 1..100")
	fs.BoolVar(&o.lossless, "webp-lossless", false, "write WebP losslessly")
	return o
}

// check reads which flags were given and validates the values.
func (o *outputFlags) check(fs *flag.FlagSet) error {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "o" || f.Name == "output" {
			o.outSet = true
		}
	})
	switch strings.ToLower(o.format) {
	case "png", "webp":
		o.format = strings.ToLower(o.format)
	case "jpg", "jpeg":
		o.format = "jpg"
	default:
		return usagef("--format %q: want png, jpg or webp", o.format)
	}
	if o.quality < 1 || o.quality > 100 {
		return usagef("--quality %d: want 1..100", o.quality)
	}
	o.started = time.Now()
	return nil
}

// imageFormats are the file extensions -o FILE may end in.
var imageFormats = map[string]string{".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp"}

// outputFileFormat is the format -o FILE names by its extension, or "" for a
// folder.
func outputFileFormat(out string) string {
	return imageFormats[strings.ToLower(filepath.Ext(out))]
}

// save writes a job's images (and the script's grid, if any) and prints
// each path. kind is "txt2img" or "img2img": without -o, images go to
// <outputs>/<kind>-images/<YYYY-MM-DD> and grids to <kind>-grids/<date>
// as in webui; with -o FOLDER into that folder. script names the script
// that made the grid (see gridBasename).
func (o *outputFlags) save(e *Env, kind, script string, p pipeline.Params, styles []string, results []pipeline.Result, grid *image.NRGBA) error {
	imgDir, gridDir := *o.out, *o.out
	if !o.outSet {
		root := config.FromEnv(e.Getenv).OutputsDir
		day := o.started.Format("2006-01-02")
		imgDir = filepath.Join(root, kind+"-images", day)
		gridDir = filepath.Join(root, kind+"-grids", day)
	}
	seeds := make([]int64, len(results))
	for i, r := range results {
		seeds[i] = r.Seed
	}
	for i, r := range results {
		path, err := o.imagePath(imgDir, len(results), i, o.nameInfo(p, styles, seeds, i, r))
		if err != nil {
			return err
		}
		if err := o.write(path, r); err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "%s (seed %d)\n", path, r.Seed)
	}
	if grid == nil || len(results) == 0 {
		return nil
	}
	path, err := o.gridPath(gridDir, script, o.nameInfo(p, styles, seeds, 0, pipeline.Result{Image: grid, Seed: results[0].Seed, Infotext: results[0].Infotext}))
	if err != nil {
		return err
	}
	if err := o.write(path, pipeline.Result{Image: grid, Infotext: results[0].Infotext}); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%s (grid)\n", path)
	return nil
}

// imagePath is where image i of n goes: -o FILE itself for one image
// (FILE-<i> with its extension for several), else the next webui name in
// dir: NNNNN-<pattern>.<format>.
func (o *outputFlags) imagePath(dir string, n, i int, info imagefile.NameInfo) (string, error) {
	if outputFileFormat(*o.out) != "" {
		return numberedFile(*o.out, n, i), nil
	}
	dec := imagefile.ApplyPattern(o.pattern, info)
	if dec != "" {
		dec = "-" + dec
	}
	return imagefile.NumberedPath(dir, "", dec, o.formatFor(info.Image))
}

// gridPath is where a script's grid goes: next to -o FILE as
// FILE-grid.<ext>, else the next webui grid name in dir (see
// gridBasename).
func (o *outputFlags) gridPath(dir, script string, info imagefile.NameInfo) (string, error) {
	if ext := filepath.Ext(*o.out); outputFileFormat(*o.out) != "" {
		return strings.TrimSuffix(*o.out, ext) + "-grid" + ext, nil
	}
	base, dec := gridBasename(script), ""
	if base != "grid" {
		if dec = imagefile.ApplyPattern(o.pattern, info); dec != "" {
			dec = "-" + dec
		}
	}
	return imagefile.NumberedPath(dir, base, dec, o.formatFor(info.Image))
}

// gridBasename is the name webui gives a grid file before its number:
// prompt_matrix-NNNN-<pattern> and xyz_grid-NNNN-<pattern> for those
// scripts (saved with their seed, so the file name pattern applies), and
// grid-NNNN for a plain batch grid (webui's short grid names).
func gridBasename(script string) string {
	switch script {
	case "prompt-matrix":
		return "prompt_matrix"
	case "xyz":
		return "xyz_grid"
	}
	return "grid"
}

// formatFor is --format, or png for an image too large for it (WebP
// stops at 16383 pixels a side, JPEG at 65535), as webui falls back.
func (o *outputFlags) formatFor(img image.Image) string {
	if img == nil {
		return o.format
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if (o.format == "webp" && max(w, h) > 16383) || (o.format == "jpg" && max(w, h) > 65535) {
		return "png"
	}
	return o.format
}

// write saves r at path in the format its extension names.
func (o *outputFlags) write(path string, r pipeline.Result) error {
	return writeImage(path, r, o.quality, o.lossless)
}

// nameInfo collects what a file name pattern may use for result i: the
// image's own infotext first (scripts vary prompts, seeds and steps per
// image), the job's parameters where it is silent.
func (o *outputFlags) nameInfo(p pipeline.Params, styles []string, seeds []int64, i int, r pipeline.Result) imagefile.NameInfo {
	bs := max(p.BatchSize, 1)
	n := imagefile.NameInfo{Seed: r.Seed, Prompt: p.Prompt, NegativePrompt: p.NegativePrompt, Styles: styles, Steps: p.Steps,
		CFGScale: p.CFGScale, Sampler: p.Sampler, Scheduler: p.Scheduler, ClipSkip: p.ClipSkip,
		BatchSize: bs, BatchIndex: i % bs, Iteration: i / bs, Iterations: max(p.BatchCount, 1), AllSeeds: seeds,
		Image: r.Image, Now: time.Now(), JobTimestamp: o.started}
	info, err := infotext.Parse(r.Infotext)
	if err != nil {
		return n
	}
	n.Prompt, n.NegativePrompt = info.Prompt, info.NegativePrompt
	if v, ok := info.Int("Steps"); ok {
		n.Steps = v
	}
	if v, ok := info.Float("CFG scale"); ok {
		n.CFGScale = v
	}
	if v, ok := info.Float("Denoising strength"); ok {
		n.Denoising = v
	}
	if v, ok := info.Int("Clip skip"); ok {
		n.ClipSkip = v
	}
	for key, dst := range map[string]*string{"Sampler": &n.Sampler, "Schedule type": &n.Scheduler, "Model": &n.ModelName, "Model hash": &n.ModelHash} {
		if v, ok := info.Get(key); ok {
			*dst = v
		}
	}
	return n
}

// numberedFile is -o FILE for image i of n: FILE itself for one image,
// FILE-<i> before its extension for several.
func numberedFile(out string, n, i int) string {
	if n == 1 {
		return out
	}
	ext := filepath.Ext(out)
	return strings.TrimSuffix(out, ext) + "-" + strconv.Itoa(i) + ext
}
