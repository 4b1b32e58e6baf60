package infotext

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Param is one "Key: value" pair of the parameters line.
type Param struct {
	Key, Value string
}

// Info is what an image's infotext records.
type Info struct {
	Prompt         string
	NegativePrompt string
	Params         []Param // in webui's order
}

// Add appends a parameter; empty values are skipped, as webui skips None.
func (i *Info) Add(key, value string) {
	if value == "" {
		return
	}
	i.Params = append(i.Params, Param{key, value})
}

// InsertAfterLast inserts ps after the last parameter whose key is one of
// keys, or first when none is present: webui's fixed fields come in a set
// order, and later fields join after the last of them that is written.
func (i *Info) InsertAfterLast(keys []string, ps ...Param) {
	at := 0
	for j, p := range i.Params {
		if slices.Contains(keys, p.Key) {
			at = j + 1
		}
	}
	i.Params = slices.Insert(i.Params, at, ps...)
}

// InsertBefore inserts ps before the first parameter whose key is one of
// keys, or last when none is present (webui's extra parameters go before
// "Version" and "User").
func (i *Info) InsertBefore(keys []string, ps ...Param) {
	at := len(i.Params)
	for j, p := range i.Params {
		if slices.Contains(keys, p.Key) {
			at = j
			break
		}
	}
	i.Params = slices.Insert(i.Params, at, ps...)
}

// Get returns the value of key and whether it is present.
func (i *Info) Get(key string) (string, bool) {
	for _, p := range i.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Quote quotes a value the way webui's quote does: a value holding a
// comma, a colon or a newline becomes a JSON string (json.dumps with
// ensure_ascii=False: quotes, backslashes and control characters escaped,
// everything else kept); any other value is written as it is. One
// deliberate difference: a value that starts with a double quote is quoted
// too, since webui's parser would read it as the start of a JSON string.
func Quote(v string) string {
	if !strings.HasPrefix(v, `"`) && !strings.ContainsAny(v, ",:\n") {
		return v
	}
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range v {
		switch r {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&sb, `\u%04x`, r)
			} else {
				sb.WriteRune(r)
			}
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// Format renders info as webui's parameters text (create_infotext): the
// prompt, "Negative prompt: ..." when there is one, and the pairs joined
// by ", " with quoted values; a pair whose value equals its key is written
// as the bare key. The whole text is stripped of surrounding whitespace.
func Format(info Info) string {
	var sb strings.Builder
	sb.WriteString(info.Prompt)
	if info.NegativePrompt != "" {
		sb.WriteString("\nNegative prompt: ")
		sb.WriteString(info.NegativePrompt)
	}
	if len(info.Params) > 0 {
		sb.WriteString("\n")
		for i, p := range info.Params {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(p.Key)
			if p.Value != p.Key {
				sb.WriteString(": ")
				sb.WriteString(Quote(p.Value))
			}
		}
	}
	return pyStrip(sb.String())
}

// FormatFloat writes a number as webui does: no trailing ".0" for whole
// numbers, otherwise the shortest form.
func FormatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
