// Package checkpoint opens Stable Diffusion checkpoints in the layouts users
// have (.safetensors, .ckpt/.pt/.pth, diffusers folders), presents every
// tensor under its original single-file (LDM) key, detects the model family
// from keys and shapes (SD1, SD2 eps or v, SDXL, SDXL refiner, inpainting),
// swaps in a separate VAE, and computes the AUTOMATIC1111 model hashes.
//
// It owns the one table that renames foreign layouts (diffusers UNet and VAE,
// Hugging Face CLIP text encoders, their OpenCLIP counterparts) to LDM keys.
//
// It imports the standard library, safetensors and pickle only: no GoMLX, no
// model code. Tensors stay lazy (memory-mapped where the format allows) until
// a caller asks for Raw bytes or Float32 values.
package checkpoint
