// Package clip builds the CLIP text encoders of Stable Diffusion as GoMLX
// graphs: the Hugging Face CLIPTextModel layout (SD1's text encoder and
// SDXL's first, CLIP-L) and the OpenCLIP layout (SD2's OpenCLIP-H and SDXL's
// second encoder, OpenCLIP-bigG).
//
// It owns the architecture facts of these networks (Config, read from tensor
// shapes by DetectConfig, with hints for what shapes cannot tell) and the
// graph functions Encode and Forward, which turn token ids into hidden states
// and the pooled embedding. Which hidden state each model family uses is
// spelled out by the Output presets (SD1Output, SD2Output, SDXLOutput).
//
// clip imports only nn and GoMLX's graph package. It must not import
// checkpoint, model, os or any file or device code, and it knows nothing of
// prompts, tokenizers or emphasis weights: the caller tokenizes, and applies
// emphasis to the hidden states this package returns.
package clip
