// Package upscale resizes images and latents the way webui does: PIL's
// resampling filters on 8-bit pixels (Lanczos, bicubic, bilinear, nearest,
// with PIL's fixed-point arithmetic), webui's four img2img resize modes
// (just resize, crop and resize, resize and fill, latent upscale), and
// torch's interpolate on latents (bilinear, bicubic, nearest,
// nearest-exact, antialiased variants) for the hires fix's latent
// upscalers. Model upscalers (ESRGAN and friends) will come in behind the
// same functions later.
//
// It imports only the standard library (image, no GoMLX): latents are
// plain []float32 in NCHW order.
package upscale
