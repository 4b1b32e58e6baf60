package pipeline_test

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"sdgo/internal/embedding"
	"sdgo/internal/infotext"
	"sdgo/internal/model"
	"sdgo/internal/pipeline"
	"sdgo/internal/safetensors"
	"sdgo/internal/tokenizer"
)

// tokenRows returns the token-table rows of a word's ids (the vectors an
// embedding needs to stand for the word exactly).
func tokenRows(t *testing.T, m *model.Model, tok *tokenizer.Tokenizer, word string) ([]float32, int) {
	t.Helper()
	table, shape, err := m.Checkpoint().Float32(m.Text[0].Prefix + "embeddings.token_embedding.weight")
	if err != nil {
		t.Fatal(err)
	}
	w := shape[1]
	ids := tok.Encode(word)
	var rows []float32
	for _, id := range ids {
		rows = append(rows, table[id*w:(id+1)*w]...)
	}
	return rows, len(ids)
}

// embeddingsDir writes embeddings (name -> [n, w] values) as .safetensors
// files and loads them for m.
func embeddingsDir(t *testing.T, m *model.Model, embs map[string][]float32) *embedding.Database {
	t.Helper()
	dir := t.TempDir()
	w := m.Text[0].Config.Width
	for name, v := range embs {
		if err := safetensors.WriteFile(filepath.Join(dir, name+".safetensors"),
			[]safetensors.Tensor{safetensors.F32Tensor("emb_params", []int{len(v) / w, w}, v)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	db, err := embedding.Load(dir, pipeline.TextWidth(m))
	if err != nil || len(db.Loaded) != len(embs) {
		t.Fatalf("load embeddings: %v (%d loaded, errors %v)", err, len(db.Loaded), db.Errors)
	}
	return db
}

func maxAbs(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	return maxDiff(a, b)
}

// TestConditionerEmbeddings encodes prompts with textual-inversion
// embeddings on the tiny SD1 model: an embedding holding a word's token
// vectors conditions exactly like the word (weighted or not), and other
// vectors change the conditioning.
func TestConditionerEmbeddings(t *testing.T) {
	pool, tok := tinyPool(t, 1)
	m := <-pool
	defer func() { pool <- m }()
	castle, n := tokenRows(t, m, tok, "castle")
	shifted := append([]float32(nil), castle...)
	for i := range shifted {
		shifted[i] = -shifted[i] + float32(i%7)/7 // not a constant shift, which the LayerNorms would remove
	}
	db := embeddingsDir(t, m, map[string][]float32{"mytoken": castle, "othertoken": shifted})
	encode := func(c *pipeline.Conditioner, text string) []float32 {
		t.Helper()
		cd, err := c.Encode(text, false, pipeline.Size{W: 64, H: 64})
		if err != nil {
			t.Fatal(err)
		}
		return cd.Context
	}
	plain := &pipeline.Conditioner{Model: m, Tok: tok}
	withTI := &pipeline.Conditioner{Model: m, Tok: tok, Embeddings: db}
	tests := []struct {
		name, ti, word string
		same           bool
	}{
		{"embedding of the word's vectors", "a mytoken on a hill", "a castle on a hill", true},
		{"weighted", "a (mytoken:1.3) on [a] hill", "a (castle:1.3) on [a] hill", true},
		{"other vectors", "a othertoken on a hill", "a castle on a hill", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := maxAbs(encode(withTI, tt.ti), encode(plain, tt.word))
			if tt.same && d > 1e-6 {
				t.Errorf("differs from %q by %g, want <= 1e-6", tt.word, d)
			}
			if !tt.same && d < 1e-3 {
				t.Errorf("differs from %q by only %g", tt.word, d)
			}
		})
	}
	if d := maxAbs(encode(plain, "a mytoken on a hill"), encode(plain, "a castle on a hill")); d < 1e-3 {
		t.Errorf("without the database the trigger word still acts as the embedding (diff %g)", d)
	}
	if got := withTI.TIHashes(); got != "mytoken: "+db.Loaded["mytoken"].ShortHash()+", othertoken: "+db.Loaded["othertoken"].ShortHash() {
		t.Errorf("TI hashes %q", got)
	}
	if n != 1 {
		t.Logf("castle is %d tokens", n)
	}
}

// TestConditionerEmphasisModes checks webui's four emphasis modes on a
// weighted prompt.
func TestConditionerEmphasisModes(t *testing.T) {
	pool, tok := tinyPool(t, 1)
	m := <-pool
	defer func() { pool <- m }()
	const weighted = "a (castle:1.5) on [a hill]"
	encode := func(mode, text string) ([]float32, *pipeline.Conditioner) {
		t.Helper()
		c := &pipeline.Conditioner{Model: m, Tok: tok, Emphasis: mode}
		cd, err := c.Encode(text, false, pipeline.Size{W: 64, H: 64})
		if err != nil {
			t.Fatal(err)
		}
		return cd.Context, c
	}
	original, oc := encode("", weighted)
	ignore, ic := encode("Ignore", weighted)
	noNorm, nc := encode("No norm", weighted)
	none, xc := encode("None", weighted)
	unweighted, _ := encode("", "a castle on a hill")
	literal, _ := encode("", `a \(castle:1.5\) on \[a hill\]`)

	if d := maxAbs(ignore, unweighted); d != 0 {
		t.Errorf("Ignore differs from the unweighted prompt by %g", d)
	}
	// No norm is Ignore's hidden states times each token's weight.
	mult := []float64{1, 1, 1.5}
	for i := 3; i < 77; i++ {
		mult = append(mult, 1)
	}
	mult[4] = 1 / 1.1 // "a" in [a hill]
	mult[5] = 1 / 1.1 // "hill"
	if d := maxAbs(noNorm, pipeline.ApplyEmphasisNoNorm(ignore, 32, mult)); d > 1e-7 {
		t.Errorf("No norm is not the plain multiplication (diff %g)", d)
	}
	if d := maxAbs(original, pipeline.ApplyEmphasis(ignore, 77, 32, mult)); d > 1e-6 {
		t.Errorf("Original is not multiplication plus mean restore (diff %g)", d)
	}
	if d := maxAbs(original, noNorm); d == 0 {
		t.Error("Original and No norm agree: the mean restore did nothing")
	}
	if d := maxAbs(none, literal); d != 0 {
		t.Errorf("None differs from the brackets as literal text by %g", d)
	}
	if d := maxAbs(none, unweighted); d == 0 {
		t.Error("None parsed the brackets")
	}
	for _, c := range []struct {
		c    *pipeline.Conditioner
		want string
	}{{oc, ""}, {ic, "Ignore"}, {nc, "No norm"}, {xc, "None"}} {
		if got := c.c.EmphasisInfo(); got != c.want {
			t.Errorf("EmphasisInfo = %q, want %q", got, c.want)
		}
	}
	if _, c := encode("No norm", "no brackets here"); c.EmphasisInfo() != "" {
		t.Error("Emphasis written for a prompt without brackets (webui writes it only when a text has ( or [)")
	}
	if _, err := pipeline.ParseEmphasis("loud"); err == nil {
		t.Error("ParseEmphasis accepted an unknown mode")
	}
}

// TestTxt2ImgEmbeddingInfotext runs txt2img with an embedding and an
// emphasis mode and checks the infotext's "TI hashes" and "Emphasis".
func TestTxt2ImgEmbeddingInfotext(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a real txt2img run")
	}
	pool, tok := tinyPool(t, 1)
	m := <-pool
	castle, _ := tokenRows(t, m, tok, "castle")
	pool <- m
	db := embeddingsDir(t, m, map[string][]float32{"my:token": castle})
	p := pipeline.Params{Prompt: "a (my:token:1.2)", NegativePrompt: "blurry", Width: 64, Height: 64, Steps: 2,
		Sampler: "Euler", Seed: 5, Emphasis: "no norm"}
	res, err := pipeline.Txt2Img(context.Background(), pipeline.Job{Model: m, Tok: tok, Embeddings: db}, p)
	if err != nil {
		t.Fatal(err)
	}
	info, err := infotext.Parse(res[0].Infotext)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := info.Get("TI hashes"); got != "mytoken: "+db.Loaded["my:token"].ShortHash() {
		t.Errorf("TI hashes %q in %q", got, res[0].Infotext)
	}
	if got, _ := info.Get("Emphasis"); got != "No norm" {
		t.Errorf("Emphasis %q in %q", got, res[0].Infotext)
	}
	if !strings.Contains(res[0].Infotext, `TI hashes: "mytoken: `) {
		t.Errorf("infotext %q does not quote TI hashes", res[0].Infotext)
	}
	p.Emphasis = "shout"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "emphasis") {
		t.Errorf("Validate(emphasis shout) = %v", err)
	}
}
