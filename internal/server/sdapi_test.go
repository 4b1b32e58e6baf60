package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"sdgo/api"
	"sdgo/internal/config"
	"sdgo/internal/imagefile"
	"sdgo/internal/sample"
)

// onlyPNG decodes the one base64 PNG of a response and its infotext.
func onlyPNG(t *testing.T, images []string) (image.Image, string) {
	t.Helper()
	if len(images) != 1 {
		t.Fatalf("%d images, want 1", len(images))
	}
	b, err := base64.StdEncoding.DecodeString(images[0])
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := imagefile.ReadParameters(bytes.NewReader(b))
	return img, text
}

func small(prompt string, seed int64) map[string]any {
	return map[string]any{"prompt": prompt, "width": 64, "height": 64, "steps": 2, "seed": seed}
}

func TestTxt2ImgShape(t *testing.T) {
	ts := newTestServer(t, false, nil)
	body := small("a cat", 42)
	body["unknown_field"] = "ignored as webui ignores it"
	var resp api.Txt2ImgResponse
	ts.callJSON(t, "POST", "/sdapi/v1/txt2img", body, 200, &resp)
	img, text := onlyPNG(t, resp.Images)
	if img.Bounds().Dx() != 64 {
		t.Fatalf("image %v", img.Bounds())
	}
	if !strings.Contains(text, "Seed: 42") {
		t.Errorf("PNG infotext %q", text)
	}
	// parameters echoes the request with webui's defaults filled in.
	var params map[string]any
	if err := json.Unmarshal(resp.Parameters, &params); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"prompt": "a cat", "steps": 2.0, "seed": 42.0, "sampler_index": "Euler", "sampler_name": "",
		"cfg_scale": 7.0, "batch_size": 1.0, "n_iter": 1.0, "subseed": -1.0, "seed_resize_from_w": -1.0,
		"send_images": true, "save_images": false, "restore_faces": nil, "override_settings": nil,
		"override_settings_restore_afterwards": true, "enable_hr": false, "hr_scale": 2.0, "eta": nil,
	} {
		if got, ok := params[k]; !ok || got != want {
			t.Errorf("parameters[%s] = %v, want %v", k, got, want)
		}
	}
	if _, ok := params["unknown_field"]; ok {
		t.Error("unknown field echoed")
	}
	var info api.GenerationInfo
	if err := json.Unmarshal([]byte(resp.Info), &info); err != nil {
		t.Fatal(err)
	}
	if info.Seed != 42 || len(info.AllSeeds) != 1 || info.AllSeeds[0] != 42 || info.SamplerName != "Euler" ||
		info.SDModelName != "tiny" || len(info.SDModelHash) != 10 || len(info.Infotexts) != 1 || info.Infotexts[0] != text ||
		info.Width != 64 || info.Steps != 2 || info.ClipSkip != 1 || info.JobTimestamp == "" || info.Subseed < 0 {
		t.Errorf("info %+v", info)
	}
}

// TestTxt2ImgHiresAndEmphasis sends webui's hires-fix fields and the
// emphasis setting through the real pipeline: the image comes back at the hires size with webui's
// hires fields and the emphasis mode in its infotext.
func TestTxt2ImgHiresAndEmphasis(t *testing.T) {
	ts := newTestServer(t, true, nil) // the real pipeline on the tiny model
	body := small("a (red:1.2) cat", 7)
	for k, v := range map[string]any{"enable_hr": true, "hr_scale": 1.5, "hr_upscaler": "Nearest", "hr_second_pass_steps": 2,
		"denoising_strength": 0.5, "hr_sampler_name": "Use same sampler", "hr_prompt": "a blue cat",
		"override_settings": map[string]any{"emphasis": "No norm"}} {
		body[k] = v
	}
	var resp api.Txt2ImgResponse
	ts.callJSON(t, "POST", "/sdapi/v1/txt2img", body, 200, &resp)
	img, text := onlyPNG(t, resp.Images)
	if img.Bounds().Dx() != 96 || img.Bounds().Dy() != 96 {
		t.Fatalf("image %v, want 96x96", img.Bounds())
	}
	for _, want := range []string{"Denoising strength: 0.5", "Hires upscale: 1.5", "Hires steps: 2", "Hires upscaler: Nearest",
		"Hires prompt: a blue cat", "Emphasis: No norm"} {
		if !strings.Contains(text, want) {
			t.Errorf("infotext lacks %q:\n%s", want, text)
		}
	}
}

// TestSamplesFormat asks for JPEG and WebP through override_settings and
// through the options: the returned images are in that format with the
// infotext in EXIF, and the options report it.
func TestSamplesFormat(t *testing.T) {
	ts := newTestServer(t, false, nil)
	check := func(name, magic string) {
		t.Helper()
		body := small("a cat", 5)
		if name != "" {
			body["override_settings"] = map[string]any{"samples_format": name}
		}
		var resp api.Txt2ImgResponse
		ts.callJSON(t, "POST", "/sdapi/v1/txt2img", body, 200, &resp)
		b, err := base64.StdEncoding.DecodeString(resp.Images[0])
		if err != nil || !strings.HasPrefix(string(b), magic) {
			t.Fatalf("samples_format %q: image starts %q (%v), want %q", name, b[:min(4, len(b))], err, magic)
		}
		text, err := imagefile.ReadInfotext(bytes.NewReader(b))
		if err != nil || !strings.Contains(text, "Seed: 5") {
			t.Errorf("samples_format %q: infotext %q, %v", name, text, err)
		}
	}
	check("jpg", "\xff\xd8\xff")
	check("webp", "RIFF")
	check("", "\x89PNG") // override_settings restored afterwards
	ts.callJSON(t, "POST", "/sdapi/v1/options", map[string]any{"samples_format": "webp"}, 200, nil)
	var opts map[string]any
	ts.callJSON(t, "GET", "/sdapi/v1/options", nil, 200, &opts)
	if opts["samples_format"] != "webp" {
		t.Errorf("options samples_format = %v, want webp", opts["samples_format"])
	}
	check("", "RIFF")
}

func TestTxt2ImgDefaults(t *testing.T) {
	ts := newTestServer(t, false, nil)
	ts.callJSON(t, "POST", "/sdapi/v1/txt2img", map[string]any{"prompt": "x"}, 200, nil)
	p := ts.gen.last()
	if p.Width != 512 || p.Height != 512 || p.Steps != 50 || p.CFGScale != 7 || p.Sampler != "Euler" ||
		p.BatchSize != 1 || p.BatchCount != 1 || p.Seed < 0 || p.ClipSkip != 1 || p.RNG != "GPU" || p.SubseedStrength != 0 {
		t.Errorf("defaults reached the pipeline as %+v", p)
	}
	// sampler_name wins over sampler_index; legacy names carry a scheduler.
	ts.callJSON(t, "POST", "/sdapi/v1/txt2img", map[string]any{"prompt": "x", "width": 64, "height": 64, "steps": 1,
		"sampler_index": "Euler", "sampler_name": "DPM++ 2M Karras", "override_settings": map[string]any{
			"CLIP_stop_at_last_layers": 2, "randn_source": "cpu", "eta_noise_seed_delta": 31337, "unknown_setting": 1}}, 200, nil)
	p = ts.gen.last()
	if p.Sampler != "DPM++ 2M Karras" || p.ClipSkip != 2 || p.RNG != "CPU" || p.ENSD != 31337 {
		t.Errorf("overrides reached the pipeline as %+v", p)
	}
}

func TestTxt2ImgBatchesAndSendImages(t *testing.T) {
	ts := newTestServer(t, false, nil)
	body := small("x", 10)
	body["batch_size"], body["n_iter"] = 2, 2
	var resp api.Txt2ImgResponse
	ts.callJSON(t, "POST", "/sdapi/v1/txt2img", body, 200, &resp)
	var info api.GenerationInfo
	json.Unmarshal([]byte(resp.Info), &info)
	if len(resp.Images) != 4 || len(info.Infotexts) != 4 || len(info.AllSeeds) != 4 || info.AllSeeds[3] != 13 || len(info.AllPrompts) != 4 {
		t.Fatalf("%d images, info %+v", len(resp.Images), info)
	}
	for i, it := range info.Infotexts {
		if !strings.Contains(it, fmt.Sprintf("Seed: %d,", 10+i)) {
			t.Errorf("infotext %d: %q", i, it)
		}
	}
	body["send_images"] = false
	ts.callJSON(t, "POST", "/sdapi/v1/txt2img", body, 200, &resp)
	if len(resp.Images) != 0 {
		t.Errorf("send_images false returned %d images", len(resp.Images))
	}
}

func TestTxt2ImgValidation(t *testing.T) {
	ts := newTestServer(t, false, nil)
	tests := []struct {
		name   string
		body   any
		status int
		fields []string // bad fields named in the answer
	}{
		{"width not multiple of 8", map[string]any{"width": 100}, 422, []string{"width"}},
		{"height too small", map[string]any{"height": 0}, 422, []string{"height"}},
		{"too large", map[string]any{"width": 4096}, 422, []string{"width"}},
		{"steps", map[string]any{"steps": 0}, 422, []string{"steps"}},
		{"steps over limit", map[string]any{"steps": 151}, 422, []string{"steps"}},
		{"batch", map[string]any{"batch_size": 0, "n_iter": 100}, 422, []string{"batch_size", "n_iter"}},
		{"cfg", map[string]any{"cfg_scale": -1}, 422, []string{"cfg_scale"}},
		{"sampler", map[string]any{"sampler_name": "nope"}, 422, []string{"sampler_name"}},
		{"sampler_index", map[string]any{"sampler_index": "nope"}, 422, []string{"sampler_index"}},
		{"scheduler", map[string]any{"scheduler": "nope"}, 422, []string{"scheduler"}},
		{"seed", map[string]any{"seed": -5, "subseed_strength": 2}, 422, []string{"seed", "subseed_strength"}},
		{"seed resize", map[string]any{"seed_resize_from_w": 100, "seed_resize_from_h": 64}, 422, []string{"seed_resize_from_w"}},
		{"eta", map[string]any{"eta": -1}, 422, []string{"eta"}},
		{"hires checkpoint", map[string]any{"enable_hr": true, "hr_checkpoint_name": "other"}, 422, []string{"hr_checkpoint_name"}},
		{"emphasis", map[string]any{"override_settings": map[string]any{"emphasis": "loud"}}, 422, []string{"override_settings.emphasis"}},
		{"samples format", map[string]any{"override_settings": map[string]any{"samples_format": "gif"}}, 422, []string{"override_settings.samples_format"}},
		{"restore faces", map[string]any{"restore_faces": true}, 422, []string{"restore_faces"}},
		{"tiling", map[string]any{"tiling": true}, 422, []string{"tiling"}},
		{"script", map[string]any{"script_name": "x/y/z plot"}, 422, []string{"script_name"}},
		{"alwayson", map[string]any{"alwayson_scripts": map[string]any{"controlnet": map[string]any{}}}, 422, []string{"alwayson_scripts"}},
		{"s_churn", map[string]any{"s_churn": 1}, 422, []string{"s_churn"}},
		{"clip skip", map[string]any{"override_settings": map[string]any{"CLIP_stop_at_last_layers": 0}}, 422, []string{"override_settings.CLIP_stop_at_last_layers"}},
		{"rng", map[string]any{"override_settings": map[string]any{"randn_source": "dice"}}, 422, []string{"override_settings.randn_source"}},
		{"model traversal", map[string]any{"override_settings": map[string]any{"sd_model_checkpoint": "../../etc/passwd"}}, 422, []string{"override_settings.sd_model_checkpoint"}},
		{"absolute model", map[string]any{"override_settings": map[string]any{"sd_model_checkpoint": "/etc/passwd"}}, 422, []string{"override_settings.sd_model_checkpoint"}},
		{"vae traversal", map[string]any{"override_settings": map[string]any{"sd_vae": `..\..\x`}}, 422, []string{"override_settings.sd_vae"}},
		{"wrong type", `{"width": "wide"}`, 422, []string{"width"}},
		{"not json", `{"prompt": `, 422, []string{"body"}},
		{"empty body", ``, 422, []string{"body"}},
		{"unknown model", map[string]any{"override_settings": map[string]any{"sd_model_checkpoint": "missing"}}, 404, nil},
		{"unknown vae", map[string]any{"override_settings": map[string]any{"sd_vae": "missing"}}, 404, nil},
		{"defaults that change nothing", map[string]any{"width": 64, "height": 64, "steps": 1, "s_churn": 0, "s_noise": 1,
			"s_tmax": 0, "restore_faces": false, "tiling": false, "alwayson_scripts": map[string]any{}, "styles": []string{"none"}}, 200, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := ts.call(t, "POST", "/sdapi/v1/txt2img", tt.body)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, b)
			}
			if code == 200 {
				return
			}
			var e api.Error
			if err := json.Unmarshal(b, &e); err != nil || e.Kind == "" || e.Detail == "" || e.Errors == "" {
				t.Fatalf("error body %s (%v)", b, err)
			}
			var got []string
			for _, f := range e.Fields {
				if len(f.Loc) < 2 || f.Loc[0] != "body" || f.Msg == "" {
					t.Errorf("bad field entry %+v", f)
					continue
				}
				got = append(got, strings.Join(f.Loc[1:], "."))
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields %v, want %v (%s)", got, tt.fields, b)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	ts := newTestServer(t, false, func(c *config.Config) { c.Limits.MaxBodyBytes = 1024 })
	code, b := ts.call(t, "POST", "/sdapi/v1/txt2img", map[string]any{"prompt": strings.Repeat("cat ", 1000)})
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "1024") {
		t.Errorf("status %d: %s", code, b)
	}
}

func TestFailingJobLeavesServerServing(t *testing.T) {
	ts := newTestServer(t, false, nil)
	for _, prompt := range []string{panicPrompt, errorPrompt} {
		code, b := ts.call(t, "POST", "/sdapi/v1/txt2img", small(prompt, 1))
		var e api.Error
		json.Unmarshal(b, &e)
		if code != 500 || e.Kind != "RuntimeError" || !strings.Contains(e.Detail, "injected test") {
			t.Errorf("%s: status %d body %s", prompt, code, b)
		}
		var resp api.Txt2ImgResponse
		ts.callJSON(t, "POST", "/sdapi/v1/txt2img", small("fine", 2), 200, &resp)
		if len(resp.Images) != 1 {
			t.Errorf("after %s: %d images", prompt, len(resp.Images))
		}
	}
}

func TestProgressInterruptSkip(t *testing.T) {
	ts := newTestServer(t, false, nil)
	ctx := context.Background()
	// The server loads its default model in a job of its own at start;
	// wait (a bounded time) for it to finish before reading idle progress.
	var p *api.Progress
	var err error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		p, err = ts.client.Progress(ctx, false)
		if err != nil || p.CurrentTask == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || p.Progress != 0 || p.CurrentTask != nil || p.CurrentImage != nil {
		t.Fatalf("idle progress %+v %v", p, err)
	}
	// A two-batch job held after its first step.
	release := ts.gen.gate("hold")
	defer release()
	done := make(chan *api.Txt2ImgResponse)
	go func() {
		q := api.NewTxt2ImgRequest()
		q.Prompt, q.Width, q.Height, q.Steps, q.NIter, q.Seed = "hold", 64, 64, 4, 2, 5
		r, err := ts.client.Txt2Img(ctx, q)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	<-ts.gen.steps
	p, err = ts.client.Progress(ctx, false)
	if err != nil || p.CurrentTask == nil || p.Progress != 1.0/8 || p.State.JobCount != 2 || p.State.SamplingSteps != 4 ||
		p.State.SamplingStep != 1 || p.State.Job != "txt2img" || p.CurrentImage == nil {
		t.Fatalf("running progress %+v %v", p, err)
	}
	if b, _ := base64.StdEncoding.DecodeString(*p.CurrentImage); len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Error("current_image is not a base64 PNG")
	}
	if p, _ := ts.client.Progress(ctx, true); p.CurrentImage != nil {
		t.Error("skip_current_image=true still sent an image")
	}
	// Skip abandons batch 1; batch 2 starts, is held at its first step too,
	// and is then interrupted: the answer is 200 with no images.
	if err := ts.client.Skip(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-ts.gen.steps; got != "hold" {
		t.Fatalf("second batch %q", got)
	}
	if err := ts.client.Interrupt(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r == nil || len(r.Images) != 0 {
		t.Fatalf("interrupted job answered %+v", r)
	}
	ts.waitIdle(t)
	if p, _ := ts.client.Progress(ctx, false); p.CurrentTask != nil {
		t.Errorf("progress after the job %+v", p)
	}
}

func TestSkipKeepsLaterBatches(t *testing.T) {
	ts := newTestServer(t, false, nil)
	release := ts.gen.gate("skip-me")
	defer release()
	done := make(chan api.GenerationInfo)
	go func() {
		var resp api.Txt2ImgResponse
		body := small("skip-me", 20)
		body["n_iter"] = 2
		ts.callJSON(t, "POST", "/sdapi/v1/txt2img", body, 200, &resp)
		var info api.GenerationInfo
		json.Unmarshal([]byte(resp.Info), &info)
		done <- info
	}()
	<-ts.gen.steps
	ts.call(t, "POST", "/sdapi/v1/skip", nil)
	release()
	info := <-done
	if len(info.Infotexts) != 1 || !strings.Contains(info.Infotexts[0], "Seed: 21") {
		t.Errorf("after skip: %q", info.Infotexts)
	}
}

func TestClientGoneCancelsJob(t *testing.T) {
	ts := newTestServer(t, false, nil)
	release := ts.gen.gate("gone")
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		q := api.NewTxt2ImgRequest()
		q.Prompt, q.Width, q.Height, q.Steps = "gone", 64, 64, 2
		_, err := ts.client.Txt2Img(ctx, q)
		errc <- err
	}()
	<-ts.gen.steps
	cancel()
	<-errc
	ts.waitIdle(t)
	jobs := ts.eng.Jobs()
	if s := jobs[len(jobs)-1].Snapshot(); s.Status != "cancelled" {
		t.Errorf("job of a gone client: %s", s.Status)
	}
}

func TestQueueFull(t *testing.T) {
	ts := newTestServer(t, false, func(c *config.Config) { c.Limits.MaxQueue = 1 })
	ts.waitIdle(t) // the startup model load
	release := ts.gen.gate("block")
	defer release()
	var j api.Job
	ts.callJSON(t, "POST", "/api/v1/jobs", small("block", 1), 202, &j)
	<-ts.gen.steps
	ts.callJSON(t, "POST", "/api/v1/jobs", small("waits", 1), 202, nil)
	var e api.Error
	ts.callJSON(t, "POST", "/api/v1/jobs", small("refused", 1), 503, &e)
	if e.Kind != "ServiceUnavailable" || !strings.Contains(e.Detail, "queue full") {
		t.Errorf("queue full: %+v", e)
	}
}

func TestOptions(t *testing.T) {
	ts := newTestServer(t, false, nil)
	ctx := context.Background()
	ts.waitIdle(t)
	opts, err := ts.client.Options(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(opts["sd_model_checkpoint"].(string), "tiny.safetensors [") || opts["sd_vae"] != "Automatic" ||
		opts["CLIP_stop_at_last_layers"] != 1.0 || opts["randn_source"] != "GPU" || opts["samples_format"] != "png" {
		t.Errorf("options %v", opts)
	}
	err = ts.client.SetOptions(ctx, map[string]any{"sd_model_checkpoint": "second", "CLIP_stop_at_last_layers": 2, "sd_vae": "tiny-vae", "custom": "kept"})
	if err != nil {
		t.Fatal(err)
	}
	opts, _ = ts.client.Options(ctx)
	if !strings.HasPrefix(opts["sd_model_checkpoint"].(string), "other/second.safetensors [") || opts["CLIP_stop_at_last_layers"] != 2.0 ||
		opts["sd_vae"] != "tiny-vae" || opts["custom"] != "kept" {
		t.Errorf("options after set %v", opts)
	}
	ck, vae, _ := ts.eng.Loaded()
	if ck.Name != "other/second.safetensors" || !strings.HasSuffix(vae, "tiny-vae.safetensors") {
		t.Errorf("loaded %s + %s", ck.Name, vae)
	}
	ts.callJSON(t, "POST", "/sdapi/v1/txt2img", small("x", 1), 200, nil)
	if p := ts.gen.last(); p.ClipSkip != 2 {
		t.Errorf("clip skip setting not used: %d", p.ClipSkip)
	}
	for _, tt := range []struct {
		body   map[string]any
		status int
	}{
		{map[string]any{"sd_model_checkpoint": "missing"}, 404},
		{map[string]any{"sd_model_checkpoint": "../tiny.safetensors"}, 422},
		{map[string]any{"sd_model_checkpoint": 3}, 422},
		{map[string]any{"CLIP_stop_at_last_layers": 1.5}, 422},
		{map[string]any{"sd_model_checkpoint": "zz-broken"}, 500},
	} {
		code, b := ts.call(t, "POST", "/sdapi/v1/options", tt.body)
		if code != tt.status {
			t.Errorf("%v: %d %s, want %d", tt.body, code, b, tt.status)
		}
	}
	if opts, _ = ts.client.Options(ctx); !strings.HasPrefix(opts["sd_model_checkpoint"].(string), "other/second") {
		t.Errorf("a failed switch changed the default to %v", opts["sd_model_checkpoint"])
	}
	// A per-request override switches for that job only.
	ts.callJSON(t, "POST", "/sdapi/v1/txt2img", map[string]any{"prompt": "x", "width": 64, "height": 64, "steps": 1,
		"override_settings": map[string]any{"sd_model_checkpoint": "tiny.safetensors"}}, 200, nil)
	if ck, _, _ := ts.eng.Loaded(); ck.Name != "tiny.safetensors" {
		t.Errorf("override ran on %s", ck.Name)
	}
	if opts, _ = ts.client.Options(ctx); !strings.HasPrefix(opts["sd_model_checkpoint"].(string), "other/second") {
		t.Errorf("a restored override changed the default to %v", opts["sd_model_checkpoint"])
	}
}

func TestLists(t *testing.T) {
	ts := newTestServer(t, false, nil)
	ctx := context.Background()
	ts.waitIdle(t)
	smp, err := ts.client.Samplers(ctx)
	if err != nil || len(smp) != len(sample.Samplers) || smp[0].Name != "DPM++ 2M" || smp[0].Options["scheduler"] != "karras" || smp[0].Aliases[0] != "dpmpp_2m" {
		t.Errorf("samplers %+v %v", smp, err)
	}
	sch, err := ts.client.Schedulers(ctx)
	if err != nil || len(sch) != len(sample.Schedulers) || sch[0].Name != "automatic" || sch[2].Label != "Karras" || sch[2].DefaultRho != 7 ||
		sch[0].DefaultRho != -1 || !sch[1].NeedInnerModel || sch[1].Aliases == nil {
		t.Errorf("schedulers %+v %v", sch, err)
	}
	models, err := ts.client.SDModels(ctx)
	if err != nil || len(models) != 3 {
		t.Fatalf("sd-models %+v %v", models, err)
	}
	m := models[0]
	if m.Title != "other/second.safetensors" || m.ModelName != "other_second" || m.Hash != nil || !strings.HasSuffix(m.Filename, "second.safetensors") {
		t.Errorf("unloaded model %+v", m)
	}
	if m := models[1]; m.Hash == nil || len(*m.Hash) != 10 || m.Title != "tiny.safetensors ["+*m.Hash+"]" || len(*m.SHA256) != 64 {
		t.Errorf("loaded model %+v", m)
	}
	var vae []api.SDVAE
	ts.callJSON(t, "GET", "/sdapi/v1/sd-vae", nil, 200, &vae)
	if len(vae) != 1 || vae[0].ModelName != "tiny-vae.safetensors" {
		t.Errorf("sd-vae %+v", vae)
	}
	var loras []api.LoRA
	ts.callJSON(t, "GET", "/sdapi/v1/loras", nil, 200, &loras)
	if len(loras) != 1 || loras[0].Name != "tiny-lora" || loras[0].Metadata == nil {
		t.Errorf("loras %+v", loras)
	}
	var styles []api.PromptStyle
	ts.callJSON(t, "GET", "/sdapi/v1/prompt-styles", nil, 200, &styles)
	var emb map[string]map[string]any
	ts.callJSON(t, "GET", "/sdapi/v1/embeddings", nil, 200, &emb)
	if styles == nil || emb["loaded"] == nil {
		t.Errorf("styles %v embeddings %v", styles, emb)
	}
	var flags map[string]any
	ts.callJSON(t, "GET", "/sdapi/v1/cmd-flags", nil, 200, &flags)
	if flags["api"] != true || flags["api_auth"] != false || flags["max_steps"] != 150.0 {
		t.Errorf("cmd-flags %v", flags)
	}
	var mem api.Memory
	ts.callJSON(t, "GET", "/sdapi/v1/memory", nil, 200, &mem)
	if mem.RAM["used"] == nil || mem.CUDA["error"] == nil {
		t.Errorf("memory %+v", mem)
	}
	// A new file shows up after refresh-checkpoints.
	link := ts.cfg.CheckpointDir() + "/new.ckpt"
	writeFile(t, link)
	if err := ts.client.RefreshCheckpoints(ctx); err != nil {
		t.Fatal(err)
	}
	if models, _ = ts.client.SDModels(ctx); len(models) != 4 {
		t.Errorf("after refresh: %d models", len(models))
	}
}

func TestNotImplemented(t *testing.T) {
	ts := newTestServer(t, false, nil)
	for _, path := range []string{"/sdapi/v1/interrogate", "/sdapi/v1/extra-single-image", "/sdapi/v1/extra-batch-images"} {
		var e api.Error
		ts.callJSON(t, "POST", path, map[string]any{"image": "x"}, 501, &e)
		if e.Kind != "NotImplemented" || !strings.Contains(e.Detail, "not implemented yet") {
			t.Errorf("%s: %+v", path, e)
		}
	}
	var e api.Error
	ts.callJSON(t, "GET", "/sdapi/v1/nope", nil, 404, &e)
	if e.Kind != "NotFound" {
		t.Errorf("unknown endpoint: %+v", e)
	}
}

func TestPNGInfo(t *testing.T) {
	ts := newTestServer(t, false, nil)
	var resp api.Txt2ImgResponse
	body := small("a (red:1.2) fox, \"quoted\"", 77)
	body["negative_prompt"] = "blurry"
	ts.callJSON(t, "POST", "/sdapi/v1/txt2img", body, 200, &resp)
	for _, img := range []string{resp.Images[0], "data:image/png;base64," + resp.Images[0]} {
		info, err := ts.client.PNGInfo(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		p := info.Parameters
		if !strings.Contains(info.Info, "Seed: 77") || p["Prompt"] != "a (red:1.2) fox, \"quoted\"" || p["Negative prompt"] != "blurry" ||
			p["Seed"] != "77" || p["Size-1"] != "64" || p["Size-2"] != "64" || p["Steps"] != "2" || p["Clip skip"] != "1" {
			t.Errorf("png-info %+v", info)
		}
		if _, ok := info.Items["parameters"]; ok || info.Items == nil {
			t.Errorf("items %v", info.Items)
		}
	}
	for _, bad := range []string{"", "!!!not base64", base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n\x00\x00\x10\x00tEXtparameters"))} {
		code, b := ts.call(t, "POST", "/sdapi/v1/png-info", map[string]string{"image": bad})
		if code != 422 || !strings.Contains(string(b), `"image"`) {
			t.Errorf("png-info %q: %d %s", bad, code, b)
		}
	}
	// A JPEG (no PNG text) has no infotext.
	info, err := ts.client.PNGInfo(context.Background(), base64.StdEncoding.EncodeToString([]byte("\xff\xd8\xff\xe0 jpeg")))
	if err != nil || info.Info != "" {
		t.Errorf("jpeg: %+v %v", info, err)
	}
}

func TestOverrideSettingsKeptWhenAsked(t *testing.T) {
	ts := newTestServer(t, false, nil)
	body := small("x", 1)
	body["override_settings"] = map[string]any{"CLIP_stop_at_last_layers": 3, "sd_model_checkpoint": "second"}
	body["override_settings_restore_afterwards"] = false
	ts.callJSON(t, "POST", "/sdapi/v1/txt2img", body, 200, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var opts map[string]any
		ts.callJSON(t, "GET", "/sdapi/v1/options", nil, 200, &opts)
		if opts["CLIP_stop_at_last_layers"] == 3.0 && strings.HasPrefix(opts["sd_model_checkpoint"].(string), "other/second") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("settings not kept: %v", opts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
