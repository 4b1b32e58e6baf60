package pipeline

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestApplyStyles(t *testing.T) {
	photo := Style{"photo", "a photo of {prompt}, 35mm", "cartoon"}
	sharp := Style{"sharp", "sharp focus", ""}
	neg := Style{"neg", "", "{prompt}, lowres"}
	tests := []struct {
		name, prompt, negative string
		styles                 []Style
		wantP, wantN           string
	}{
		{"none", "a cat", "ugly", nil, "a cat", "ugly"},
		{"placeholder", "a cat", "ugly", []Style{photo}, "a photo of a cat, 35mm", "ugly, cartoon"},
		{"append", " a cat ", "", []Style{sharp}, "a cat, sharp focus", ""},
		{"in order", "a cat", "", []Style{sharp, photo}, "a photo of a cat, sharp focus, 35mm", "cartoon"},
		{"negative placeholder", "a cat", "ugly", []Style{neg}, "a cat", "ugly, lowres"},
		{"empty prompt", "", "", []Style{photo}, "a photo of , 35mm", "cartoon"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, n := ApplyStyles(tc.prompt, tc.negative, tc.styles)
			if p != tc.wantP || n != tc.wantN {
				t.Errorf("ApplyStyles = %q, %q; want %q, %q", p, n, tc.wantP, tc.wantN)
			}
		})
	}
}

func TestLoadStyles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "styles.csv")
	csv := "\ufeffname,prompt,negative_prompt\n" +
		"photo,\"a photo of {prompt}, 35mm\",\"cartoon, drawing\"\n" +
		"multi, \"line one\nline two\",\n" +
		",ignored,row\n" +
		"short,only prompt\n"
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadStyles(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Style{
		{"photo", "a photo of {prompt}, 35mm", "cartoon, drawing"},
		{"multi", "line one\nline two", ""},
		{"short", "only prompt", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadStyles = %q, want %q", got, want)
	}
	sel, err := FindStyles(got, []string{"short", "photo"})
	if err != nil || len(sel) != 2 || sel[0].Name != "short" {
		t.Errorf("FindStyles = %v, %v", sel, err)
	}
	if _, err := FindStyles(got, []string{"nope"}); err == nil {
		t.Error("FindStyles accepted an unknown style")
	}
	if err := os.WriteFile(path, []byte("title,text2\nx,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadStyles(path); err == nil {
		t.Error("LoadStyles accepted a file without name/prompt columns")
	}
}
