package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"sdgo/internal/config"
	"sdgo/internal/engine"
)

// Server serves the APIs and the web UI over one engine.
type Server struct {
	cfg     config.Config
	eng     *engine.Engine
	log     *slog.Logger
	auth    map[string]string
	handler http.Handler
	started time.Time

	mu       sync.Mutex
	settings settings
	extra    map[string]any // options sdgo stores but does not use
}

// New builds the server's handler over eng. log may be nil.
func New(cfg config.Config, eng *engine.Engine, log *slog.Logger) (*Server, error) {
	auth, err := config.ParseAuth(cfg.APIAuth)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{cfg: cfg, eng: eng, log: log, auth: auth, started: time.Now(),
		settings: defaultSettings(), extra: map[string]any{}}
	mux := http.NewServeMux()
	s.routes(mux)
	s.handler = s.cors(s.authenticate(s.limit(s.recover(mux))))
	return s, nil
}

// Handler is the whole server as an http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers on ln until ctx ends, then shuts down gracefully (running
// requests get a few seconds; streams are cut).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// clientKey names who sent a request, for the queue's round-robin: the
// authenticated user, else the remote host.
func (s *Server) clientKey(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok && s.auth != nil {
		return "user:" + user
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate requires HTTP basic auth on every route when --api-auth is
// set. Passwords are compared in constant time.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.auth == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		want, known := s.auth[user]
		if !ok || !known || subtle.ConstantTimeCompare([]byte(pass), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="sdgo", charset="UTF-8"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Unauthorized", "detail": "Incorrect username or password", "body": "", "errors": ""})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limit caps every request body at the configured size.
func (s *Server) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.Limits.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// cors answers cross-origin requests from the configured origins only;
// with none configured it adds nothing and browsers block other sites.
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.cfg.CORSOrigins) == 0 {
		return next
	}
	any := slices.Contains(s.cfg.CORSOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (any || slices.Contains(s.cfg.CORSOrigins, origin)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Credentials", "true")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recover turns a handler panic into a 500 so one bad request never stops
// the server.
func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panicked", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				s.writeError(w, r, fmt.Errorf("server: internal error: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
