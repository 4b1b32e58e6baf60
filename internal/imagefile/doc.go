// Package imagefile writes and reads generated images: PNG files carrying
// webui's "parameters" text chunk, JPEG files carrying it in the Exif
// UserComment (as webui does through piexif), reading either back, the
// conversion from decoded VAE output to 8-bit pixels, and labelled image
// grids. It imports only the standard library and golang.org/x/image (the
// bitmap font of grid labels).
package imagefile
