// Package pipeline is where the model, the samplers and the prompt meet:
// the CFG denoiser that wraps a loaded model for the samplers, and the
// txt2img / img2img jobs as numbered steps from prompt to pixels.
//
// It may import model, sample, tokenizer, prompt and the image helpers; it
// never imports a GoMLX backend, the CLI or the server.
package pipeline
