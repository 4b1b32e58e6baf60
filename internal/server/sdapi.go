package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"net/http"
	"path"
	"strings"
	"time"

	"sdgo/api"
	"sdgo/internal/engine"
)

// txt2img runs a job and waits for it, as webui's endpoint does.
func (s *Server) txt2img(w http.ResponseWriter, r *http.Request) error {
	q := api.NewTxt2ImgRequest()
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	req, o, err := s.txt2imgRequest(&q, s.clientKey(r))
	if err != nil {
		return err
	}
	return s.runSync(w, r, req, o, &q.GenerationParams, q.DenoisingStrength, q)
}

// img2img runs an img2img (or inpainting) job and waits for it. The echo
// leaves out the images unless include_init_images is set, as webui's.
func (s *Server) img2img(w http.ResponseWriter, r *http.Request) error {
	q := api.NewImg2ImgRequest()
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	req, o, err := s.img2imgRequest(&q, s.clientKey(r))
	if err != nil {
		return err
	}
	echo := q
	if !q.IncludeInitImages {
		echo.InitImages, echo.Mask = nil, nil
	}
	denoise := q.DenoisingStrength
	return s.runSync(w, r, req, o, &q.GenerationParams, &denoise, echo)
}

// runSync submits a job and answers with its images when it ends. If the
// client goes away the job is cancelled; an interrupted job answers with
// the images it finished.
func (s *Server) runSync(w http.ResponseWriter, r *http.Request, req engine.Request, o overrides, g *api.GenerationParams, denoise *float64, echo any) error {
	job, err := s.eng.Submit(req)
	if err != nil {
		return err
	}
	snap, err := job.Wait(r.Context())
	if err != nil {
		s.eng.Cancel(job.ID())
		return err
	}
	if snap.Status == engine.Failed {
		return errorf(http.StatusInternalServerError, "RuntimeError", "%s", snap.Error)
	}
	s.persist(g, o, snap)
	resp := api.Txt2ImgResponse{Images: []string{}}
	if g.SendImages {
		for _, img := range snap.Images {
			resp.Images = append(resp.Images, base64.StdEncoding.EncodeToString(img.Data))
		}
	}
	resp.Parameters, _ = json.Marshal(echo)
	info, _ := json.Marshal(generationInfo(g, denoise, snap, vaeName(snap.Request.VAE)))
	resp.Info = string(info)
	return writeJSON(w, http.StatusOK, resp)
}

// vaeName is the VAE name for the info ("" for the checkpoint's own).
func vaeName(v string) string {
	if strings.EqualFold(v, "Automatic") || strings.EqualFold(v, "None") {
		return ""
	}
	return v
}

// persist keeps a finished job's override_settings when the request asked
// not to restore them afterwards.
func (s *Server) persist(q *api.GenerationParams, o overrides, snap engine.Snapshot) {
	if q.OverrideSettingsRestoreAfterwards || len(q.OverrideSettings) == 0 || snap.Status != engine.Done {
		return
	}
	s.mu.Lock()
	s.settings = o.settings
	s.mu.Unlock()
	if o.Model != nil || o.VAE != nil {
		_, vae := s.eng.Defaults()
		if o.VAE != nil {
			vae = *o.VAE
		}
		// The model is loaded already; the switch still waits its turn in
		// the queue, so it runs after the response.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if _, err := s.eng.SetDefaults(ctx, snap.Request.Model, vae); err != nil {
				s.log.Warn("keep override_settings", "err", err)
			}
		}()
	}
}

// progress reports the running job in webui's shape.
func (s *Server) progress(w http.ResponseWriter, r *http.Request) error {
	out := api.Progress{QueuedJobs: s.eng.QueueLen()}
	j := s.eng.Current()
	if j == nil {
		return writeJSON(w, http.StatusOK, out)
	}
	snap := j.Snapshot()
	p := snap.Progress
	out.Progress = p.Fraction()
	out.ETARelative = p.ETA.Seconds()
	id := snap.ID
	out.CurrentTask = &id
	url := "/api/v1/jobs/" + id
	out.CurrentJobURL = &url
	n := snap.Request.Params.BatchCount
	perBatch := 0
	if n > 0 {
		perBatch = p.Total / n
	}
	out.State = api.State{
		Job: "txt2img", JobCount: n, JobNo: p.Batch, JobTimestamp: snap.Created.Format("20060102150405"),
		Interrupted: snap.Interrupted, Skipped: snap.Skipped > 0, SamplingSteps: perBatch,
	}
	switch {
	case snap.Request.LoadOnly:
		out.State.Job = "load model"
	case snap.Request.Img2Img != nil:
		out.State.Job = "img2img"
	}
	if perBatch > 0 {
		out.State.SamplingStep = p.Step - p.Batch*perBatch
	}
	if r.URL.Query().Get("skip_current_image") != "true" {
		if img := j.Preview(); img != nil {
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err == nil {
				b64 := base64.StdEncoding.EncodeToString(buf.Bytes())
				out.CurrentImage = &b64
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) interrupt(w http.ResponseWriter, r *http.Request) error {
	s.eng.Interrupt()
	return writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) skip(w http.ResponseWriter, r *http.Request) error {
	s.eng.Skip()
	return writeJSON(w, http.StatusOK, struct{}{})
}

// getOptions returns the settings sdgo has, under webui's keys, plus any
// other keys a client stored.
func (s *Server) getOptions(w http.ResponseWriter, r *http.Request) error {
	ck, vae := s.eng.Defaults()
	s.mu.Lock()
	out := map[string]any{}
	for k, v := range s.extra {
		out[k] = v
	}
	st := s.settings
	s.mu.Unlock()
	if vae == "" {
		vae = "Automatic"
	}
	var hash any
	if ck.SHA256 != "" {
		hash = ck.SHA256
	}
	for k, v := range map[string]any{
		"sd_model_checkpoint": ck.Title(), "sd_checkpoint_hash": hash, "sd_vae": vae,
		"CLIP_stop_at_last_layers": st.ClipSkip, "eta_noise_seed_delta": st.ENSD, "randn_source": st.RNG, "emphasis": st.Emphasis,
		"samples_format": st.SamplesFormat, "samples_save": true, "outdir_samples": "",
		"outdir_txt2img_samples": path.Clean(s.cfg.Txt2ImgOutputDir()),
	} {
		out[k] = v
	}
	return writeJSON(w, http.StatusOK, out)
}

// setOptions changes settings; sd_model_checkpoint and sd_vae load the
// model (through the queue) before answering, as webui does.
func (s *Server) setOptions(w http.ResponseWriter, r *http.Request) error {
	var m map[string]any
	if err := decodeJSON(r, &m); err != nil {
		return err
	}
	s.mu.Lock()
	base := s.settings
	s.mu.Unlock()
	ve := &validationError{}
	o := parseOverrides(m, base, "", ve)
	for i := range ve.fields {
		ve.fields[i].Loc[1] = strings.TrimPrefix(ve.fields[i].Loc[1], ".")
	}
	if err := ve.err(); err != nil {
		return err
	}
	if o.Model != nil || o.VAE != nil {
		ck, vae := s.eng.Defaults()
		name := ck.Name
		if o.Model != nil {
			name = *o.Model
		}
		if o.VAE != nil {
			vae = *o.VAE
		}
		if _, err := s.eng.SetDefaults(r.Context(), name, vae); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.settings = o.settings
	for k, v := range m {
		switch k {
		case "sd_model_checkpoint", "sd_vae", "CLIP_stop_at_last_layers", "eta_noise_seed_delta", "randn_source", "emphasis", "samples_format", "sd_checkpoint_hash":
		default:
			s.extra[k] = v
		}
	}
	s.mu.Unlock()
	return writeJSON(w, http.StatusOK, nil)
}
