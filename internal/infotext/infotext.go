package infotext

import (
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

// Get returns the value of key and whether it is present.
func (i *Info) Get(key string) (string, bool) {
	for _, p := range i.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Quote quotes a value the way webui does when it holds a comma, a colon or
// a quote: as a JSON string.
func Quote(v string) string {
	if !strings.ContainsAny(v, ",:\"\n") {
		return v
	}
	return strconv.Quote(v)
}

// Format renders info as webui's parameters text.
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
			sb.WriteString(": ")
			sb.WriteString(Quote(p.Value))
		}
	}
	return sb.String()
}

// FormatFloat writes a number as webui does: no trailing ".0" for whole
// numbers, otherwise the shortest form.
func FormatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
