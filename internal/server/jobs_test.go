package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sdgo/api"
	"sdgo/internal/config"
	"sdgo/internal/imagefile"
)

func TestJobAPI(t *testing.T) {
	ts := newTestServer(t, false, nil)
	ctx := context.Background()
	q := api.NewTxt2ImgRequest()
	q.Prompt, q.Width, q.Height, q.Steps, q.Seed, q.BatchSize, q.SaveImages = "fox", 64, 64, 3, 900, 2, true
	job, err := ts.client.Submit(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if job.ID == "" || job.Status.Finished() || len(job.Seeds) != 2 || job.Seeds[1] != 901 || job.Progress.Total != 3 {
		t.Fatalf("submitted %+v", job)
	}
	var events []api.Job
	final, err := ts.client.Events(ctx, job.ID, func(j api.Job) error { events = append(events, j); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != api.JobDone || len(final.Images) != 2 || final.Progress.Fraction != 1 || final.Started == nil || final.Finished == nil {
		t.Fatalf("final %+v", final)
	}
	if len(events) < 1 || events[len(events)-1].Status != api.JobDone {
		t.Errorf("events %+v", events)
	}
	for i, im := range final.Images {
		b, err := ts.client.Image(ctx, job.ID, i)
		if err != nil {
			t.Fatal(err)
		}
		text, err := imagefile.ReadParameters(bytes.NewReader(b))
		if err != nil || text != im.Infotext || im.Seed != int64(900+i) || !strings.Contains(text, "Seed: "+[]string{"900", "901"}[i]) {
			t.Errorf("image %d: %q %v (%+v)", i, text, err, im)
		}
	}
	// save_images wrote both under the outputs folder.
	saved, _ := filepath.Glob(filepath.Join(ts.cfg.Txt2ImgOutputDir(), "*", "*.png"))
	if len(saved) != 2 {
		t.Errorf("saved %v", saved)
	}
	got, err := ts.client.Job(ctx, job.ID)
	if err != nil || got.Status != api.JobDone || got.Images[1].URL != "/api/v1/jobs/"+job.ID+"/images/1" {
		t.Errorf("GET job %+v %v", got, err)
	}
	var list api.JobList
	ts.callJSON(t, "GET", "/api/v1/jobs", nil, 200, &list)
	if n := len(list.Jobs); n == 0 || list.Jobs[n-1].ID != job.ID {
		t.Errorf("list %+v", list)
	}
	for _, path := range []string{"/api/v1/jobs/" + job.ID + "/images/2", "/api/v1/jobs/" + job.ID + "/images/x", "/api/v1/jobs/nope", "/api/v1/jobs/nope/events"} {
		var e api.Error
		ts.callJSON(t, "GET", path, nil, 404, &e)
		if e.Kind == "" || e.Detail == "" {
			t.Errorf("%s: %+v", path, e)
		}
	}
	ts.callJSON(t, "DELETE", "/api/v1/jobs/nope", nil, 404, nil)
	var e api.Error
	ts.callJSON(t, "POST", "/api/v1/jobs", map[string]any{"width": 65}, 422, &e)
	if len(e.Fields) != 1 || e.Fields[0].Loc[1] != "width" {
		t.Errorf("validation %+v", e)
	}
}

func TestJobCancelAndPreviewEvents(t *testing.T) {
	ts := newTestServer(t, false, nil)
	ctx := context.Background()
	release := ts.gen.gate("held")
	defer release()
	var running, queued api.Job
	ts.callJSON(t, "POST", "/api/v1/jobs", small("held", 1), 202, &running)
	<-ts.gen.steps
	ts.callJSON(t, "POST", "/api/v1/jobs", small("queued", 2), 202, &queued)
	if queued.Status != api.JobQueued || queued.Position != 0 {
		t.Errorf("queued %+v", queued)
	}
	// The event stream of the running job carries a preview.
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/jobs/"+running.ID+"/events?preview=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	rd := bufio.NewReader(resp.Body)
	var first api.Job
	for first.ID == "" {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			json.Unmarshal([]byte(data), &first)
		}
	}
	if first.Status != api.JobRunning || first.Preview == "" || first.Progress.Step != 1 {
		t.Errorf("first event %+v", first)
	}
	// Cancel both: the queued one never runs.
	c, err := ts.client.Cancel(ctx, queued.ID)
	if err != nil || c.Status != api.JobCancelled {
		t.Errorf("cancel queued: %+v %v", c, err)
	}
	if _, err := ts.client.Cancel(ctx, running.ID); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(rd)
	resp.Body.Close()
	if !strings.Contains(string(rest), `"status":"cancelled"`) {
		t.Errorf("stream did not end cancelled: %s", rest)
	}
	if f, _ := ts.client.Job(ctx, running.ID); f.Status != api.JobCancelled || f.Finished == nil {
		t.Errorf("running job after cancel: %+v", f)
	}
	ts.waitIdle(t)
	if p := ts.gen.last(); p.Prompt != "held" {
		t.Errorf("the cancelled queued job ran: %s", p.Prompt)
	}
}

func TestAuth(t *testing.T) {
	ts := newTestServer(t, false, func(c *config.Config) { c.APIAuth = "alice:s3cret,bob:pw" })
	for _, tt := range []struct {
		user, pass string
		want       int
	}{{"", "", 401}, {"alice", "wrong", 401}, {"eve", "s3cret", 401}, {"alice", "s3cret", 200}, {"bob", "pw", 200}} {
		for _, path := range []string{"/sdapi/v1/samplers", "/", "/api/v1/jobs"} {
			req, _ := http.NewRequest("GET", ts.URL+path, nil)
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s as %s:%s: %d, want %d", path, tt.user, tt.pass, resp.StatusCode, tt.want)
			}
			if tt.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("no WWW-Authenticate on 401")
			}
		}
	}
	// The Go client sends its credentials; cmd-flags never shows them.
	var flags map[string]any
	ts.callJSON(t, "GET", "/sdapi/v1/cmd-flags", nil, 200, &flags)
	if flags["api_auth"] != true {
		t.Errorf("api_auth flag %v", flags["api_auth"])
	}
	if _, err := ts.client.Samplers(context.Background()); err != nil {
		t.Error(err)
	}
	bad := api.NewClient(ts.URL)
	if _, err := bad.Samplers(context.Background()); err == nil {
		t.Error("no credentials accepted")
	} else if e, ok := err.(*api.Error); !ok || e.Status != 401 {
		t.Errorf("error %v", err)
	}
}

func TestCORS(t *testing.T) {
	preflight := func(ts *testServer, origin string) *http.Response {
		req, _ := http.NewRequest("OPTIONS", ts.URL+"/sdapi/v1/txt2img", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	off := newTestServer(t, false, nil)
	if r := preflight(off, "http://evil.example"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS answered while off")
	}
	on := newTestServer(t, false, func(c *config.Config) { c.CORSOrigins = []string{"http://ok.example"}; c.APIAuth = "u:p" })
	r := preflight(on, "http://ok.example")
	if r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Origin") != "http://ok.example" || !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight %d %v", r.StatusCode, r.Header)
	}
	if r := preflight(on, "http://evil.example"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS allowed an unlisted origin")
	}
}

func TestNoPathEscapes(t *testing.T) {
	ts := newTestServer(t, false, nil)
	secret := filepath.Join(filepath.Dir(ts.cfg.ModelsDir), "secret.safetensors")
	os.WriteFile(secret, []byte("x"), 0o644)
	for _, name := range []string{"../secret.safetensors", "../../secret", "/etc/passwd", `..\secret`, "sub/../../secret", "./tiny.safetensors"} {
		code, b := ts.call(t, "POST", "/sdapi/v1/options", map[string]any{"sd_model_checkpoint": name})
		if code != 422 || !strings.Contains(string(b), "sd_model_checkpoint") {
			t.Errorf("model %q: %d %s", name, code, b)
		}
		code, _ = ts.call(t, "POST", "/sdapi/v1/options", map[string]any{"sd_vae": name})
		if code != 422 {
			t.Errorf("vae %q: %d", name, code)
		}
	}
	// The mux cleans paths; static files come from the embedded FS only.
	for _, path := range []string{"/static/../server.go", "/static/%2e%2e/server.go", "/static/..%2fserver.go", "/api/v1/jobs/..%2f..%2fetc/images/0"} {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || strings.Contains(string(b), "package server") {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}

func TestWebUIPage(t *testing.T) {
	ts := newTestServer(t, false, nil)
	for path, want := range map[string]string{"/": "<form id=\"txt2img\"", "/static/app.js": "EventSource", "/static/style.css": "#gallery"} {
		code, b := ts.call(t, "GET", path, nil)
		if code != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d, missing %q", path, code, want)
		}
	}
}
