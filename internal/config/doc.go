// Package config owns sdgo's server settings: every environment variable,
// its default, the admin limits on requests, and the paths of the webui-style
// model folders (Stable-diffusion, VAE, Lora, ESRGAN, embeddings) and the
// outputs folder.
//
// It imports the standard library only; it never opens models or listens.
package config
