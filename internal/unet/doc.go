// Package unet builds the LDM "openaimodel" UNet of Stable Diffusion 1.x,
// 2.x and SDXL as a GoMLX graph: the architecture description (Config, read
// from tensor shapes under the checkpoint prefix "model.diffusion_model."),
// the list of tensors that architecture reads (Shapes, Keys) and the
// denoising forward pass (Forward).
//
// Inputs and outputs at the package boundary are NCHW like PyTorch; inside
// the graph images are NHWC. Weights are read through an nn.Scope under their
// checkpoint keys.
//
// unet imports only nn, GoMLX's graph package and the standard library. It
// must not import checkpoint, model, os or anything that touches files or
// devices: loading weights and compiling graphs belong to the model package.
package unet
