package engine

import (
	"context"
	"fmt"
	"image"
	"strings"
	"sync"
	"time"

	"sdgo/internal/pipeline"
)

// Status is where a job is in its life.
type Status string

// The job states; Done, Failed and Cancelled are final.
const (
	Queued    Status = "queued"
	Running   Status = "running"
	Done      Status = "done"
	Failed    Status = "failed"
	Cancelled Status = "cancelled"
)

// Finished reports whether s is final.
func (s Status) Finished() bool { return s == Done || s == Failed || s == Cancelled }

// Request is one job as the engine takes it.
type Request struct {
	Params pipeline.Params // BatchCount batches of BatchSize images; seeds of -1 are drawn at Submit
	// Img2Img, when set, makes this an img2img job: its init images, mask
	// and img2img settings (its embedded Params are replaced by Params).
	Img2Img *pipeline.Img2ImgParams
	Model   string // checkpoint name as the catalogue knows it; "" = the default
	VAE     string // VAE file name, "None", or "" / "Automatic" = the checkpoint's own
	Client  string // fairness key: clients are served round-robin
	Save    bool   // write the images under the outputs folder
	// Format is webui's samples_format: "png" (or ""), "jpg" or "webp"; the
	// infotext goes in a PNG text chunk or in EXIF UserComment.
	Format string
	// LoadOnly makes the job load Model and VAE and nothing else.
	LoadOnly bool
}

// Image is one finished image.
type Image struct {
	Data     []byte // encoded with its infotext, in Format
	Format   string // "png", "jpg" or "webp"
	Seed     int64
	Infotext string
	Path     string // where it was saved ("" if not saved)
}

// Formats are the image formats a Request may ask for.
var Formats = []string{"png", "jpg", "webp"}

// ParseFormat returns the canonical name of a samples_format ("" is png,
// "jpeg" is jpg) or an error naming the formats.
func ParseFormat(f string) (string, error) {
	switch strings.ToLower(f) {
	case "", "png":
		return "png", nil
	case "jpg", "jpeg":
		return "jpg", nil
	case "webp":
		return "webp", nil
	}
	return "", fmt.Errorf("engine: image format %q: want png, jpg or webp", f)
}

// ContentType is the MIME type of the image's format.
func (im Image) ContentType() string {
	switch im.Format {
	case "jpg":
		return "image/jpeg"
	case "webp":
		return "image/webp"
	}
	return "image/png"
}

// Ext is the file extension of the image's format, without the dot.
func (im Image) Ext() string {
	if im.Format == "" {
		return "png"
	}
	return im.Format
}

// Snapshot is a job's state at one moment.
type Snapshot struct {
	ID       string
	Status   Status
	Position int // jobs ahead of it while queued; -1 otherwise
	Request  Request
	Model    Checkpoint // the checkpoint it runs on
	Seeds    []int64    // per image
	Subseeds []int64
	Progress Progress
	Images   []Image // finished images, in order
	Error    string
	// Interrupted: cancelled by Interrupt or Cancel while running; Skipped
	// counts batches skipped by Skip.
	Interrupted bool
	Skipped     int
	Created     time.Time
	Started     time.Time // zero while queued
	Finished    time.Time // zero until final
}

// Progress counts sampling steps over the whole job.
type Progress struct {
	Step, Total   int // steps done and steps in the job
	Image, Images int // first image of the batch being sampled, images in the job
	Batch         int // batch being sampled (0-based)
	ETA           time.Duration
}

// Fraction is Step/Total (0 when Total is 0).
func (p Progress) Fraction() float64 {
	if p.Total == 0 {
		return 0
	}
	return float64(p.Step) / float64(p.Total)
}

// Job is a submitted request. Its methods are safe for concurrent use.
type Job struct {
	id      string
	eng     *Engine
	done    chan struct{}
	mu      sync.Mutex
	snap    Snapshot
	changed chan struct{} // closed and replaced at every change
	cancel  context.CancelFunc
	skip    context.CancelFunc // cancels the current batch only
	preview latentPreview
	started time.Time // when sampling began (after the model load)
}

func newJob(e *Engine, id string, r Request, ck Checkpoint, now time.Time) *Job {
	j := &Job{id: id, eng: e, done: make(chan struct{}), changed: make(chan struct{})}
	j.snap = Snapshot{ID: id, Status: Queued, Position: -1, Request: r, Model: ck, Created: now}
	return j
}

// ID is the job's id.
func (j *Job) ID() string { return j.id }

// Done is closed when the job reaches a final state.
func (j *Job) Done() <-chan struct{} { return j.done }

// Changed returns a channel closed at the job's next change.
func (j *Job) Changed() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.changed
}

// Snapshot returns the job's current state. Images share their PNG bytes,
// which are never modified.
func (j *Job) Snapshot() Snapshot {
	j.mu.Lock()
	s := j.snap
	s.Images = append([]Image(nil), s.Images...)
	s.Seeds = append([]int64(nil), s.Seeds...)
	s.Subseeds = append([]int64(nil), s.Subseeds...)
	j.mu.Unlock()
	if s.Status == Queued {
		s.Position = j.eng.position(j)
	}
	return s
}

// Wait blocks until the job is final or ctx ends.
func (j *Job) Wait(ctx context.Context) (Snapshot, error) {
	select {
	case <-j.done:
		return j.Snapshot(), nil
	case <-ctx.Done():
		return j.Snapshot(), ctx.Err()
	}
}

// Preview renders the latest latent of the batch being sampled (a cheap
// linear approximation of the VAE), or nil when there is none.
func (j *Job) Preview() *image.NRGBA { return j.preview.render() }

// update changes the snapshot under the lock and wakes watchers.
func (j *Job) update(f func(s *Snapshot)) {
	j.mu.Lock()
	f(&j.snap)
	close(j.changed)
	j.changed = make(chan struct{})
	j.mu.Unlock()
}

// finish sets a final state once; later calls are ignored.
func (j *Job) finish(st Status, msg string, now time.Time) bool {
	first := false
	j.update(func(s *Snapshot) {
		if s.Status.Finished() {
			return
		}
		first = true
		s.Status, s.Error, s.Finished = st, msg, now
		s.Progress.ETA = 0
		if st == Done {
			s.Progress.Step = s.Progress.Total
		}
	})
	if first {
		close(j.done)
	}
	return first
}

func (j *Job) status() Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.snap.Status
}
