package server

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"sdgo/api"
	"sdgo/internal/config"
	"sdgo/internal/engine"
	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
)

// settings are the webui options that shape a generation, server-wide.
type settings struct {
	ClipSkip int    // CLIP_stop_at_last_layers
	ENSD     int64  // eta_noise_seed_delta
	RNG      string // randn_source
	Emphasis string // emphasis
	// SamplesFormat is the format of returned and saved images
	// (samples_format: png, jpg or webp).
	SamplesFormat string
}

func defaultSettings() settings {
	return settings{ClipSkip: 1, RNG: "GPU", Emphasis: pipeline.EmphasisOriginal, SamplesFormat: "png"}
}

// overrides are the override_settings sdgo understands; other keys are
// ignored as settings webui has and sdgo does not.
type overrides struct {
	Model, VAE *string
	settings   settings
}

// parseOverrides reads known settings from m over base, recording bad
// values under the given field prefix.
func parseOverrides(m map[string]any, base settings, field string, ve *validationError) overrides {
	o := overrides{settings: base}
	for k, v := range m {
		name := field + "." + k
		switch k {
		case "sd_model_checkpoint", "sd_vae":
			str, ok := v.(string)
			if !ok {
				ve.add(name, "want a string, got %v", v)
				continue
			}
			if err := engine.CheckName(str); err != nil {
				ve.add(name, "%v", err)
				continue
			}
			if k == "sd_vae" {
				o.VAE = &str
			} else {
				o.Model = &str
			}
		case "CLIP_stop_at_last_layers":
			n, ok := wholeNumber(v)
			if !ok || n < 1 || n > 12 {
				ve.add(name, "want a whole number from 1 to 12, got %v", v)
				continue
			}
			o.settings.ClipSkip = int(n)
		case "eta_noise_seed_delta":
			n, ok := wholeNumber(v)
			if !ok {
				ve.add(name, "want a whole number, got %v", v)
				continue
			}
			o.settings.ENSD = n
		case "samples_format":
			str, _ := v.(string)
			f, err := engine.ParseFormat(str)
			if err != nil || str == "" {
				ve.add(name, "want png, jpg or webp, got %v", v)
				continue
			}
			o.settings.SamplesFormat = f
		case "emphasis":
			str, _ := v.(string)
			if _, err := pipeline.ParseEmphasis(str); err != nil || str == "" {
				ve.add(name, "want one of %s, got %v", strings.Join(pipeline.Emphases, ", "), v)
				continue
			}
			o.settings.Emphasis = str
		case "randn_source":
			str, _ := v.(string)
			if _, err := sample.ParseSource(str); err != nil || str == "" {
				ve.add(name, "want GPU, CPU or NV, got %v", v)
				continue
			}
			o.settings.RNG = strings.ToUpper(str)
		}
	}
	return o
}

// wholeNumber accepts a JSON number with no fraction.
func wholeNumber(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// generationRequest validates the fields txt2img and img2img share, every
// one, and builds the engine request from them. Features sdgo lacks are
// refused by name rather than silently ignored. Bad fields go to ve.
func (s *Server) generationRequest(g *api.GenerationParams, client string, ve *validationError) (engine.Request, overrides) {
	checkGeneration(g, s.cfg.Limits, ve)
	unsupported(g, ve)
	s.mu.Lock()
	base := s.settings
	s.mu.Unlock()
	o := parseOverrides(g.OverrideSettings, base, "override_settings", ve)
	p := pipeline.Params{
		Prompt: g.Prompt, NegativePrompt: g.NegativePrompt, Width: g.Width, Height: g.Height,
		Steps: g.Steps, CFGScale: g.CFGScale, Sampler: samplerOf(g), Scheduler: g.Scheduler,
		Seed: g.Seed, Subseed: g.Subseed, SubseedStrength: g.SubseedStrength,
		BatchSize: g.BatchSize, BatchCount: g.NIter, ClipSkip: o.settings.ClipSkip,
		RNG: o.settings.RNG, ENSD: o.settings.ENSD, Eta: g.Eta, Emphasis: o.settings.Emphasis,
	}
	if g.SeedResizeFromW > 0 && g.SeedResizeFromH > 0 {
		p.SeedResizeFromW, p.SeedResizeFromH = g.SeedResizeFromW, g.SeedResizeFromH
	}
	r := engine.Request{Params: p, Client: client, Save: g.SaveImages && !g.DoNotSaveSamp, Format: o.settings.SamplesFormat}
	if o.Model != nil {
		r.Model = *o.Model
	}
	if o.VAE != nil {
		r.VAE = *o.VAE
		if r.VAE == "" {
			r.VAE = "Automatic"
		}
	}
	return r, o
}

// hiresOf is the hires fix of a txt2img request (webui's enable_hr and
// hr_* fields; "Use same sampler" and null mean the first pass's).
func hiresOf(q *api.Txt2ImgRequest, ve *validationError) pipeline.Hires {
	hr := pipeline.Hires{Enable: true, Scale: q.HRScale, ResizeX: q.HRResizeX, ResizeY: q.HRResizeY,
		Steps: q.HRSecondPassSteps, DenoisingStrength: 0.75, Prompt: q.HRPrompt, NegativePrompt: q.HRNegativePrompt}
	if q.DenoisingStrength != nil {
		hr.DenoisingStrength = *q.DenoisingStrength
	}
	if q.HRUpscaler != nil {
		hr.Upscaler = *q.HRUpscaler
	}
	same := func(v *string, word string) string {
		if v == nil || *v == "" || *v == "Use same "+word {
			return ""
		}
		return *v
	}
	hr.Sampler = same(q.HRSamplerName, "sampler")
	hr.Scheduler = same(q.HRScheduler, "scheduler")
	if c := same(q.HRCheckpointName, "checkpoint"); c != "" {
		ve.add("hr_checkpoint_name", "a different checkpoint for the hires pass is not supported by sdgo yet")
	}
	return hr
}

// txt2imgRequest validates a txt2img request into an engine request.
func (s *Server) txt2imgRequest(q *api.Txt2ImgRequest, client string) (engine.Request, overrides, error) {
	ve := &validationError{}
	r, o := s.generationRequest(&q.GenerationParams, client, ve)
	if q.EnableHR {
		r.Params.Hires = hiresOf(q, ve)
	}
	return r, o, ve.err()
}

// samplerOf is sampler_name, or sampler_index when it is empty (webui).
func samplerOf(g *api.GenerationParams) string {
	if g.SamplerName != "" {
		return g.SamplerName
	}
	return g.SamplerIndex
}

// checkGeneration checks each shared field's range against the admin's
// limits.
func checkGeneration(q *api.GenerationParams, lim config.Limits, ve *validationError) {
	size := func(field string, v, max int) {
		if v%8 != 0 || v < 64 || v > max {
			ve.add(field, "must be a multiple of 8 from 64 to %d, got %d", max, v)
		}
	}
	between := func(field string, v, lo, hi int) {
		if v < lo || v > hi {
			ve.add(field, "must be from %d to %d, got %d", lo, hi, v)
		}
	}
	size("width", q.Width, lim.MaxWidth)
	size("height", q.Height, lim.MaxHeight)
	between("steps", q.Steps, 1, lim.MaxSteps)
	between("batch_size", q.BatchSize, 1, lim.MaxBatchSize)
	between("n_iter", q.NIter, 1, lim.MaxNIter)
	if !(q.CFGScale >= 0 && q.CFGScale <= 100) {
		ve.add("cfg_scale", "must be from 0 to 100, got %v", q.CFGScale)
	}
	if q.Seed < -1 || q.Seed > 1<<53 {
		ve.add("seed", "must be -1 (random) or from 0 to 2^53, got %d", q.Seed)
	}
	if q.Subseed < -1 || q.Subseed > 1<<53 {
		ve.add("subseed", "must be -1 (random) or from 0 to 2^53, got %d", q.Subseed)
	}
	if !(q.SubseedStrength >= 0 && q.SubseedStrength <= 1) {
		ve.add("subseed_strength", "must be from 0 to 1, got %v", q.SubseedStrength)
	}
	if q.SeedResizeFromW > 0 && q.SeedResizeFromH > 0 {
		size("seed_resize_from_w", q.SeedResizeFromW, lim.MaxWidth)
		size("seed_resize_from_h", q.SeedResizeFromH, lim.MaxHeight)
	}
	if q.Eta != nil && !(*q.Eta >= 0 && *q.Eta <= 10) {
		ve.add("eta", "must be from 0 to 10, got %v", *q.Eta)
	}
	if q.Scheduler != "" {
		if _, ok := sample.LookupScheduler(q.Scheduler); !ok {
			ve.add("scheduler", "unknown scheduler %q; GET /sdapi/v1/schedulers lists them", q.Scheduler)
		}
	}
	if _, _, err := sample.Resolve(samplerOf(q), ""); err != nil {
		field := "sampler_name"
		if q.SamplerName == "" {
			field = "sampler_index"
		}
		ve.add(field, "unknown sampler %q; GET /sdapi/v1/samplers lists them", samplerOf(q))
	}
}

// unsupported refuses the webui features sdgo does not have yet, naming
// each, instead of returning an image that ignores them.
func unsupported(q *api.GenerationParams, ve *validationError) {
	no := func(field, what string) { ve.add(field, "%s is not supported by sdgo yet", what) }
	if q.RestoreFaces != nil && *q.RestoreFaces {
		no("restore_faces", "face restoration")
	}
	if q.Tiling != nil && *q.Tiling {
		no("tiling", "tiling")
	}
	if q.ScriptName != nil && *q.ScriptName != "" {
		no("script_name", fmt.Sprintf("script %q", *q.ScriptName))
	}
	if len(q.AlwaysonScripts) > 0 {
		no("alwayson_scripts", "alwayson scripts (extensions)")
	}
	if q.RefinerCheckpoint != nil && *q.RefinerCheckpoint != "" && *q.RefinerCheckpoint != "None" {
		no("refiner_checkpoint", "the refiner")
	}
	if q.Infotext != nil && *q.Infotext != "" {
		no("infotext", "filling a request from an infotext")
	}
	for _, f := range []struct {
		name string
		v    *float64
		def  []float64 // values that change nothing
	}{
		{"s_churn", q.SChurn, []float64{0}}, {"s_tmin", q.STmin, []float64{0}},
		{"s_tmax", q.STmax, []float64{0, math.Inf(1)}}, {"s_noise", q.SNoise, []float64{1}},
		{"s_min_uncond", q.SMinUncond, []float64{0}},
	} {
		if f.v == nil {
			continue
		}
		ok := false
		for _, d := range f.def {
			ok = ok || *f.v == d
		}
		if !ok {
			ve.add(f.name, "only the default %v is supported by sdgo yet, got %v", f.def[0], *f.v)
		}
	}
}

// generationInfo is webui's info object for a finished job.
func generationInfo(q *api.GenerationParams, denoise *float64, snap engine.Snapshot, vaeName string) api.GenerationInfo {
	p := snap.Request.Params
	smp, _, _ := sample.Resolve(p.Sampler, p.Scheduler)
	n := len(snap.Seeds)
	info := api.GenerationInfo{
		Prompt: p.Prompt, NegativePrompt: p.NegativePrompt, Seed: p.Seed, Subseed: p.Subseed,
		AllSeeds: snap.Seeds, AllSubseeds: snap.Subseeds, SubseedStrength: p.SubseedStrength,
		Width: p.Width, Height: p.Height, SamplerName: smp.Name, CFGScale: p.CFGScale, Steps: p.Steps,
		BatchSize: p.BatchSize, SDModelName: snap.Model.Stem, SDModelHash: snap.Model.ShortHash(),
		SeedResizeFromW: q.SeedResizeFromW, SeedResizeFromH: q.SeedResizeFromH,
		DenoisingStrength: denoise, ExtraGenerationParams: map[string]any{},
		Infotexts: []string{}, Styles: q.Styles, ClipSkip: p.ClipSkip, Version: pipeline.Version,
		JobTimestamp: snap.Created.Format("20060102150405"),
	}
	if info.Styles == nil {
		info.Styles = []string{}
	}
	if vaeName != "" {
		info.SDVAEName = &vaeName
	}
	for i := 0; i < n; i++ {
		info.AllPrompts = append(info.AllPrompts, p.Prompt)
		info.AllNegativePrompts = append(info.AllNegativePrompts, p.NegativePrompt)
	}
	for _, img := range snap.Images {
		info.Infotexts = append(info.Infotexts, img.Infotext)
	}
	return info
}

// isValidation reports whether err is a request validation error.
func isValidation(err error) bool {
	var ve *validationError
	var pe *pipeline.ValidationError
	return errors.As(err, &ve) || errors.As(err, &pe)
}
