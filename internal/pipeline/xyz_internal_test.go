package pipeline

import (
	"reflect"
	"strings"
	"testing"
)

func TestXYZAxisValues(t *testing.T) {
	for _, c := range []struct {
		axis, text string
		want       []any
		labels     []string
		err        string
	}{
		{"steps", " 4 , 8 ", []any{int64(4), int64(8)}, []string{"Steps: 4", "Steps: 8"}, ""},
		{"Steps", "1-5", []any{int64(1), int64(2), int64(3), int64(4), int64(5)}, nil, ""},
		{"steps", "1-9 (+2)", []any{int64(1), int64(3), int64(5), int64(7), int64(9)}, nil, ""},
		{"steps", "10-1 (-3)", []any{int64(10), int64(7), int64(4)}, nil, ""},
		{"steps", "10-20 [3]", []any{int64(10), int64(15), int64(20)}, nil, ""},
		{"steps", "1-2 [4]", []any{int64(1), int64(1), int64(1), int64(2)}, nil, ""}, // int() of linspace
		{"steps", "1-3, 7", []any{int64(1), int64(2), int64(3), int64(7)}, nil, ""},
		{"seed", "-1, - 2-0", []any{int64(-1), int64(-2), int64(-1), int64(0)}, nil, ""},
		{"steps", "5-1", nil, nil, `Steps: "5-1": range holds no values`},
		{"steps", "1-5 (+0)", nil, nil, "range step must not be 0"},
		{"steps", "4, x", nil, nil, `Steps: "x" is not an integer or a range`},
		{"steps", "1.5", nil, nil, `"1.5" is not an integer`},
		{"steps", "", nil, nil, "Steps: no values"},
		{"steps", "1-100000", nil, nil, "more than 10000"},
		{"cfg", "3,7.5", []any{3.0, 7.5}, []string{"CFG Scale: 3.0", "CFG Scale: 7.5"}, ""},
		{"CFG Scale", "1-2 (+0.25)", []any{1.0, 1.25, 1.5, 1.75, 2.0}, nil, ""},
		{"cfg", "1-2 [3]", []any{1.0, 1.5, 2.0}, nil, ""},
		{"cfg", "7-8", []any{7.0, 8.0}, nil, ""},
		// numpy.arange(1, 1.2+0.1, 0.1) has 4 values: (1.3-1)/0.1 rounds up past 3.
		{"cfg", "1-1.2 (+0.1)", []any{1.0, 1.1, 1.2000000000000002, 1.3000000000000003}, []string{"CFG Scale: 1.0", "CFG Scale: 1.1", "CFG Scale: 1.2", "CFG Scale: 1.3"}, ""},
		{"cfg", "1e-5, 0.0001", []any{1e-5, 1e-4}, []string{"CFG Scale: 1e-05", "CFG Scale: 0.0001"}, ""},
		{"cfg", "high", nil, nil, `CFG Scale: "high" is not a number`},
		{"denoising", "0.5", []any{0.5}, []string{"Denoising: 0.5"}, ""},
		{"prompt-sr", `cat, "dog, big", 'x'`, []any{"cat", "dog, big", "'x'"}, []string{"cat", "dog, big", "'x'"}, ""},
		{"Prompt S/R", `"a ""q"" b",c`, []any{`a "q" b`, "c"}, nil, ""},
		{"prompt-sr", "a\nb,c", []any{"a", "b", "c"}, nil, ""},
		{"sr", `"open`, nil, nil, "unterminated quote"},
		{"sampler", "Euler a, DPM++ 2M Karras", []any{"Euler a", "DPM++ 2M Karras"}, []string{"Euler a", "DPM++ 2M Karras"}, ""},
		{"checkpoint", "models/a.safetensors,b.ckpt", nil, []string{"a.safetensors", "b.ckpt"}, ""},
		{"vae", "x.pt", nil, []string{"VAE: x.pt"}, ""},
		{"size", "64x96", nil, []string{"Size: 64x96"}, ""},
		{"Nothing", "ignored", []any{int64(0)}, []string{""}, ""},
		{"", "", []any{int64(0)}, []string{""}, ""},
		{"prompt order", "a, b, c", []any{[]string{"a", "b", "c"}, []string{"a", "c", "b"}, []string{"b", "a", "c"},
			[]string{"b", "c", "a"}, []string{"c", "a", "b"}, []string{"c", "b", "a"}}, []string{"a, b, c", "a, c, b", "b, a, c", "b, c, a", "c, a, b", "c, b, a"}, ""},
		{"bogus", "1", nil, nil, `unknown axis type "bogus" (known: Nothing, Seed,`},
	} {
		t.Run(c.axis+"/"+c.text, func(t *testing.T) {
			at, vals, err := ParseAxis(Axis{Type: c.axis, Values: c.text})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want != nil && !reflect.DeepEqual(vals, c.want) {
				t.Errorf("values %#v, want %#v", vals, c.want)
			}
			if c.labels != nil {
				var got []string
				for _, v := range vals {
					got = append(got, at.Format(v))
				}
				if !reflect.DeepEqual(got, c.labels) {
					t.Errorf("labels %q, want %q", got, c.labels)
				}
			}
		})
	}
}

func TestLookupAxis(t *testing.T) {
	for name, want := range map[string]string{
		"CFG Scale": "CFG Scale", "cfg": "CFG Scale", "cfg_scale": "CFG Scale", "prompt-sr": "Prompt S/R", "PROMPT S/R": "Prompt S/R",
		"checkpoint": "Checkpoint name", "Checkpoint name": "Checkpoint name", "clip-skip": "Clip skip", "hires-steps": "Hires steps",
		"Var. seed": "Var. seed", "subseed": "Var. seed", "scheduler": "Schedule type", "hires-upscaler": "Hires upscaler",
		"hires-denoising": "Denoising", "vae": "VAE", "size": "Size", "nothing": "Nothing", "rng": "RNG source",
	} {
		got, ok := LookupAxis(name)
		if !ok || got.Label != want {
			t.Errorf("LookupAxis(%q) = %v, %v; want %s", name, got, ok, want)
		}
	}
	if _, ok := LookupAxis("cfgg"); ok {
		t.Error("LookupAxis accepted cfgg")
	}
}

func TestPyFloat(t *testing.T) {
	for f, want := range map[float64]string{7: "7.0", 7.5: "7.5", 0: "0.0", -2: "-2.0", 1e-5: "1e-05", 1e16: "1e+16",
		123456: "123456.0", 0.0001: "0.0001", 1.5e-7: "1.5e-07", 1e15: "1000000000000000.0"} {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", f, got, want)
		}
	}
	if got := roundTo8(0.1 + 0.2); got != 0.3 {
		t.Errorf("roundTo8(0.1+0.2) = %v", got)
	}
}

func TestXYZConfirm(t *testing.T) {
	base := Params{Prompt: "a cat on a mat", NegativePrompt: "ugly cat", Width: 64, Height: 64, Seed: 3}
	for _, c := range []struct {
		name string
		axes [3]Axis
		err  string
	}{
		{"sampler", [3]Axis{{"sampler", "Euler, bogus"}}, `X axis: Sampler: unknown sampler "bogus"`},
		{"hires sampler", [3]Axis{{}, {"hires-sampler", "nope"}}, `Y axis: Hires sampler: unknown sampler "nope"`},
		{"scheduler", [3]Axis{{}, {}, {"scheduler", "karras, wobbly"}}, `Z axis: Schedule type: unknown schedule type "wobbly"`},
		{"upscaler", [3]Axis{{"hires-upscaler", "Latent, Lanczos, magic"}}, `hires upscaler "magic"`},
		{"sr missing", [3]Axis{{"prompt-sr", "dog, cat"}}, `Prompt S/R: prompt S/R did not find "dog"`},
		{"order missing", [3]Axis{{"prompt order", "cat, dog"}}, `"dog" is not in the prompt`},
		{"size", [3]Axis{{"size", "64x64, 64*96"}}, `size "64*96": want WIDTHxHEIGHT`},
		{"rng", [3]Axis{{"rng", "CPU, TPU"}}, `X axis: RNG source:`},
		{"no loader", [3]Axis{{"checkpoint", "a,b"}}, "Checkpoint name needs a model loader"},
		{"too big", [3]Axis{{"steps", "1-100"}, {"steps", "1-100"}, {"steps", "1-10"}}, "megapixels"},
		{"ok", [3]Axis{{"prompt-sr", "cat, dog"}, {"sampler", "Euler a, DDIM"}, {"scheduler", "Karras"}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := base
			_, err := planXYZ(&p, c.axes, XYZOptions{})
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want one containing %q", err, c.err)
			}
		})
	}
}

func TestXYZApply(t *testing.T) {
	p := Params{Prompt: "a cat on a mat, cat", NegativePrompt: "ugly cat", Hires: Hires{Prompt: "hr cat"}}
	q := p
	if err := applyPromptSR(&q, "dog", []any{"cat", "dog"}); err != nil {
		t.Fatal(err)
	}
	if q.Prompt != "a dog on a mat, dog" || q.NegativePrompt != "ugly dog" || q.Hires.Prompt != "hr dog" {
		t.Errorf("prompt S/R: %+v", q)
	}
	q = Params{Prompt: "x red, y blue, z green"}
	if err := applyPromptOrder(&q, []string{"green", "red", "blue"}, nil); err != nil {
		t.Fatal(err)
	}
	if q.Prompt != "x green, y red, z blue" {
		t.Errorf("prompt order: %q", q.Prompt)
	}
	q = Params{}
	if err := applySize(&q, "96 x 64", nil); err != nil || q.Width != 96 || q.Height != 64 {
		t.Errorf("size: %+v %v", q, err)
	}
}

func TestXYZLoopOrder(t *testing.T) {
	for _, c := range []struct {
		cost [3]float64
		want [3]int
	}{
		{[3]float64{0, 0, 0}, [3]int{2, 1, 0}},   // webui's default: Z, Y, X innermost
		{[3]float64{1, 0, 0}, [3]int{0, 2, 1}},   // checkpoint on X: X outermost
		{[3]float64{1, 0.7, 0}, [3]int{0, 1, 2}}, // then VAE
		{[3]float64{0, 1, 0.7}, [3]int{1, 2, 0}},
		{[3]float64{0.7, 0, 1}, [3]int{2, 0, 1}},
		{[3]float64{1, 1, 0}, [3]int{2, 1, 0}}, // a tie keeps the default
	} {
		if got := loopOrder(c.cost); got != c.want {
			t.Errorf("loopOrder(%v) = %v, want %v", c.cost, got, c.want)
		}
	}
}

func TestXYZVarySeeds(t *testing.T) {
	var axes [3]plotAxis
	for i, a := range []Axis{{"steps", "1,2,3"}, {"cfg", "1,2"}, {"eta", "0,1"}} {
		at, vals, err := ParseAxis(a)
		if err != nil {
			t.Fatal(err)
		}
		axes[i] = plotAxis{t: at, vals: vals}
	}
	for _, c := range []struct {
		o    XYZOptions
		seed int64
		want int64
	}{
		{XYZOptions{}, 100, 100},
		{XYZOptions{VarySeedsX: true}, 100, 102},
		{XYZOptions{VarySeedsY: true}, 100, 101},
		{XYZOptions{VarySeedsX: true, VarySeedsY: true}, 100, 105},
		{XYZOptions{VarySeedsX: true, VarySeedsY: true, VarySeedsZ: true}, 100, 111},
		{XYZOptions{VarySeedsZ: true}, 100, 101},
		{XYZOptions{VarySeedsX: true, KeepRandomSeeds: true}, -1, -1},
	} {
		q, _, err := cellParams(Params{Seed: c.seed}, axes, [3]int{2, 1, 1}, c.o)
		if err != nil {
			t.Fatal(err)
		}
		if q.Seed != c.want || q.Steps != 3 || q.CFGScale != 2 || *q.Eta != 1 {
			t.Errorf("%+v: seed %d steps %d cfg %v, want seed %d", c.o, q.Seed, q.Steps, q.CFGScale, c.want)
		}
	}
}
