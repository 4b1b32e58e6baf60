package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sdgo/internal/config"
	"sdgo/internal/imagefile"
	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
)

// fake is a generator and loader that need no model: each image is a flat
// colour, its infotext names its seed, and a prompt can block on a gate.
type fake struct {
	mu      sync.Mutex
	ran     []string // prompts in the order they started
	loads   []string // checkpoint paths loaded
	gates   map[string]chan struct{}
	started chan string // receives each prompt as it starts (buffered)
	copies  int         // steps whose latents reached OnStep (as the device loop copies them)
}

func newFake() *fake {
	return &fake{gates: map[string]chan struct{}{}, started: make(chan string, 100)}
}

// gate makes jobs with this prompt wait until release is called.
func (f *fake) gate(prompt string) (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.gates[prompt] = ch
	f.mu.Unlock()
	return sync.OnceFunc(func() { close(ch) })
}

func (f *fake) generate(ctx context.Context, j pipeline.Job, p pipeline.Params) ([]pipeline.Result, error) {
	f.mu.Lock()
	f.ran = append(f.ran, p.Prompt)
	gate := f.gates[p.Prompt]
	f.mu.Unlock()
	f.started <- p.Prompt
	switch p.Prompt {
	case "panic":
		panic("boom")
	case "error":
		return nil, errors.New("pipeline: out of memory")
	}
	lat := make([]float32, 4*p.Height/8*p.Width/8*p.BatchSize)
	for s := 0; s < p.Steps; s++ {
		if gate != nil && s == 0 {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if j.OnStep != nil {
			// As the device loop: latents only where the job wants them.
			var x []float32
			if want := j.LatentsWanted(); want != nil && want() {
				x = lat
				f.mu.Lock()
				f.copies++
				f.mu.Unlock()
			}
			j.OnStep(0, p.BatchSize, sample.Step{Index: s, Total: p.Steps, X: x, Denoised: x})
		}
	}
	var out []pipeline.Result
	for i := 0; i < p.BatchSize; i++ {
		seed := p.Seed + int64(i)
		out = append(out, pipeline.Result{Image: image.NewNRGBA(image.Rect(0, 0, p.Width, p.Height)), Seed: seed,
			Infotext: fmt.Sprintf("%s\nSteps: %d, Seed: %d", p.Prompt, p.Steps, seed)})
	}
	return out, nil
}

// img2img records its init images in the prompt and runs as txt2img.
func (f *fake) img2img(ctx context.Context, j pipeline.Job, p pipeline.Img2ImgParams) ([]pipeline.Result, error) {
	if len(p.Init) > 1 {
		p.BatchSize = len(p.Init)
	}
	p.Params.Prompt = fmt.Sprintf("%s [img2img %d inits, strength %v]", p.Prompt, len(p.Init), p.DenoisingStrength)
	return f.generate(ctx, j, p.Params)
}

func (f *fake) load(_ context.Context, path, vae string) (*Loaded, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads = append(f.loads, filepath.Base(path)+"+"+filepath.Base(vae))
	if strings.Contains(path, "broken") {
		return nil, errors.New("checkpoint: truncated file")
	}
	return &Loaded{SHA256: fmt.Sprintf("%x", sha256.Sum256([]byte(path)))}, nil
}

func (f *fake) prompts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ran...)
}

// modelsDir makes a webui models folder with the given checkpoint files.
func modelsDir(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newEngine(t *testing.T, f *fake, edit func(*config.Config), files ...string) *Engine {
	t.Helper()
	if files == nil {
		files = []string{"Stable-diffusion/a.safetensors"}
	}
	cfg := config.Default()
	cfg.ModelsDir = modelsDir(t, files...)
	cfg.OutputsDir = filepath.Join(t.TempDir(), "outputs")
	if edit != nil {
		edit(&cfg)
	}
	e, err := New(Options{Config: cfg, Load: f.load, Generate: f.generate, Img2Img: f.img2img,
		BeforeRun: func(_ context.Context, r Request) error {
			if r.Params.Prompt == "hook-panic" {
				panic("hook panic")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func params(prompt string) pipeline.Params {
	return pipeline.Params{Prompt: prompt, Width: 64, Height: 64, Steps: 3, Seed: 100, BatchSize: 1, BatchCount: 1}
}

func submit(t *testing.T, e *Engine, r Request) *Job {
	t.Helper()
	j, err := e.Submit(r)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func wait(t *testing.T, j *Job) Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := j.Wait(ctx)
	if err != nil {
		t.Fatalf("job %s: %v (status %s)", j.ID(), err, s.Status)
	}
	return s
}

func TestClientsTakeTurns(t *testing.T) {
	f := newFake()
	e := newEngine(t, f, nil)
	release := f.gate("a1")
	a1 := submit(t, e, Request{Params: params("a1"), Client: "a"})
	<-f.started
	var jobs []*Job
	for _, x := range []struct{ prompt, client string }{{"a2", "a"}, {"a3", "a"}, {"b1", "b"}, {"c1", "c"}, {"b2", "b"}} {
		jobs = append(jobs, submit(t, e, Request{Params: params(x.prompt), Client: x.client}))
	}
	// Waiting order: a2 b1 c1 a3 b2.
	wantPos := []int{0, 3, 1, 2, 4}
	for i, j := range jobs {
		if s := j.Snapshot(); s.Status != Queued || s.Position != wantPos[i] {
			t.Errorf("%s: status %s position %d, want queued %d", s.Request.Params.Prompt, s.Status, s.Position, wantPos[i])
		}
	}
	if s := a1.Snapshot(); s.Status != Running || s.Position != -1 {
		t.Errorf("a1 = %s at %d, want running", s.Status, s.Position)
	}
	release()
	for _, j := range jobs {
		if s := wait(t, j); s.Status != Done {
			t.Fatalf("%s: %s %s", j.ID(), s.Status, s.Error)
		}
	}
	if got := strings.Join(f.prompts(), " "); got != "a1 a2 b1 c1 a3 b2" {
		t.Errorf("ran %s, want a1 a2 b1 c1 a3 b2", got)
	}
}

func TestJobResults(t *testing.T) {
	f := newFake()
	e := newEngine(t, f, nil)
	p := params("cat")
	p.BatchSize, p.BatchCount, p.Seed = 2, 3, 7
	s := wait(t, submit(t, e, Request{Params: p}))
	if s.Status != Done || len(s.Images) != 6 {
		t.Fatalf("status %s, %d images, err %q", s.Status, len(s.Images), s.Error)
	}
	for i, img := range s.Images {
		if img.Seed != int64(7+i) || s.Seeds[i] != img.Seed || !strings.Contains(img.Infotext, fmt.Sprintf("Seed: %d", 7+i)) {
			t.Errorf("image %d: seed %d, infotext %q, seeds %v", i, img.Seed, img.Infotext, s.Seeds)
		}
		if len(img.Data) < 8 || string(img.Data[1:4]) != "PNG" || img.Format != "png" {
			t.Errorf("image %d is not a PNG", i)
		}
	}
	if s.Progress.Step != 9 || s.Progress.Total != 9 || s.Progress.Fraction() != 1 || s.Started.IsZero() || s.Finished.IsZero() {
		t.Errorf("progress %+v started %v finished %v", s.Progress, s.Started, s.Finished)
	}
	if s.Model.Name != "a.safetensors" || s.Model.ShortHash() == "" {
		t.Errorf("model %+v", s.Model)
	}
}

func TestRandomSeedIsDrawnAtSubmit(t *testing.T) {
	e := newEngine(t, newFake(), nil)
	p := params("x")
	p.Seed, p.BatchSize = -1, 2
	j := submit(t, e, Request{Params: p})
	s := j.Snapshot()
	if len(s.Seeds) != 2 || s.Seeds[0] < 0 || s.Seeds[1] != s.Seeds[0]+1 || s.Request.Params.Seed != s.Seeds[0] {
		t.Fatalf("seeds %v, params seed %d", s.Seeds, s.Request.Params.Seed)
	}
	if got := wait(t, j); got.Images[1].Seed != s.Seeds[1] {
		t.Errorf("image seed %d, want %d", got.Images[1].Seed, s.Seeds[1])
	}
}

func TestFailingJobsFailAlone(t *testing.T) {
	f := newFake()
	e := newEngine(t, f, nil)
	for _, tt := range []struct{ prompt, want string }{
		{"panic", "internal error: boom"},
		{"error", "out of memory"},
		{"hook-panic", "internal error: hook panic"},
	} {
		t.Run(tt.prompt, func(t *testing.T) {
			bad := submit(t, e, Request{Params: params(tt.prompt)})
			good := submit(t, e, Request{Params: params("fine")})
			if s := wait(t, bad); s.Status != Failed || !strings.Contains(s.Error, tt.want) {
				t.Errorf("bad job: %s %q, want failed with %q", s.Status, s.Error, tt.want)
			}
			if s := wait(t, good); s.Status != Done || len(s.Images) != 1 {
				t.Errorf("next job: %s %q", s.Status, s.Error)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	f := newFake()
	e := newEngine(t, f, nil)
	release := f.gate("running")
	defer release()
	p := params("running")
	p.BatchCount = 2
	running := submit(t, e, Request{Params: p})
	<-f.started
	queued := submit(t, e, Request{Params: params("queued")})
	if s, err := e.Cancel(queued.ID()); err != nil || s.Status != Cancelled {
		t.Fatalf("cancel queued: %v %s", err, s.Status)
	}
	if _, err := e.Cancel(running.ID()); err != nil {
		t.Fatal(err)
	}
	s := wait(t, running)
	if s.Status != Cancelled || !s.Interrupted {
		t.Errorf("running job: %s interrupted=%v", s.Status, s.Interrupted)
	}
	if _, err := e.Cancel("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel unknown: %v", err)
	}
	after := wait(t, submit(t, e, Request{Params: params("after")}))
	if after.Status != Done {
		t.Errorf("job after cancel: %s", after.Status)
	}
	if strings.Contains(strings.Join(f.prompts(), " "), "queued") {
		t.Errorf("cancelled queued job ran: %v", f.prompts())
	}
}

func TestSkipAndInterrupt(t *testing.T) {
	f := newFake()
	e := newEngine(t, f, nil)
	if e.Skip() || e.Interrupt() {
		t.Error("Skip/Interrupt with nothing running reported true")
	}
	release := f.gate("skip")
	p := params("skip")
	p.BatchCount = 2
	j := submit(t, e, Request{Params: p})
	<-f.started
	if !e.Skip() {
		t.Fatal("Skip found no running job")
	}
	release() // the second batch runs ungated once the gate is open
	s := wait(t, j)
	if s.Status != Done || s.Skipped != 1 || len(s.Images) != 1 || s.Images[0].Seed != 101 {
		t.Errorf("after skip: %s skipped=%d images=%d", s.Status, s.Skipped, len(s.Images))
	}

	release = f.gate("stop")
	defer release()
	j = submit(t, e, Request{Params: params("stop")})
	for <-f.started != "stop" {
	}
	e.Interrupt()
	if s := wait(t, j); s.Status != Cancelled || !s.Interrupted {
		t.Errorf("after interrupt: %s", s.Status)
	}
}

func TestQueueFullAndClose(t *testing.T) {
	f := newFake()
	e := newEngine(t, f, func(c *config.Config) { c.Limits.MaxQueue = 2 })
	release := f.gate("hold")
	defer release()
	hold := submit(t, e, Request{Params: params("hold")})
	for <-f.started != "hold" {
	}
	q1 := submit(t, e, Request{Params: params("q1")})
	submit(t, e, Request{Params: params("q2")})
	if _, err := e.Submit(Request{Params: params("q3")}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third queued job: %v, want ErrQueueFull", err)
	}
	e.Close()
	if s := q1.Snapshot(); s.Status != Cancelled {
		t.Errorf("queued job after Close: %s", s.Status)
	}
	if s := wait(t, hold); s.Status != Cancelled {
		t.Errorf("running job after Close: %s", s.Status)
	}
	if _, err := e.Submit(Request{Params: params("late")}); !errors.Is(err, ErrClosed) {
		t.Errorf("submit after close: %v", err)
	}
}

func TestValidationAndNames(t *testing.T) {
	e := newEngine(t, newFake(), nil, "Stable-diffusion/a.safetensors", "VAE/v.safetensors")
	bad := params("x")
	bad.Width = 100
	var ve *pipeline.ValidationError
	if _, err := e.Submit(Request{Params: bad}); !errors.As(err, &ve) {
		t.Errorf("width 100: %v, want a ValidationError", err)
	}
	for _, tt := range []struct {
		model, vae string
		want       error
	}{
		{"../a.safetensors", "", ErrBadName},
		{"/etc/passwd", "", ErrBadName},
		{`..\a.safetensors`, "", ErrBadName},
		{"missing", "", ErrUnknownModel},
		{"a", "../v.safetensors", ErrBadName},
		{"a", "nope", ErrUnknownModel},
		{"a", "v", nil},
		{"a.safetensors", "None", nil},
	} {
		_, err := e.Submit(Request{Params: params("x"), Model: tt.model, VAE: tt.vae})
		if !errors.Is(err, tt.want) {
			t.Errorf("model %q vae %q: %v, want %v", tt.model, tt.vae, err, tt.want)
		}
	}
}

func TestNoModel(t *testing.T) {
	e := newEngine(t, newFake(), nil, "Lora/x.safetensors")
	if _, err := e.Submit(Request{Params: params("x")}); !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), "Stable-diffusion") {
		t.Errorf("no model: %v", err)
	}
}

func TestModelSwitching(t *testing.T) {
	f := newFake()
	e := newEngine(t, f, nil, "Stable-diffusion/a.safetensors", "Stable-diffusion/sub/b.ckpt", "Stable-diffusion/broken.safetensors", "VAE/v.pt")
	list := e.Models()
	if len(list) != 3 || list[2].Name != "sub/b.ckpt" || list[2].ModelName != "sub_b" || list[2].Stem != "b" {
		t.Fatalf("models %+v", list)
	}
	for _, m := range []string{"sub_b", "a", "a.safetensors", "b", "broken"} {
		wait(t, submit(t, e, Request{Params: params("x"), Model: m}))
	}
	s := wait(t, submit(t, e, Request{Params: params("x"), Model: "a", VAE: "v"}))
	if s.Status != Done {
		t.Fatal(s.Error)
	}
	f.mu.Lock()
	got := strings.Join(f.loads, " ")
	f.mu.Unlock()
	// startup preload of a, then b, a (the two "a" jobs share the load), b, broken, a+v.
	if want := "a.safetensors+. b.ckpt+. a.safetensors+. b.ckpt+. broken.safetensors+. a.safetensors+v.pt"; got != want {
		t.Errorf("loads %q\nwant  %q", got, want)
	}
	ck, _, ok := e.Loaded()
	if !ok || ck.Name != "a.safetensors" || !strings.Contains(ck.Title(), " [") {
		t.Errorf("loaded %+v %v", ck, ok)
	}
	// A failed load fails its job; the title of a loaded model carries its hash.
	if _, err := e.SetDefaults(context.Background(), "broken", ""); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("switch to broken: %v", err)
	}
	ck, err := e.SetDefaults(context.Background(), "b", "v")
	if err != nil || ck.Name != "sub/b.ckpt" {
		t.Fatalf("switch: %v %+v", err, ck)
	}
	if def, vae := e.Defaults(); def.Name != "sub/b.ckpt" || vae != "v" {
		t.Errorf("defaults %s %s", def.Name, vae)
	}
	if r, err := e.ResolveModel(ck.Title()); err != nil || r.Path != ck.Path {
		t.Errorf("resolve by title %q: %v", ck.Title(), err)
	}
	if r, err := e.ResolveModel(ck.ShortHash()); err != nil || r.Path != ck.Path {
		t.Errorf("resolve by hash: %v", err)
	}
}

func TestModelPathOutsideFolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mine.safetensors")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFake()
	e := newEngine(t, f, func(c *config.Config) { c.Model = p })
	if def, _ := e.Defaults(); def.Name != "mine.safetensors" || def.Path != p {
		t.Fatalf("default %+v", def)
	}
	if s := wait(t, submit(t, e, Request{Params: params("x")})); s.Model.Path != p {
		t.Errorf("ran on %s", s.Model.Path)
	}
	if err := e.Refresh(); err != nil || len(e.Models()) != 2 {
		t.Errorf("refresh kept %d models: %v", len(e.Models()), err)
	}
}

func TestRetention(t *testing.T) {
	e := newEngine(t, newFake(), func(c *config.Config) { c.Limits.KeepFinished = 2 })
	var ids []string
	for i := 0; i < 4; i++ {
		j := submit(t, e, Request{Params: params("x")})
		wait(t, j)
		ids = append(ids, j.ID())
	}
	time.Sleep(10 * time.Millisecond) // retire runs just after the final state
	for i, id := range ids {
		if _, ok := e.Job(id); ok != (i >= 2) {
			t.Errorf("job %d kept=%v", i, ok)
		}
	}
	if n := len(e.Jobs()); n != 2 {
		t.Errorf("Jobs() = %d", n)
	}
}

// TestSave saves a batch in each samples_format: numbered webui file names
// continuing across jobs, the file's bytes those of the job's image, the
// infotext readable back from each format.
func TestSave(t *testing.T) {
	e := newEngine(t, newFake(), nil)
	n := 0
	for _, tc := range []struct{ format, ext, magic string }{
		{"", "png", "\x89PNG"}, {"jpeg", "jpg", "\xff\xd8\xff"}, {"webp", "webp", "RIFF"},
	} {
		p := params("x")
		p.BatchSize = 2
		s := wait(t, submit(t, e, Request{Params: p, Save: true, Format: tc.format}))
		if s.Status != Done {
			t.Fatalf("format %q: %s %s", tc.format, s.Status, s.Error)
		}
		for i, img := range s.Images {
			want := filepath.Join(e.cfg.Txt2ImgOutputDir(), time.Now().Format("2006-01-02"), fmt.Sprintf("%05d-%d.%s", n, 100+i, tc.ext))
			n++
			if img.Path != want {
				t.Errorf("format %q image %d saved at %s, want %s", tc.format, i, img.Path, want)
			}
			b, err := os.ReadFile(img.Path)
			if err != nil || string(b) != string(img.Data) || !strings.HasPrefix(string(b), tc.magic) {
				t.Errorf("format %q: saved file %d bytes starting %q: %v", tc.format, len(b), b[:min(4, len(b))], err)
				continue
			}
			text, err := imagefile.ReadInfotext(bytes.NewReader(b))
			if err != nil || text != img.Infotext {
				t.Errorf("format %q: infotext read back %q, %v; want %q", tc.format, text, err, img.Infotext)
			}
		}
	}
	if _, err := e.Submit(Request{Params: params("x"), Format: "gif"}); err == nil {
		t.Error("format gif: accepted")
	}
}

// TestProgressAndPreview: progress reaches every step; the latents of a
// step are copied for the preview only once a client has looked at the
// last preview (here before the first step), not at every step.
func TestProgressAndPreview(t *testing.T) {
	f := newFake()
	e := newEngine(t, f, nil)
	p := params("x")
	p.Steps = 4
	release := f.gate("x")
	j := submit(t, e, Request{Params: p})
	<-f.started
	if img := j.Preview(); img != nil {
		t.Fatalf("preview %v before the first step", img.Bounds())
	}
	release()
	ch := j.Changed()
	var steps []int
	for {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("no change")
		}
		ch = j.Changed()
		s := j.Snapshot()
		if n := len(steps); s.Progress.Step > 0 && (n == 0 || steps[n-1] != s.Progress.Step) {
			steps = append(steps, s.Progress.Step)
		}
		if s.Status.Finished() {
			break
		}
	}
	if steps[len(steps)-1] != 4 {
		t.Errorf("steps seen %v", steps)
	}
	f.mu.Lock()
	copies := f.copies
	f.mu.Unlock()
	if copies != 1 {
		t.Errorf("latents copied at %d of 4 steps, want 1 (one preview was asked for)", copies)
	}
	img := j.Preview()
	if img == nil || img.Bounds().Dx() != 8 || img.Bounds().Dy() != 8 {
		t.Fatalf("preview %v", img)
	}
	// A zero latent is mid-grey.
	if c := img.NRGBAAt(0, 0); c.R != 127 || c.A != 255 {
		t.Errorf("preview pixel %v", c)
	}
}

// TestNoPreviewNoCopies: a job nobody watches copies no step's latents.
func TestNoPreviewNoCopies(t *testing.T) {
	f := newFake()
	e := newEngine(t, f, nil)
	p := params("x")
	p.Steps = 4
	j := submit(t, e, Request{Params: p})
	if s := wait(t, j); s.Progress.Step != 4 {
		t.Errorf("progress at step %d of 4", s.Progress.Step)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.copies != 0 {
		t.Errorf("latents copied at %d steps of an unwatched job, want 0", f.copies)
	}
}

func TestImg2ImgJobs(t *testing.T) {
	f := newFake()
	e := newEngine(t, f, nil)
	init := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	p := params("x")
	p.BatchSize, p.BatchCount = 4, 2
	ip := &pipeline.Img2ImgParams{Init: []image.Image{init, init}, DenoisingStrength: 0.5}
	j := submit(t, e, Request{Params: p, Img2Img: ip, Save: true})
	if s := j.Snapshot(); len(s.Seeds) != 4 || s.Request.Params.BatchSize != 2 {
		t.Errorf("two init images make a batch of 2: seeds %v", s.Seeds)
	}
	s := wait(t, j)
	if s.Status != Done || len(s.Images) != 4 || s.Images[3].Seed != 103 || !strings.Contains(s.Images[0].Infotext, "[img2img 2 inits, strength 0.5]") {
		t.Fatalf("%s %q %d images %+v", s.Status, s.Error, len(s.Images), s.Images)
	}
	if !strings.Contains(s.Images[0].Path, "img2img-images") {
		t.Errorf("saved at %s", s.Images[0].Path)
	}
	var ve *pipeline.ValidationError
	if _, err := e.Submit(Request{Params: params("x"), Img2Img: &pipeline.Img2ImgParams{}}); !errors.As(err, &ve) {
		t.Errorf("no init image: %v", err)
	}
}
