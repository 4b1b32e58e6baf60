package pipeline

import (
	"reflect"
	"strings"
	"testing"
)

func TestMatrixPrompts(t *testing.T) {
	for _, c := range []struct {
		in      string
		atStart bool
		want    []string
	}{
		{"a|b|c", false, []string{"a", "a, b", "a, c", "a, b, c"}},
		{"a|b|c", true, []string{"a", "b, a", "c, a", "b, c, a"}},
		{"photo of a cat| red, | in snow", false, []string{"photo of a cat", "photo of a cat, red", "photo of a cat, in snow", "photo of a cat, red, in snow"}},
		{"x|y", false, []string{"x", "x, y"}},
		{"plain", false, []string{"plain"}},
	} {
		got, _ := MatrixPrompts(c.in, c.atStart)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("MatrixPrompts(%q, %v) = %q, want %q", c.in, c.atStart, got, c.want)
		}
	}
	rows, cols := MatrixLabels([]string{"b", "c", "d"})
	if len(cols) != 4 || len(rows) != 2 || len(cols[0]) != 2 || cols[1][0].Text != "b" || !cols[1][0].Active || cols[1][1].Active || !rows[1][0].Active || rows[1][0].Text != "d" {
		t.Errorf("MatrixLabels: rows %v cols %v", rows, cols)
	}
}

func TestParsePromptsFile(t *testing.T) {
	base := Params{Prompt: "base", Steps: 20, CFGScale: 7, Width: 512, Height: 512, Seed: -1, BatchSize: 1, BatchCount: 1}
	for _, c := range []struct {
		name, line string
		want       func(p *Params)
		err        string
	}{
		{"plain", "a cat on a mat", func(p *Params) { p.Prompt = "a cat on a mat" }, ""},
		{"quoted", `--prompt "a \"red\" cat" --negative_prompt 'blurry, ugly' --steps 12`, func(p *Params) {
			p.Prompt, p.NegativePrompt, p.Steps = `a "red" cat`, "blurry, ugly", 12
		}, ""},
		{"unquoted words join", `--prompt a big dog --cfg_scale 4.5 --seed 5`, func(p *Params) { p.Prompt, p.CFGScale, p.Seed = "a big dog", 4.5, 5 }, ""},
		{"all numbers", `--sampler_name "Euler a" --width 640 --height 384 --batch_size 2 --n_iter 3 --subseed 9 --subseed_strength 0.25`, func(p *Params) {
			p.Sampler, p.Width, p.Height, p.BatchSize, p.BatchCount, p.Subseed, p.SubseedStrength = "Euler a", 640, 384, 2, 3, 9, 0.25
		}, ""},
		{"unknown", `--prompt x --bogus 3`, nil, "line 1: unknown option --bogus"},
		{"bad int", `--steps twenty`, nil, `line 1: option --steps: "twenty" is not an integer`},
		{"bad float", `--cfg_scale high`, nil, `"high" is not a number`},
		{"missing value", `--prompt x --steps`, nil, "missing value for option --steps"},
		{"unterminated", `--prompt "x`, nil, "unterminated"},
		{"stray word", `--steps 3 extra`, nil, `"extra": options must start with "--"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			jobs, err := ParsePromptsFile("\n  \n"+c.line+"\n", base)
			if c.err != "" {
				if err == nil || !strings.Contains(strings.Replace(err.Error(), "line 3", "line 1", 1), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := base
			c.want(&want)
			if len(jobs) != 1 || !reflect.DeepEqual(jobs[0], want) {
				t.Errorf("got %+v\nwant %+v", jobs, want)
			}
		})
	}
	jobs, err := ParsePromptsFile("one\n\n--prompt two --steps 3\nthree\n", base)
	if err != nil || len(jobs) != 3 || jobs[1].Prompt != "two" || jobs[1].Steps != 3 || jobs[2].Steps != 20 {
		t.Errorf("three lines: %+v, %v", jobs, err)
	}
}
