package pipeline_test

import (
	"context"
	"image"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"sdgo/internal/imagefile"
	"sdgo/internal/model"
	"sdgo/internal/pipeline"
	"sdgo/internal/tokenizer"
)

// xyzBase are the parameters every plot test starts from: the tiny model
// at 64x64 and 2 steps.
func xyzBase() pipeline.Params {
	return pipeline.Params{Prompt: "a boat at sunset", NegativePrompt: "ugly", Width: 64, Height: 64, Steps: 2,
		CFGScale: 7, Sampler: "Euler", Seed: 11}
}

// plain runs one Txt2Img job for comparison with a plot cell.
func plain(t *testing.T, m *model.Model, tok *tokenizer.Tokenizer, p pipeline.Params) pipeline.Result {
	t.Helper()
	rs, err := pipeline.Txt2Img(context.Background(), pipeline.Job{Model: m, Tok: tok}, p)
	if err != nil {
		t.Fatal(err)
	}
	return rs[0]
}

func samePixels(t *testing.T, what string, got, want image.Image) {
	t.Helper()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("%s: bounds %v, want %v", what, got.Bounds(), want.Bounds())
	}
	b := got.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if got.At(x, y) != want.At(x, y) {
				t.Fatalf("%s: pixel (%d,%d) %v, want %v", what, x, y, got.At(x, y), want.At(x, y))
			}
		}
	}
}

func annot(labels ...string) [][]imagefile.Annotation {
	out := make([][]imagefile.Annotation, len(labels))
	for i, l := range labels {
		out[i] = []imagefile.Annotation{{Text: l, Active: true}}
	}
	return out
}

// TestXYZPlot2x2 plots Steps across and CFG Scale down: four cells in X-
// fastest order, each pixel-exact with a plain run of its parameters, a
// grid of 2x2 cells with the labels' margins and the grid margin, and the
// grid's infotext the first cell's plus webui's plot fields.
func TestXYZPlot2x2(t *testing.T) {
	pool, tok := tinyPool(t, 1)
	m := <-pool
	defer func() { pool <- m }()
	p := xyzBase()
	const margin = 6
	res, err := pipeline.XYZPlot(context.Background(), pipeline.Job{Model: m, Tok: tok}, p,
		pipeline.Axis{Type: "steps", Values: "2,3"}, pipeline.Axis{Type: "CFG Scale", Values: "3, 7"}, pipeline.Axis{},
		pipeline.XYZOptions{Margin: margin})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cells) != 4 || len(res.SubGrids) != 1 {
		t.Fatalf("%d cells, %d sub-grids; want 4 and 1", len(res.Cells), len(res.SubGrids))
	}
	if want := []string{"Steps: 2", "Steps: 3"}; !reflect.DeepEqual(res.XLabels, want) {
		t.Errorf("X labels %q, want %q", res.XLabels, want)
	}
	if want := []string{"CFG Scale: 3.0", "CFG Scale: 7.0"}; !reflect.DeepEqual(res.YLabels, want) {
		t.Errorf("Y labels %q, want %q", res.YLabels, want)
	}
	for i, c := range []struct {
		steps int
		cfg   float64
	}{{2, 3}, {3, 3}, {2, 7}, {3, 7}} {
		info := res.Cells[i].Infotext
		if !strings.Contains(info, "Steps: "+strconv.Itoa(c.steps)+",") || !strings.Contains(info, "CFG scale: "+strconv.FormatFloat(c.cfg, 'f', -1, 64)+",") || res.Cells[i].Seed != 11 {
			t.Errorf("cell %d infotext:\n%s", i, info)
		}
	}
	for _, i := range []int{0, 3} { // corners against plain runs
		q := p
		q.Steps, q.CFGScale = 2+i%2, []float64{3, 7}[i/2]
		want := plain(t, m, tok, q)
		samePixels(t, "cell "+strconv.Itoa(i), res.Cells[i].Image, want.Image)
		if res.Cells[i].Infotext != want.Infotext {
			t.Errorf("cell %d infotext %q, want %q", i, res.Cells[i].Infotext, want.Infotext)
		}
	}
	imgs := []image.Image{res.Cells[0].Image, res.Cells[1].Image, res.Cells[2].Image, res.Cells[3].Image}
	want := imagefile.GridAnnotatedMargin(imgs, 2, annot(res.YLabels...), annot(res.XLabels...), margin)
	samePixels(t, "sub-grid", res.SubGrids[0].Image, want)
	samePixels(t, "grid", res.Grid.Image, want) // Z is Nothing: no Z labels
	g := res.Grid.Image.Bounds()
	padLeft := 64 * 3 / 4
	padTop := g.Dy() - 2*64 - margin
	if g.Dx() != padLeft+2*64+margin || padTop < 13 {
		t.Errorf("grid %v: want %d wide and a label margin on top", g, padLeft+2*64+margin)
	}
	at := image.Pt(padLeft+64+margin, padTop+64+margin) // cell (1,1)
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			if got, want := res.Grid.Image.At(at.X+x, at.Y+y), res.Cells[3].Image.At(x, y); got != want {
				t.Fatalf("grid pixel of cell (1,1) at (%d,%d): %v, want %v", x, y, got, want)
			}
		}
	}
	first := res.Cells[0].Infotext
	i := strings.LastIndex(first, ", Version: ")
	wantInfo := first[:i] + `, Script: X/Y/Z plot, X Type: Steps, X Values: "2,3", Y Type: CFG Scale, Y Values: "3, 7"` + first[i:]
	if res.Grid.Infotext != wantInfo || res.SubGrids[0].Infotext != wantInfo {
		t.Errorf("grid infotext\n%s\nwant\n%s", res.Grid.Infotext, wantInfo)
	}
	if got := res.Gallery(pipeline.XYZOptions{}); len(got) != 1 {
		t.Errorf("gallery holds %d images, want the grid", len(got))
	}
	if got := res.Gallery(pipeline.XYZOptions{IncludeLoneImages: true, IncludeSubGrids: true}); len(got) != 5 {
		t.Errorf("gallery with lone images holds %d, want 5 (one Z value: no sub-grids)", len(got))
	}
}

// TestXYZPlotZ plots seeds across and a prompt S/R as Z: two sub-grids
// without row labels side by side under the Z labels, cells in X, Y, Z
// order, and a Z cell equal to a plain run with the replaced prompt.
func TestXYZPlotZ(t *testing.T) {
	pool, tok := tinyPool(t, 1)
	m := <-pool
	defer func() { pool <- m }()
	p := xyzBase()
	res, err := pipeline.XYZPlot(context.Background(), pipeline.Job{Model: m, Tok: tok}, p,
		pipeline.Axis{Type: "seed", Values: "1,2"}, pipeline.Axis{Type: "Nothing"}, pipeline.Axis{Type: "Prompt S/R", Values: "boat,cat"},
		pipeline.XYZOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cells) != 4 || len(res.SubGrids) != 2 {
		t.Fatalf("%d cells, %d sub-grids; want 4 and 2", len(res.Cells), len(res.SubGrids))
	}
	for i, want := range []struct {
		seed   int64
		prompt string
	}{{1, "a boat"}, {2, "a boat"}, {1, "a cat"}, {2, "a cat"}} {
		if res.Cells[i].Seed != want.seed || !strings.HasPrefix(res.Cells[i].Infotext, want.prompt+" at sunset\n") {
			t.Errorf("cell %d: seed %d, infotext %q", i, res.Cells[i].Seed, res.Cells[i].Infotext)
		}
	}
	q := p
	q.Seed, q.Prompt = 2, "a cat at sunset"
	samePixels(t, "cell (1,0,1)", res.Cells[3].Image, plain(t, m, tok, q).Image)
	if want := []string{"boat", "cat"}; !reflect.DeepEqual(res.ZLabels, want) {
		t.Errorf("Z labels %q, want %q", res.ZLabels, want)
	}
	sub := res.SubGrids[1].Image.Bounds()
	if sub.Dx() != 128 || sub.Dy() <= 64 {
		t.Errorf("sub-grid %v: want 128 wide (no row labels) with X labels on top", sub)
	}
	want := imagefile.GridAnnotatedMargin([]image.Image{res.SubGrids[0].Image, res.SubGrids[1].Image}, 2, nil, annot("boat", "cat"), 0)
	samePixels(t, "grid", res.Grid.Image, want)
	if g := res.Grid.Image.Bounds(); g.Dx() != 256 || g.Dy() <= sub.Dy() {
		t.Errorf("grid %v: want two sub-grids across under a Z label margin", g)
	}
	if !strings.Contains(res.Grid.Infotext, `Script: X/Y/Z plot, X Type: Seed, X Values: "1,2", Fixed X Values: "1, 2", Z Type: Prompt S/R, Z Values: "boat,cat", Version:`) {
		t.Errorf("grid infotext %q", res.Grid.Infotext)
	}
	if strings.Contains(res.SubGrids[1].Infotext, "Z Type") || !strings.HasPrefix(res.SubGrids[1].Infotext, "a cat") {
		t.Errorf("sub-grid 1 infotext %q", res.SubGrids[1].Infotext)
	}
}

// TestXYZPlotRandomSeedNoLegend fixes a -1 seed once for the plot and
// draws a bare grid without the legend.
func TestXYZPlotRandomSeedNoLegend(t *testing.T) {
	pool, tok := tinyPool(t, 1)
	m := <-pool
	defer func() { pool <- m }()
	p := xyzBase()
	p.Seed = -1
	res, err := pipeline.XYZPlot(context.Background(), pipeline.Job{Model: m, Tok: tok}, p,
		pipeline.Axis{Type: "cfg", Values: "3,7"}, pipeline.Axis{}, pipeline.Axis{}, pipeline.XYZOptions{NoLegend: true, Margin: 10})
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Cells[0].Seed; s == -1 || res.Cells[1].Seed != s {
		t.Errorf("seeds %d, %d: want one drawn seed for both cells", s, res.Cells[1].Seed)
	}
	samePixels(t, "grid", res.Grid.Image, imagefile.Grid([]image.Image{res.Cells[0].Image, res.Cells[1].Image}, 2, nil, nil))
}

// TestXYZPlotCheckpointAxis puts checkpoints on X and steps on Y: the
// checkpoint loop is outermost, so the loader runs once per checkpoint,
// and each cell's infotext names its model.
func TestXYZPlotCheckpointAxis(t *testing.T) {
	pool, tok := tinyPool(t, 1)
	m := <-pool
	defer func() { pool <- m }()
	var loads []string
	o := pipeline.XYZOptions{
		Load: func(_ context.Context, ckpt, vae string) (pipeline.Job, error) {
			loads = append(loads, ckpt+"|"+vae)
			return pipeline.Job{Model: m, Tok: tok, ModelTag: strings.TrimSuffix(ckpt, ".ckpt")}, nil
		},
		Check: func(ckpt, vae string) error { return nil },
	}
	res, err := pipeline.XYZPlot(context.Background(), pipeline.Job{Model: m, Tok: tok}, xyzBase(),
		pipeline.Axis{Type: "checkpoint", Values: "dir/first.ckpt, second.ckpt"}, pipeline.Axis{Type: "steps", Values: "1,2"}, pipeline.Axis{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dir/first.ckpt|", "second.ckpt|"}; !reflect.DeepEqual(loads, want) {
		t.Errorf("loads %q, want %q", loads, want)
	}
	if want := []string{"first.ckpt", "second.ckpt"}; !reflect.DeepEqual(res.XLabels, want) {
		t.Errorf("X labels %q, want %q", res.XLabels, want)
	}
	for i, tag := range []string{"dir/first", "second", "dir/first", "second"} {
		if !strings.Contains(res.Cells[i].Infotext, "Model: "+tag+",") || !strings.Contains(res.Cells[i].Infotext, "Steps: "+strconv.Itoa(1+i/2)+",") {
			t.Errorf("cell %d infotext %q", i, res.Cells[i].Infotext)
		}
	}
	o.Check = func(ckpt, vae string) error {
		if ckpt == "missing" {
			return errMissing
		}
		return nil
	}
	loads = nil
	if _, err := pipeline.XYZPlot(context.Background(), pipeline.Job{Model: m, Tok: tok}, xyzBase(),
		pipeline.Axis{Type: "steps", Values: "1"}, pipeline.Axis{Type: "Checkpoint name", Values: "a, missing"}, pipeline.Axis{}, o); err == nil ||
		!strings.Contains(err.Error(), `Y axis: Checkpoint name "missing": no such model`) || loads != nil {
		t.Errorf("missing checkpoint: %v (loads %q)", err, loads)
	}
}

type missingErr struct{}

func (missingErr) Error() string { return "no such model" }

var errMissing = missingErr{}
