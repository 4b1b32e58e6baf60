package pipeline

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"sdgo/internal/checkpoint"
	"sdgo/internal/clip"
	"sdgo/internal/embedding"
	"sdgo/internal/fixture"
	"sdgo/internal/model"
	"sdgo/internal/prompt"
	"sdgo/internal/safetensors"
	"sdgo/internal/tokenizer"
	"sdgo/internal/unet"
)

// encoderCalls records the batches a Conditioner's text encoders ran:
// rows per call, per encoder.
type encoderCalls struct{ rows [][]int }

// count makes c's encoder calls go through run and records them.
func (ec *encoderCalls) count(c *Conditioner, run func(i int, rows [][]int, vecs []model.InputVectors, skip int) (model.TextOutput, error)) {
	ec.rows = make([][]int, len(c.Model.Text))
	c.encodeHook = func(i int, rows [][]int, vecs []model.InputVectors, skip int) (model.TextOutput, error) {
		ec.rows[i] = append(ec.rows[i], len(rows))
		return run(i, rows, vecs, skip)
	}
}

// tinySD1 loads the fixture's tiny SD1 model on the pure-Go backend and
// the CLIP tokenizer (skipping without fixtures).
func tinySD1(t *testing.T) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	dir, err := fixture.FindDir()
	if err != nil {
		t.Skip(err)
	}
	tok, err := tokenizer.Find("", filepath.Join(dir, "..", "clip"))
	if err != nil {
		t.Skip(err)
	}
	m, err := model.Load(filepath.Join(dir, "tiny-sd1", "model.safetensors"), model.Options{Backend: "go"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, tok
}

// embeddingDB writes one textual-inversion embedding per name (n vectors
// of the model's width, from a ramp so each differs) and loads them.
func embeddingDB(t *testing.T, m *model.Model, names map[string]int) *embedding.Database {
	t.Helper()
	dir := t.TempDir()
	w := TextWidth(m)
	seed := 0
	for name, n := range names {
		v := make([]float32, n*w)
		for i := range v {
			v[i] = float32(math.Sin(float64(i*7+seed))) * 0.05
		}
		seed++
		if err := safetensors.WriteFile(filepath.Join(dir, name+".safetensors"),
			[]safetensors.Tensor{safetensors.F32Tensor("emb_params", []int{n, w}, v)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	db, err := embedding.Load(dir, w)
	if err != nil || len(db.Loaded) != len(names) {
		t.Fatalf("load embeddings: %v (%d loaded, errors %v)", err, len(db.Loaded), db.Errors)
	}
	return db
}

// scheduleTexts lists a job's schedule entries as (text, negative) in the
// order ImageConds holds them: parts' entries, then the negative's.
func scheduleTexts(t *testing.T, positive, negative string, steps int) [][]condText {
	t.Helper()
	var out [][]condText
	add := func(text string, neg bool) {
		s, err := prompt.ScheduleWith(text, prompt.ScheduleOptions{Steps: steps})
		if err != nil {
			t.Fatal(err)
		}
		var ts []condText
		for _, e := range s {
			ts = append(ts, condText{e.Prompt, neg})
		}
		out = append(out, ts)
	}
	for _, p := range prompt.SplitAND(withoutNetworks(positive)) {
		add(p.Text, false)
	}
	add(negative, true)
	return out
}

// checkAgainstAlone checks every entry of ic against encoding its text
// alone with alone and returns the largest difference.
func checkAgainstAlone(t *testing.T, ic ImageConds, texts [][]condText, alone *Conditioner, size Size) float64 {
	t.Helper()
	scheds := []CondSchedule{}
	for _, p := range ic.Parts {
		scheds = append(scheds, p.Sched)
	}
	scheds = append(scheds, ic.Uncond)
	if len(scheds) != len(texts) {
		t.Fatalf("%d schedules, want %d", len(scheds), len(texts))
	}
	var worst float64
	for k, s := range scheds {
		if len(s) != len(texts[k]) {
			t.Fatalf("schedule %d has %d entries, want %d", k, len(s), len(texts[k]))
		}
		for e, sc := range s {
			want, err := alone.Encode(texts[k][e].text, texts[k][e].negative, size)
			if err != nil {
				t.Fatal(err)
			}
			got := sc.Cond
			if got.Tokens != want.Tokens || got.Width != want.Width || len(got.Context) != len(want.Context) || len(got.Y) != len(want.Y) {
				t.Fatalf("%.40q: %d tokens x %d (y %d), alone %d x %d (y %d)", texts[k][e].text,
					got.Tokens, got.Width, len(got.Y), want.Tokens, want.Width, len(want.Y))
			}
			worst = math.Max(worst, math.Max(sliceDiff(got.Context, want.Context), sliceDiff(got.Y, want.Y)))
		}
	}
	return worst
}

func sliceDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestEncodeSchedulesBatchesTexts checks on the tiny SD1 model that a
// job's distinct texts go through the text encoder in one call, with every
// text's chunks as rows, and condition exactly as each text encoded alone.
func TestEncodeSchedulesBatchesTexts(t *testing.T) {
	m, tok := tinySD1(t)
	db := embeddingDB(t, m, map[string]int{"mytoken": 1, "wide": 3})
	long := strings.Repeat("a castle on a hill, ", 20) // 2 chunks
	size := Size{W: 64, H: 64}
	tests := []struct {
		name, pos, neg string
		emphasis       string
		clipSkip       int
		ti             bool
		rows           int // chunks of the distinct texts
	}{
		{name: "plain", pos: "a red house by the sea", neg: "blurry", rows: 2},
		{name: "empty negative", pos: "a red house", neg: "", rows: 2},
		{name: "same text both sides", pos: "a red house", neg: "a red house", rows: 2},
		{name: "AND", pos: "a cat AND a dog :0.5 AND a cat", neg: "ugly", rows: 4}, // SplitAND keeps spaces: "a cat " and " a cat" differ
		{name: "schedule", pos: "[a cat:a dog:0.5] on a hill", neg: "[ugly:blurry:0.3]", rows: 4},
		{name: "alternation and AND", pos: "[cat|dog] AND [cat:dog:2]", neg: "", rows: 5}, // "cat ", "dog ", " cat", " dog", ""
		{name: "long prompt, short negative", pos: long, neg: "blurry", rows: 3},
		{name: "short prompt, long negative", pos: "a cat", neg: long + "(ugly:1.2)", rows: 3},
		{name: "long AND parts", pos: long + "AND a dog AND " + long + long, neg: "blurry", rows: 2 + 1 + 4 + 1},
		{name: "emphasis", pos: "a (castle:1.3) on [a hill], ((sky))", neg: "(blurry:1.3), [ugly]", rows: 2},
		{name: "emphasis no norm", pos: "a (castle:1.3) AND (sky:0.7)", neg: "(blurry:1.3)", emphasis: EmphasisNoNorm, rows: 3},
		{name: "emphasis ignore", pos: "a (castle:1.3) AND (sky:0.7)", neg: "(blurry:1.3)", emphasis: EmphasisIgnore, rows: 3},
		{name: "emphasis none", pos: "a (castle:1.3)", neg: "[blurry]", emphasis: EmphasisNone, rows: 2},
		{name: "clip skip 2", pos: "a red (house:1.2)", neg: "blurry", clipSkip: 2, rows: 2},
		{name: "embeddings", pos: "a mytoken on a hill AND a (wide:1.2) castle", neg: "wide, blurry", ti: true, rows: 3},
		{name: "embedding in a schedule and a long text", pos: "[mytoken:castle:0.5] " + long + "wide", neg: "mytoken", ti: true, rows: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			newCond := func() *Conditioner {
				c := &Conditioner{Model: m, Tok: tok, Emphasis: tc.emphasis, ClipSkip: tc.clipSkip}
				if tc.ti {
					c.Embeddings = db
				}
				return c
			}
			batched, alone := newCond(), newCond()
			var bc, ac encoderCalls
			bc.count(batched, m.EncodeTextVectors)
			ac.count(alone, m.EncodeTextVectors)
			ic, err := batched.EncodeSchedules(tc.pos, tc.neg, size, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(bc.rows[0]) != 1 || bc.rows[0][0] != tc.rows {
				t.Errorf("encoder batches %v, want one of %d rows", bc.rows[0], tc.rows)
			}
			texts := scheduleTexts(t, tc.pos, tc.neg, 10)
			if d := checkAgainstAlone(t, ic, texts, alone, size); d > 1e-6 {
				t.Errorf("batched conditioning differs from each text alone by %g, want <= 1e-6", d)
			} else {
				t.Logf("max |batched - alone| = %g", d)
			}
			if got, want := batched.TIHashes(), alone.TIHashes(); got != want {
				t.Errorf("TI hashes %q, alone %q", got, want)
			}
			if tc.ti && batched.TIHashes() == "" {
				t.Error("no embedding recorded as used")
			}
			if got, want := batched.EmphasisInfo(), alone.EmphasisInfo(); got != want {
				t.Errorf("EmphasisInfo %q, alone %q", got, want)
			}
		})
	}
}

// fakeSDXL is an SDXL model shell whose two encoders are served by
// fakeSDXLEncoder (no weights).
func fakeSDXL() *model.Model {
	return &model.Model{Family: checkpoint.SDXL,
		Text: []model.TextEncoder{
			{Config: clip.Config{Width: 4}, PadID: 49407},
			{Config: clip.Config{Width: 3, ProjDim: 2, Layout: clip.LayoutOpenCLIP}, PadID: 0},
		},
		UNet: unet.Config{ADMInChannels: 2 + 6*256}}
}

// fakeSDXLEncoder gives each row values computed from its own token ids
// (as a real encoder, rows are independent): hidden[t][ch] = id_t/1000 +
// ch + 10 i, pooled[ch] = the sum of the row's ids + ch, for encoder 1.
func fakeSDXLEncoder(m *model.Model) func(i int, rows [][]int, vecs []model.InputVectors, skip int) (model.TextOutput, error) {
	return func(i int, rows [][]int, vecs []model.InputVectors, skip int) (model.TextOutput, error) {
		w := m.Text[i].Config.Width
		out := model.TextOutput{Width: w}
		for _, row := range rows {
			sum := 0
			for _, id := range row {
				sum += id
				for ch := 0; ch < w; ch++ {
					out.Hidden = append(out.Hidden, float32(id)/1000+float32(ch+10*i))
				}
			}
			if p := m.Text[i].Config.ProjDim; p > 0 {
				for ch := 0; ch < p; ch++ {
					out.Pooled = append(out.Pooled, float32(sum+ch))
				}
			}
		}
		return out, nil
	}
}

// TestEncodeSchedulesBatchesSDXL checks the SDXL split with a fake pair of
// encoders: one call per encoder, each text's channels concatenated and
// its first chunk's pooled row in y, and the empty negative zeroed
// without taking rows, all as each text encoded alone.
func TestEncodeSchedulesBatchesSDXL(t *testing.T) {
	_, tok := tinySD1(t)
	long := strings.Repeat("a castle on a hill, ", 20)
	size := Size{W: 1024, H: 768}
	tests := []struct {
		name, pos, neg string
		rows           int
	}{
		{"empty negative takes no rows", "a red house", "", 1},
		{"negative", "a red house", "blurry", 2},
		{"long AND schedule", long + " AND [cat:dog:0.5]", "(ugly:1.2)", 2 + 1 + 1 + 1},
		{"empty positive is encoded", "", "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := fakeSDXL()
			batched, alone := &Conditioner{Model: m, Tok: tok}, &Conditioner{Model: m, Tok: tok}
			var bc, ac encoderCalls
			bc.count(batched, fakeSDXLEncoder(m))
			ac.count(alone, fakeSDXLEncoder(m))
			ic, err := batched.EncodeSchedules(tc.pos, tc.neg, size, 10)
			if err != nil {
				t.Fatal(err)
			}
			for i := range m.Text {
				if len(bc.rows[i]) != 1 || bc.rows[i][0] != tc.rows {
					t.Errorf("encoder %d batches %v, want one of %d rows", i, bc.rows[i], tc.rows)
				}
			}
			if d := checkAgainstAlone(t, ic, scheduleTexts(t, tc.pos, tc.neg, 10), alone, size); d != 0 {
				t.Errorf("batched conditioning differs from each text alone by %g", d)
			}
			first, _ := ic.First()
			if first.Width != 7 || len(first.Y) != m.UNet.ADMInChannels {
				t.Errorf("cond %d wide, y %d values", first.Width, len(first.Y))
			}
		})
	}
	// The pooled row is the text's first chunk's: a 2-chunk text's differs
	// from its second chunk's (the fake's pooled is the ids' sum).
	m := fakeSDXL()
	c := &Conditioner{Model: m, Tok: tok}
	var ec encoderCalls
	ec.count(c, fakeSDXLEncoder(m))
	both, err := c.encodeTexts([]condText{{"a cat", false}, {long, false}}, size)
	if err != nil {
		t.Fatal(err)
	}
	chunks := c.chunks(1, prompt.ParseAttention(long))
	sum := 0
	for _, id := range chunks[0].Tokens {
		sum += id
	}
	if got := both[1].Y[0]; got != float32(sum) {
		t.Errorf("long text's pooled[0] = %g, want its first chunk's %d", got, sum)
	}
}
