package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"time"

	"sdgo/api"
	"sdgo/internal/engine"
)

// apiJob converts an engine snapshot to the wire shape.
func apiJob(s engine.Snapshot) api.Job {
	j := api.Job{
		ID: s.ID, Status: api.JobStatus(s.Status), Position: s.Position, Error: s.Error,
		Model: s.Model.Title(), Seeds: s.Seeds, Images: []api.JobImage{}, Created: s.Created,
		Progress: api.JobProgress{Step: s.Progress.Step, Total: s.Progress.Total, Fraction: s.Progress.Fraction(),
			ETASeconds: s.Progress.ETA.Seconds(), Image: s.Progress.Image, Images: s.Progress.Images},
	}
	if !s.Started.IsZero() {
		t := s.Started
		j.Started = &t
	}
	if !s.Finished.IsZero() {
		t := s.Finished
		j.Finished = &t
	}
	for i, img := range s.Images {
		j.Images = append(j.Images, api.JobImage{Index: i, Seed: img.Seed, Infotext: img.Infotext,
			URL: fmt.Sprintf("/api/v1/jobs/%s/images/%d", s.ID, i)})
	}
	return j
}

// submitJob queues a txt2img job, or an img2img job when the body has
// init_images (webui's request fields either way), and answers at once
// with 202 and the job.
func (s *Server) submitJob(w http.ResponseWriter, r *http.Request) error {
	var raw json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		return err
	}
	var peek struct {
		InitImages json.RawMessage `json:"init_images"`
	}
	json.Unmarshal(raw, &peek)
	var (
		req engine.Request
		o   overrides
		g   *api.GenerationParams
		err error
	)
	if len(peek.InitImages) > 0 && string(peek.InitImages) != "null" {
		q := api.NewImg2ImgRequest()
		if err := decodeJSON(jsonBody(r, raw), &q); err != nil {
			return err
		}
		g = &q.GenerationParams
		req, o, err = s.img2imgRequest(&q, s.clientKey(r))
	} else {
		q := api.NewTxt2ImgRequest()
		if err := decodeJSON(jsonBody(r, raw), &q); err != nil {
			return err
		}
		g = &q.GenerationParams
		req, o, err = s.txt2imgRequest(&q, s.clientKey(r))
	}
	if err != nil {
		return err
	}
	job, err := s.eng.Submit(req)
	if err != nil {
		return err
	}
	if !g.OverrideSettingsRestoreAfterwards {
		go func() {
			<-job.Done()
			s.persist(g, o, job.Snapshot())
		}()
	}
	w.Header().Set("Location", "/api/v1/jobs/"+job.ID())
	return writeJSON(w, http.StatusAccepted, apiJob(job.Snapshot()))
}

// jsonBody is r with raw as its body, for decoding a body twice.
func jsonBody(r *http.Request, raw []byte) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(raw))
	return r2
}

// job finds the job named in the path.
func (s *Server) job(r *http.Request) (*engine.Job, error) {
	id := r.PathValue("id")
	j, ok := s.eng.Job(id)
	if !ok {
		return nil, fmt.Errorf("%w %q (finished jobs are kept for a while only)", engine.ErrNotFound, id)
	}
	return j, nil
}

// listJobs lists the jobs of the asking client, oldest first.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	me := s.clientKey(r)
	out := api.JobList{Jobs: []api.Job{}}
	for _, j := range s.eng.Jobs() {
		if snap := j.Snapshot(); snap.Request.Client == me {
			out.Jobs = append(out.Jobs, apiJob(snap))
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiJob(j.Snapshot()))
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) error {
	snap, err := s.eng.Cancel(r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiJob(snap))
}

// jobImage serves image n of a job as PNG (with its infotext chunk).
func (s *Server) jobImage(w http.ResponseWriter, r *http.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	snap := j.Snapshot()
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= len(snap.Images) {
		return errorf(http.StatusNotFound, "NotFound", "job %s has no image %q (it has %d)", snap.ID, r.PathValue("n"), len(snap.Images))
	}
	img := snap.Images[n]
	w.Header().Set("Content-Type", img.ContentType())
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s-%d-%d.%s"`, snap.ID, n, img.Seed, img.Ext()))
	w.Header().Set("Cache-Control", "private, max-age=3600, immutable")
	_, err = w.Write(img.Data)
	return err
}

// jobEvents streams a job's state as server-sent events: one "job" event
// at each change (at most every 100 ms), with a base64 preview of the
// latent when asked (?preview=1), ending with the final state. A comment
// line every 15 s keeps proxies from closing an idle stream.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return errorf(http.StatusInternalServerError, "RuntimeError", "streaming is not supported by this connection")
	}
	preview := r.URL.Query().Get("preview") == "1" || r.URL.Query().Get("preview") == "true"
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	lastStep := -1
	for {
		changed := j.Changed()
		snap := j.Snapshot()
		ev := apiJob(snap)
		if preview && snap.Status == engine.Running && snap.Progress.Step != lastStep {
			ev.Preview = previewB64(j)
			lastStep = snap.Progress.Step
		}
		data, _ := json.Marshal(ev)
		if _, err := fmt.Fprintf(w, "event: job\ndata: %s\n\n", data); err != nil {
			return nil
		}
		flusher.Flush()
		if snap.Status.Finished() {
			return nil
		}
		if !waitChange(w, flusher, r, changed, heartbeat.C) {
			return nil
		}
		// Coalesce bursts of changes.
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.Context().Done():
			return nil
		}
	}
}

func previewB64(j *engine.Job) string {
	img := j.Preview()
	if img == nil {
		return ""
	}
	var buf bytes.Buffer
	if png.Encode(&buf, img) != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// waitChange waits for the job's next change, writing a keep-alive comment
// at each heartbeat; it reports false when the client is gone.
func waitChange(w http.ResponseWriter, f http.Flusher, r *http.Request, changed <-chan struct{}, beat <-chan time.Time) bool {
	for {
		select {
		case <-r.Context().Done():
			return false
		case <-beat:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return false
			}
			f.Flush()
		case <-changed:
			return true
		}
	}
}
