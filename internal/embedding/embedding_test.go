package embedding

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sdgo/internal/safetensors"
)

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	type want struct {
		vectors, shape int
		parts          map[string][]float32 // key -> values
		step           *int64
		ckpt           *string
	}
	step, ckpt := int64(7), "a1b2c3d4"
	tests := []struct {
		name  string
		write func(path string)
		file  string
		want  want
	}{
		{"webui pt", func(p string) { writeTorch(t, p, webuiProg([]int{2, 4}, 7), map[string][]float32{"0": ramp(8, 1)}) },
			"webui.pt", want{2, 4, map[string][]float32{"": ramp(8, 1)}, &step, &ckpt}},
		{"diffusers bin, one vector [w]", func(p string) {
			writeTorch(t, p, dictProg([]string{"<cat-toy>"}, [][]int{{4}}), map[string][]float32{"<cat-toy>": ramp(4, -1)})
		}, "concept.bin", want{1, 4, map[string][]float32{"": ramp(4, -1)}, nil, nil}},
		{"sdxl pt", func(p string) {
			writeTorch(t, p, dictProg([]string{"clip_g", "clip_l"}, [][]int{{3, 6}, {3, 4}}),
				map[string][]float32{"clip_g": ramp(18, 0), "clip_l": ramp(12, 5)})
		}, "xl.pt", want{3, 10, map[string][]float32{"clip_l": ramp(12, 5), "clip_g": ramp(18, 0)}, nil, nil}},
		{"safetensors emb_params", func(p string) {
			writeST(t, p, safetensors.F32Tensor("emb_params", []int{3, 4}, ramp(12, 2)))
		}, "st.safetensors", want{3, 4, map[string][]float32{"": ramp(12, 2)}, nil, nil}},
		{"safetensors f16", func(p string) {
			writeST(t, p, safetensors.F16Tensor("emb_params", []int{1, 4}, []float32{0.5, -1, 2, 0.25}))
		}, "half.safetensors", want{1, 4, map[string][]float32{"": {0.5, -1, 2, 0.25}}, nil, nil}},
		{"safetensors sdxl", func(p string) {
			writeST(t, p, safetensors.F32Tensor("clip_l", []int{2, 4}, ramp(8, 0)), safetensors.F32Tensor("clip_g", []int{2, 6}, ramp(12, 1)))
		}, "xl.safetensors", want{2, 10, map[string][]float32{"clip_l": ramp(8, 0), "clip_g": ramp(12, 1)}, nil, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.file)
			tt.write(p)
			e, err := LoadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if wantName := strings.TrimSuffix(tt.file, filepath.Ext(tt.file)); e.Name != wantName {
				t.Errorf("name %q, want %q (the file name)", e.Name, wantName)
			}
			if e.Vectors != tt.want.vectors || e.Shape != tt.want.shape {
				t.Errorf("vectors %d shape %d, want %d %d", e.Vectors, e.Shape, tt.want.vectors, tt.want.shape)
			}
			got := map[string][]float32{}
			for _, pt := range e.Parts {
				got[pt.Key] = pt.Data
				if v, ok := e.VectorsFor(pt.Width); !ok || !reflect.DeepEqual(v, pt.Data) {
					t.Errorf("VectorsFor(%d) does not give part %q", pt.Width, pt.Key)
				}
			}
			if !reflect.DeepEqual(got, tt.want.parts) {
				t.Errorf("parts %v, want %v", got, tt.want.parts)
			}
			if !reflect.DeepEqual(e.Step, tt.want.step) || !reflect.DeepEqual(e.SDCheckpoint, tt.want.ckpt) || e.SDCheckpointName != nil {
				t.Errorf("step %v ckpt %v name %v, want %v %v nil", e.Step, e.SDCheckpoint, e.SDCheckpointName, tt.want.step, tt.want.ckpt)
			}
			b, _ := os.ReadFile(p)
			sum := sha256.Sum256(b)
			if h := hex.EncodeToString(sum[:]); e.Hash != h || e.ShortHash() != h[:12] {
				t.Errorf("hash %s short %s, want %s", e.Hash, e.ShortHash(), h)
			}
		})
	}
}

func writeST(t *testing.T, p string, ts ...safetensors.Tensor) {
	t.Helper()
	if err := safetensors.WriteFile(p, ts, nil); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		write  func(p string)
		file   string
		format bool   // errors.Is(err, ErrFormat)
		substr string // in the message
	}{
		{"two terms", func(p string) {
			writeST(t, p, safetensors.F32Tensor("a", []int{1, 4}, ramp(4, 0)), safetensors.F32Tensor("b", []int{1, 4}, ramp(4, 0)))
		}, "two.safetensors", true, "2 tensors"},
		{"3-d tensor", func(p string) { writeST(t, p, safetensors.F32Tensor("emb_params", []int{1, 2, 2}, ramp(4, 0))) }, "cube.safetensors", true, "shape [1 2 2]"},
		{"sdxl vector counts differ", func(p string) {
			writeST(t, p, safetensors.F32Tensor("clip_l", []int{1, 4}, ramp(4, 0)), safetensors.F32Tensor("clip_g", []int{2, 6}, ramp(12, 0)))
		}, "odd.safetensors", true, "clip_l has 1 vectors and clip_g 2"},
		{"not a dict", func(p string) {
			writeTorch(t, p, "\x80\x02"+pyTensor("0", []int{1, 4}, false)+".", map[string][]float32{"0": ramp(4, 0)})
		},
			"bare.pt", true, "want a dict"},
		{"dict of strings", func(p string) { writeTorch(t, p, "\x80\x02}"+pyStr("a")+pyStr("b")+"s.", nil) }, "strs.pt", true, "neither a webui embedding"},
		{"missing storage", func(p string) { writeTorch(t, p, webuiProg([]int{2, 4}, 1), nil) }, "trunc.pt", false, "storage"},
		{"truncated safetensors", func(p string) { os.WriteFile(p, []byte("\x08\x00\x00"), 0o644) }, "short.safetensors", false, "safetensors"},
		{"not a zip", func(p string) { os.WriteFile(p, []byte("hello world, not torch"), 0o644) }, "text.pt", false, "not a PyTorch zip"},
		{"unknown extension", func(p string) { os.WriteFile(p, []byte("x"), 0o644) }, "emb.png", false, "unknown extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.file)
			tt.write(p)
			_, err := LoadFile(p)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrFormat) != tt.format || !strings.Contains(err.Error(), tt.substr) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q: want ErrFormat=%v, mention %q and the path", err, tt.format, tt.substr)
			}
		})
	}
}
