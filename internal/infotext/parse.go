package infotext

import (
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Python's \s and \w for str patterns, which are Unicode-aware (Go's are
// ASCII only).
const (
	pySpace = `[\t\n\v\f\r \x{1c}-\x{1f}\x{85}\x{a0}\p{Z}]`
	pyWord  = `[\p{L}\p{N}_]`
)

// reParam is webui's re_param: a key of word characters, spaces, '-' and
// '/', a colon, and a value that is either a JSON string or everything up
// to the next comma. Go's leftmost-first matching picks the same matches as
// Python's backtracking engine.
var reParam = regexp.MustCompile(pySpace + `*(` + pyWord + `[\p{L}\p{N}_ \-/]+):` + pySpace +
	`*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)`)

// reImageSize is webui's re_imagesize ("512x768"); Python's $ also
// matches before a final newline.
var reImageSize = regexp.MustCompile(`^([0-9]+)x([0-9]+)\n?$`)

// pyIsSpace is Python's str.isspace for one character.
func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// Parse reads webui's parameters text the way parse_generation_parameters
// splits it: the last line holds the parameters only when at least three
// "Key: value" pairs match in it (otherwise it belongs to the prompt);
// before it, lines up to the first one starting with "Negative prompt:"
// are the prompt, the rest the negative prompt, every line stripped and
// joined with "\n". Quoted values are JSON-decoded (kept as written when
// that fails); pairs with an empty value are dropped, as webui drops them.
// Params keep the order of the text (a repeated key keeps its first place
// and its last value, as in webui's dict); values are kept as strings ("AxB"
// sizes included: see Dims and Parameters).
//
// Parse never fails on text; the only error is input that is not UTF-8.
// Format(Parse(s)) == s for every string Format writes from an Info whose
// prompt lines have no surrounding spaces and that has three parameters or
// more.
func Parse(text string) (Info, error) {
	if !utf8.ValidString(text) {
		return Info{}, errors.New("infotext: parse: text is not valid UTF-8")
	}
	lines := strings.Split(pyStrip(text), "\n")
	last := lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	matches := reParam.FindAllStringSubmatch(last, -1)
	if len(matches) < 3 {
		lines = append(lines, last)
		matches = nil
	}
	var info Info
	negative := false
	for _, line := range lines {
		line = pyStrip(line)
		if strings.HasPrefix(line, "Negative prompt:") {
			negative = true
			line = pyStrip(line[len("Negative prompt:"):])
		}
		dst := &info.Prompt
		if negative {
			dst = &info.NegativePrompt
		}
		if *dst != "" {
			*dst += "\n"
		}
		*dst += line
	}
	for _, m := range matches {
		k, v := m[1], m[2]
		if v == "" {
			continue // webui: v[0] raises, the pair is skipped
		}
		info.set(k, unquote(v))
	}
	return info, nil
}

// unquote is webui's unquote: a value in double quotes is decoded as JSON,
// and kept as it is when that fails.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var s string
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return v
	}
	return s
}

// set sets key like a Python dict: a repeated key keeps its first
// position and takes the last value.
func (i *Info) set(key, value string) {
	for j := range i.Params {
		if i.Params[j].Key == key {
			i.Params[j].Value = value
			return
		}
	}
	i.Params = append(i.Params, Param{key, value})
}

// Int returns the parameter key as an integer.
func (i *Info) Int(key string) (int, bool) {
	v, ok := i.Get(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	return n, err == nil
}

// Float returns the parameter key as a number.
func (i *Info) Float(key string) (float64, bool) {
	v, ok := i.Get(key)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return f, err == nil && !math.IsNaN(f)
}

// Dims returns an "AxB" parameter ("Size", "Hires resize", "Seed resize
// from") as its two numbers, which webui names "<key>-1" and "<key>-2".
func (i *Info) Dims(key string) (a, b int, ok bool) {
	v, found := i.Get(key)
	if !found {
		return 0, 0, false
	}
	return dims(v)
}

func dims(v string) (a, b int, ok bool) {
	m := reImageSize.FindStringSubmatch(v)
	if m == nil {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(m[1])
	b, err2 := strconv.Atoi(m[2])
	return a, b, err1 == nil && err2 == nil
}

// Size returns the "Size" parameter: the first pass's width and height.
func (i *Info) Size() (w, h int, ok bool) { return i.Dims("Size") }

// ModelHash returns the "Model hash" parameter and whether it is webui's
// old 8-hex-digit hash (of 64 KiB at offset 1 MiB) rather than the
// current 10-hex-digit prefix of the file's SHA-256.
func (i *Info) ModelHash() (hash string, old, ok bool) {
	v, ok := i.Get("Model hash")
	if !ok {
		return "", false, false
	}
	v = strings.ToLower(strings.TrimSpace(v))
	return v, len(v) == 8 && isHex(v), true
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return s != ""
}

// NameHash is one entry of a "Lora hashes" or "TI hashes" list.
type NameHash struct{ Name, Hash string }

// Hashes reads a list parameter such as "Lora hashes" ("name: hash, name2:
// hash2") as webui's Lora extension does: entries split at commas, each
// at its first colon, both sides trimmed. Entries without a colon are
// skipped.
func (i *Info) Hashes(key string) []NameHash {
	v, ok := i.Get(key)
	if !ok {
		return nil
	}
	var out []NameHash
	for _, e := range strings.Split(v, ",") {
		name, hash, ok := strings.Cut(pyStrip(e), ":")
		if !ok {
			continue
		}
		out = append(out, NameHash{pyStrip(name), pyStrip(hash)})
	}
	return out
}

// Parameters returns the parsed infotext as webui's
// parse_generation_parameters dictionary (what its png-info API returns as
// "parameters"): every pair with its decoded value, "AxB" values split
// into "<key>-1" and "<key>-2" (as strings), "Prompt" and "Negative
// prompt", then webui's defaults for missing keys that reproduce old
// behaviour ("Clip skip" "1", "RNG" "GPU", "Schedule type" "Automatic",
// the "Hires ..." and inpainting defaults, ...), old "First pass size"
// infotexts mapped to the hires fields, and the backward-compatibility
// flags webui derives from "Version". A "Hypernet" is appended to the
// prompt as a <hypernet:...> tag. One default is left to callers that own
// the prompt parser: "Emphasis" "Original" when the prompt has weights.
func (i *Info) Parameters() map[string]any {
	res := map[string]any{}
	for _, p := range i.Params {
		if a, b, ok := dims(p.Value); ok {
			res[p.Key+"-1"], res[p.Key+"-2"] = strconv.Itoa(a), strconv.Itoa(b)
			continue
		}
		res[p.Key] = p.Value
	}
	prompt := i.Prompt
	if hn, ok := res["Hypernet"].(string); ok {
		strength, ok := res["Hypernet strength"].(string)
		if !ok {
			strength = "1.0"
		}
		prompt += "<hypernet:" + hn + ":" + strength + ">"
	}
	res["Prompt"], res["Negative prompt"] = prompt, i.NegativePrompt
	def := func(k string, v any) {
		if _, ok := res[k]; !ok {
			res[k] = v
		}
	}
	def("Clip skip", "1")
	if _, ok := res["Hires resize-1"]; !ok {
		res["Hires resize-1"], res["Hires resize-2"] = 0, 0
	}
	for _, kv := range [][2]string{
		{"Hires sampler", "Use same sampler"}, {"Hires schedule type", "Use same scheduler"},
		{"Hires checkpoint", "Use same checkpoint"}, {"Hires prompt", ""}, {"Hires negative prompt", ""},
		{"Mask mode", "Inpaint masked"}, {"Masked content", "original"}, {"Inpaint area", "Whole picture"},
	} {
		def(kv[0], kv[1])
	}
	def("Masked area padding", 32)
	restoreOldHires(res)
	def("RNG", "GPU")
	def("Schedule type", "Automatic")
	def("Schedule max sigma", 0)
	def("Schedule min sigma", 0)
	def("Schedule rho", 0)
	def("VAE Encoder", "Full")
	def("VAE Decoder", "Full")
	def("FP8 weight", "Disable")
	if res["FP8 weight"] != "Disable" {
		def("Cache FP16 weight for LoRA", false)
	}
	def("Refiner switch by sampling steps", false)
	backcompat(res)
	return res
}

// restoreOldHires is webui's restore_old_hires_fix_params: an infotext
// with the old "First pass size" has its "Size" as the final size; the
// first pass becomes "Size" and the final size "Hires resize". A first
// pass of 0x0 meant "about 512x512 pixels, multiples of 64".
func restoreOldHires(res map[string]any) {
	fw, ok1 := atoiAny(res["First pass size-1"])
	fh, ok2 := atoiAny(res["First pass size-2"])
	if !ok1 || !ok2 {
		return
	}
	w, ok := atoiAny(res["Size-1"])
	if !ok {
		w = 512
	}
	h, ok := atoiAny(res["Size-2"])
	if !ok {
		h = 512
	}
	if fw == 0 || fh == 0 {
		scale := math.Sqrt(512 * 512 / float64(w*h))
		fw = int(math.Ceil(scale*float64(w)/64)) * 64
		fh = int(math.Ceil(scale*float64(h)/64)) * 64
	}
	res["Size-1"], res["Size-2"] = fw, fh
	res["Hires resize-1"], res["Hires resize-2"] = w, h
}

func atoiAny(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	return 0, false
}

// webuiVersion is a parsed webui version: v1.7.0-225 has post 225; an
// "-RC" suffix marks a pre-release, which sorts before the release.
type webuiVersion struct {
	n    [3]int
	pre  bool
	post int
}

var reVersion = regexp.MustCompile(`^v?([0-9]+)\.([0-9]+)\.([0-9]+)(?:-(RC|rc|[0-9]+))?`)

func parseVersion(s string) (webuiVersion, bool) {
	m := reVersion.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return webuiVersion{}, false
	}
	var v webuiVersion
	for k := range 3 {
		v.n[k], _ = strconv.Atoi(m[k+1])
	}
	switch m[4] {
	case "":
	case "RC", "rc":
		v.pre = true
	default:
		v.post, _ = strconv.Atoi(m[4])
	}
	return v, true
}

// less orders versions; a pre-release sorts before the release and its
// post-releases.
func (a webuiVersion) less(b webuiVersion) bool {
	if a.n != b.n {
		for k := range 3 {
			if a.n[k] != b.n[k] {
				return a.n[k] < b.n[k]
			}
		}
	}
	if a.pre != b.pre {
		return a.pre
	}
	return a.post < b.post
}

// backcompat is webui's infotext_versions.backcompat: infotexts of older
// versions turn on the options that reproduce them.
func backcompat(res map[string]any) {
	s, _ := res["Version"].(string)
	ver, ok := parseVersion(s)
	if !ok {
		return
	}
	v160 := webuiVersion{n: [3]int{1, 6, 0}}
	if ver.less(v160) {
		if p, _ := res["Prompt"].(string); strings.Contains(p, "[") {
			res["Old prompt editing timelines"] = true
		}
		if smp, _ := res["Sampler"].(string); smp == "DDIM" || smp == "PLMS" {
			res["Pad conds v0"] = true
		}
	}
	if ver.less(webuiVersion{n: [3]int{1, 7, 0}, post: 225}) {
		res["Downcast alphas_cumprod"] = true
	}
	if r, _ := res["Refiner"].(string); r != "" && ver.less(webuiVersion{n: [3]int{1, 8, 0}}) {
		res["Refiner switch by sampling steps"] = true
	}
}
