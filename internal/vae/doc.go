// Package vae builds the GoMLX graphs of the latent-diffusion AutoencoderKL
// (the "first_stage_model" of SD1.x, SD2.x and SDXL checkpoints, or a
// standalone VAE file): Encode turns an image into the moments of the latent
// distribution, Decode turns a latent back into an image.
//
// It ports ldm.modules.diffusionmodules.model Encoder/Decoder and
// ldm.models.autoencoder.AutoencoderKL. Weights are read through an
// nn.Scope positioned at the VAE's key prefix, under their checkpoint keys
// (encoder.*, decoder.*, quant_conv.*, post_quant_conv.*). The architecture
// comes from tensor shapes (DetectConfig); the few facts shapes cannot show
// (latent scale factor, GroupNorm settings) are Config fields with SD's
// defaults.
//
// Inputs and outputs are NCHW like PyTorch; inside the graphs images are
// NHWC. The graphs never apply the latent scale factor: the caller
// multiplies the encoder's mean by Config.ScaleFactor and divides before
// Decode.
//
// Decode is a function of the latent alone and works for any latent size,
// so a tiled decode for large images can be built on top of it.
//
// vae imports only nn and GoMLX's graph package (plus the standard
// library); it must not import checkpoint, model, os or anything that
// reads files or owns a device.
package vae
