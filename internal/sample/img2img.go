package sample

import "fmt"

// Img2ImgSteps is webui's setup_img2img_steps: how long a schedule to make
// and how many of its steps to run for an img2img pass of steps at
// denoising strength denoise. Normally the schedule has steps entries and
// t_enc = int(min(denoise, 0.999) * steps); with fixSteps (webui's
// img2img_fix_steps, and the hires-fix pass) the schedule is stretched to
// int(steps / min(denoise, 0.999)) so that exactly steps steps run
// (t_enc = steps - 1). Sampling runs on Img2ImgTail of that schedule.
func Img2ImgSteps(steps int, denoise float64, fixSteps bool) (total, tEnc int) {
	d := min(denoise, 0.999)
	if fixSteps {
		if denoise <= 0 {
			return 0, steps - 1
		}
		return int(float64(steps) / d), steps - 1
	}
	return steps, int(d * float64(steps))
}

// Img2ImgTail is the part of a schedule of total steps an img2img pass runs:
// sigmas[total - tEnc - 1:], t_enc+1 steps. The init latent gets noise at
// its first sigma: x = init + noise * tail[0].
func Img2ImgTail(sigmas []float64, total, tEnc int) ([]float64, error) {
	start := total - tEnc - 1
	if start < 0 || start >= len(sigmas)-1 {
		return nil, fmt.Errorf("sample: img2img: t_enc %d does not fit %d steps (%d sigmas)", tEnc, total, len(sigmas))
	}
	return sigmas[start:], nil
}
