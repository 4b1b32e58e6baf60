package cli

import (
	"context"
	"flag"
	"strings"

	"sdgo/internal/pipeline"
)

// img2imgScript is img2img's --script choice: none, or webui's "SD
// upscale" with its options.
type img2imgScript struct {
	script  string
	overlap int
	opts    pipeline.SDUpscaleOptions
}

// addImg2ImgScriptFlags registers --script and the SD upscale options on
// an img2img flag set.
func addImg2ImgScriptFlags(fs *flag.FlagSet) *img2imgScript {
	s := &img2imgScript{}
	fs.StringVar(&s.script, "script", "", "run a webui img2img script: sd-upscale (upscale the init image, redraw it in overlapping -W x -H tiles and blend them)")
	fs.IntVar(&s.overlap, "sd-upscale-overlap", 64, "sd-upscale: pixels neighbouring tiles overlap and blend over")
	fs.StringVar(&s.opts.Upscaler, "sd-upscale-upscaler", "Lanczos", "sd-upscale: "+strings.Join(pipeline.SDUpscalers, ", ")+" (None keeps the init image's size)")
	fs.Float64Var(&s.opts.ScaleFactor, "sd-upscale-scale", 2, "sd-upscale: scale factor, 1 to 8 (the size is rounded down to a multiple of 8)")
	return s
}

// check validates the script and, for SD upscale, its options and tile
// layout against p (whose Validate it runs); it returns how many img2img
// batches the job runs, for the progress bar.
func (s *img2imgScript) check(p *pipeline.Img2ImgParams) (int, error) {
	switch s.script {
	case "":
		return p.BatchCount, nil
	case "sd-upscale":
	default:
		return 0, usagef("--script %q: want sd-upscale", s.script)
	}
	s.opts.Overlap = s.overlap
	if s.overlap == 0 {
		s.opts.Overlap = pipeline.SDUpscaleNoOverlap
	}
	g, err := pipeline.SDUpscaleGrid(p, &s.opts)
	if err != nil {
		return 0, usageError{err}
	}
	return (g.Len() + p.BatchSize - 1) / p.BatchSize * p.BatchCount, nil
}

// run runs the chosen script, or plain img2img without one.
func (s *img2imgScript) run(ctx context.Context, job pipeline.Job, p pipeline.Img2ImgParams) ([]pipeline.Result, error) {
	if s.script == "sd-upscale" {
		return pipeline.SDUpscale(ctx, job, p, s.opts)
	}
	return pipeline.Img2Img(ctx, job, p)
}
