package verify

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"sdgo/internal/fixture"
)

// Status is the outcome of one case.
type Status string

// Case outcomes. Unsupported means sdgo has no runner for the case's kind
// yet; it fails a run unless that kind is left out with --kinds.
const (
	Pass        Status = "PASS"
	Fail        Status = "FAIL"
	Error       Status = "ERROR"
	Unsupported Status = "UNSUPPORTED"
)

// Result is the outcome of one case (or one variant of it, e.g. the same
// UNet case with the model loaded from the .ckpt file).
type Result struct {
	ID      string
	Variant string // which model file or sub-check, "" for the default
	Kind    string
	Status  Status
	MaxErr  float64 // largest absolute error over the checked values
	Tol     string  // the tolerance, in words
	Detail  string  // what failed, or a note
}

// Options select what a run covers.
type Options struct {
	Kinds     []string // only these kinds (all when empty)
	Match     string   // only case IDs containing this
	Backend   string   // GoMLX backend spec for network cases
	DType     string   // compute dtype for network cases ("" = f32)
	ClipVocab string   // CLIP vocabulary folder or file ("" = beside the fixtures)
}

// kindFunc runs one case and returns one or more results.
type kindFunc func(r *Runner, c *fixture.Case) []Result

// Runner holds what cases share: the manifest, and models and tokenizers
// loaded on first use.
type Runner struct {
	M    *fixture.Manifest
	Opts Options
	env  *env
	// dtype is what the networks compute in, resolved on first use
	// (precision).
	dtype dtypes.DType
}

// Run executes the selected cases of the fixture folder dir, writes one line
// per result to w, and returns the results. The error is non-nil when any
// case failed or could not run.
func Run(ctx context.Context, dir string, opts Options, w io.Writer) ([]Result, error) {
	m, err := fixture.Open(dir)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	r := &Runner{M: m, Opts: opts, env: newEnv(m, opts)}
	defer r.env.close()
	want := map[string]bool{}
	for _, k := range opts.Kinds {
		want[k] = true
	}
	var all []Result
	counts := map[Status]int{}
	start := time.Now()
	for _, c := range m.CasesOfKind(opts.Kinds...) {
		if err := ctx.Err(); err != nil {
			return all, err
		}
		if opts.Match != "" && !strings.Contains(c.ID, opts.Match) {
			continue
		}
		fn, ok := kinds[c.Kind]
		var res []Result
		if !ok {
			res = []Result{{ID: c.ID, Kind: c.Kind, Status: Unsupported, Detail: "sdgo has no runner for kind " + c.Kind}}
		} else {
			res = safeRun(fn, r, c)
		}
		for _, x := range res {
			counts[x.Status]++
			fmt.Fprintln(w, x.Line())
		}
		all = append(all, res...)
	}
	var parts []string
	for _, s := range []Status{Pass, Fail, Error, Unsupported} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], strings.ToLower(string(s))))
		}
	}
	fmt.Fprintf(w, "%d results: %s (%s)\n", len(all), strings.Join(parts, ", "), time.Since(start).Round(time.Millisecond))
	if len(all) == 0 {
		return all, fmt.Errorf("verify: no case of kinds %v in %s", opts.Kinds, dir)
	}
	if bad := counts[Fail] + counts[Error] + counts[Unsupported]; bad > 0 {
		return all, fmt.Errorf("%d of %d results did not pass", bad, len(all))
	}
	return all, nil
}

func safeRun(fn kindFunc, r *Runner, c *fixture.Case) (res []Result) {
	defer func() {
		if p := recover(); p != nil {
			res = []Result{{ID: c.ID, Kind: c.Kind, Status: Error, Detail: fmt.Sprint("panic: ", p)}}
		}
	}()
	return fn(r, c)
}

// Line formats a result as one line of verify output.
func (x Result) Line() string {
	id := x.ID
	if x.Variant != "" {
		id += " [" + x.Variant + "]"
	}
	s := fmt.Sprintf("%-11s %-58s", x.Status, id)
	if x.Status == Pass || x.Status == Fail {
		s += fmt.Sprintf(" max_err %-9.3g tol %s", x.MaxErr, x.Tol)
	}
	if x.Detail != "" {
		s += "  " + x.Detail
	}
	return strings.TrimRight(s, " ")
}

// KnownKinds lists the case kinds this sdgo can run.
func KnownKinds() []string {
	var out []string
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// errResult reports a case that could not run.
func errResult(c *fixture.Case, variant string, err error) Result {
	return Result{ID: c.ID, Kind: c.Kind, Variant: variant, Status: Error, Detail: err.Error()}
}

// tolString describes a tolerance.
func tolString(t fixture.Tolerance) string {
	if t.Exact {
		return "exact"
	}
	return fmt.Sprintf("atol %g rtol %g", t.Atol, t.Rtol)
}

// compareTensor checks got against the expected tensor name under tol and
// folds the outcome into res (worst case wins).
func (r *Runner) compareTensor(res *Result, role, name string, got []float32, tol fixture.Tolerance) {
	want, _, err := r.M.Tensor(name)
	if err != nil {
		res.Status, res.Detail = Error, err.Error()
		return
	}
	d, err := fixture.Compare(got, want, tol)
	if err != nil {
		res.Status, res.Detail = Fail, role+": "+err.Error()
		return
	}
	if d.MaxAbs > res.MaxErr {
		res.MaxErr = d.MaxAbs
	}
	if !d.OK() && res.Status != Error {
		res.Status = Fail
		res.Detail = strings.TrimSpace(res.Detail + fmt.Sprintf(" %s out of tolerance at %d (got %g want %g)", role, d.Worst, got[d.Worst], want[d.Worst]))
	}
}

// newResult starts a passing result for c.
func newResult(c *fixture.Case, variant string, tol fixture.Tolerance) Result {
	return Result{ID: c.ID, Kind: c.Kind, Variant: variant, Status: Pass, Tol: tolString(tol)}
}
