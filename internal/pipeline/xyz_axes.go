package pipeline

import (
	"fmt"
	"strconv"
	"strings"

	"sdgo/internal/sample"
)

// valueKind is how an axis's values are parsed (webui's AxisOption.type).
type valueKind int

const (
	kindString valueKind = iota
	kindInt              // int64 values; "a-b", "a-b (+s)" and "a-b [n]" ranges
	kindFloat            // float64 values; the same ranges
	kindPerm             // every ordering of the values ([]string each)
)

// modelKey says which model part an axis switches.
type modelKey int

const (
	noModel modelKey = iota
	checkpointKey
	vaeKey
)

// AxisType is one of webui's X/Y/Z plot axis types.
type AxisType struct {
	Label   string   // webui's label: "CFG Scale"
	Aliases []string // short forms the CLI accepts: "cfg"
	// Cost is how slow changing the value is (webui: checkpoint 1, VAE
	// 0.7, others 0); the costliest axis is iterated outermost.
	Cost  float64
	kind  valueKind
	model modelKey
	// apply sets the value on a cell's parameters; vals are all the
	// axis's values (Prompt S/R replaces the first one).
	apply func(p *Params, v any, vals []any) error
	// confirm checks every value before the plot starts (webui's confirm).
	confirm func(p Params, vals []any) error
	// bare labels show the value alone instead of "Label: value".
	bare bool
}

// setInt, setFloat and setString adapt a field setter to an axis apply
// function.
func setInt(set func(p *Params, n int)) func(*Params, any, []any) error {
	return func(p *Params, v any, _ []any) error { set(p, int(v.(int64))); return nil }
}

func setFloat(set func(p *Params, f float64)) func(*Params, any, []any) error {
	return func(p *Params, v any, _ []any) error { set(p, v.(float64)); return nil }
}

func setString(set func(p *Params, s string)) func(*Params, any, []any) error {
	return func(p *Params, v any, _ []any) error { set(p, v.(string)); return nil }
}

// AxisTypes are the txt2img axis types, in webui's order.
var AxisTypes = []*AxisType{
	{Label: "Nothing", Aliases: []string{"none"}, apply: func(*Params, any, []any) error { return nil }},
	{Label: "Seed", kind: kindInt, apply: func(p *Params, v any, _ []any) error { p.Seed = v.(int64); return nil }},
	{Label: "Var. seed", Aliases: []string{"subseed", "variation-seed"}, kind: kindInt,
		apply: func(p *Params, v any, _ []any) error { p.Subseed = v.(int64); return nil }},
	{Label: "Var. strength", Aliases: []string{"subseed-strength", "variation-strength"}, kind: kindFloat,
		apply: setFloat(func(p *Params, f float64) { p.SubseedStrength = f })},
	{Label: "Steps", kind: kindInt, apply: setInt(func(p *Params, n int) { p.Steps = n })},
	{Label: "Hires steps", Aliases: []string{"hr-steps", "hires-second-pass-steps"}, kind: kindInt,
		apply: setInt(func(p *Params, n int) { p.Hires.Steps = n })},
	{Label: "CFG Scale", Aliases: []string{"cfg"}, kind: kindFloat, apply: setFloat(func(p *Params, f float64) { p.CFGScale = f })},
	{Label: "Prompt S/R", Aliases: []string{"sr", "prompt-search-replace"}, bare: true, apply: applyPromptSR, confirm: confirmPromptSR},
	{Label: "Prompt order", kind: kindPerm, bare: true, apply: applyPromptOrder, confirm: confirmPromptOrder},
	{Label: "Sampler", bare: true, apply: setString(func(p *Params, s string) { p.Sampler = s }), confirm: confirmSamplers},
	{Label: "Hires sampler", Aliases: []string{"hr-sampler"}, apply: setString(func(p *Params, s string) { p.Hires.Sampler = s }), confirm: confirmSamplers},
	{Label: "Checkpoint name", Aliases: []string{"checkpoint", "ckpt", "model"}, Cost: 1, model: checkpointKey, bare: true},
	{Label: "Schedule type", Aliases: []string{"scheduler", "schedule"}, apply: setString(func(p *Params, s string) { p.Scheduler = s }), confirm: confirmSchedulers},
	{Label: "Hires schedule type", Aliases: []string{"hires-scheduler", "hr-scheduler"},
		apply: setString(func(p *Params, s string) { p.Hires.Scheduler = s }), confirm: confirmSchedulers},
	{Label: "Eta", kind: kindFloat, apply: func(p *Params, v any, _ []any) error { f := v.(float64); p.Eta = &f; return nil }},
	{Label: "Clip skip", kind: kindInt, apply: setInt(func(p *Params, n int) { p.ClipSkip = n })},
	{Label: "Denoising", Aliases: []string{"denoising-strength", "hires-denoising", "hr-denoising"}, kind: kindFloat,
		apply: setFloat(func(p *Params, f float64) { p.Hires.DenoisingStrength = f })},
	{Label: "Hires upscaler", Aliases: []string{"hr-upscaler"}, apply: setString(func(p *Params, s string) { p.Hires.Upscaler = s }), confirm: confirmUpscalers},
	{Label: "VAE", Cost: 0.7, model: vaeKey},
	{Label: "RNG source", Aliases: []string{"rng"}, apply: setString(func(p *Params, s string) { p.RNG = s }), confirm: confirmRNG},
	{Label: "Size", apply: applySize, confirm: func(_ Params, vals []any) error {
		for _, v := range vals {
			if _, _, err := parseSize(v.(string)); err != nil {
				return err
			}
		}
		return nil
	}},
}

// normName folds an axis name for lookup: lower case without spaces,
// dashes, underscores, dots and slashes ("Prompt S/R" = "prompt-sr").
func normName(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(" -_./", r) {
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// LookupAxis finds an axis type by webui's label or a short form, case-
// and punctuation-insensitively ("CFG Scale", "cfg", "prompt-sr").
func LookupAxis(name string) (*AxisType, bool) {
	n := normName(name)
	for _, t := range AxisTypes {
		if normName(t.Label) == n {
			return t, true
		}
		for _, a := range t.Aliases {
			if normName(a) == n {
				return t, true
			}
		}
	}
	return nil, false
}

func axisNames() string {
	var s []string
	for _, t := range AxisTypes {
		s = append(s, t.Label)
	}
	return strings.Join(s, ", ")
}

// applyPromptSR replaces the axis's first value by v in the prompts.
func applyPromptSR(p *Params, v any, vals []any) error {
	from, to := vals[0].(string), v.(string)
	if !strings.Contains(p.Prompt, from) && !strings.Contains(p.NegativePrompt, from) {
		return fmt.Errorf("prompt S/R did not find %q in the prompt or negative prompt", from)
	}
	p.Prompt = strings.ReplaceAll(p.Prompt, from, to)
	p.NegativePrompt = strings.ReplaceAll(p.NegativePrompt, from, to)
	p.Hires.Prompt = strings.ReplaceAll(p.Hires.Prompt, from, to)
	p.Hires.NegativePrompt = strings.ReplaceAll(p.Hires.NegativePrompt, from, to)
	return nil
}

func confirmPromptSR(p Params, vals []any) error {
	q := p
	return applyPromptSR(&q, vals[0], vals)
}

// applyPromptOrder puts the axis's tokens into the prompt in v's order,
// each in the place where one of them appeared.
func applyPromptOrder(p *Params, v any, _ []any) error {
	order := v.([]string)
	type found struct {
		at  int
		tok string
	}
	var pos []found
	for _, tok := range order {
		at := strings.Index(p.Prompt, tok)
		if at < 0 {
			return fmt.Errorf("prompt order: %q is not in the prompt", tok)
		}
		pos = append(pos, found{at, tok})
	}
	for i := 1; i < len(pos); i++ { // stable insertion sort by position
		for k := i; k > 0 && pos[k].at < pos[k-1].at; k-- {
			pos[k], pos[k-1] = pos[k-1], pos[k]
		}
	}
	rest := p.Prompt
	var sb strings.Builder
	for i, f := range pos {
		n := strings.Index(rest, f.tok)
		if n < 0 {
			return fmt.Errorf("prompt order: %q overlaps another token", f.tok)
		}
		sb.WriteString(rest[:n])
		sb.WriteString(order[i])
		rest = rest[n+len(f.tok):]
	}
	p.Prompt = sb.String() + rest
	return nil
}

func confirmPromptOrder(p Params, vals []any) error {
	q := p
	return applyPromptOrder(&q, vals[0], vals)
}

func confirmSamplers(_ Params, vals []any) error {
	for _, v := range vals {
		if _, _, err := sample.Resolve(v.(string), ""); err != nil {
			return fmt.Errorf("unknown sampler %q (known: %s)", v, strings.Join(sample.SamplerIDs(), ", "))
		}
	}
	return nil
}

func confirmSchedulers(_ Params, vals []any) error {
	for _, v := range vals {
		if _, ok := sample.LookupScheduler(v.(string)); !ok {
			var names []string
			for _, s := range sample.Schedulers {
				names = append(names, s.Name)
			}
			return fmt.Errorf("unknown schedule type %q (known: %s)", v, strings.Join(names, ", "))
		}
	}
	return nil
}

func confirmUpscalers(_ Params, vals []any) error {
	for _, v := range vals {
		if _, _, _, err := (Hires{Upscaler: v.(string)}).upscaler(); err != nil {
			return err
		}
	}
	return nil
}

func confirmRNG(_ Params, vals []any) error {
	for _, v := range vals {
		if _, err := sample.ParseSource(v.(string)); err != nil {
			return err
		}
	}
	return nil
}

// parseSize reads "WIDTHxHEIGHT".
func parseSize(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			h, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("size %q: want WIDTHxHEIGHT, e.g. 512x768", s)
	}
	return w, h, nil
}

func applySize(p *Params, v any, _ []any) error {
	w, h, err := parseSize(v.(string))
	if err != nil {
		return err
	}
	p.Width, p.Height = w, h
	return nil
}
