package pipeline

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"strconv"
	"strings"

	"sdgo/internal/imagefile"
)

// MatrixOptions are the settings of webui's "Prompt matrix" script.
type MatrixOptions struct {
	Negative          bool // take the |-separated parts from the negative prompt
	VariationsAtStart bool // put the chosen parts before the fixed first part
	DifferentSeeds    bool // image i uses seed+i instead of one seed for all
}

// MatrixPrompts splits text at "|" and returns the 2^(n-1) prompts of
// webui's prompt matrix, in its order: combination k holds optional part i
// when bit i of k is set; the chosen parts (trimmed of spaces and commas)
// follow the first part (or precede it with atStart), joined by ", ".
// It also returns the optional parts, the grid's label texts.
func MatrixPrompts(text string, atStart bool) (prompts, parts []string) {
	all := strings.Split(text, "|")
	for _, s := range all[1:] {
		parts = append(parts, strings.Trim(strings.TrimSpace(s), ","))
	}
	for k := 0; k < 1<<len(parts); k++ {
		var sel []string
		for i, s := range parts {
			if k&(1<<i) != 0 {
				sel = append(sel, s)
			}
		}
		if atStart {
			sel = append(sel, all[0])
		} else {
			sel = append([]string{all[0]}, sel...)
		}
		prompts = append(prompts, strings.Join(sel, ", "))
	}
	return prompts, parts
}

// MatrixLabels are webui's prompt matrix grid labels for the optional
// parts: the first ceil(n/2) parts label the columns, the rest the rows,
// each label listing its parts as on or off for that column or row.
func MatrixLabels(parts []string) (rows, cols [][]imagefile.Annotation) {
	b := (len(parts) + 1) / 2
	mk := func(ps []string) [][]imagefile.Annotation {
		if len(ps) == 0 {
			return nil
		}
		out := make([][]imagefile.Annotation, 1<<len(ps))
		for pos := range out {
			for i, s := range ps {
				out[pos] = append(out[pos], imagefile.Annotation{Text: s, Active: pos&(1<<i) != 0})
			}
		}
		return out
	}
	return mk(parts[b:]), mk(parts[:b])
}

// PromptMatrix runs webui's prompt matrix: one image per combination of
// the |-separated parts of p's prompt (or negative prompt), each made with
// p's other settings at batch size and count 1, and a labelled grid laid
// out as webui does (2^((n-1)/2) rows for n parts). The grid's infotext is
// the first image's. Results made before an error are returned with it.
func PromptMatrix(ctx context.Context, j Job, p Params, o MatrixOptions) ([]Result, *image.NRGBA, error) {
	src := p.Prompt
	if o.Negative {
		src = p.NegativePrompt
	}
	prompts, parts := MatrixPrompts(src, o.VariationsAtStart)
	if p.Seed == -1 {
		p.Seed = rand.Int64N(1 << 32)
	}
	var results []Result
	for i, pr := range prompts {
		q := p
		q.BatchSize, q.BatchCount = 1, 1
		if o.Negative {
			q.NegativePrompt = pr
		} else {
			q.Prompt = pr
		}
		if o.DifferentSeeds {
			q.Seed = p.Seed + int64(i)
		}
		rs, err := Txt2Img(ctx, j, q)
		results = append(results, rs...)
		if err != nil {
			return results, nil, fmt.Errorf("pipeline: prompt matrix: image %d (%q): %w", i, pr, err)
		}
	}
	imgs := make([]image.Image, len(results))
	for i, r := range results {
		imgs[i] = r.Image
	}
	rows := 1 << (len(parts) / 2)
	rowL, colL := MatrixLabels(parts)
	grid := imagefile.GridAnnotated(imgs, (len(imgs)+rows-1)/rows, rowL, colL)
	return results, grid, nil
}

// promptFileTags are the options a prompts-file line may set, as webui's
// prompts_from_file.py names them.
var promptFileTags = map[string]func(p *Params, v string) error{
	"prompt":             func(p *Params, v string) error { p.Prompt = v; return nil },
	"negative_prompt":    func(p *Params, v string) error { p.NegativePrompt = v; return nil },
	"sampler_name":       func(p *Params, v string) error { p.Sampler = v; return nil },
	"scheduler":          func(p *Params, v string) error { p.Scheduler = v; return nil },
	"seed":               intTag(func(p *Params, n int) { p.Seed = int64(n) }),
	"subseed":            intTag(func(p *Params, n int) { p.Subseed = int64(n) }),
	"subseed_strength":   floatTag(func(p *Params, f float64) { p.SubseedStrength = f }),
	"seed_resize_from_w": intTag(func(p *Params, n int) { p.SeedResizeFromW = n }),
	"seed_resize_from_h": intTag(func(p *Params, n int) { p.SeedResizeFromH = n }),
	"steps":              intTag(func(p *Params, n int) { p.Steps = n }),
	"cfg_scale":          floatTag(func(p *Params, f float64) { p.CFGScale = f }),
	"width":              intTag(func(p *Params, n int) { p.Width = n }),
	"height":             intTag(func(p *Params, n int) { p.Height = n }),
	"batch_size":         intTag(func(p *Params, n int) { p.BatchSize = n }),
	"n_iter":             intTag(func(p *Params, n int) { p.BatchCount = n }),
	"clip_skip":          intTag(func(p *Params, n int) { p.ClipSkip = n }),
}

func intTag(set func(*Params, int)) func(*Params, string) error {
	return func(p *Params, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		set(p, n)
		return nil
	}
}

func floatTag(set func(*Params, float64)) func(*Params, string) error {
	return func(p *Params, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
		set(p, f)
		return nil
	}
}

// ParsePromptsFile turns the text of a webui prompts file into one job per
// non-empty line, each starting from base. A line that starts with "--" is
// a list of options (--prompt "..." --steps 20 ..., quoted as a POSIX
// shell would; the words after --prompt or --negative_prompt up to the
// next option are joined by spaces); any other line is the prompt.
// Errors name the line number.
func ParsePromptsFile(text string, base Params) ([]Params, error) {
	var jobs []Params
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		p := base
		if err := parsePromptLine(line, &p); err != nil {
			return nil, fmt.Errorf("pipeline: prompts file: line %d: %w", n+1, err)
		}
		jobs = append(jobs, p)
	}
	return jobs, nil
}

func parsePromptLine(line string, p *Params) error {
	if !strings.HasPrefix(line, "--") {
		p.Prompt = line
		return nil
	}
	args, err := shellSplit(line)
	if err != nil {
		return err
	}
	for pos := 0; pos < len(args); {
		arg := args[pos]
		if !strings.HasPrefix(arg, "--") {
			return fmt.Errorf("%q: options must start with \"--\"", arg)
		}
		if pos+1 >= len(args) {
			return fmt.Errorf("missing value for option %s", arg)
		}
		tag := arg[2:]
		set, ok := promptFileTags[tag]
		if !ok {
			return fmt.Errorf("unknown option %s", arg)
		}
		val := args[pos+1]
		pos += 2
		if tag == "prompt" || tag == "negative_prompt" {
			for pos < len(args) && !strings.HasPrefix(args[pos], "--") {
				val += " " + args[pos]
				pos++
			}
		}
		if err := set(p, val); err != nil {
			return fmt.Errorf("option %s: %w", arg, err)
		}
	}
	return nil
}

// shellSplit splits s into words as a POSIX shell (Python's shlex.split)
// does: blanks separate words, '...' is literal, "..." allows \" \\ \$ \`
// escapes, and a backslash outside quotes escapes the next character.
func shellSplit(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(rs) {
				i++
				cur.WriteRune(rs[i])
			}
		case c == '\'':
			inWord = true
			end := i + 1
			for end < len(rs) && rs[end] != '\'' {
				end++
			}
			if end == len(rs) {
				return nil, fmt.Errorf("unterminated ' quote")
			}
			cur.WriteString(string(rs[i+1 : end]))
			i = end
		case c == '"':
			inWord = true
			i++
			for ; i < len(rs) && rs[i] != '"'; i++ {
				if rs[i] == '\\' && i+1 < len(rs) && strings.ContainsRune("\"\\$`", rs[i+1]) {
					i++
				}
				cur.WriteRune(rs[i])
			}
			if i == len(rs) {
				return nil, fmt.Errorf("unterminated \" quote")
			}
		default:
			inWord = true
			cur.WriteRune(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// PromptsFromFile runs each job in turn (webui's "Prompts from file or
// textbox") and returns every image. Results made before an error are
// returned with it.
func PromptsFromFile(ctx context.Context, j Job, jobs []Params) ([]Result, error) {
	var all []Result
	for i, p := range jobs {
		rs, err := Txt2Img(ctx, j, p)
		all = append(all, rs...)
		if err != nil {
			return all, fmt.Errorf("pipeline: prompts from file: job %d: %w", i+1, err)
		}
	}
	return all, nil
}
