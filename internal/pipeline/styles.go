package pipeline

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
)

// Style is one row of webui's styles.csv: text added to the prompt and the
// negative prompt.
type Style struct {
	Name           string
	Prompt         string
	NegativePrompt string
}

// LoadStyles reads a webui styles.csv: a header row naming at least "name"
// and "prompt" (webui's legacy "text" is accepted for "prompt";
// "negative_prompt" and other columns are optional), one style a row.
func LoadStyles(path string) ([]Style, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: load styles: %w", err)
	}
	styles, err := ParseStyles(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	if err != nil {
		return nil, fmt.Errorf("pipeline: load styles: %s: %w", path, err)
	}
	return styles, nil
}

// ParseStyles reads styles in styles.csv's format (see LoadStyles).
func ParseStyles(r io.Reader) ([]Style, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true // webui reads with skipinitialspace
	head, err := cr.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	if _, ok := col["prompt"]; !ok {
		if i, ok := col["text"]; ok {
			col["prompt"] = i
		}
	}
	if _, ok := col["name"]; !ok {
		return nil, fmt.Errorf("no \"name\" column in header %q", head)
	}
	if _, ok := col["prompt"]; !ok {
		return nil, fmt.Errorf("no \"prompt\" column in header %q", head)
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	var out []Style
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if get(row, "name") == "" {
			continue
		}
		out = append(out, Style{Name: get(row, "name"), Prompt: get(row, "prompt"), NegativePrompt: get(row, "negative_prompt")})
	}
}

// FindStyles returns the named styles in the order given, or an error
// naming the first unknown one.
func FindStyles(styles []Style, names []string) ([]Style, error) {
	var out []Style
	for _, n := range names {
		found := false
		for _, s := range styles {
			if s.Name == n {
				out = append(out, s)
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("pipeline: style %q not found", n)
		}
	}
	return out, nil
}

// ApplyStyles adds styles to a prompt and a negative prompt in order, as
// webui does: a style text with a {prompt} placeholder has it replaced by
// the prompt so far; otherwise the style text is appended after ", "
// (empty and whitespace-only sides are left out).
func ApplyStyles(prompt, negative string, styles []Style) (string, string) {
	for _, s := range styles {
		prompt = mergeStyle(s.Prompt, prompt)
		negative = mergeStyle(s.NegativePrompt, negative)
	}
	return prompt, negative
}

func mergeStyle(style, prompt string) string {
	if strings.Contains(style, "{prompt}") {
		return strings.ReplaceAll(style, "{prompt}", prompt)
	}
	var parts []string
	for _, p := range []string{strings.TrimSpace(prompt), strings.TrimSpace(style)} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}
