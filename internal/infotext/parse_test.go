package infotext

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// webuiTexts are infotexts laid out as webui v1.x writes them (SPEC.md
// section 3): field order, quoting, hashes and hires/LoRA/inpaint fields.
var webuiTexts = map[string]string{
	"sd15 lora hires": "masterpiece, best quality, 1girl, (blue eyes:1.2), <lora:add_detail:0.8>\n" +
		"Negative prompt: (worst quality, low quality:1.4), EasyNegative\n" +
		"Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 3847562910, Size: 512x768, " +
		"Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, VAE hash: 735e4c3a44, VAE: vae-ft-mse-840000-ema-pruned.safetensors, " +
		"Denoising strength: 0.45, Clip skip: 2, Hires upscale: 2, Hires steps: 15, Hires upscaler: R-ESRGAN 4x+ Anime6B, " +
		`Lora hashes: "add_detail: 7c6bad76eb54", TI hashes: "EasyNegative: c74b4e810b03", Version: v1.10.1`,
	"multi-line prompts": "a photo of a cat\nsitting on a windowsill, golden hour\n" +
		"Negative prompt: blurry\nlowres, watermark\n" +
		"Steps: 20, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7.5, Seed: 42, Size: 1024x1024, " +
		"Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.9.4",
	"old hash and first pass": "portrait of a knight, intricate armor\n" +
		"Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 11, Seed: 1234567890, Size: 1024x1024, Model hash: 7460a6fa, " +
		"Denoising strength: 0.7, First pass size: 0x0, ENSD: 31337",
	"inpaint": "a red sports car\nNegative prompt: cartoon\n" +
		"Steps: 28, Sampler: DPM++ SDE, Schedule type: Karras, CFG scale: 6.5, Seed: 99, Size: 768x512, " +
		"Model hash: e6bb9ea85b, Model: realisticVisionV60B1_v51VAE-inpainting, Denoising strength: 0.75, " +
		"Conditional mask weight: 1.0, Mask blur: 4, Inpaint area: Only masked, Masked area padding: 32, " +
		"Masked content: latent noise, Version: v1.10.1",
	"xyz and hires prompt": "castle on a hill\n" +
		"Steps: 20, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Seed: 5, Size: 512x512, Model hash: 6ce0161689, " +
		`Model: v1-5-pruned-emaonly, Denoising strength: 0.5, Hires upscale: 1.5, Hires steps: 10, Hires upscaler: Latent, ` +
		`Hires prompt: "castle: stone\nbanners", Hires negative prompt: "bad \"hands\", blurry", ` +
		`Script: X/Y/Z plot, X Type: Sampler, X Values: "Euler a, DPM++ 2M", Y Type: CFG Scale, Y Values: "5,7,9", Version: v1.10.1`,
	"unicode": "日本の猫, 桜\nNegative prompt: ぼやけた\n" +
		`Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Lora hashes: "猫: 0123456789ab, sakura-v2: 89abcdef0123", Version: v1.10.1`,
	"three params":              "x\nSteps: 1, Sampler: LMS, CFG scale: 1",
	"no prompt":                 "Steps: 20, Sampler: Euler, CFG scale: 7, Seed: 2, Size: 64x64",
	"prompt only":               "just a prompt\nwith two lines",
	"prompt with key-like text": "score: 9, style: anime\nSteps: 4, Sampler: Heun, CFG scale: 3, Seed: 8, Size: 64x64",
	"variation seed": "cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 10, Size: 512x512, Variation seed: 11, " +
		"Variation seed strength: 0.3, Seed resize from: 768x512, RNG: CPU, Emphasis: No norm, Version: v1.10.1",
}

func TestParseRoundTrip(t *testing.T) {
	for name, s := range webuiTexts {
		t.Run(name, func(t *testing.T) {
			info, err := Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := Format(info); got != s {
				t.Errorf("Format(Parse(s)):\n got %q\nwant %q", got, s)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		name, text   string
		prompt, neg  string
		want         map[string]string // a subset of the params
		nParams      int
		w, h         int
		hash         string
		oldHash      bool
		loraHashes   []NameHash
		hiresResizeW int
	}{
		{name: "sd15 lora hires", text: webuiTexts["sd15 lora hires"],
			prompt: "masterpiece, best quality, 1girl, (blue eyes:1.2), <lora:add_detail:0.8>",
			neg:    "(worst quality, low quality:1.4), EasyNegative",
			want: map[string]string{"Steps": "25", "Schedule type": "Karras", "CFG scale": "7", "Seed": "3847562910",
				"VAE": "vae-ft-mse-840000-ema-pruned.safetensors", "Hires upscaler": "R-ESRGAN 4x+ Anime6B",
				"Lora hashes": "add_detail: 7c6bad76eb54", "Version": "v1.10.1"},
			nParams: 18, w: 512, h: 768, hash: "6ce0161689",
			loraHashes: []NameHash{{"add_detail", "7c6bad76eb54"}}},
		{name: "multi-line", text: webuiTexts["multi-line prompts"],
			prompt: "a photo of a cat\nsitting on a windowsill, golden hour", neg: "blurry\nlowres, watermark",
			want: map[string]string{"CFG scale": "7.5", "Model": "sd_xl_base_1.0"}, nParams: 9, w: 1024, h: 1024, hash: "31e35c80fc"},
		{name: "old hash", text: webuiTexts["old hash and first pass"], prompt: "portrait of a knight, intricate armor",
			want:    map[string]string{"Sampler": "DPM++ 2M Karras", "ENSD": "31337", "First pass size": "0x0"},
			nParams: 9, w: 1024, h: 1024, hash: "7460a6fa", oldHash: true},
		{name: "quoted", text: webuiTexts["xyz and hires prompt"], prompt: "castle on a hill",
			want: map[string]string{"Hires prompt": "castle: stone\nbanners", "Hires negative prompt": `bad "hands", blurry`,
				"X Values": "Euler a, DPM++ 2M", "Y Values": "5,7,9", "Script": "X/Y/Z plot"},
			nParams: 20, w: 512, h: 512, hash: "6ce0161689"},
		{name: "unicode", text: webuiTexts["unicode"], prompt: "日本の猫, 桜", neg: "ぼやけた", nParams: 7, w: 512, h: 512,
			loraHashes: []NameHash{{"猫", "0123456789ab"}, {"sakura-v2", "89abcdef0123"}}},
		{name: "prompt only", text: webuiTexts["prompt only"], prompt: "just a prompt\nwith two lines"},
		{name: "key-like prompt", text: webuiTexts["prompt with key-like text"], prompt: "score: 9, style: anime",
			nParams: 5, w: 64, h: 64},
		{name: "two pairs are prompt", text: "a\nSteps: 20, Seed: 1", prompt: "a\nSteps: 20, Seed: 1"},
		{name: "stripped lines", text: "  \n  a cat  \n\n b \nNegative prompt:ugly  \n  Steps: 2, Sampler: Euler, CFG scale: 7  \n",
			prompt: "a cat\n\nb", neg: "ugly", want: map[string]string{"Steps": "2", "CFG scale": "7"}, nParams: 3},
		{name: "empty values dropped", text: "p\nSteps: 2, Sampler: , CFG scale: 7, Seed: 3",
			prompt: "p", want: map[string]string{"Steps": "2", "Seed": "3"}, nParams: 3},
		{name: "bad json kept", text: `p` + "\n" + `Steps: 2, Note: "a\x", CFG scale: 7`, prompt: "p",
			want: map[string]string{"Note": `"a\x"`}, nParams: 3},
		{name: "repeated key", text: "p\nSteps: 2, Seed: 1, Steps: 3", prompt: "p",
			want: map[string]string{"Steps": "3", "Seed": "1"}, nParams: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Parse(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if info.Prompt != tt.prompt || info.NegativePrompt != tt.neg {
				t.Errorf("prompt %q negative %q, want %q and %q", info.Prompt, info.NegativePrompt, tt.prompt, tt.neg)
			}
			if len(info.Params) != tt.nParams {
				t.Errorf("%d params %v, want %d", len(info.Params), info.Params, tt.nParams)
			}
			for k, want := range tt.want {
				if got, ok := info.Get(k); !ok || got != want {
					t.Errorf("%s = %q (%v), want %q", k, got, ok, want)
				}
			}
			if w, h, ok := info.Size(); (tt.w != 0) != ok || w != tt.w || h != tt.h {
				t.Errorf("Size() = %d, %d, %v, want %d x %d", w, h, ok, tt.w, tt.h)
			}
			if hash, old, ok := info.ModelHash(); (tt.hash != "") != ok || hash != tt.hash || old != tt.oldHash {
				t.Errorf("ModelHash() = %q, old %v, %v; want %q, old %v", hash, old, ok, tt.hash, tt.oldHash)
			}
			if got := info.Hashes("Lora hashes"); tt.loraHashes != nil && !reflect.DeepEqual(got, tt.loraHashes) {
				t.Errorf("Lora hashes = %v, want %v", got, tt.loraHashes)
			}
		})
	}
}

func TestParseInvalidUTF8(t *testing.T) {
	if _, err := Parse("a\xffb"); err == nil {
		t.Error("Parse accepted invalid UTF-8")
	}
}

func TestParameters(t *testing.T) {
	tests := []struct {
		name string
		text string
		want map[string]any
		not  []string
	}{
		{"defaults and size split", webuiTexts["multi-line prompts"], map[string]any{
			"Prompt": "a photo of a cat\nsitting on a windowsill, golden hour", "Negative prompt": "blurry\nlowres, watermark",
			"Size-1": "1024", "Size-2": "1024", "Clip skip": "1", "RNG": "GPU", "Schedule type": "Automatic",
			"Hires resize-1": 0, "Hires resize-2": 0, "Hires sampler": "Use same sampler", "Mask mode": "Inpaint masked",
			"Masked content": "original", "Inpaint area": "Whole picture", "Masked area padding": 32,
			"VAE Encoder": "Full", "FP8 weight": "Disable", "Refiner switch by sampling steps": false,
		}, []string{"Size", "Downcast alphas_cumprod", "Cache FP16 weight for LoRA"}},
		{"old first pass", webuiTexts["old hash and first pass"], map[string]any{
			"Size-1": 512, "Size-2": 512, "Hires resize-1": 1024, "Hires resize-2": 1024, "ENSD": "31337",
		}, []string{"Downcast alphas_cumprod"}}, // no Version: no backcompat
		{"first pass given", "p\nSteps: 20, Size: 1024x768, First pass size: 512x384, Version: v1.5.1", map[string]any{
			"Size-1": 512, "Size-2": 384, "Hires resize-1": 1024, "Hires resize-2": 768, "Downcast alphas_cumprod": true,
		}, []string{"Old prompt editing timelines"}},
		{"old editing timelines", "a [b:c:0.5]\nSteps: 20, Sampler: DDIM, CFG scale: 7, Version: v1.5.2", map[string]any{
			"Old prompt editing timelines": true, "Pad conds v0": true, "Downcast alphas_cumprod": true,
		}, nil},
		{"tsnr post release", "a\nSteps: 20, Sampler: Euler, CFG scale: 7, Version: v1.7.0-225-g1234567", nil,
			[]string{"Downcast alphas_cumprod"}},
		{"before tsnr", "a\nSteps: 20, Sampler: Euler, CFG scale: 7, Version: v1.7.0-224-gabc", map[string]any{
			"Downcast alphas_cumprod": true}, nil},
		{"rc is before release", "a\nSteps: 20, Sampler: Euler, CFG scale: 7, Version: v1.6.0-RC-28-gabc", map[string]any{
			"Old prompt editing timelines": nil, "Downcast alphas_cumprod": true}, nil},
		{"hypernet", "a cat\nSteps: 20, Hypernet: anime, Hypernet strength: 0.6", map[string]any{
			"Prompt": "a cat<hypernet:anime:0.6>"}, nil},
		{"fp8", "a\nSteps: 20, FP8 weight: Enable, CFG scale: 7", map[string]any{
			"Cache FP16 weight for LoRA": false}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Parse(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			got := info.Parameters()
			for k, want := range tt.want {
				if want == nil {
					if _, ok := got[k]; ok {
						t.Errorf("%s is set to %v", k, got[k])
					}
					continue
				}
				if got[k] != want {
					t.Errorf("%s = %#v, want %#v", k, got[k], want)
				}
			}
			for _, k := range tt.not {
				if _, ok := got[k]; ok {
					t.Errorf("%s is set to %v", k, got[k])
				}
			}
			if _, err := json.Marshal(got); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	tests := map[string]string{
		"plain":           "plain",
		"a, b":            `"a, b"`,
		"k: v":            `"k: v"`,
		"line\nbreak":     `"line\nbreak"`,
		`say "hi"`:        `say "hi"`, // webui quotes only for , : and newlines
		`"wrapped"`:       `"\"wrapped\""`,
		`"`:               `"\""`,
		`"open`:           `"\"open"`,
		"tab\t, \\ \x01:": `"tab\t, \\ \u0001:"`,
		"猫, 犬":            `"猫, 犬"`,
	}
	for in, want := range tests {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
		if got := unquote(Quote(in)); got != in {
			t.Errorf("unquote(Quote(%q)) = %q", in, got)
		}
	}
}

func TestFormatBareKeyAndStrip(t *testing.T) {
	info := Info{Params: []Param{{"Steps", "20"}, {"Tiling", "Tiling"}, {"CFG scale", "7"}}}
	if got, want := Format(info), "Steps: 20, Tiling, CFG scale: 7"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range webuiTexts {
		f.Add(s)
	}
	f.Add("")
	f.Add("\n\n")
	f.Add("Negative prompt:")
	f.Add(`a` + "\n" + `K: "\u00e9\"", L: "x, M: y, N: 1x2`)
	f.Fuzz(func(t *testing.T, s string) {
		info, err := Parse(s)
		if utf8.ValidString(s) != (err == nil) {
			t.Fatalf("Parse(%q) error %v", s, err)
		}
		if err != nil {
			return
		}
		for _, p := range info.Params {
			if p.Key == "" || strings.Contains(p.Key, ":") {
				t.Fatalf("bad pair %q from %q", p, s)
			}
		}
		out := Format(info)
		if !utf8.ValidString(out) {
			t.Fatalf("Format gave invalid UTF-8 for %q", s)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		_ = again.Parameters()
		// Values survive Format -> Parse when the params line stays one.
		if len(info.Params) >= 3 && len(again.Params) == len(info.Params) {
			for i, p := range info.Params {
				q := again.Params[i]
				if q.Key == p.Key && q.Value != p.Value && pyStrip(p.Value) == p.Value && !strings.Contains(p.Key, "  ") {
					t.Fatalf("value %q became %q (text %q -> %q)", p.Value, q.Value, s, out)
				}
			}
		}
	})
}
