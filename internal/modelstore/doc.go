// Package modelstore manages the model files in a webui-style models folder
// (DIR/Stable-diffusion, DIR/Lora, DIR/VAE): it lists and deletes them and
// downloads new ones from Hugging Face (or a mirror) with resume and a
// sha256 check.
//
// It imports only the standard library. It must not import engine, model or
// any GoMLX package: it moves files and never reads their tensors. The
// engine keeps its own scan of the same folders (engine/catalog.go).
package modelstore
