package imagefile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultPattern is webui's file name pattern when images go into dated
// folders ("samples_filename_pattern" empty, "save_to_dirs" on).
const DefaultPattern = "[seed]"

// MaxPartLength is how many characters of a prompt a file name part keeps
// (webui's --filenames-max-length default).
const MaxPartLength = 128

// MaxPromptWords is how many words [prompt_words] keeps (webui's
// "directories_max_prompt_words" default).
const MaxPromptWords = 8

// NameInfo is what a file name pattern can use for one image: webui's
// FilenameGenerator reads the same values from its processing object.
type NameInfo struct {
	Seed                   int64
	Prompt, NegativePrompt string
	Styles                 []string
	Steps                  int
	CFGScale               float64
	Sampler, Scheduler     string
	ModelName, ModelHash   string
	Denoising              float64 // 0: [denoising] is dropped with the text before it
	ClipSkip               int
	// BatchSize, BatchIndex (0-based in its batch), Iteration (0-based
	// batch) and Iterations (batch count) number the image in its job.
	BatchSize, BatchIndex, Iteration, Iterations int
	AllSeeds                                     []int64 // the job's seeds, for [seed_first]/[seed_last]
	Basename                                     string  // [basename] ("" = "img")
	Image                                        image.Image
	Now                                          time.Time // [date], [datetime]
	JobTimestamp                                 time.Time // [job_timestamp]: when the job started
}

// skip is a replacement that drops itself and the literal text before it
// (webui's NOTHING_AND_SKIP_PREVIOUS_TEXT).
const skip = "\x00skip"

var (
	rePattern    = regexp.MustCompile(`(?s)(.*?)(?:\[([^\[\]]+)\]|$)`)
	rePatternArg = regexp.MustCompile(`(?s)^(.*)<([^>]*)>$`)
)

// ApplyPattern expands the [tag] and [tag<arg>...] fields of a webui file
// name pattern (samples_filename_pattern) for one image. Tags are
// case-insensitive; an unknown tag stays as written, brackets included.
// Known: seed, seed_first, seed_last, steps, cfg, width, height, styles,
// sampler, scheduler, sampler_scheduler, model_name, model_hash, date,
// datetime<strftime format><time zone>, job_timestamp, prompt,
// prompt_spaces, prompt_words, prompt_hash<n>, negative_prompt_hash<n>,
// full_prompt_hash<n>, image_hash<n>, batch_number, batch_size,
// generation_number, clip_skip, denoising, hasprompt<p|default>...,
// basename, none. Prompt fields are sanitized as webui does (see
// SanitizePart); the result may still hold path separators from literal
// text, which callers replace.
func ApplyPattern(pattern string, n NameInfo) string {
	var sb strings.Builder
	for _, m := range rePattern.FindAllStringSubmatchIndex(pattern, -1) {
		text := pattern[m[2]:m[3]]
		if m[4] < 0 {
			sb.WriteString(text)
			continue
		}
		tag := pattern[m[4]:m[5]]
		var args []string
		for {
			a := rePatternArg.FindStringSubmatch(tag)
			if a == nil {
				break
			}
			tag, args = a[1], append([]string{a[2]}, args...)
		}
		if v, ok := n.field(strings.ToLower(tag), args); ok {
			if v != skip {
				sb.WriteString(text + v)
			}
			continue
		}
		sb.WriteString(text + "[" + tag + "]")
	}
	return sb.String()
}

// field is one tag's replacement; ok is false for an unknown tag.
func (n NameInfo) field(tag string, args []string) (string, bool) {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch tag {
	case "seed":
		return strconv.FormatInt(n.Seed, 10), true
	case "seed_first":
		if n.BatchSize <= 1 || len(n.AllSeeds) == 0 {
			return strconv.FormatInt(n.Seed, 10), true
		}
		return strconv.FormatInt(n.AllSeeds[0], 10), true
	case "seed_last":
		if n.BatchSize <= 1 || len(n.AllSeeds) == 0 {
			return skip, true
		}
		return strconv.FormatInt(n.AllSeeds[len(n.AllSeeds)-1], 10), true
	case "steps":
		return strconv.Itoa(n.Steps), true
	case "cfg":
		return pyFloat(n.CFGScale), true
	case "width", "height":
		if n.Image == nil {
			return "", false
		}
		if tag == "width" {
			return strconv.Itoa(n.Image.Bounds().Dx()), true
		}
		return strconv.Itoa(n.Image.Bounds().Dy()), true
	case "styles":
		var s []string
		for _, st := range n.Styles {
			if st != "None" {
				s = append(s, st)
			}
		}
		if len(s) == 0 {
			return "None", true
		}
		return SanitizePart(strings.Join(s, ", "), false), true
	case "sampler":
		return SanitizePart(n.Sampler, false), true
	case "scheduler":
		return SanitizePart(pyCapitalize(n.scheduler()), false), true
	case "sampler_scheduler":
		return SanitizePart(n.Sampler+" "+pyCapitalize(n.scheduler()), false), true
	case "model_name":
		return SanitizePart(n.ModelName, false), true
	case "model_hash":
		return n.ModelHash, true
	case "date":
		return n.Now.Format("2006-01-02"), true
	case "datetime":
		t := n.Now
		if loc, err := time.LoadLocation(arg(1)); len(args) > 1 && err == nil {
			t = t.In(loc)
		}
		format := arg(0)
		if format == "" {
			format = "%Y%m%d%H%M%S"
		}
		return SanitizePart(Strftime(t, format), false), true
	case "job_timestamp":
		return n.JobTimestamp.Format("20060102150405"), true
	case "prompt":
		return SanitizePart(n.Prompt, true), true
	case "prompt_spaces":
		return SanitizePart(n.Prompt, false), true
	case "prompt_words":
		return SanitizePart(promptWords(n.Prompt), false), true
	case "prompt_hash":
		return stringHash(n.Prompt, arg(0)), true
	case "negative_prompt_hash":
		return stringHash(n.NegativePrompt, arg(0)), true
	case "full_prompt_hash":
		return stringHash(n.Prompt+" "+n.NegativePrompt, arg(0)), true
	case "image_hash":
		return n.imageHash(arg(0))
	case "batch_number":
		if n.BatchSize <= 1 {
			return skip, true
		}
		return strconv.Itoa(n.BatchIndex + 1), true
	case "batch_size":
		return strconv.Itoa(max(n.BatchSize, 1)), true
	case "generation_number":
		if n.Iterations <= 1 && n.BatchSize <= 1 {
			return skip, true
		}
		return strconv.Itoa(n.Iteration*max(n.BatchSize, 1) + n.BatchIndex + 1), true
	case "clip_skip":
		return strconv.Itoa(max(n.ClipSkip, 1)), true
	case "denoising":
		if n.Denoising == 0 {
			return skip, true
		}
		return pyFloat(n.Denoising), true
	case "hasprompt":
		return n.hasPrompt(args), true
	case "basename":
		if n.Basename == "" {
			return "img", true
		}
		return n.Basename, true
	case "none":
		return "", true
	}
	return "", false
}

func (n NameInfo) scheduler() string {
	if n.Scheduler == "" {
		return "Automatic"
	}
	return n.Scheduler
}

// hasPrompt is [hasprompt<word|default>...]: each word found in the prompt
// (case-insensitively, written in lower case), else its default.
func (n NameInfo) hasPrompt(args []string) string {
	lower := strings.ToLower(n.Prompt)
	var out strings.Builder
	for _, a := range args {
		if a == "" {
			continue
		}
		want, def, _ := strings.Cut(a, "|")
		want = strings.ToLower(want)
		if strings.Contains(lower, want) {
			out.WriteString(want)
		} else {
			out.WriteString(def)
		}
	}
	return SanitizePart(out.String(), true)
}

// imageHash is the sha256 of the image's RGB bytes, as webui hashes a PIL
// RGB image's tobytes(), cut to n hex digits ("" = all).
func (n NameInfo) imageHash(length string) (string, bool) {
	if n.Image == nil {
		return "", false
	}
	b := n.Image.Bounds()
	h := sha256.New()
	row := make([]byte, 0, 3*b.Dx())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row = row[:0]
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := n.Image.At(x, y).RGBA()
			row = append(row, byte(r>>8), byte(g>>8), byte(bl>>8))
		}
		h.Write(row)
	}
	return cutHex(hex.EncodeToString(h.Sum(nil)), length, 64), true
}

func stringHash(text, length string) string {
	sum := sha256.Sum256([]byte(text))
	return cutHex(hex.EncodeToString(sum[:]), length, 8)
}

func cutHex(s, length string, def int) string {
	n := def
	if length != "" {
		v, err := strconv.Atoi(length)
		if err != nil {
			return s[:def]
		}
		n = v
	}
	if n < 0 { // Python's s[0:-k]
		n = max(len(s)+n, 0)
	}
	return s[:min(n, len(s))]
}

// promptWords is webui's [prompt_words]: the prompt split on whitespace
// and ASCII punctuation, the first MaxPromptWords words joined by spaces,
// "empty" when there are none.
func promptWords(prompt string) string {
	words := strings.FieldsFunc(prompt, func(r rune) bool {
		return unicode.IsSpace(r) || (r < utf8.RuneSelf && strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", r))
	})
	if len(words) == 0 {
		return "empty"
	}
	return strings.Join(words[:min(len(words), MaxPromptWords)], " ")
}

// invalidFileChars are the characters webui replaces with "_" in a file
// name part.
const invalidFileChars = "#<>:\"/\\|?*\n\r\t"

// SanitizePart makes text safe as part of a file name as webui's
// sanitize_filename_part does: spaces to "_" when replaceSpaces, each of
// #<>:"/\|?* and newline, return, tab to "_", leading spaces dropped, cut
// to MaxPartLength characters, trailing spaces and dots dropped.
func SanitizePart(text string, replaceSpaces bool) string {
	if replaceSpaces {
		text = strings.ReplaceAll(text, " ", "_")
	}
	text = strings.Map(func(r rune) rune {
		if strings.ContainsRune(invalidFileChars, r) {
			return '_'
		}
		return r
	}, text)
	text = strings.TrimLeft(text, " ")
	if r := []rune(text); len(r) > MaxPartLength {
		text = string(r[:MaxPartLength])
	}
	return strings.TrimRight(text, " .")
}

// pyFloat writes f as Python's str(float) does for ordinary values: a
// whole number keeps ".0" (7 -> "7.0").
func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

// pyCapitalize is Python's str.capitalize: first character upper case,
// the rest lower case.
func pyCapitalize(s string) string {
	r := []rune(strings.ToLower(s))
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// NextSequenceNumber is webui's get_next_sequence_number: one more than
// the largest number that starts a name in dir (after "basename-" when
// basename is set), the part up to the first "-" or extension; 0 for an
// empty or missing folder.
func NextSequenceNumber(dir, basename string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	prefix := ""
	if basename != "" {
		prefix = basename + "-"
	}
	best := -1
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		name = strings.TrimSuffix(name, filepath.Ext(name))
		first, _, _ := strings.Cut(name, "-")
		if v, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && v > best {
			best = v
		}
	}
	return best + 1
}

// maxNameBytes is the longest file name most file systems take.
const maxNameBytes = 255

// NumberedPath picks the file webui's save_image writes in dir: the next
// sequence number (5 digits, or "basename-" and 4 digits), then
// decoration ("-" + an applied pattern, or ""), then "." + ext; the first
// of 500 numbers from NextSequenceNumber on whose file does not exist.
// Path separators in decoration become "_" and a name too long for the
// file system is cut (webui cuts it to the folder's name limit).
func NumberedPath(dir, basename, decoration, ext string) (string, error) {
	decoration = strings.NewReplacer("/", "_", "\\", "_").Replace(decoration)
	next := NextSequenceNumber(dir, basename)
	for i := 0; i < 500; i++ {
		num := fmt.Sprintf("%05d", next+i)
		if basename != "" {
			num = fmt.Sprintf("%s-%04d", basename, next+i)
		}
		name := cutName(num+decoration, maxNameBytes-max(5, len(ext)+1)) + "." + ext
		path := filepath.Join(dir, name)
		if _, err := os.Lstat(path); os.IsNotExist(err) {
			return path, nil
		}
	}
	return "", fmt.Errorf("imagefile: no free file name in %s after 500 tries from number %d", dir, next)
}

// cutName cuts s to at most n bytes on a character boundary.
func cutName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
