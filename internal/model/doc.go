// Package model is the device side of sdgo: it opens a GoMLX backend (pure
// Go or a PJRT plugin such as CUDA), loads a checkpoint's tensors into GoMLX
// variables under their checkpoint keys (lazily, in the compute dtype),
// compiles the clip, unet and vae graphs once per input shape, and runs them
// on host values.
//
// It is the only package that imports a GoMLX backend and the only one that
// turns GoMLX panics into errors. It knows nothing about prompts, samplers or
// images on disk.
package model
