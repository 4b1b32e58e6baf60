package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecodingKeepsDefaults(t *testing.T) {
	q := NewTxt2ImgRequest()
	if err := json.Unmarshal([]byte(`{"prompt":"cat","steps":20,"restore_faces":false}`), &q); err != nil {
		t.Fatal(err)
	}
	if q.Prompt != "cat" || q.Steps != 20 || q.Width != 512 || q.CFGScale != 7 || q.Seed != -1 || q.SamplerIndex != "Euler" ||
		!q.SendImages || q.SaveImages || !q.OverrideSettingsRestoreAfterwards || q.RestoreFaces == nil || *q.RestoreFaces || q.Eta != nil {
		t.Errorf("decoded %+v", q)
	}
}

func TestClientErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); u != "u" || p != "p" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte(`{"error":"ValidationError","detail":"width: bad","body":"","errors":"width: bad","fields":[{"loc":["body","width"],"msg":"bad","type":"value_error"}]}`))
	}))
	defer srv.Close()
	c := NewClient(srv.URL + "/")
	_, err := c.Samplers(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 || !strings.Contains(e.Detail, "who are you") {
		t.Fatalf("plain-text error: %v", err)
	}
	c.Username, c.Password = "u", "p"
	_, err = c.Txt2Img(context.Background(), NewTxt2ImgRequest())
	if !errors.As(err, &e) || e.Status != 422 || e.Kind != "ValidationError" || len(e.Fields) != 1 || e.Fields[0].Loc[1] != "width" {
		t.Fatalf("JSON error: %#v", err)
	}
	if !strings.Contains(err.Error(), "422 width: bad") {
		t.Errorf("message %q", err.Error())
	}
}

func TestEventsStopsAtFinalState(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, st := range []string{"queued", "running", "done", "running"} {
			w.Write([]byte(": comment\nevent: job\ndata: {\"id\":\"x\",\"status\":\"" + st + "\"}\n\n"))
		}
	}))
	defer srv.Close()
	var seen []JobStatus
	final, err := NewClient(srv.URL).Events(context.Background(), "x", func(j Job) error { seen = append(seen, j.Status); return nil })
	if err != nil || final.Status != JobDone || len(seen) != 3 {
		t.Fatalf("final %+v err %v seen %v", final, err, seen)
	}
	if !JobCancelled.Finished() || JobRunning.Finished() {
		t.Error("Finished")
	}
}
