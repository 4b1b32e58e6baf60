package cli_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sdgo/internal/cli"
	"sdgo/internal/fixture"
)

// fixtureDir returns the shared fixture folder, skipping the test without it.
func fixtureDir(t *testing.T) string {
	t.Helper()
	dir, err := fixture.FindDir()
	if err != nil {
		t.Skip(err)
	}
	return dir
}

// run runs the sdgo command line with an empty environment (plus env) and
// returns the exit code, stdout and stderr.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &cli.Env{
		Getenv: func(k string) string { return env[k] },
		Stdin:  strings.NewReader(""),
		Stdout: &stdout,
		Stderr: &stderr,
	}
	code := cli.Run(context.Background(), args, e)
	return code, stdout.String(), stderr.String()
}

// isolateCaches points the user cache dir (hash cache, tokenizer cache) at
// a fresh folder so tests neither read nor write the real one.
func isolateCaches(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
}

// webuiHashes computes the model hash (10 hex) and the legacy hash (8 hex)
// of a file the way webui does, independently of the checkpoint package.
func webuiHashes(t *testing.T, path string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	full := sha256.Sum256(b)
	end := min(len(b), 0x100000+0x10000)
	legacy := sha256.Sum256(b[min(len(b), 0x100000):end])
	return hex.EncodeToString(full[:])[:10], hex.EncodeToString(legacy[:])[:8]
}

// inspectJSON mirrors the fields of `sdgo inspect --json` the tests check.
type inspectJSON struct {
	Format           string  `json:"format"`
	FileSize         int64   `json:"file_size"`
	Family           string  `json:"family"`
	Prediction       string  `json:"prediction"`
	PredictionSource string  `json:"prediction_source"`
	Inpainting       bool    `json:"inpainting"`
	LatentScale      float64 `json:"latent_scale"`
	Hash             string  `json:"hash"`
	LegacyHash       string  `json:"legacy_hash"`
	Tensors          int     `json:"tensors"`
	Parameters       int64   `json:"parameters"`
	Components       []struct {
		Name       string         `json:"name"`
		Prefix     string         `json:"prefix"`
		Layout     string         `json:"layout"`
		Tensors    int            `json:"tensors"`
		Parameters int64          `json:"parameters"`
		DTypes     map[string]int `json:"dtypes"`
	} `json:"components"`
	UNet struct {
		InChannels       int   `json:"in_channels"`
		ModelChannels    int   `json:"model_channels"`
		ChannelMult      []int `json:"channel_mult"`
		NumResBlocks     int   `json:"num_res_blocks"`
		TransformerDepth []int `json:"transformer_depth"`
		ContextDim       int   `json:"context_dim"`
		LinearProj       bool  `json:"use_linear_in_transformer"`
		TimeEmbedDim     int   `json:"time_embed_dim"`
	} `json:"unet"`
	VAE struct {
		Ch        int   `json:"ch"`
		ChMult    []int `json:"ch_mult"`
		ZChannels int   `json:"z_channels"`
	} `json:"vae"`
	Text []struct {
		Prefix string `json:"prefix"`
		Layout string `json:"layout"`
		Width  int    `json:"width"`
		Layers int    `json:"layers"`
		MLP    int    `json:"mlp"`
		Vocab  int    `json:"vocab"`
	} `json:"text_encoders"`
	Problems []string `json:"problems"`
}

// TestInspectTinyModel checks the report of the tiny SD1 model in both
// file formats against the fixture README's description of it.
func TestInspectTinyModel(t *testing.T) {
	dir := fixtureDir(t)
	isolateCaches(t)
	for _, tc := range []struct{ file, format string }{
		{"tiny-sd1/model.safetensors", "safetensors"},
		{"tiny-sd1/model.ckpt", "pytorch-zip"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			code, out, errOut := run(t, nil, "inspect", path, "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var r inspectJSON
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			st, _ := os.Stat(path)
			hash, legacy := webuiHashes(t, path)
			for _, c := range []struct {
				what      string
				got, want any
			}{
				{"format", r.Format, tc.format},
				{"file size", r.FileSize, st.Size()},
				{"family", r.Family, "SD1"},
				{"prediction", r.Prediction + " from " + r.PredictionSource, "eps from default"},
				{"inpainting", r.Inpainting, false},
				{"latent scale", r.LatentScale, 0.18215},
				{"hash", r.Hash, hash},
				{"legacy hash", r.LegacyHash, legacy},
				{"tensors", r.Tensors, 968},
				{"parameters", r.Parameters, int64(6556043)},
				{"problems", len(r.Problems), 0},
			} {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			type comp struct {
				name, prefix, layout string
				tensors              int
				dtypes               string
			}
			var got []comp
			for _, c := range r.Components {
				b, _ := json.Marshal(c.DTypes)
				got = append(got, comp{c.Name, c.Prefix, c.Layout, c.Tensors, string(b)})
			}
			want := []comp{
				{"unet", "model.diffusion_model.", "ldm", 684, `{"F16":684}`},
				{"vae", "first_stage_model.", "ldm", 244, `{"F16":244}`},
				{"text_encoder", "cond_stage_model.transformer.", "hf-clip", 37, `{"F16":36,"I64":1}`},
				{"other", "", "", 3, `{"F32":3}`},
			}
			if !slices.Equal(got, want) {
				t.Errorf("components:\n got %+v\nwant %+v", got, want)
			}
			u := r.UNet
			if u.InChannels != 4 || u.ModelChannels != 32 || !equalJSON(u.ChannelMult, []int{1, 2, 2, 2}) || u.NumResBlocks != 2 ||
				!equalJSON(u.TransformerDepth, []int{1, 1, 1, 0}) || u.ContextDim != 32 || u.LinearProj || u.TimeEmbedDim != 128 {
				t.Errorf("unet config %+v does not match the README's tiny UNet", u)
			}
			if v := r.VAE; v.Ch != 32 || !equalJSON(v.ChMult, []int{1, 2, 2, 2}) || v.ZChannels != 4 {
				t.Errorf("vae config %+v does not match the README's tiny VAE", v)
			}
			if len(r.Text) != 1 {
				t.Fatalf("%d text encoders, want 1", len(r.Text))
			}
			if te := r.Text[0]; te.Prefix != "cond_stage_model.transformer.text_model." || te.Layout != "hf" ||
				te.Width != 32 || te.Layers != 2 || te.MLP != 64 || te.Vocab != 49408 {
				t.Errorf("text encoder %+v does not match the README's tiny CLIP", te)
			}
		})
	}
}

// TestInspectHumanOutput checks the plain report names every part the
// issue asks for.
func TestInspectHumanOutput(t *testing.T) {
	dir := fixtureDir(t)
	isolateCaches(t)
	path := filepath.Join(dir, "tiny-sd1", "model.safetensors")
	code, out, errOut := run(t, nil, "inspect", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	hash, legacy := webuiHashes(t, path)
	for _, want := range []string{
		"family        SD1",
		"prediction    eps (decided from: default",
		"inpainting    no (UNet input channels 4)",
		"latent scale  0.18215",
		"model hash    " + hash + " (legacy " + legacy + ")",
		"968, 6,556,043 network parameters",
		"unet          model.diffusion_model.",
		"text_encoder  cond_stage_model.transformer.               hf-clip  37       1,600,672   F16 x36, I64 x1",
		"other         alphas_cumprod, alphas_cumprod_prev, betas",
		"32 x (1,2,2,2) channels, 2 res blocks per level; attention depth (1,1,1,0)",
		"hf layout, width 32, 2 layers, MLP 64",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// --no-hash skips both hashes.
	_, out, _ = run(t, nil, "inspect", "--no-hash", path)
	if !strings.Contains(out, "model hash    (skipped)") || strings.Contains(out, hash) {
		t.Errorf("--no-hash output:\n%s", out)
	}
}

// TestInspectErrors checks that files that are not checkpoints, and bad
// command lines, fail with a message saying what is wrong.
func TestInspectErrors(t *testing.T) {
	dir := fixtureDir(t)
	isolateCaches(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"lora", []string{filepath.Join(dir, "tiny-sd1", "lora.safetensors")}, 1,
			[]string{"unknown model", "looks like a LoRA file", "<lora:name:weight>"}},
		{"vae", []string{filepath.Join(dir, "tiny-sd1", "vae.safetensors"), "--json"}, 1,
			[]string{"unknown model", "looks like a VAE file", "--vae"}},
		{"missing file", []string{filepath.Join(dir, "tiny-sd1", "nope.safetensors")}, 1,
			[]string{"nope.safetensors", "no such file"}},
		{"no model", nil, 2, []string{"name a checkpoint to inspect"}},
		{"two models", []string{"a", "b"}, 2, []string{"one model, got 2"}},
		{"bad flag", []string{"--frobnicate"}, 2, []string{"flag provided but not defined"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, nil, append([]string{"inspect"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
