// Package server is sdgo's HTTP surface: the AUTOMATIC1111-compatible
// /sdapi/v1 API (sdapi.go, img2img.go, lists.go, pnginfo.go), sdgo's asynchronous job API under /api/v1 with
// server-sent progress events (jobs.go), and the embedded web UI at /.
// routes.go lists every endpoint; errors.go is the one place that turns
// errors into HTTP statuses and {error, detail, body, errors} bodies.
//
// Handlers decode api types, validate every field (convert.go) and hand
// engine.Requests to the engine; they never touch the model or the disk
// themselves. It may import api, engine, pipeline (Params), sample (the
// sampler table), imagefile, config and webui; nothing imports it but the
// CLI.
package server
