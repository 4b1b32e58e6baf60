// Package api holds sdgo's public HTTP wire types and a Go client for them:
// the AUTOMATIC1111-compatible /sdapi/v1 shapes (Txt2ImgRequest,
// Txt2ImgResponse, Progress, SDModel, ...) and sdgo's own asynchronous job
// API under /api/v1 (JobRequest, Job, JobImage).
//
// It owns field names, JSON tags and webui's defaults (NewTxt2ImgRequest);
// it does not validate values against a model or run anything. It imports
// the standard library only, so a program can talk to an sdgo server
// without pulling in GoMLX.
package api
