package cli

import (
	"flag"
	"fmt"
	"strings"

	"sdgo/internal/infotext"
	"sdgo/internal/pipeline"
)

// promptExtras are the flags that fill in a job from elsewhere: a pasted
// webui infotext and styles from a styles.csv.
type promptExtras struct {
	infotext   string
	stylesFile string
	styles     []string
}

// addPromptExtras registers --infotext, --styles-file and --style on fs.
func addPromptExtras(fs *flag.FlagSet) *promptExtras {
	x := &promptExtras{}
	fs.StringVar(&x.infotext, "infotext", "", "webui parameters text (PNG info) to reproduce: sets prompt, negative prompt, steps, sampler, schedule type, CFG scale, seed, size, clip skip, variation seed, denoising strength, emphasis and the hires-fix fields; flags given explicitly win")
	fs.StringVar(&x.stylesFile, "styles-file", "", "webui styles.csv (name,prompt,negative_prompt; {prompt} is replaced by the prompt); default styles.csv when --style is given")
	fs.Func("style", "apply a style from --styles-file by name (repeatable, applied in order)", func(s string) error {
		x.styles = append(x.styles, s)
		return nil
	})
	return x
}

// infotextFlags maps infotext keys to the flags they set.
var infotextFlags = []struct {
	key   string
	flags []string // the first is set; any of them given explicitly wins
}{
	{"Steps", []string{"steps"}},
	{"Sampler", []string{"sampler"}},
	{"Schedule type", []string{"scheduler"}},
	{"CFG scale", []string{"cfg-scale"}},
	{"Seed", []string{"seed"}},
	{"Variation seed", []string{"subseed"}},
	{"Variation seed strength", []string{"subseed-strength"}},
	{"Seed resize from", []string{"seed-resize-from"}},
	{"Clip skip", []string{"clip-skip"}},
	{"Denoising strength", []string{"denoising-strength"}},
	{"ENSD", []string{"ensd"}},
	{"RNG", []string{"rng"}},
	{"Eta", []string{"eta"}},
	{"Emphasis", []string{"emphasis"}},
	// txt2img's hires fix: webui writes the second pass's strength as
	// "Denoising strength" (img2img has no hires flags, txt2img no
	// --denoising-strength, so each command takes its own).
	{"Denoising strength", []string{"hr-denoising-strength"}},
	{"Hires upscale", []string{"hr-scale"}},
	{"Hires steps", []string{"hr-second-pass-steps"}},
	{"Hires upscaler", []string{"hr-upscaler"}},
	{"Hires sampler", []string{"hr-sampler"}},
	{"Hires schedule type", []string{"hr-scheduler"}},
	{"Hires prompt", []string{"hr-prompt"}},
	{"Hires negative prompt", []string{"hr-negative-prompt"}},
}

// apply fills p from the infotext (for flags not given on the command
// line, which fs must have parsed) and then applies the styles. It sets
// flags through fs, so their converted values land where the flags point.
func (x *promptExtras) apply(fs *flag.FlagSet, p *pipeline.Params) error {
	if x.infotext != "" {
		if err := x.applyInfotext(fs); err != nil {
			return err
		}
	}
	if len(x.styles) == 0 {
		return nil
	}
	path := x.stylesFile
	if path == "" {
		path = "styles.csv"
	}
	all, err := pipeline.LoadStyles(path)
	if err != nil {
		return usagef("--styles-file: %v", err)
	}
	sel, err := pipeline.FindStyles(all, x.styles)
	if err != nil {
		names := make([]string, len(all))
		for i, s := range all {
			names[i] = s.Name
		}
		return usagef("--style: %v; %s has: %s", err, path, strings.Join(names, ", "))
	}
	p.Prompt, p.NegativePrompt = pipeline.ApplyStyles(p.Prompt, p.NegativePrompt, sel)
	return nil
}

func (x *promptExtras) applyInfotext(fs *flag.FlagSet) error {
	info, err := infotext.Parse(x.infotext)
	if err != nil {
		return usagef("--infotext: %v", err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	set := func(names []string, value string) error {
		for _, n := range names {
			if given[n] {
				return nil
			}
		}
		if fs.Lookup(names[0]) == nil {
			return nil // a field this command does not use
		}
		if err := fs.Set(names[0], value); err != nil {
			return usagef("--infotext: %s %q: %v", names[0], value, err)
		}
		return nil
	}
	if err := set([]string{"prompt"}, info.Prompt); err != nil {
		return err
	}
	if err := set([]string{"negative-prompt", "n"}, info.NegativePrompt); err != nil {
		return err
	}
	for _, m := range infotextFlags {
		if v, ok := info.Get(m.key); ok {
			if err := set(m.flags, strings.TrimSpace(v)); err != nil {
				return err
			}
		}
	}
	// Any hires field means the image was made with hires fix.
	for _, p := range info.Params {
		if strings.HasPrefix(p.Key, "Hires ") {
			if err := set([]string{"enable-hr"}, "true"); err != nil {
				return err
			}
			break
		}
	}
	if v, ok := info.Get("Hires resize"); ok {
		var rw, rh int
		if _, err := fmt.Sscanf(strings.TrimSpace(v), "%dx%d", &rw, &rh); err != nil {
			return usagef("--infotext: Hires resize %q: want WxH", v)
		}
		if err := set([]string{"hr-resize-x"}, fmt.Sprint(rw)); err != nil {
			return err
		}
		if err := set([]string{"hr-resize-y"}, fmt.Sprint(rh)); err != nil {
			return err
		}
	}
	if w, h, ok := info.Size(); ok {
		if err := set([]string{"W", "width"}, fmt.Sprint(w)); err != nil {
			return err
		}
		if err := set([]string{"H", "height"}, fmt.Sprint(h)); err != nil {
			return err
		}
	} else if v, ok := info.Get("Size"); ok {
		return usagef("--infotext: Size %q: want WxH", v)
	}
	return nil
}
