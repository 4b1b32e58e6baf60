package server

import (
	"net/http"
)

// routes lists every endpoint.
func (s *Server) routes(mux *http.ServeMux) {
	h := s.handle
	// AUTOMATIC1111 webui API (sdapi.go, lists.go, pnginfo.go).
	mux.Handle("POST /sdapi/v1/txt2img", h(s.txt2img))
	mux.Handle("POST /sdapi/v1/img2img", h(s.img2img))
	mux.Handle("POST /sdapi/v1/extra-single-image", h(notImplemented("extra-single-image", "upscalers are not in sdgo yet")))
	mux.Handle("POST /sdapi/v1/extra-batch-images", h(notImplemented("extra-batch-images", "upscalers are not in sdgo yet")))
	mux.Handle("POST /sdapi/v1/interrogate", h(notImplemented("interrogate", "CLIP/DeepDanbooru interrogation is not in sdgo")))
	mux.Handle("POST /sdapi/v1/png-info", h(s.pngInfo))
	mux.Handle("GET /sdapi/v1/progress", h(s.progress))
	mux.Handle("POST /sdapi/v1/interrupt", h(s.interrupt))
	mux.Handle("POST /sdapi/v1/skip", h(s.skip))
	mux.Handle("GET /sdapi/v1/options", h(s.getOptions))
	mux.Handle("POST /sdapi/v1/options", h(s.setOptions))
	mux.Handle("GET /sdapi/v1/cmd-flags", h(s.cmdFlags))
	mux.Handle("GET /sdapi/v1/samplers", h(s.samplers))
	mux.Handle("GET /sdapi/v1/schedulers", h(s.schedulers))
	mux.Handle("GET /sdapi/v1/sd-models", h(s.sdModels))
	mux.Handle("GET /sdapi/v1/sd-vae", h(s.sdVAE))
	mux.Handle("GET /sdapi/v1/loras", h(s.loras))
	mux.Handle("GET /sdapi/v1/prompt-styles", h(s.promptStyles))
	mux.Handle("GET /sdapi/v1/embeddings", h(s.embeddings))
	mux.Handle("POST /sdapi/v1/refresh-checkpoints", h(s.refresh))
	mux.Handle("POST /sdapi/v1/refresh-vae", h(s.refresh))
	mux.Handle("POST /sdapi/v1/refresh-loras", h(s.refresh))
	mux.Handle("POST /sdapi/v1/refresh-embeddings", h(s.refreshEmbeddings))
	mux.Handle("GET /sdapi/v1/memory", h(s.memory))
	// sdgo's asynchronous job API (jobs.go).
	mux.Handle("POST /api/v1/jobs", h(s.submitJob))
	mux.Handle("GET /api/v1/jobs", h(s.listJobs))
	mux.Handle("GET /api/v1/jobs/{id}", h(s.getJob))
	mux.Handle("DELETE /api/v1/jobs/{id}", h(s.cancelJob))
	mux.Handle("GET /api/v1/jobs/{id}/events", h(s.jobEvents))
	mux.Handle("GET /api/v1/jobs/{id}/images/{n}", h(s.jobImage))
	// The web UI (webui package, embedded).
	mux.Handle("GET /{$}", h(s.index))
	mux.Handle("GET /static/", s.static())
	// Anything else under the APIs is a JSON 404.
	mux.Handle("/sdapi/", h(notFound))
	mux.Handle("/api/", h(notFound))
}

func notFound(w http.ResponseWriter, r *http.Request) error {
	return errorf(http.StatusNotFound, "NotFound", "no endpoint %s %s", r.Method, r.URL.Path)
}

// notImplemented answers 501 for a webui endpoint sdgo lacks.
func notImplemented(name, why string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotImplemented, "NotImplemented", "%s: not implemented yet: %s", name, why)
	}
}
