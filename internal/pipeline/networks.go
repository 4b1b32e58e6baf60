package pipeline

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"sdgo/internal/prompt"
)

// NetworkFinder returns the file of an extra network named in a prompt
// (<lora:name:...>): kind is the tag's kind ("lora", or webui's older
// "lyco"), name its first argument.
type NetworkFinder func(kind, name string) (path string, err error)

// LoRAFinder finds LoRA files by name in folders (webui's models/Lora and
// its subfolders): the name is the file name without its extension
// (.safetensors, .pt, .ckpt); the first folder that has it wins.
func LoRAFinder(dirs ...string) NetworkFinder {
	return func(kind, name string) (string, error) {
		if kind != "lora" && kind != "lyco" {
			return "", fmt.Errorf("pipeline: <%s:%s>: sdgo has no %q networks (only lora)", kind, name, kind)
		}
		for _, dir := range dirs {
			var found string
			_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || found != "" {
					return nil
				}
				ext := strings.ToLower(filepath.Ext(path))
				if (ext == ".safetensors" || ext == ".pt" || ext == ".ckpt") && strings.TrimSuffix(d.Name(), filepath.Ext(d.Name())) == name {
					found = path
					return fs.SkipAll
				}
				return nil
			})
			if found != "" {
				return found, nil
			}
		}
		return "", fmt.Errorf("pipeline: <lora:%s>: no LoRA file named %q (.safetensors, .pt or .ckpt) in %s; put it there or name another folder (--lora-dir)",
			name, name, strings.Join(dirs, ", "))
	}
}

// activeNetwork is one LoRA a prompt asks for.
type activeNetwork struct {
	name, path string
	te, unet   float64
}

// activateNetworks applies the <lora:...> tags of the positive prompt to
// the job's model as webui's extra networks do: the model carries exactly
// the LoRAs the prompt names, with their multipliers (the default 1), and
// loses those it no longer names; nothing is reloaded when the set is the
// one already applied. Negative prompts keep their text, as in webui.
func (j Job) activateNetworks(positive string) ([]activeNetwork, error) {
	_, nets := prompt.ExtractNetworks(positive)
	var want []activeNetwork
	for _, n := range nets {
		if j.Networks == nil {
			return nil, fmt.Errorf("pipeline: the prompt names <%s:%s> but no LoRA folder is set (--lora-dir, or Lora/ in the models folder)", n.Kind, n.Name)
		}
		te, unet, _, err := n.LoraMultipliers(1)
		if err != nil {
			return nil, err
		}
		path, err := j.Networks(n.Kind, n.Name)
		if err != nil {
			return nil, err
		}
		want = append(want, activeNetwork{name: n.Name, path: path, te: te, unet: unet})
	}
	m := j.Model
	have := m.LoRAs()
	same := len(have) == len(want)
	for i := 0; same && i < len(want); i++ {
		same = have[i].Path == want[i].path && have[i].TE == want[i].te && have[i].UNet == want[i].unet
	}
	if same {
		return want, nil
	}
	m.ClearLoRAs()
	for _, w := range want {
		if err := m.ApplyLoRAParts(w.path, w.te, w.unet); err != nil {
			m.ClearLoRAs()
			return nil, fmt.Errorf("pipeline: <lora:%s>: %w", w.name, err)
		}
	}
	return want, nil
}

// loraHashes is the infotext's "Lora hashes" value: each LoRA as the
// prompt names it (":" and "," dropped, as webui does) with its file's
// short hash.
func (j Job) loraHashes(nets []activeNetwork) string {
	var parts []string
	for _, l := range j.Model.LoRAs() {
		i := slices.IndexFunc(nets, func(n activeNetwork) bool { return n.path == l.Path })
		if i < 0 {
			continue
		}
		h, err := l.Hash()
		if err != nil {
			continue
		}
		name := strings.NewReplacer(":", "", ",", "").Replace(nets[i].name)
		parts = append(parts, name+": "+h)
	}
	return strings.Join(parts, ", ")
}

// withoutNetworks is the prompt the text encoder sees: the extra-network
// tags cut out (webui removes them before parsing attention and editing).
func withoutNetworks(text string) string {
	rest, _ := prompt.ExtractNetworks(text)
	return rest
}
