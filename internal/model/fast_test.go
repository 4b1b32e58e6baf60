package model

import (
	"math/rand/v2"
	"slices"
	"testing"

	"sdgo/internal/testutil"
)

// TestRunnerFastPathMatchesFirstCall checks the runner's cached-weights
// path: after a graph's first call (through context.Exec) the runner keeps
// it with its weight buffers, and later calls with other inputs of the same
// shapes give exactly what a fresh model gives on its first call; a new
// shape goes through context.Exec again and is cached too.
func TestRunnerFastPathMatchesFirstCall(t *testing.T) {
	m := testutil.Fixtures(t)
	warm, fresh := loadTiny(t, m), loadTiny(t, m)
	rng := rand.New(rand.NewPCG(3, 4))
	input := func(b int) (x, tt, ctx []float32) {
		x = make([]float32, b*4*8*8)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		ctx = make([]float32, b*77*32)
		for i := range ctx {
			ctx[i] = float32(rng.NormFloat64())
		}
		tt = make([]float32, b)
		for i := range tt {
			tt[i] = float32(rng.IntN(1000))
		}
		return x, tt, ctx
	}
	for _, b := range []int{2, 1} {
		x1, t1, c1 := input(b)
		if _, err := warm.RunUNet(x1, []int{b, 4, 8, 8}, t1, c1, []int{b, 77, 32}, nil); err != nil {
			t.Fatal(err)
		}
		x2, t2, c2 := input(b)
		got, err := warm.RunUNet(x2, []int{b, 4, 8, 8}, t2, c2, []int{b, 77, 32}, nil)
		if err != nil {
			t.Fatal(err)
		}
		fast := 0
		for k := range warm.nets[netUNet].fast {
			if len(k) > 4 && k[:4] == "unet" {
				fast++
			}
		}
		if want := 3 - b; fast != want { // one cached graph per batch size so far
			t.Errorf("batch %d: %d cached unet graphs, want %d", b, fast, want)
		}
		want, err := fresh.RunUNet(x2, []int{b, 4, 8, 8}, t2, c2, []int{b, 77, 32}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("batch %d: the cached path differs from a first call", b)
		}
		fresh.Close()
		fresh = loadTiny(t, m)
	}
}

// TestRunnerStartsAKeyAfreshWhenFull checks that a key whose Exec holds
// maxGraphs compiled shapes takes a new shape by starting afresh (GoMLX
// refuses it otherwise) and still gives the same results for the shapes
// it had before.
func TestRunnerStartsAKeyAfreshWhenFull(t *testing.T) {
	m := testutil.Fixtures(t)
	mdl := loadTiny(t, m)
	mdl.nets[netText].maxGraphs = 2
	ids := func(n int) [][]int {
		rows := make([][]int, n)
		for i := range rows {
			rows[i] = make([]int, 77)
			for j := range rows[i] {
				rows[i][j] = (i*31 + j*7) % 400
			}
		}
		return rows
	}
	first := map[int][]float32{}
	for _, n := range []int{1, 2, 3, 1, 2} { // the third shape overflows, then the first two come back
		out, err := mdl.EncodeText(0, ids(n), 1)
		if err != nil {
			t.Fatalf("batch %d: %v", n, err)
		}
		if want, ok := first[n]; ok && !slices.Equal(out.Hidden, want) {
			t.Errorf("batch %d: a recompiled graph gives other values", n)
		}
		first[n] = out.Hidden
		if len(mdl.nets[netText].shapes) != 1 {
			t.Fatalf("after batch %d: shapes kept for %d keys, want the text graph's only", n, len(mdl.nets[netText].shapes))
		}
		for key, seen := range mdl.nets[netText].shapes {
			if len(seen) > 2 {
				t.Errorf("after batch %d: %d shapes kept for %s, want at most 2", n, len(seen), key)
			}
		}
	}
}

// TestLoRASourceRawOnlyForUnchangedTensors checks that with a LoRA applied
// the loader's raw path serves only the tensors the LoRA leaves alone.
func TestLoRASourceRawOnlyForUnchangedTensors(t *testing.T) {
	m := testutil.Fixtures(t)
	mdl := loadTiny(t, m)
	if err := mdl.ApplyLoRA(m.Path("tiny-sd1/lora.safetensors"), 0.7); err != nil {
		t.Fatal(err)
	}
	src := mdl.loraSource()
	changed, raw := 0, 0
	for _, name := range src.Names() {
		touched := false
		for _, p := range src.patches {
			touched = touched || p.Changes(name)
		}
		_, ok := src.Info(name)
		if touched {
			changed++
			if ok {
				t.Errorf("%s is changed by the LoRA but has a raw form", name)
			}
		} else if ok {
			raw++
		}
	}
	if changed == 0 || raw == 0 {
		t.Errorf("%d changed and %d raw tensors: the test needs both", changed, raw)
	}
}

// TestLoRAChangeKeepsCompiledGraphs applies and removes a LoRA on a model
// that has already run its UNet: the compiled graph is kept (no
// recompilation), and the outputs equal those of a model that loaded with
// the LoRA from the start, and then those of a plain model.
func TestLoRAChangeKeepsCompiledGraphs(t *testing.T) {
	m := testutil.Fixtures(t)
	warm, withLoRA, plain := loadTiny(t, m), loadTiny(t, m), loadTiny(t, m)
	lp := m.Path("tiny-sd1/lora.safetensors")
	if err := withLoRA.ApplyLoRA(lp, 0.7); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	x, ctx := make([]float32, 2*4*8*8), make([]float32, 2*77*32)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range ctx {
		ctx[i] = float32(rng.NormFloat64())
	}
	ts := []float32{500, 500}
	call := func(mdl *Model) []float32 {
		out, err := mdl.RunUNet(x, []int{2, 4, 8, 8}, ts, ctx, []int{2, 77, 32}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	call(warm)
	exec := warm.nets[netUNet].execs["unet"]
	if err := warm.ApplyLoRA(lp, 0.7); err != nil {
		t.Fatal(err)
	}
	if got, want := call(warm), call(withLoRA); !slices.Equal(got, want) {
		t.Error("after ApplyLoRA the warm model differs from one loaded with the LoRA")
	}
	warm.ClearLoRAs()
	if got, want := call(warm), call(plain); !slices.Equal(got, want) {
		t.Error("after ClearLoRAs the warm model differs from a plain one")
	}
	if warm.nets[netUNet].execs["unet"] != exec {
		t.Error("a LoRA change compiled the UNet again")
	}
}
