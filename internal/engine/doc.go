// Package engine runs generation jobs: it holds the one loaded model, a
// queue of jobs served by one worker (one device job at a time, clients
// served round-robin, FIFO within a client), job ids and states, progress
// and latent previews, cancellation, model switching by name, the catalogue
// of the webui-style model folders, and saving outputs.
//
// A job that fails — by error or by panic — fails alone: the worker recovers
// and goes on with the next job.
//
// It may import pipeline, model, tokenizer, imagefile, sample, safetensors
// and config; it never imports net/http, the server or the CLI.
package engine
