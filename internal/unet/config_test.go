package unet_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sdgo/internal/safetensors"
	"sdgo/internal/testutil"
	"sdgo/internal/unet"
)

const prefix = "model.diffusion_model."

// realShapes reads a real-shapes/<name>.json key list.
func realShapes(t *testing.T, dir, name string) map[string][]int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "real-shapes", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Tensors [][3]json.RawMessage `json:"tensors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	shapes := map[string][]int{}
	for _, row := range f.Tensors {
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

// fileShapes reads the tensor shapes of a safetensors file.
func fileShapes(t testing.TB, path string) map[string][]int {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	shapes := map[string][]int{}
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		shapes[name] = info.Shape
	}
	return shapes
}

// unetOnly keeps the shapes under prefix.
func unetOnly(shapes map[string][]int) map[string][]int {
	out := map[string][]int{}
	for k, v := range shapes {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

func TestDetectConfig(t *testing.T) {
	m := testutil.Fixtures(t)
	tests := []struct {
		name   string
		shapes func() map[string][]int
		hints  json.RawMessage
		want   unet.Config
	}{
		{
			name:   "sd15",
			shapes: func() map[string][]int { return realShapes(t, m.Dir, "sd15") },
			want: unet.Config{InChannels: 4, OutChannels: 4, ModelChannels: 320, ChannelMult: []int{1, 2, 4, 4},
				NumResBlocks: 2, TransformerDepth: []int{1, 1, 1, 0}, MiddleDepth: 1, ContextDim: 768,
				NumHeads: 8, TimeEmbedDim: 1280, NormGroups: 32, Parameterization: "eps"},
		},
		{
			name:   "sd21_768v",
			shapes: func() map[string][]int { return realShapes(t, m.Dir, "sd21_768v") },
			hints:  json.RawMessage(`{"unet": {"num_head_channels": 64, "parameterization": "v"}}`),
			want: unet.Config{InChannels: 4, OutChannels: 4, ModelChannels: 320, ChannelMult: []int{1, 2, 4, 4},
				NumResBlocks: 2, TransformerDepth: []int{1, 1, 1, 0}, MiddleDepth: 1, ContextDim: 1024,
				UseLinearProj: true, NumHeadChannels: 64, TimeEmbedDim: 1280, NormGroups: 32, Parameterization: "v"},
		},
		{
			name:   "sdxl_base",
			shapes: func() map[string][]int { return realShapes(t, m.Dir, "sdxl_base") },
			want: unet.Config{InChannels: 4, OutChannels: 4, ModelChannels: 320, ChannelMult: []int{1, 2, 4},
				NumResBlocks: 2, TransformerDepth: []int{0, 2, 10}, MiddleDepth: 10, ContextDim: 2048,
				UseLinearProj: true, NumHeadChannels: 64, TimeEmbedDim: 1280, ADMInChannels: 2816,
				NormGroups: 32, Parameterization: "eps"},
		},
		{
			name:   "tiny-sd1",
			shapes: func() map[string][]int { return fileShapes(t, m.Path("tiny-sd1/model.safetensors")) },
			hints:  m.Models["tiny-sd1"],
			want: unet.Config{InChannels: 4, OutChannels: 4, ModelChannels: 32, ChannelMult: []int{1, 2, 2, 2},
				NumResBlocks: 2, TransformerDepth: []int{1, 1, 1, 0}, MiddleDepth: 1, ContextDim: 32,
				NumHeads: 8, TimeEmbedDim: 128, NormGroups: 32, Parameterization: "eps"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			shapes := tc.shapes()
			cfg, err := unet.DetectConfig(shapes, prefix)
			if err != nil {
				t.Fatal(err)
			}
			if tc.hints != nil {
				if err := cfg.ApplyHints(tc.hints); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(cfg, tc.want) {
				t.Errorf("config\n got %+v\nwant %+v", cfg, tc.want)
			}
			// The tensors the graph reads are exactly the file's UNet tensors.
			got := unet.Shapes(cfg, prefix)
			want := unetOnly(shapes)
			for k, s := range want {
				if g, ok := got[k]; !ok {
					t.Errorf("file tensor %s %v is not read by the graph", k, s)
				} else if !reflect.DeepEqual(g, s) {
					t.Errorf("%s: graph expects %v, file has %v", k, g, s)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("graph reads %s, which the file lacks", k)
				}
			}
			if keys := unet.Keys(cfg, prefix); len(keys) != len(want) {
				t.Errorf("Keys: %d keys, file has %d", len(keys), len(want))
			}
		})
	}
}

func TestDetectConfigErrors(t *testing.T) {
	m := testutil.Fixtures(t)
	base := realShapes(t, m.Dir, "sd15")
	tests := []struct {
		name    string
		edit    func(map[string][]int)
		wantErr string
	}{
		{"no unet", func(s map[string][]int) {
			for k := range s {
				if strings.HasPrefix(k, prefix) {
					delete(s, k)
				}
			}
		}, prefix + "input_blocks.0.0.weight"},
		{"missing ff weight", func(s map[string][]int) {
			delete(s, prefix+"output_blocks.7.1.transformer_blocks.0.ff.net.2.weight")
		}, prefix + "output_blocks.7.1.transformer_blocks.0.ff.net.2.weight"},
		{"wrong context width", func(s map[string][]int) {
			s[prefix+"output_blocks.9.1.transformer_blocks.0.attn2.to_v.weight"] = []int{320, 1024}
		}, "attn2.to_v.weight"},
		{"missing upsample", func(s map[string][]int) {
			delete(s, prefix+"output_blocks.5.2.conv.bias")
		}, prefix + "output_blocks.5.2.conv.bias"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			shapes := map[string][]int{}
			for k, v := range base {
				shapes[k] = v
			}
			tc.edit(shapes)
			_, err := unet.DetectConfig(shapes, prefix)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
			}
		})
	}
}

func TestApplyHints(t *testing.T) {
	tests := []struct {
		name                string
		hints               string
		heads, headChannels int
	}{
		{"num_heads", `{"num_heads": 4}`, 4, 0},
		{"num_head_channels wins", `{"num_heads": -1, "num_head_channels": 8}`, 0, 8},
		{"under unet", `{"unet": {"num_heads": 2}, "text": {"heads": 4}}`, 2, 0},
		{"nothing", `{"model_channels": 32}`, 8, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := unet.Config{NumHeads: 8}
			if err := c.ApplyHints(json.RawMessage(tc.hints)); err != nil {
				t.Fatal(err)
			}
			if c.NumHeads != tc.heads || c.NumHeadChannels != tc.headChannels {
				t.Errorf("heads %d, head channels %d; want %d, %d", c.NumHeads, c.NumHeadChannels, tc.heads, tc.headChannels)
			}
		})
	}
	if err := (&unet.Config{}).ApplyHints(json.RawMessage(`[1]`)); err == nil {
		t.Error("ApplyHints accepted a JSON array")
	}
}
