// Package webui holds the browser page sdgo serves at / as embedded static
// files: one HTML page, one script and one stylesheet (plain JavaScript, no
// framework). The page has txt2img, img2img (init image from a file or
// "Send to img2img" on a result, denoising strength, resize mode) and PNG
// info (drop an image, read its parameters, send them to txt2img or
// img2img) tabs, live progress with previews, and keyboard submit
// (Ctrl+Enter). It talks to the server only through its public HTTP APIs
// (/sdapi/v1 lists and png-info, the /api/v1 job API). No logic lives here
// in Go; it imports only embed and io/fs. internal/server's browser test
// drives the page in headless Chromium.
package webui
