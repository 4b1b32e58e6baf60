package server

import (
	"bufio"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"

	"sdgo/api"
	"sdgo/internal/embedding"
	"sdgo/internal/sample"
)

// samplers lists webui's samplers with sdgo's IDs among the aliases.
func (s *Server) samplers(w http.ResponseWriter, r *http.Request) error {
	out := []api.Sampler{}
	for _, smp := range sample.Samplers {
		opts := map[string]string{}
		if smp.Schedule != "" {
			opts["scheduler"] = smp.Schedule
		}
		if smp.DiscardPenultimate {
			opts["discard_next_to_last_sigma"] = "True"
		}
		if smp.SecondOrder {
			opts["second_order"] = "True"
		}
		if smp.Brownian {
			opts["brownian_noise"] = "True"
		}
		if smp.UsesENSD {
			opts["uses_ensd"] = "True"
		}
		out = append(out, api.Sampler{Name: smp.Name, Aliases: append([]string{smp.ID}, smp.Aliases...), Options: opts})
	}
	return writeJSON(w, http.StatusOK, out)
}

// needsModel are the schedules computed from the model's sigma table.
var needsModel = map[string]bool{"uniform": true, "sgm_uniform": true, "simple": true, "normal": true, "ddim": true}

// schedulers lists the schedule types; default_rho is -1 where a schedule
// has no rho, as in webui.
func (s *Server) schedulers(w http.ResponseWriter, r *http.Request) error {
	out := []api.Scheduler{}
	for _, sc := range sample.Schedulers {
		rho := sc.DefaultRho
		if rho == 0 {
			rho = -1
		}
		aliases := sc.Aliases
		if aliases == nil {
			aliases = []string{}
		}
		out = append(out, api.Scheduler{Name: sc.ID, Label: sc.Name, Aliases: aliases, DefaultRho: rho, NeedInnerModel: needsModel[sc.ID]})
	}
	return writeJSON(w, http.StatusOK, out)
}

// sdModels lists the checkpoints; hashes are null until a model is loaded.
func (s *Server) sdModels(w http.ResponseWriter, r *http.Request) error {
	out := []api.SDModel{}
	for _, ck := range s.eng.Models() {
		m := api.SDModel{Title: ck.Title(), ModelName: ck.ModelName, Filename: ck.Path}
		if ck.SHA256 != "" {
			h, sha := ck.ShortHash(), ck.SHA256
			m.Hash, m.SHA256 = &h, &sha
		}
		out = append(out, m)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) sdVAE(w http.ResponseWriter, r *http.Request) error {
	out := []api.SDVAE{}
	for _, f := range s.eng.VAEs() {
		out = append(out, api.SDVAE{ModelName: f.Name, Filename: f.Path})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) loras(w http.ResponseWriter, r *http.Request) error {
	list, err := s.eng.LoRAs()
	if err != nil {
		return err
	}
	out := []api.LoRA{}
	for _, l := range list {
		md := map[string]any{}
		for k, v := range l.Metadata {
			md[k] = v
		}
		alias := l.Stem
		if v := l.Metadata["ss_output_name"]; v != "" {
			alias = v
		}
		out = append(out, api.LoRA{Name: l.Stem, Alias: alias, Path: l.Path, Metadata: md})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) promptStyles(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, []api.PromptStyle{})
}

// embeddings lists the textual-inversion embeddings as webui's
// /sdapi/v1/embeddings: {loaded: {name: {step, sd_checkpoint,
// sd_checkpoint_name, shape, vectors}}, skipped: {...}}.
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) error {
	return s.listEmbeddings(w, false)
}

// refreshEmbeddings rereads the embeddings folder and lists it.
func (s *Server) refreshEmbeddings(w http.ResponseWriter, r *http.Request) error {
	return s.listEmbeddings(w, true)
}

func (s *Server) listEmbeddings(w http.ResponseWriter, refresh bool) error {
	db, err := s.eng.Embeddings(refresh)
	if err != nil {
		return err
	}
	entry := func(e *embedding.Embedding) map[string]any {
		return map[string]any{"step": e.Step, "sd_checkpoint": e.SDCheckpoint, "sd_checkpoint_name": e.SDCheckpointName,
			"shape": e.Shape, "vectors": e.Vectors}
	}
	loaded, skipped := map[string]any{}, map[string]any{}
	for name, e := range db.Loaded {
		loaded[name] = entry(e)
	}
	for name, sk := range db.Skipped {
		skipped[name] = entry(sk.Embedding)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"loaded": loaded, "skipped": skipped})
}

// refresh rescans the model folders (checkpoints, VAEs; LoRAs are read on
// every listing).
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	if err := s.eng.Refresh(); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nil)
}

// memory reports host memory and the Go heap; device memory is not
// reported yet (webui answers {"error": ...} for cuda when it has none).
func (s *Server) memory(w http.ResponseWriter, r *http.Request) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ram := map[string]any{"used": ms.Sys}
	if total, avail, ok := meminfo(); ok {
		ram["total"], ram["free"] = total, avail
	}
	return writeJSON(w, http.StatusOK, api.Memory{RAM: ram,
		CUDA: map[string]any{"error": "sdgo does not report device memory yet"}})
}

// meminfo reads MemTotal and MemAvailable (bytes) on Linux.
func meminfo() (total, avail uint64, ok bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "MemTotal:":
			total = v * 1024
		case "MemAvailable:":
			avail = v * 1024
		}
	}
	return total, avail, total > 0
}

// cmdFlags reports the server's settings under webui-like flag names.
// Credentials are never shown.
func (s *Server) cmdFlags(w http.ResponseWriter, r *http.Request) error {
	c := s.cfg
	return writeJSON(w, http.StatusOK, map[string]any{
		"api": true, "nowebui": false, "listen": c.Listen, "api_auth": s.auth != nil,
		"models_dir": c.ModelsDir, "ckpt_dir": c.CheckpointDir(), "vae_dir": c.VAEDir(), "lora_dir": c.LoraDir(),
		"esrgan_models_path": c.ESRGANDir(), "embeddings_dir": c.EmbeddingsDir(), "outdir": c.OutputsDir,
		"ckpt": c.Model, "cors_allow_origins": strings.Join(c.CORSOrigins, ","), "backend": c.Backend, "dtype": c.DType,
		"max_body_bytes": c.Limits.MaxBodyBytes, "max_width": c.Limits.MaxWidth, "max_height": c.Limits.MaxHeight,
		"max_steps": c.Limits.MaxSteps, "max_batch_size": c.Limits.MaxBatchSize, "max_n_iter": c.Limits.MaxNIter,
		"max_queue": c.Limits.MaxQueue,
	})
}
