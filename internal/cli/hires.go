package cli

import (
	"flag"

	"sdgo/internal/pipeline"
)

// addHiresFlags registers txt2img's hires-fix flags (webui's enable_hr and
// hr_* fields) on fs, writing into hr.
func addHiresFlags(fs *flag.FlagSet, hr *pipeline.Hires) {
	fs.BoolVar(&hr.Enable, "enable-hr", false, "hires fix: upscale the first pass and run a second img2img pass")
	fs.Float64Var(&hr.Scale, "hr-scale", 2, "hires fix: scale of the first pass's size (when no --hr-resize-x/y)")
	fs.IntVar(&hr.ResizeX, "hr-resize-x", 0, "hires fix: target width (0 = from --hr-resize-y's aspect, or --hr-scale)")
	fs.IntVar(&hr.ResizeY, "hr-resize-y", 0, "hires fix: target height (0 = from --hr-resize-x's aspect, or --hr-scale)")
	fs.StringVar(&hr.Upscaler, "hr-upscaler", "Latent", "hires fix upscaler: Latent, Latent (antialiased), Latent (bicubic), Latent (bicubic antialiased), Latent (nearest), Latent (nearest-exact), Lanczos, Nearest")
	fs.IntVar(&hr.Steps, "hr-second-pass-steps", 0, "hires fix: steps of the second pass (0 = --steps)")
	fs.Float64Var(&hr.DenoisingStrength, "hr-denoising-strength", 0.7, "hires fix: denoising strength of the second pass, 0..1")
	fs.StringVar(&hr.Sampler, "hr-sampler", "", "hires fix: sampler of the second pass (empty = --sampler)")
	fs.StringVar(&hr.Scheduler, "hr-scheduler", "", "hires fix: schedule type of the second pass (empty = --scheduler)")
	fs.StringVar(&hr.Prompt, "hr-prompt", "", "hires fix: prompt of the second pass (empty = --prompt)")
	fs.StringVar(&hr.NegativePrompt, "hr-negative-prompt", "", "hires fix: negative prompt of the second pass (empty = --negative-prompt)")
}

// hiresBarSteps is how many sampler steps the second pass adds per batch.
func hiresBarSteps(p pipeline.Params) int {
	if !p.Hires.Enable || p.Hires.DenoisingStrength <= 0 {
		return 0
	}
	if p.Hires.Steps > 0 {
		return p.Hires.Steps
	}
	return p.Steps
}
