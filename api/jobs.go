package api

import "time"

// JobStatus is where a job is in its life.
type JobStatus string

// The job states. A job ends in Done, Failed or Cancelled.
const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobDone      JobStatus = "done"
	JobFailed    JobStatus = "failed"
	JobCancelled JobStatus = "cancelled"
)

// Finished reports whether s is a final state.
func (s JobStatus) Finished() bool {
	return s == JobDone || s == JobFailed || s == JobCancelled
}

// Job is GET /api/v1/jobs/{id} and the data of every SSE event of
// GET /api/v1/jobs/{id}/events.
type Job struct {
	ID       string      `json:"id"`
	Status   JobStatus   `json:"status"`
	Position int         `json:"position"` // jobs ahead of it while queued (0 = next), -1 otherwise
	Progress JobProgress `json:"progress"`
	Error    string      `json:"error,omitempty"`
	Model    string      `json:"model,omitempty"` // checkpoint title the job runs on
	Seeds    []int64     `json:"seeds,omitempty"` // one per image, known once it starts
	Images   []JobImage  `json:"images"`          // finished images (a cancelled job keeps those done)
	Created  time.Time   `json:"created"`
	Started  *time.Time  `json:"started,omitempty"`
	Finished *time.Time  `json:"finished,omitempty"`
	// Preview is a base64 PNG of the current latent, only in events asked
	// for with ?preview=1.
	Preview string `json:"preview,omitempty"`
}

// JobProgress counts sampling steps over the whole job.
type JobProgress struct {
	Step       int     `json:"step"`        // steps done, over all images
	Total      int     `json:"total"`       // steps in the job
	Fraction   float64 `json:"fraction"`    // Step/Total
	ETASeconds float64 `json:"eta_seconds"` // estimated seconds left (0 when unknown)
	Image      int     `json:"image"`       // index of the first image of the batch being sampled
	Images     int     `json:"images"`      // images in the job
}

// JobImage is one finished image of a job; URL serves its PNG.
type JobImage struct {
	Index    int    `json:"index"`
	Seed     int64  `json:"seed"`
	Infotext string `json:"infotext"`
	URL      string `json:"url"`
}

// JobList is GET /api/v1/jobs: recent and pending jobs, oldest first.
type JobList struct {
	Jobs []Job `json:"jobs"`
}
