// Package sample owns sampling: the Denoiser the samplers see, every webui
// noise schedule (returned as []float64 sigmas), one function per webui
// sampler with one shared signature (Func), the table of sampler and
// scheduler names shared by CLI, API and infotext, and torch-compatible
// noise generators (torch's CPU mt19937 generator bit for bit, and webui's
// Philox imitation of torch's CUDA generator). For the samplers whose update
// is linear in the latents (Euler without churn, Euler a, DPM++ 2M, DPM++ 2M
// SDE and its Heun variant) LinearSteps gives the per-step coefficients, so
// a caller can run the loop on a device; their host functions run through
// the same steps.
//
// The arithmetic is plain Go on host latents ([]float32, batch-major; scalars
// and per-element updates in float64). Samplers follow k-diffusion
// (Crowson, k_diffusion/sampling.py), webui's extra samplers (Restart, LCM)
// and diffusers' DDIM, PNDM (PLMS) and UniPC schedulers; each function's doc
// names the paper and the reference function.
//
// It imports only the standard library. It must not import GoMLX or any
// model package (model, unet, clip, vae, pipeline): the model reaches it
// only as a Denoiser.
package sample
