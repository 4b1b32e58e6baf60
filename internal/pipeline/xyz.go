package pipeline

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"sdgo/internal/imagefile"
	"sdgo/internal/infotext"
)

// Axis is one axis of an X/Y/Z plot as a user gives it.
type Axis struct {
	Type   string // webui's label or a short form (see LookupAxis); "" = Nothing
	Values string // as typed: comma-separated with CSV quoting, ranges allowed
}

// XYZOptions are the X/Y/Z plot script's settings, named as in webui.
type XYZOptions struct {
	NoLegend          bool // webui's "Draw legend" (on by default) turned off
	IncludeLoneImages bool // Gallery lists every cell image too
	IncludeSubGrids   bool // Gallery lists each Z value's grid too
	// KeepRandomSeeds is webui's "Keep -1 for seeds": without it a seed of
	// -1 (in the parameters or on a Seed / Var. seed axis) is drawn once
	// for the whole plot, so every cell shares it.
	KeepRandomSeeds                    bool
	VarySeedsX, VarySeedsY, VarySeedsZ bool // seed + the cell's index along those axes
	Margin                             int  // pixels between cells (webui's "Grid margins", 0-500)
	// Load switches the model for the Checkpoint name and VAE axes: it gets
	// a cell's values ("" where that axis is not plotted, meaning the
	// model j runs) and returns the Model, Tok and ModelTag to use; the
	// plot keeps j's callbacks. It is called only when a cell's pair
	// differs from the previous cell's, and the costliest axis (checkpoint,
	// then VAE) is iterated outermost, so each checkpoint loads once. The
	// loader owns what it loads and may free the model it returned before.
	Load func(ctx context.Context, checkpoint, vae string) (Job, error)
	// Check, when set, validates one checkpoint or VAE value (the other
	// argument "") before anything is generated (webui's confirm).
	Check func(checkpoint, vae string) error
}

// XYZResult is what an X/Y/Z plot made.
type XYZResult struct {
	// Grid is the Z values' grids side by side with the Z labels on top;
	// its infotext is the first cell's plus webui's Script, X/Y/Z Type and
	// Values fields.
	Grid Result
	// SubGrids holds one labelled X by Y grid per Z value (infotext: the
	// value's first cell's plus the Script and X/Y fields).
	SubGrids []Result
	// Cells holds every image made, cell by cell with X fastest, then Y,
	// then Z; a cell holds BatchCount x BatchSize images.
	Cells []Result
	// Labels of the X, Y and Z values as the grids show them.
	XLabels, YLabels, ZLabels []string
}

// Gallery lists the images webui shows for the plot: the grid, the
// sub-grids when there are several Z values and IncludeSubGrids is set,
// then every cell image with IncludeLoneImages.
func (r *XYZResult) Gallery(o XYZOptions) []Result {
	out := []Result{r.Grid}
	if o.IncludeSubGrids && len(r.SubGrids) > 1 {
		out = append(out, r.SubGrids...)
	}
	if o.IncludeLoneImages {
		out = append(out, r.Cells...)
	}
	return out
}

// plotAxis is a parsed axis.
type plotAxis struct {
	t      *AxisType
	text   string
	vals   []any
	labels []string
}

// ParseAxis resolves an axis's type and parses its values; errors name
// the axis type and the bad value.
func ParseAxis(a Axis) (*AxisType, []any, error) {
	name := a.Type
	if strings.TrimSpace(name) == "" {
		name = "Nothing"
	}
	t, ok := LookupAxis(name)
	if !ok {
		return nil, nil, fmt.Errorf("unknown axis type %q (known: %s)", a.Type, axisNames())
	}
	vals, err := t.Values(a.Values)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", t.Label, err)
	}
	return t, vals, nil
}

// maxGridMegapixels is webui's img_max_size_mp default.
const maxGridMegapixels = 200

// planXYZ parses and confirms the three axes and fixes random seeds.
func planXYZ(p *Params, axes [3]Axis, o XYZOptions) ([3]plotAxis, error) {
	var pa [3]plotAxis
	for i, a := range axes {
		name := "XYZ"[i : i+1]
		t, vals, err := ParseAxis(a)
		if err != nil {
			return pa, fmt.Errorf("%s axis: %w", name, err)
		}
		if t.confirm != nil {
			if err := t.confirm(*p, vals); err != nil {
				return pa, fmt.Errorf("%s axis: %s: %w", name, t.Label, err)
			}
		}
		if t.model != noModel {
			if o.Load == nil {
				return pa, fmt.Errorf("%s axis: %s needs a model loader", name, t.Label)
			}
			if o.Check != nil {
				for _, v := range vals {
					ck, vae := v.(string), ""
					if t.model == vaeKey {
						ck, vae = "", ck
					}
					if err := o.Check(ck, vae); err != nil {
						return pa, fmt.Errorf("%s axis: %s %q: %w", name, t.Label, v, err)
					}
				}
			}
		}
		if !o.KeepRandomSeeds && (t.Label == "Seed" || t.Label == "Var. seed") {
			for k, v := range vals {
				if v.(int64) == -1 {
					vals[k] = rand.Int64N(4294967294)
				}
			}
		}
		pa[i] = plotAxis{t: t, text: a.Values, vals: vals}
		for _, v := range vals {
			pa[i].labels = append(pa[i].labels, t.Format(v))
		}
	}
	if !o.KeepRandomSeeds {
		if p.Seed == -1 {
			p.Seed = rand.Int64N(1 << 32)
		}
		if p.Subseed == -1 {
			p.Subseed = rand.Int64N(1 << 32)
		}
	}
	n := len(pa[0].vals) * len(pa[1].vals) * len(pa[2].vals)
	w, h := p.Width, p.Height
	if w == 0 || h == 0 { // Validate's default
		w, h = 512, 512
	}
	if mp := math.Round(float64(n) * float64(w) * float64(h) / 1e6); mp >= maxGridMegapixels {
		return pa, fmt.Errorf("the grid would have %v megapixels (%d cells of %dx%d), the limit is %d", mp, n, w, h, maxGridMegapixels)
	}
	return pa, nil
}

// loopOrder is webui's choice of nesting, outermost first (0 = X, 1 = Y,
// 2 = Z): the strictly costliest axis outermost, then the costlier of the
// other two; by default Z, then Y, then X innermost.
func loopOrder(c [3]float64) [3]int {
	first, second := 2, 1
	switch {
	case c[0] > c[1] && c[0] > c[2]:
		first, second = 0, 2
		if c[1] > c[2] {
			second = 1
		}
	case c[1] > c[0] && c[1] > c[2]:
		first, second = 1, 2
		if c[0] > c[2] {
			second = 0
		}
	case c[2] > c[0] && c[2] > c[1]:
		first, second = 2, 1
		if c[0] > c[1] {
			second = 0
		}
	}
	return [3]int{first, second, 3 - first - second}
}

// XYZPlot runs webui's "X/Y/Z plot" script: one txt2img job per
// combination of the X, Y and Z values (p with the three values applied),
// a labelled X by Y grid per Z value (X across, Y down) and those grids
// side by side under the Z labels. Results made before an error are
// returned with it.
func XYZPlot(ctx context.Context, j Job, p Params, x, y, z Axis, o XYZOptions) (*XYZResult, error) {
	// 1. Parse, confirm and fix seeds before anything runs.
	axes, err := planXYZ(&p, [3]Axis{x, y, z}, o)
	if err != nil {
		return nil, fmt.Errorf("pipeline: xyz plot: %w", err)
	}
	n := [3]int{len(axes[0].vals), len(axes[1].vals), len(axes[2].vals)}
	cells := make([][]Result, n[0]*n[1]*n[2])
	res := &XYZResult{XLabels: axes[0].labels, YLabels: axes[1].labels, ZLabels: axes[2].labels}
	// 2. Generate in the order that switches models least.
	order := loopOrder([3]float64{axes[0].t.Cost, axes[1].t.Cost, axes[2].t.Cost})
	cur, loaded, job := [2]string{}, false, j
	var idx [3]int
	for a := 0; a < n[order[0]]; a++ {
		for b := 0; b < n[order[1]]; b++ {
			for c := 0; c < n[order[2]]; c++ {
				idx[order[0]], idx[order[1]], idx[order[2]] = a, b, c
				q, key, err := cellParams(p, axes, idx, o)
				if err != nil {
					return res.flatten(cells), fmt.Errorf("pipeline: xyz plot: cell %s: %w", cellName(axes, idx), err)
				}
				if needsModel(axes) && (!loaded || key != cur) {
					nj, err := o.Load(ctx, key[0], key[1])
					if err != nil {
						return res.flatten(cells), fmt.Errorf("pipeline: xyz plot: load checkpoint %q vae %q: %w", key[0], key[1], err)
					}
					job = j
					job.Model, job.Tok, job.ModelTag = nj.Model, nj.Tok, nj.ModelTag
					cur, loaded = key, true
				}
				rs, err := Txt2Img(ctx, job, q)
				cells[idx[0]+n[0]*(idx[1]+n[1]*idx[2])] = rs
				if err != nil {
					return res.flatten(cells), fmt.Errorf("pipeline: xyz plot: cell %s: %w", cellName(axes, idx), err)
				}
			}
		}
	}
	res.flatten(cells)
	// 3. Grids: one per Z value, then the Z grids in one row.
	res.grids(cells, axes, n, o)
	return res, nil
}

// cellParams applies a cell's three values to p and returns its
// checkpoint/VAE pair.
func cellParams(p Params, axes [3]plotAxis, idx [3]int, o XYZOptions) (Params, [2]string, error) {
	var key [2]string
	for i, a := range axes {
		v := a.vals[idx[i]]
		switch a.t.model {
		case checkpointKey:
			key[0] = v.(string)
		case vaeKey:
			key[1] = v.(string)
		default:
			if err := a.t.apply(&p, v, a.vals); err != nil {
				return p, key, err
			}
		}
	}
	if p.Seed != -1 { // webui would make -1 a fixed seed here
		xdim, ydim := 1, 1
		if o.VarySeedsX {
			p.Seed += int64(idx[0])
			xdim = len(axes[0].vals)
		}
		if o.VarySeedsY {
			p.Seed += int64(idx[1] * xdim)
			ydim = len(axes[1].vals)
		}
		if o.VarySeedsZ {
			p.Seed += int64(idx[2] * xdim * ydim)
		}
	}
	return p, key, nil
}

func needsModel(axes [3]plotAxis) bool {
	for _, a := range axes {
		if a.t.model != noModel {
			return true
		}
	}
	return false
}

// cellName names a cell by its labels for errors.
func cellName(axes [3]plotAxis, idx [3]int) string {
	var parts []string
	for i, a := range axes {
		if a.t.Label != "Nothing" {
			parts = append(parts, fmt.Sprintf("%s=%q", a.t.Label, fmt.Sprint(a.vals[idx[i]])))
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// flatten fills Cells from the per-cell results and returns r.
func (r *XYZResult) flatten(cells [][]Result) *XYZResult {
	r.Cells = nil
	for _, rs := range cells {
		r.Cells = append(r.Cells, rs...)
	}
	return r
}

// grids draws the sub-grids and the main grid.
func (r *XYZResult) grids(cells [][]Result, axes [3]plotAxis, n [3]int, o XYZOptions) {
	per := n[0] * n[1]
	var subImgs []image.Image
	for iz := 0; iz < n[2]; iz++ {
		imgs := make([]image.Image, per)
		for k := range imgs {
			imgs[k] = cellImage(cells[iz*per+k])
		}
		var g *image.NRGBA
		if o.NoLegend {
			g = imagefile.GridAnnotatedMargin(imgs, n[0], nil, nil, 0)
		} else {
			g = imagefile.GridAnnotatedMargin(imgs, n[0], annotations(axes[1].labels), annotations(axes[0].labels), o.Margin)
		}
		first := cells[iz*per][0]
		r.SubGrids = append(r.SubGrids, Result{Image: g, Seed: first.Seed, Infotext: withPlotFields(first.Infotext, axes, false, o.KeepRandomSeeds)})
		subImgs = append(subImgs, g)
	}
	var zl [][]imagefile.Annotation
	if !o.NoLegend {
		zl = annotations(axes[2].labels)
	}
	first := cells[0][0]
	r.Grid = Result{Image: imagefile.GridAnnotatedMargin(subImgs, n[2], nil, zl, 0), Seed: first.Seed,
		Infotext: withPlotFields(first.Infotext, axes, true, o.KeepRandomSeeds)}
}

// cellImage is a cell's picture: its image, or webui's grid of a batch.
func cellImage(rs []Result) image.Image {
	if len(rs) == 1 {
		return rs[0].Image
	}
	imgs := make([]image.Image, len(rs))
	for i, r := range rs {
		imgs[i] = r.Image
	}
	return imagefile.Grid(imgs, 0, nil, nil)
}

func annotations(labels []string) [][]imagefile.Annotation {
	out := make([][]imagefile.Annotation, len(labels))
	for i, l := range labels {
		out[i] = []imagefile.Annotation{{Text: l, Active: true}}
	}
	return out
}

// withPlotFields adds webui's grid fields to a cell's infotext, before
// "Version" as webui orders extra parameters: Script, then per plotted
// axis its Type, its Values as typed, and for seed axes the drawn values
// ("Fixed X Values", unless random seeds were kept); Z only on the main
// grid.
func withPlotFields(text string, axes [3]plotAxis, withZ, keepRandom bool) string {
	fields := []infotext.Param{{Key: "Script", Value: "X/Y/Z plot"}}
	for i, a := range axes {
		if a.t.Label == "Nothing" || (i == 2 && !withZ) {
			continue
		}
		name := "XYZ"[i : i+1]
		fields = append(fields, infotext.Param{Key: name + " Type", Value: a.t.Label}, infotext.Param{Key: name + " Values", Value: a.text})
		if (a.t.Label == "Seed" || a.t.Label == "Var. seed") && !keepRandom {
			var s []string
			for _, v := range a.vals {
				s = append(s, strconv.FormatInt(v.(int64), 10))
			}
			fields = append(fields, infotext.Param{Key: "Fixed " + name + " Values", Value: strings.Join(s, ", ")})
		}
	}
	var sb strings.Builder
	for _, f := range fields {
		if f.Value == "" {
			continue
		}
		sb.WriteString(", " + f.Key + ": " + infotext.Quote(f.Value))
	}
	head, last := "", text
	if i := strings.LastIndex(text, "\n"); i >= 0 {
		head, last = text[:i+1], text[i+1:]
	}
	if i := strings.LastIndex(last, ", Version: "); i >= 0 {
		return head + last[:i] + sb.String() + last[i:]
	}
	return head + last + sb.String()
}
