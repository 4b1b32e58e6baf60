package infotext

import "testing"

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
