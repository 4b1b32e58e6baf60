package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"

	"sdgo/internal/config"
	"sdgo/internal/model"
	"sdgo/internal/pipeline"
	"sdgo/internal/tokenizer"
)

// Errors of Submit, Cancel and the model calls.
var (
	ErrQueueFull = errors.New("engine: queue full")
	ErrClosed    = errors.New("engine: closed")
	ErrNotFound  = errors.New("engine: no such job")
)

// Loaded is a model ready to generate with.
type Loaded struct {
	Model  *model.Model
	Tok    *tokenizer.Tokenizer
	SHA256 string // of the checkpoint file ("" if unknown)
}

// Close releases the model.
func (l *Loaded) Close() error {
	if l == nil || l.Model == nil {
		return nil
	}
	return l.Model.Close()
}

// LoadFunc loads the checkpoint at path with an optional replacement VAE
// file ("" = the checkpoint's own).
type LoadFunc func(ctx context.Context, path, vae string) (*Loaded, error)

// GenerateFunc runs one txt2img call; pipeline.Txt2Img is the real one.
type GenerateFunc func(ctx context.Context, j pipeline.Job, p pipeline.Params) ([]pipeline.Result, error)

// Img2ImgFunc runs one img2img call; pipeline.Img2Img is the real one.
type Img2ImgFunc func(ctx context.Context, j pipeline.Job, p pipeline.Img2ImgParams) ([]pipeline.Result, error)

// Options configure New. Only Config is required.
type Options struct {
	Config   config.Config
	Load     LoadFunc     // nil = model.Load with Config's backend, dtype and CLIP vocabulary
	Generate GenerateFunc // nil = pipeline.Txt2Img
	Img2Img  Img2ImgFunc  // nil = pipeline.Img2Img
	// BeforeRun, when set, runs on the worker before each generation, after
	// the model is loaded; an error or a panic there fails the job as one in
	// the pipeline would (tests use it to inject failures).
	BeforeRun func(ctx context.Context, r Request) error
	Logger    *slog.Logger // nil = discard
}

// Engine owns the loaded model and the job queue.
type Engine struct {
	cfg    config.Config
	load   LoadFunc
	gen    GenerateFunc
	img    Img2ImgFunc
	before func(context.Context, Request) error
	log    *slog.Logger
	cat    catalog
	emb    embeddings

	ctx  context.Context
	stop context.CancelFunc
	wake chan struct{}
	wg   sync.WaitGroup

	mu        sync.Mutex
	q         queue
	jobs      map[string]*Job
	all       []*Job // known jobs, oldest first
	finished  int    // how many of all are final
	current   *Job
	closed    bool
	defModel  string // checkpoint Name
	defVAE    string
	loadedCk  Checkpoint
	loadedVAE string
	loaded    *Loaded // owned by the worker; guarded by mu for readers
}

// New scans the model folders, picks the default checkpoint (Config.Model,
// a name in the folder or a path, else the first one found) and starts the
// worker, which loads it in the background.
func New(opt Options) (*Engine, error) {
	cfg := opt.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, load: opt.Load, gen: opt.Generate, img: opt.Img2Img, before: opt.BeforeRun, log: opt.Logger,
		wake: make(chan struct{}, 1), jobs: map[string]*Job{}}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.load == nil {
		e.load = defaultLoader(cfg)
	}
	if e.gen == nil {
		e.gen = pipeline.Txt2Img
	}
	if e.img == nil {
		e.img = pipeline.Img2Img
	}
	e.cat = catalog{ckptDir: cfg.CheckpointDir(), vaeDir: cfg.VAEDir(), loraDir: cfg.LoraDir()}
	e.emb.dirs = embeddingDirs(cfg.ModelsDir, cfg.EmbeddingsDir())
	if err := e.cat.refresh(); err != nil {
		return nil, err
	}
	if err := e.pickDefault(cfg.Model); err != nil {
		return nil, err
	}
	e.ctx, e.stop = context.WithCancel(context.Background())
	e.wg.Add(1)
	go e.work()
	if e.defModel != "" {
		if _, err := e.Submit(Request{LoadOnly: true, Model: e.defModel, Client: "startup"}); err != nil {
			e.log.Warn("preload", "err", err)
		}
	}
	return e, nil
}

// pickDefault sets the default checkpoint from a name or path.
func (e *Engine) pickDefault(want string) error {
	if want == "" {
		if list := e.cat.list(); len(list) > 0 {
			e.defModel = list[0].Name
		}
		return nil
	}
	if ck, err := e.cat.resolve(want); err == nil {
		e.defModel = ck.Name
		return nil
	}
	if _, err := os.Stat(want); err != nil {
		return fmt.Errorf("engine: model %q is neither a checkpoint in %s nor a file: %w", want, e.cat.ckptDir, err)
	}
	ck, err := e.cat.addPath(want)
	if err != nil {
		return err
	}
	e.defModel = ck.Name
	return nil
}

func defaultLoader(cfg config.Config) LoadFunc {
	return func(ctx context.Context, path, vae string) (*Loaded, error) {
		m, err := model.Load(path, model.Options{Backend: cfg.Backend, DType: cfg.DType, VAE: vae})
		if err != nil {
			return nil, err
		}
		tok, err := tokenizer.Find(path, cfg.ClipVocab)
		if err != nil {
			m.Close()
			return nil, err
		}
		sha, _ := m.Checkpoint().SHA256()
		return &Loaded{Model: m, Tok: tok, SHA256: sha}, nil
	}
}

// Close cancels every queued and running job, stops the worker and
// releases the model.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	var dropped []*Job
	for j := e.q.pop(); j != nil; j = e.q.pop() {
		dropped = append(dropped, j)
	}
	e.mu.Unlock()
	for _, j := range dropped {
		j.finish(Cancelled, "server shutting down", time.Now())
	}
	e.stop()
	e.wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.loaded.Close()
	e.loaded = nil
	return err
}

func newID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("%016x", mrand.Uint64())
	}
	return hex.EncodeToString(b[:])
}

// Submit validates r, draws random seeds, and queues it. Errors: a
// *pipeline.ValidationError, ErrBadName, ErrUnknownModel, ErrNoModel,
// ErrQueueFull or ErrClosed.
func (e *Engine) Submit(r Request) (*Job, error) {
	if !r.LoadOnly {
		if err := validate(&r); err != nil {
			return nil, err
		}
		if r.Params.Seed == -1 {
			r.Params.Seed = mrand.Int64N(4294967294)
		}
		if r.Params.Subseed == -1 {
			r.Params.Subseed = mrand.Int64N(4294967294)
		}
	}
	ck, err := e.resolveModel(r.Model)
	if err != nil {
		return nil, err
	}
	r.Model = ck.Name
	e.mu.Lock()
	if r.VAE == "" {
		r.VAE = e.defVAE
	}
	e.mu.Unlock()
	if _, err := e.cat.resolveVAE(r.VAE); err != nil {
		return nil, err
	}
	j := newJob(e, newID(), r, ck, time.Now())
	if !r.LoadOnly {
		n := r.Params.BatchSize * r.Params.BatchCount
		for i := 0; i < n; i++ {
			j.snap.Seeds = append(j.snap.Seeds, r.Params.Seed+int64(i))
			j.snap.Subseeds = append(j.snap.Subseeds, r.Params.Subseed+int64(i))
		}
		j.snap.Progress = Progress{Total: r.Params.Steps * r.Params.BatchCount, Images: n}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return nil, ErrClosed
	case e.q.len() >= e.cfg.Limits.MaxQueue:
		return nil, fmt.Errorf("%w: %d jobs waiting; try again later", ErrQueueFull, e.q.len())
	}
	e.q.push(j, r.Client)
	e.jobs[j.id] = j
	e.all = append(e.all, j)
	select {
	case e.wake <- struct{}{}:
	default:
	}
	return j, nil
}

// validate checks a request's parameters and fills their defaults; an
// img2img job with several init images has one image per init image.
func validate(r *Request) error {
	if _, err := ParseFormat(r.Format); err != nil {
		return err
	}
	if r.Img2Img == nil {
		return r.Params.Validate()
	}
	ip := *r.Img2Img
	ip.Params = r.Params
	if err := ip.Validate(); err != nil {
		return err
	}
	if len(ip.Init) > 1 {
		ip.BatchSize = len(ip.Init)
	}
	r.Params = ip.Params
	return nil
}

func (e *Engine) resolveModel(name string) (Checkpoint, error) {
	if name == "" {
		e.mu.Lock()
		name = e.defModel
		e.mu.Unlock()
		if name == "" {
			return Checkpoint{}, fmt.Errorf("%w: put a .safetensors or .ckpt file in %s, or start the server with --model PATH", ErrNoModel, e.cat.ckptDir)
		}
	}
	return e.cat.resolve(name)
}

// Job returns the job with that id, while the engine still keeps it
// (Config.Limits.KeepFinished finished jobs are kept).
func (e *Engine) Job(id string) (*Job, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, ok := e.jobs[id]
	return j, ok
}

// Jobs lists the jobs the engine keeps, oldest first.
func (e *Engine) Jobs() []*Job {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*Job(nil), e.all...)
}

// Current is the running job, or nil.
func (e *Engine) Current() *Job {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.current
}

// QueueLen is the number of jobs waiting.
func (e *Engine) QueueLen() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.q.len()
}

func (e *Engine) position(j *Job) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, x := range e.q.order() {
		if x == j {
			return i
		}
	}
	return -1
}

// Cancel stops a job: a queued one is dropped, a running one is interrupted
// (its finished images are kept). Cancelling a final job changes nothing.
func (e *Engine) Cancel(id string) (Snapshot, error) {
	e.mu.Lock()
	j, ok := e.jobs[id]
	if !ok {
		e.mu.Unlock()
		return Snapshot{}, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	if e.q.remove(j, j.snap.Request.Client) {
		e.mu.Unlock()
		if j.finish(Cancelled, "cancelled before it started", time.Now()) {
			e.retire()
		}
		return j.Snapshot(), nil
	}
	if e.current == j {
		j.interrupt()
	}
	e.mu.Unlock()
	return j.Snapshot(), nil
}

// Interrupt stops the running job, keeping its finished images; it reports
// whether a job was running.
func (e *Engine) Interrupt() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.current == nil {
		return false
	}
	e.current.interrupt()
	return true
}

// Skip abandons the batch being sampled and goes on with the job's next
// batch; it reports whether a job was running.
func (e *Engine) Skip() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.current == nil {
		return false
	}
	e.current.mu.Lock()
	if e.current.skip != nil {
		e.current.skip()
	}
	e.current.mu.Unlock()
	return true
}

// interrupt cancels the job's context (the caller holds e.mu).
func (j *Job) interrupt() {
	j.mu.Lock()
	cancel := j.cancel
	j.mu.Unlock()
	j.update(func(s *Snapshot) { s.Interrupted = true })
	if cancel != nil {
		cancel()
	}
}

// retire forgets the oldest final jobs beyond the retention limit.
func (e *Engine) retire() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.finished++
	for e.finished > e.cfg.Limits.KeepFinished {
		for i, j := range e.all {
			if j.status().Finished() {
				e.all = append(e.all[:i:i], e.all[i+1:]...)
				delete(e.jobs, j.id)
				e.finished--
				break
			}
		}
	}
}
