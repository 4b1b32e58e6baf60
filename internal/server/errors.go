package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"

	"sdgo/api"
	"sdgo/internal/engine"
	"sdgo/internal/pipeline"
)

// handlerFunc is a handler that returns its error; handle renders it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// errNotImplemented marks endpoints sdgo does not have yet (HTTP 501).
var errNotImplemented = errors.New("not implemented yet")

// validationError lists every bad field of a request (HTTP 422).
type validationError struct{ fields []api.FieldError }

func (e *validationError) Error() string {
	var msgs []string
	for _, f := range e.fields {
		msgs = append(msgs, strings.Join(f.Loc[1:], ".")+": "+f.Msg)
	}
	return strings.Join(msgs, "; ")
}

// add records a bad field.
func (e *validationError) add(field, format string, args ...any) {
	e.fields = append(e.fields, api.FieldError{Loc: []string{"body", field}, Msg: fmt.Sprintf(format, args...), Type: "value_error"})
}

// err returns e, or nil when no field is bad.
func (e *validationError) err() error {
	if len(e.fields) == 0 {
		return nil
	}
	return e
}

// httpError is an error with a status and a kind of its own.
type httpError struct {
	status int
	kind   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, kind, format string, args ...any) error {
	return &httpError{status, kind, fmt.Sprintf(format, args...)}
}

// statusOf maps an error to its HTTP status and response body: validation
// 422 (as webui's FastAPI), bad name 400, unknown model or job 404, body too
// large 413, queue full or shutting down 503, not implemented 501, else 500.
func statusOf(err error) (int, api.Error) {
	body := api.Error{Errors: err.Error(), Detail: err.Error()}
	var ve *validationError
	var pe *pipeline.ValidationError
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ve):
		body.Kind, body.Fields = "ValidationError", ve.fields
		return http.StatusUnprocessableEntity, body
	case errors.As(err, &pe):
		body.Kind = "ValidationError"
		for _, p := range pe.Problems {
			body.Fields = append(body.Fields, api.FieldError{Loc: []string{"body"}, Msg: p, Type: "value_error"})
		}
		return http.StatusUnprocessableEntity, body
	case errors.As(err, &he):
		body.Kind = he.kind
		return he.status, body
	case errors.As(err, &mbe):
		body.Kind = "RequestTooLarge"
		body.Detail = fmt.Sprintf("request body is larger than the server's limit of %d bytes", mbe.Limit)
		return http.StatusRequestEntityTooLarge, body
	case errors.Is(err, engine.ErrBadName):
		body.Kind = "BadName"
		return http.StatusBadRequest, body
	case errors.Is(err, engine.ErrUnknownModel), errors.Is(err, engine.ErrNoModel):
		body.Kind = "ModelNotFound"
		return http.StatusNotFound, body
	case errors.Is(err, engine.ErrNotFound):
		body.Kind = "NotFound"
		return http.StatusNotFound, body
	case errors.Is(err, engine.ErrQueueFull), errors.Is(err, engine.ErrClosed):
		body.Kind = "ServiceUnavailable"
		return http.StatusServiceUnavailable, body
	case errors.Is(err, errNotImplemented):
		body.Kind = "NotImplemented"
		return http.StatusNotImplemented, body
	}
	body.Kind = "RuntimeError"
	return http.StatusInternalServerError, body
}

// handle adapts a handlerFunc, rendering its error in one place.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := statusOf(err)
	if status >= 500 && status != http.StatusNotImplemented && status != http.StatusServiceUnavailable {
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, body)
}

// writeJSON writes v with a status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// decodeJSON reads a JSON object into v (unknown fields are ignored, as
// webui ignores them). Syntax and type errors are validation errors naming
// the field; a body over the size limit is a 413.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(v)
	var mbe *http.MaxBytesError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	ve := &validationError{}
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		ve.add("body", "the request body must be a JSON object")
	case errors.As(err, &te):
		// Field is the JSON path, with embedded Go struct names in it.
		var parts []string
		for _, p := range strings.Split(te.Field, ".") {
			if p != "" && !unicode.IsUpper(rune(p[0])) {
				parts = append(parts, p)
			}
		}
		field := strings.Join(parts, ".")
		if field == "" {
			field = "body"
		}
		ve.add(field, "want %s, got %s", te.Type, te.Value)
		ve.fields[0].Type = "type_error"
	case errors.As(err, &se):
		ve.add("body", "invalid JSON at byte %d: %v", se.Offset, err)
		ve.fields[0].Type = "json_invalid"
	default:
		ve.add("body", "invalid JSON: %v", err)
		ve.fields[0].Type = "json_invalid"
	}
	return ve
}
