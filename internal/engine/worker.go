package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"runtime/debug"
	"time"

	"sdgo/internal/embedding"
	"sdgo/internal/imagefile"
	"sdgo/internal/pipeline"
	"sdgo/internal/sample"
)

// work is the worker: it runs one job at a time until the engine closes.
func (e *Engine) work() {
	defer e.wg.Done()
	for {
		j, ctx := e.next()
		if j == nil {
			return
		}
		e.run(ctx, j)
	}
}

// next waits for the next job and makes it current, with its context set
// before anyone can see it running (so Cancel always reaches it).
func (e *Engine) next() (*Job, context.Context) {
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return nil, nil
		}
		if j := e.q.pop(); j != nil {
			ctx, cancel := context.WithCancel(e.ctx)
			j.mu.Lock()
			j.cancel = cancel
			j.mu.Unlock()
			e.current = j
			e.mu.Unlock()
			return j, ctx
		}
		e.mu.Unlock()
		select {
		case <-e.wake:
		case <-e.ctx.Done():
			return nil, nil
		}
	}
}

// run takes one job to a final state.
func (e *Engine) run(ctx context.Context, j *Job) {
	j.update(func(s *Snapshot) { s.Status, s.Started = Running, time.Now() })
	err := e.protect(ctx, j)
	switch {
	case err == nil:
		j.finish(Done, "", time.Now())
	case ctx.Err() != nil:
		j.update(func(s *Snapshot) { s.Interrupted = true })
		j.finish(Cancelled, "interrupted", time.Now())
	default:
		e.log.Warn("job failed", "job", j.id, "err", err)
		j.finish(Failed, err.Error(), time.Now())
	}
	j.mu.Lock()
	if j.cancel != nil {
		j.cancel()
	}
	j.mu.Unlock()
	e.mu.Lock()
	e.current = nil
	e.mu.Unlock()
	e.retire()
}

// protect runs the job and turns a panic anywhere below (pipeline, model,
// a hook) into the job's error, so that one bad job never takes the server
// down. model recovers GoMLX's own panics; this is the last line.
func (e *Engine) protect(ctx context.Context, j *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("job panicked", "job", j.id, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("engine: job %s failed: internal error: %v", j.id, r)
		}
	}()
	r := j.snap.Request // immutable after Submit
	loaded, ck, err := e.ensureModel(ctx, r.Model, r.VAE)
	if err != nil {
		return err
	}
	j.update(func(s *Snapshot) { s.Model = ck })
	if r.LoadOnly {
		return nil
	}
	if e.before != nil {
		if err := e.before(ctx, r); err != nil {
			return err
		}
	}
	return e.generate(ctx, j, r, loaded)
}

// ensureModel loads the checkpoint and VAE unless they are the loaded ones.
func (e *Engine) ensureModel(ctx context.Context, name, vae string) (*Loaded, Checkpoint, error) {
	ck, err := e.cat.resolve(name)
	if err != nil {
		return nil, ck, err
	}
	vf, err := e.cat.resolveVAE(vae)
	if err != nil {
		return nil, ck, err
	}
	e.mu.Lock()
	cur, curCk, curVAE := e.loaded, e.loadedCk, e.loadedVAE
	e.mu.Unlock()
	if cur != nil && curCk.Path == ck.Path && curVAE == vf.Path {
		return cur, curCk, nil
	}
	if cur != nil {
		e.mu.Lock()
		e.loaded, e.loadedCk, e.loadedVAE = nil, Checkpoint{}, ""
		e.mu.Unlock()
		if err := cur.Close(); err != nil {
			e.log.Warn("close model", "model", curCk.Name, "err", err)
		}
	}
	start := time.Now()
	l, err := e.load(ctx, ck.Path, vf.Path)
	if err != nil {
		return nil, ck, fmt.Errorf("engine: load %s: %w", ck.Name, err)
	}
	if l.SHA256 != "" {
		e.cat.setHash(ck.Path, l.SHA256)
		ck.SHA256 = l.SHA256
	}
	e.log.Info("model loaded", "model", ck.Title(), "vae", vf.Name, "took", time.Since(start).Round(time.Millisecond))
	e.mu.Lock()
	e.loaded, e.loadedCk, e.loadedVAE = l, ck, vf.Path
	e.mu.Unlock()
	return l, ck, nil
}

// generate runs the job's batches one txt2img call each, so that Skip can
// abandon one batch and progress spans the whole job.
func (e *Engine) generate(ctx context.Context, j *Job, r Request, l *Loaded) error {
	p := r.Params
	n, bs := p.BatchCount, p.BatchSize
	h, w := p.Height/8, p.Width/8
	j.mu.Lock()
	j.started = time.Now()
	j.mu.Unlock()
	var tiDB *embedding.Database
	if l.Model != nil {
		var err error
		if tiDB, err = e.emb.get(pipeline.TextWidth(l.Model), false); err != nil {
			return err
		}
	}
	for b := 0; b < n; b++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		bctx, skip := context.WithCancel(ctx)
		j.mu.Lock()
		j.skip = skip
		j.mu.Unlock()
		bp := p
		bp.BatchCount = 1
		bp.Seed = p.Seed + int64(b*bs)
		bp.Subseed = p.Subseed + int64(b*bs)
		batch := b
		pj := pipeline.Job{Model: l.Model, Tok: l.Tok, Embeddings: tiDB, Networks: pipeline.LoRAFinder(e.cfg.LoraDir()), StepLatents: true, WantLatents: j.preview.wanted.Load, OnStep: func(_, _ int, s sample.Step) {
			j.step(batch, n, bs, s, h, w)
		}}
		var res []pipeline.Result
		var err error
		if r.Img2Img != nil {
			ip := *r.Img2Img
			ip.Params = bp
			res, err = e.img(bctx, pj, ip)
		} else {
			res, err = e.gen(bctx, pj, bp)
		}
		skip()
		if aerr := e.addImages(j, res, r.Save, r.Img2Img != nil, r.Format); aerr != nil {
			return aerr
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if bctx.Err() != nil && errors.Is(err, context.Canceled) {
				j.update(func(s *Snapshot) { s.Skipped++ })
				continue
			}
			return err
		}
	}
	return nil
}

// step records one sampling step of batch b (of n, bs images each).
func (j *Job) step(b, n, bs int, s sample.Step, h, w int) {
	lat := s.Denoised
	if lat == nil {
		lat = s.X
	}
	j.preview.set(lat, 4, h, w)
	j.mu.Lock()
	started := j.started
	j.mu.Unlock()
	j.update(func(sn *Snapshot) {
		total := s.Total * n
		done := b*s.Total + s.Index + 1
		if done > total {
			done = total
		}
		sn.Progress.Step, sn.Progress.Total = done, total
		sn.Progress.Batch, sn.Progress.Image = b, b*bs
		if done > 0 {
			el := time.Since(started)
			sn.Progress.ETA = time.Duration(float64(el) / float64(done) * float64(total-done))
		}
	})
}

// addImages encodes (and saves) finished images into the job, in format
// (webui's samples_format: png, jpg or webp; quality 80 as webui's
// jpeg_quality default).
func (e *Engine) addImages(j *Job, res []pipeline.Result, save, img2img bool, format string) error {
	format, err := ParseFormat(format)
	if err != nil {
		return err
	}
	imgs, texts := make([]image.Image, len(res)), make([]string, len(res))
	for i, r := range res {
		imgs[i], texts[i] = r.Image, r.Infotext
	}
	data, err := encodeImages(imgs, texts, format)
	if err != nil {
		return fmt.Errorf("engine: encode image: %w", err)
	}
	for i, r := range res {
		img := Image{Data: data[i], Format: format, Seed: r.Seed, Infotext: r.Infotext}
		if save {
			path, err := e.save(img, img2img)
			if err != nil {
				return err
			}
			img.Path = path
		}
		j.update(func(s *Snapshot) { s.Images = append(s.Images, img) })
	}
	return nil
}

// encodeImages encodes a batch: PNGs on every core (a batch's PNGs outlast
// its VAE decode otherwise), JPEG and WebP one by one.
func encodeImages(imgs []image.Image, texts []string, format string) ([][]byte, error) {
	if format == "png" {
		return imagefile.EncodePNGs(imgs, texts)
	}
	out := make([][]byte, len(imgs))
	for i, img := range imgs {
		var buf bytes.Buffer
		var err error
		if format == "jpg" {
			err = imagefile.EncodeJPEG(&buf, img, 80, texts[i])
		} else {
			err = imagefile.EncodeWebP(&buf, img, imagefile.WebPOptions{Quality: 80}, texts[i])
		}
		if err != nil {
			return nil, err
		}
		out[i] = buf.Bytes()
	}
	return out, nil
}
