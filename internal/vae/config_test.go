package vae_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"sdgo/internal/testutil"
	"sdgo/internal/vae"
)

// realShapes reads a real-shapes/<name>.json key list.
func realShapes(t *testing.T, name string) map[string][]int {
	t.Helper()
	m := testutil.Fixtures(t)
	raw, err := os.ReadFile(filepath.Join(m.Dir, "real-shapes", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tensors [][3]json.RawMessage `json:"tensors"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	shapes := map[string][]int{}
	for _, row := range doc.Tensors {
		var key string
		var shape []int
		if err := json.Unmarshal(row[0], &key); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(row[1], &shape); err != nil {
			t.Fatal(err)
		}
		shapes[key] = shape
	}
	return shapes
}

// keysUnder lists the sorted keys of shapes that start with prefix.
func keysUnder(shapes map[string][]int, prefix string) []string {
	var keys []string
	for k := range shapes {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func TestDetectConfig(t *testing.T) {
	m := testutil.Fixtures(t)
	sd := vae.DefaultConfig()
	tiny := vae.DefaultConfig()
	tiny.Ch, tiny.ChMult = 32, []int{1, 2, 2, 2}
	for _, tc := range []struct {
		name   string
		shapes func(t *testing.T) map[string][]int
		prefix string
		want   vae.Config
	}{
		{"sd15", func(t *testing.T) map[string][]int { return realShapes(t, "sd15") }, "first_stage_model.", sd},
		{"sd21_768v", func(t *testing.T) map[string][]int { return realShapes(t, "sd21_768v") }, "first_stage_model.", sd},
		{"sdxl_base", func(t *testing.T) map[string][]int { return realShapes(t, "sdxl_base") }, "first_stage_model.", sd},
		{"tiny-sd1 checkpoint", func(t *testing.T) map[string][]int {
			return fileShapes(t, m.Path("tiny-sd1/model.safetensors"))
		}, "first_stage_model.", tiny},
		{"tiny-sd1 checkpoint, prefix without dot", func(t *testing.T) map[string][]int {
			return fileShapes(t, m.Path("tiny-sd1/model.safetensors"))
		}, "first_stage_model", tiny},
		{"tiny-sd1 vae file", func(t *testing.T) map[string][]int {
			return fileShapes(t, m.Path("tiny-sd1/vae.safetensors"))
		}, "", tiny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shapes := tc.shapes(t)
			cfg, err := vae.DetectConfig(shapes, tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if !configEqual(cfg, tc.want) {
				t.Errorf("config %+v, want %+v", cfg, tc.want)
			}
			prefix := tc.prefix
			if prefix != "" && !strings.HasSuffix(prefix, ".") {
				prefix += "."
			}
			var want []string
			for _, k := range keysUnder(shapes, prefix) {
				if k == prefix+"model_ema.decay" || strings.HasPrefix(k, prefix+"loss.") {
					continue // training leftovers some VAE files carry; the graphs never read them
				}
				want = append(want, strings.TrimPrefix(k, prefix))
			}
			if got := vae.Keys(cfg); !slices.Equal(got, want) {
				t.Errorf("Keys(cfg) has %d keys, the file %d VAE keys; only in Keys: %v; only in file: %v",
					len(got), len(want), minus(got, want), minus(want, got))
			}
		})
	}
}

func configEqual(a, b vae.Config) bool {
	return a.InChannels == b.InChannels && a.OutChannels == b.OutChannels && a.Ch == b.Ch &&
		slices.Equal(a.ChMult, b.ChMult) && a.NumResBlocks == b.NumResBlocks &&
		a.ZChannels == b.ZChannels && a.EmbedDim == b.EmbedDim && a.DoubleZ == b.DoubleZ &&
		a.MidAttention == b.MidAttention && slices.Equal(a.AttnLevels, b.AttnLevels) &&
		a.Groups == b.Groups && a.Eps == b.Eps && a.ScaleFactor == b.ScaleFactor
}

// minus lists the elements of a that are not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func TestDetectConfigErrors(t *testing.T) {
	base := realShapes(t, "sd15")
	for _, tc := range []struct {
		name    string
		edit    func(s map[string][]int)
		prefix  string
		wantErr string
	}{
		{"wrong prefix", func(map[string][]int) {}, "vae.", `missing tensor "vae.encoder.conv_in.weight"`},
		{"missing decoder block", func(s map[string][]int) {
			delete(s, "first_stage_model.decoder.up.1.block.2.conv1.weight")
		}, "first_stage_model.", `missing tensor "first_stage_model.decoder.up.1.block.2.conv1.weight"`},
		{"missing post_quant_conv", func(s map[string][]int) {
			delete(s, "first_stage_model.post_quant_conv.weight")
		}, "first_stage_model.", `missing tensor "first_stage_model.post_quant_conv.weight"`},
		{"wrong shape", func(s map[string][]int) {
			s["first_stage_model.decoder.mid.block_1.norm2.bias"] = []int{256}
		}, "first_stage_model.", `"first_stage_model.decoder.mid.block_1.norm2.bias" has shape [256], want [512]`},
		{"linear attention accepted", func(s map[string][]int) {
			s["first_stage_model.encoder.mid.attn_1.q.weight"] = []int{512, 512}
			s["first_stage_model.decoder.mid.attn_1.proj_out.weight"] = []int{512, 512}
		}, "first_stage_model.", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shapes := make(map[string][]int, len(base))
			for k, v := range base {
				shapes[k] = v
			}
			tc.edit(shapes)
			_, err := vae.DetectConfig(shapes, tc.prefix)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %s", err, tc.wantErr)
			}
		})
	}
}

func TestApplyHints(t *testing.T) {
	m := testutil.Fixtures(t)
	var model struct {
		LDM json.RawMessage `json:"ldm"`
	}
	if err := json.Unmarshal(m.Models["tiny-sd1"], &model); err != nil {
		t.Fatal(err)
	}
	shapes := fileShapes(t, m.Path("tiny-sd1/model.safetensors"))
	for _, tc := range []struct {
		name      string
		hints     json.RawMessage
		wantScale float64
		wantErr   string
	}{
		{"fixture ldm object", model.LDM, vae.ScaleSD, ""},
		{"vae member only", json.RawMessage(`{"scale_factor": 0.13025, "norm_groups": 32}`), vae.ScaleSDXL, ""},
		{"contradicts weights", json.RawMessage(`{"vae": {"ch": 128}}`), 0, "ch is 128 but the weights say 32"},
		{"not json", json.RawMessage(`[`), 0, "vae: hints"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := vae.DetectConfig(shapes, "first_stage_model.")
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.ApplyHints(tc.hints)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ScaleFactor != tc.wantScale || cfg.Groups != 32 || cfg.Eps != 1e-6 {
				t.Errorf("scale %v groups %d eps %v, want scale %v groups 32 eps 1e-6", cfg.ScaleFactor, cfg.Groups, cfg.Eps, tc.wantScale)
			}
		})
	}
}
