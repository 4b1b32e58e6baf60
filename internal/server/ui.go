package server

import (
	"io/fs"
	"net/http"

	"sdgo/internal/webui"
)

// index serves the web UI's page.
func (s *Server) index(w http.ResponseWriter, r *http.Request) error {
	b, err := fs.ReadFile(webui.FS(), "index.html")
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'")
	_, err = w.Write(b)
	return err
}

// static serves the page's script and stylesheet.
func (s *Server) static() http.Handler {
	return http.StripPrefix("/static/", http.FileServerFS(webui.FS()))
}
