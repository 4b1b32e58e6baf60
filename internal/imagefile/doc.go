// Package imagefile writes and reads generated images: PNG files carrying
// webui's "parameters" text chunk, and the conversion from decoded VAE
// output to 8-bit pixels. It imports only the standard library.
package imagefile
