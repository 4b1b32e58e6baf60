package cli

import (
	"flag"
	"os"
	"path/filepath"

	"sdgo/internal/config"
	"sdgo/internal/pipeline"
)

// loraFlags choose where <lora:name> tags find their files.
type loraFlags struct {
	dir    string
	getenv func(string) string
}

func addLoRAFlags(fs *flag.FlagSet, e *Env) *loraFlags {
	f := &loraFlags{getenv: e.Getenv}
	fs.StringVar(&f.dir, "lora-dir", "", "folder of LoRA files for <lora:name:weight> in the prompt (name = file name without extension); default: Lora/ beside the model's webui-style models folder, $"+config.EnvModelsDir+"/Lora, then the model's own folder")
	return f
}

// finder looks LoRA names up in --lora-dir, or else in webui's places for
// the model at modelPath.
func (f *loraFlags) finder(modelPath string) (pipeline.NetworkFinder, error) {
	if f.dir != "" {
		if st, err := os.Stat(f.dir); err != nil || !st.IsDir() {
			return nil, usagef("--lora-dir %s: not a folder; give the folder holding the LoRA .safetensors files", f.dir)
		}
		return pipeline.LoRAFinder(f.dir), nil
	}
	var dirs []string
	if models := webuiModelsDir(modelPath); models != "" {
		dirs = append(dirs, filepath.Join(models, "Lora"))
	}
	if f.getenv != nil {
		if cfg := config.FromEnv(f.getenv); cfg.ModelsDir != "" {
			dirs = append(dirs, cfg.LoraDir())
		}
	}
	if abs, err := filepath.Abs(modelPath); err == nil {
		dirs = append(dirs, filepath.Dir(abs))
	}
	var existing []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			existing = append(existing, d)
		}
	}
	return pipeline.LoRAFinder(existing...), nil
}
