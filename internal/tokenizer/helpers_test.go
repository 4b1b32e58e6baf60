package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// sharedDir finds shared/<name> by walking up from the working directory
// ($SDGO_FIXTURES/../<name> when that variable is set).
func sharedDir(t testing.TB, name string) string {
	t.Helper()
	if fx := os.Getenv("SDGO_FIXTURES"); fx != "" {
		return filepath.Join(fx, "..", name)
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if p := filepath.Join(dir, "shared", name); isDir(p) {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no shared/%s above the working directory; set SDGO_FIXTURES", name)
		}
		dir = parent
	}
}

func fixturesDir(t testing.TB) string {
	if fx := os.Getenv("SDGO_FIXTURES"); fx != "" {
		return fx
	}
	return sharedDir(t, "fixtures")
}

type tokenizerCase struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Inputs struct {
		Prompt string `json:"prompt"`
	} `json:"inputs"`
	Expected struct {
		IDs          []int `json:"ids"`
		IDsNoSpecial []int `json:"ids_no_special"`
		Padded77SD1  []int `json:"ids_padded77_sd1"`
		Padded77SD2  []int `json:"ids_padded77_sd2"`
		OpenAI       []int `json:"ids_openai_simple_tokenizer"`
	} `json:"expected"`
}

// tokenizerCases returns the "tokenizer" cases of cases.json.
func tokenizerCases(t testing.TB) []tokenizerCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixturesDir(t), "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Cases []tokenizerCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var out []tokenizerCase
	for _, c := range m.Cases {
		if c.Kind == "tokenizer" {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatal("no tokenizer cases in cases.json")
	}
	return out
}

var (
	loadOnce      sync.Once
	jsonTok, bpeT *Tokenizer
	loadErr       error
)

// testTokenizers loads shared/clip both ways (once per test binary).
func testTokenizers(t testing.TB) map[string]*Tokenizer {
	t.Helper()
	loadOnce.Do(func() {
		dir := sharedDir(t, "clip")
		jsonTok, loadErr = LoadFiles(filepath.Join(dir, VocabJSON), filepath.Join(dir, MergesTXT))
		if loadErr == nil {
			bpeT, loadErr = LoadBPE(filepath.Join(dir, BPEGz))
		}
	})
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return map[string]*Tokenizer{"vocab.json": jsonTok, "bpe.gz": bpeT}
}
