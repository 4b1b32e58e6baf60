// Package imagefile writes and reads generated images: PNG files carrying
// webui's "parameters" text chunk (NRGBA images compressed in row strips on
// all cores), JPEG and WebP files carrying it in the Exif UserComment (as
// webui does through piexif), reading any of them back, webui's output file
// names (sequence numbers, filename patterns), the conversion from decoded
// VAE output to 8-bit pixels, and labelled image grids. It imports only the
// standard library, golang.org/x/image (the bitmap font of grid labels) and
// github.com/gen2brain/webp (libwebp run through WebAssembly, no cgo);
// nothing of sdgo.
package imagefile
