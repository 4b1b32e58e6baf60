// Package nn holds the GoMLX layers that Stable Diffusion's networks are made
// of: linear and 2-D convolution layers with PyTorch weight layouts, group and
// layer normalisation, activations, multi-head attention, resampling and the
// sinusoidal timestep embedding.
//
// Weights are never graph constants: every layer reads them from GoMLX
// context variables whose scope path is the checkpoint key (dots become
// slashes), through a Scope. Images inside graphs are NHWC; the caller
// converts at the boundary.
//
// nn imports only GoMLX. It knows nothing of files, checkpoints, devices,
// prompts or samplers; clip, unet and vae build on it.
package nn
