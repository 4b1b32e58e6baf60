package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sdgo/api"
	"sdgo/internal/config"
	"sdgo/internal/engine"
	"sdgo/internal/fixture"
	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
)

// Markers in a prompt that make the test hook fail a job.
const (
	panicPrompt = "__sdgo_test_panic__"
	errorPrompt = "__sdgo_test_error__"
)

// failHook is the engine's BeforeRun in every test server: it injects a
// panic or an error for marker prompts.
func failHook(_ context.Context, r engine.Request) error {
	switch r.Params.Prompt {
	case panicPrompt:
		panic("injected test panic")
	case errorPrompt:
		return errors.New("injected test error: out of device memory")
	}
	return nil
}

// fakeGen generates flat images without a model. Its infotext carries the
// seed and the parameters the engine passed, and prompts can be gated
// (held after their first step until released).
type fakeGen struct {
	mu     sync.Mutex
	params []pipeline.Params
	img2   []pipeline.Img2ImgParams // img2img calls
	gates  map[string]chan struct{}
	steps  chan string // a prompt each time it reports its first step
}

func newFakeGen() *fakeGen {
	return &fakeGen{gates: map[string]chan struct{}{}, steps: make(chan string, 64)}
}

func (f *fakeGen) gate(prompt string) func() {
	ch := make(chan struct{})
	f.mu.Lock()
	f.gates[prompt] = ch
	f.mu.Unlock()
	return sync.OnceFunc(func() { close(ch) })
}

func (f *fakeGen) last() pipeline.Params {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.params[len(f.params)-1]
}

func (f *fakeGen) generate(ctx context.Context, j pipeline.Job, p pipeline.Params) ([]pipeline.Result, error) {
	f.mu.Lock()
	f.params = append(f.params, p)
	gate := f.gates[p.Prompt]
	f.mu.Unlock()
	lat := make([]float32, 4*(p.Height/8)*(p.Width/8)*p.BatchSize)
	for s := 0; s < p.Steps; s++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		j.OnStep(0, p.BatchSize, sample.Step{Index: s, Total: p.Steps, X: lat, Denoised: lat})
		if s == 0 {
			select {
			case f.steps <- p.Prompt:
			default:
			}
			if gate != nil {
				select {
				case <-gate:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
		}
	}
	smp, _, _ := sample.Resolve(p.Sampler, p.Scheduler)
	neg := ""
	if p.NegativePrompt != "" {
		neg = "\nNegative prompt: " + p.NegativePrompt
	}
	var out []pipeline.Result
	for i := 0; i < p.BatchSize; i++ {
		seed := p.Seed + int64(i)
		img := image.NewNRGBA(image.Rect(0, 0, p.Width, p.Height))
		for k := 0; k < len(img.Pix); k += 4 {
			img.Pix[k], img.Pix[k+1], img.Pix[k+2], img.Pix[k+3] = byte(seed), byte(seed>>8), 7, 255
		}
		out = append(out, pipeline.Result{Image: img, Seed: seed, Infotext: fmt.Sprintf(
			"%s%s\nSteps: %d, Sampler: %s, CFG scale: %v, Seed: %d, Size: %dx%d, Clip skip: %d, Version: test",
			p.Prompt, neg, p.Steps, smp.Name, p.CFGScale, seed, p.Width, p.Height, p.ClipSkip)})
	}
	return out, nil
}

// img2img records the call and generates as txt2img would.
func (f *fakeGen) img2img(ctx context.Context, j pipeline.Job, p pipeline.Img2ImgParams) ([]pipeline.Result, error) {
	f.mu.Lock()
	f.img2 = append(f.img2, p)
	f.mu.Unlock()
	if len(p.Init) > 1 {
		p.BatchSize = len(p.Init)
	}
	return f.generate(ctx, j, p.Params)
}

func (f *fakeGen) lastImg2Img() pipeline.Img2ImgParams {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.img2[len(f.img2)-1]
}

func fakeLoad(_ context.Context, path, vae string) (*engine.Loaded, error) {
	if strings.Contains(filepath.Base(path), "broken") {
		return nil, errors.New("checkpoint: truncated file")
	}
	return &engine.Loaded{SHA256: fmt.Sprintf("%x", sha256.Sum256([]byte(filepath.Base(path))))}, nil
}

// fixtureDir is the shared fixtures folder.
func fixtureDir(t testing.TB) string {
	t.Helper()
	dir, err := fixture.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// modelsDir makes a webui models folder: the tiny checkpoint linked as
// Stable-diffusion/tiny.safetensors, a second and a broken checkpoint, the
// fixture VAE and LoRA.
func modelsDir(t testing.TB) string {
	t.Helper()
	fx := fixtureDir(t)
	dir := t.TempDir()
	link := func(src, dst string) {
		p := filepath.Join(dir, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if src == "" {
			if err := os.WriteFile(p, []byte("not a model"), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		abs, _ := filepath.Abs(src)
		if err := os.Symlink(abs, p); err != nil {
			t.Fatal(err)
		}
	}
	link(filepath.Join(fx, "tiny-sd1", "model.safetensors"), "Stable-diffusion/tiny.safetensors")
	link("", "Stable-diffusion/other/second.safetensors")
	link("", "Stable-diffusion/zz-broken.ckpt")
	link(filepath.Join(fx, "tiny-sd1", "vae.safetensors"), "VAE/tiny-vae.safetensors")
	link(filepath.Join(fx, "tiny-sd1", "lora.safetensors"), "Lora/tiny-lora.safetensors")
	return dir
}

type testServer struct {
	*httptest.Server
	eng    *engine.Engine
	gen    *fakeGen
	client *api.Client
	cfg    config.Config
}

// newTestServer starts a server over a fake generator (real stays false)
// or the tiny model on the go backend.
func newTestServer(t testing.TB, real bool, edit func(*config.Config)) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.ModelsDir = modelsDir(t)
	cfg.OutputsDir = filepath.Join(t.TempDir(), "outputs")
	cfg.Model = "tiny"
	cfg.Backend = "go"
	cfg.ClipVocab = filepath.Join(fixtureDir(t), "..", "clip")
	if edit != nil {
		edit(&cfg)
	}
	opt := engine.Options{Config: cfg, BeforeRun: failHook}
	ts := &testServer{cfg: cfg}
	if !real {
		ts.gen = newFakeGen()
		opt.Generate, opt.Img2Img, opt.Load = ts.gen.generate, ts.gen.img2img, fakeLoad
	}
	eng, err := engine.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts.Server, ts.eng = httptest.NewServer(srv.Handler()), eng
	ts.client = api.NewClient(ts.URL)
	ts.client.Username, ts.client.Password = firstCredential(cfg.APIAuth)
	t.Cleanup(func() {
		ts.Close()
		eng.Close()
	})
	return ts
}

// call sends a JSON body (a string is sent as is) and returns the status
// and body.
func (ts *testServer) call(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if u, p := firstCredential(ts.cfg.APIAuth); u != "" {
		req.SetBasicAuth(u, p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// callJSON is call that decodes a response of the wanted status into out.
func (ts *testServer) callJSON(t testing.TB, method, path string, body any, want int, out any) {
	t.Helper()
	code, b := ts.call(t, method, path, body)
	if code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// waitIdle waits until the engine has nothing running or queued.
func (ts *testServer) waitIdle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for ts.eng.Current() != nil || ts.eng.QueueLen() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("engine still busy")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeFile(t testing.TB, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// firstCredential is the first user:password of an --api-auth list.
func firstCredential(auth string) (user, pass string) {
	first, _, _ := strings.Cut(auth, ",")
	user, pass, _ = strings.Cut(first, ":")
	return user, pass
}
