package cli

import (
	"context"
	"flag"
	"fmt"
	"image"
	"os"

	"sdgo/internal/pipeline"
)

// scriptFlags choose one of webui's txt2img scripts.
type scriptFlags struct {
	script, promptsFile                      string
	matrixNegative, matrixStart, matrixSeeds bool
	xyz                                      *xyzFlags
	fs                                       *flag.FlagSet // the command's flags: xyz reads the model flags
}

// addScriptFlags registers --script and the scripts' options on fs.
func addScriptFlags(fs *flag.FlagSet) *scriptFlags {
	s := &scriptFlags{fs: fs}
	fs.StringVar(&s.script, "script", "", "run a webui script: prompt-matrix (|-separated prompt parts, all combinations and a labelled grid), prompts-from-file (one job per line of --prompts-file) or xyz (X/Y/Z plot: --x-type steps --x-values 10,20 ...)")
	fs.StringVar(&s.promptsFile, "prompts-file", "", "prompts-from-file: a text file, one prompt or one line of --prompt \"...\" --steps 20 ... options per line")
	fs.BoolVar(&s.matrixNegative, "matrix-negative", false, "prompt-matrix: take the |-separated parts from the negative prompt")
	fs.BoolVar(&s.matrixStart, "matrix-variations-at-start", false, "prompt-matrix: put the variable parts before the fixed first part")
	fs.BoolVar(&s.matrixSeeds, "matrix-different-seeds", false, "prompt-matrix: use seed+i for image i instead of one seed")
	s.xyz = addXYZFlags(fs)
	return s
}

// check validates the script choice before the model loads.
func (s *scriptFlags) check() error {
	switch s.script {
	case "", "prompt-matrix":
	case "prompts-from-file":
		if s.promptsFile == "" {
			return usagef("--script prompts-from-file needs --prompts-file FILE")
		}
	case "xyz", "x/y/z plot", "xyz-plot":
		s.script = "xyz"
		return s.xyz.check()
	default:
		return usagef("--script %q: want prompt-matrix, prompts-from-file or xyz", s.script)
	}
	return nil
}

// run generates the images of the chosen script (plain txt2img without
// one) and returns them with the grid, if the script makes one.
func (s *scriptFlags) run(ctx context.Context, job pipeline.Job, p pipeline.Params) ([]pipeline.Result, *image.NRGBA, error) {
	switch s.script {
	case "prompt-matrix":
		return pipeline.PromptMatrix(ctx, job, p, pipeline.MatrixOptions{Negative: s.matrixNegative, VariationsAtStart: s.matrixStart, DifferentSeeds: s.matrixSeeds})
	case "prompts-from-file":
		b, err := os.ReadFile(s.promptsFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--prompts-file: %w", err)
		}
		jobs, err := pipeline.ParsePromptsFile(string(b), p)
		if err != nil {
			return nil, nil, err
		}
		rs, err := pipeline.PromptsFromFile(ctx, job, jobs)
		return rs, nil, err
	case "xyz":
		rs, res, err := s.xyz.run(ctx, s.fs, job, p)
		if err != nil || res == nil {
			return rs, nil, err
		}
		return rs, res.Grid.Image, nil
	}
	rs, err := pipeline.Txt2Img(ctx, job, p)
	return rs, nil, err
}
