package infotext

import (
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		info Info
		want string
	}{
		{"plain", Info{Prompt: "a cat", Params: []Param{{"Steps", "20"}, {"Sampler", "Euler a"}, {"CFG scale", "7"}}},
			"a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7"},
		{"negative", Info{Prompt: "a cat", NegativePrompt: "blurry", Params: []Param{{"Seed", "1"}}},
			"a cat\nNegative prompt: blurry\nSeed: 1"},
		{"quoted", Info{Prompt: "p", Params: []Param{{"Lora hashes", "a: 123, b: 456"}}},
			"p\nLora hashes: \"a: 123, b: 456\""},
		{"no params", Info{Prompt: "p"}, "p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(tt.info); got != tt.want {
				t.Errorf("Format = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormatFloat(t *testing.T) {
	for in, want := range map[float64]string{7: "7", 7.5: "7.5", 0.75: "0.75", 1e-3: "0.001"} {
		if got := FormatFloat(in); got != want {
			t.Errorf("FormatFloat(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestInsert(t *testing.T) {
	base := func() Info {
		return Info{Params: []Param{{"Steps", "20"}, {"Seed", "1"}, {"Clip skip", "2"}, {"Version", "v"}, {"User", "u"}}}
	}
	keys := func(i Info) string {
		var k []string
		for _, p := range i.Params {
			k = append(k, p.Key)
		}
		return strings.Join(k, ",")
	}
	x := Param{"X", "x"}
	for _, tc := range []struct {
		name string
		do   func(*Info)
		want string
	}{
		{"after the last present", func(i *Info) { i.InsertAfterLast([]string{"Seed", "Steps", "Size"}, x) }, "Steps,Seed,X,Clip skip,Version,User"},
		{"after: none present goes first", func(i *Info) { i.InsertAfterLast([]string{"Size"}, x) }, "X,Steps,Seed,Clip skip,Version,User"},
		{"before the first present", func(i *Info) { i.InsertBefore([]string{"User", "Version"}, x, x) }, "Steps,Seed,Clip skip,X,X,Version,User"},
		{"before: none present goes last", func(i *Info) { i.InsertBefore([]string{"Hypernet"}, x) }, "Steps,Seed,Clip skip,Version,User,X"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := base()
			tc.do(&i)
			if got := keys(i); got != tc.want {
				t.Errorf("keys %s, want %s", got, tc.want)
			}
		})
	}
}
