package prompt

import (
	"reflect"
	"slices"
	"testing"
)

// fakeEmbeddings finds trigger words by their ids (fakeTokenize gives any
// non-number word the id 1000, so triggers here are number sequences).
type fakeEmbeddings map[string]struct {
	ids     []int
	vectors int
}

func (f fakeEmbeddings) FindEmbedding(tokens []int, pos int) (string, int, int, bool) {
	best, bestIDs, bestVec := "", 0, 0
	for name, e := range f {
		if len(e.ids) > bestIDs && pos+len(e.ids) <= len(tokens) && slices.Equal(tokens[pos:pos+len(e.ids)], e.ids) {
			best, bestIDs, bestVec = name, len(e.ids), e.vectors
		}
	}
	return best, bestIDs, bestVec, bestIDs > 0
}

func TestChunksEmbeddings(t *testing.T) {
	embs := fakeEmbeddings{
		"three":  {[]int{900, 901}, 3},      // trigger "900 901", 3 vectors
		"long":   {[]int{900, 901, 902}, 5}, // longer trigger, same start
		"huge":   {[]int{950}, 80},
		"single": {[]int{960}, 1},
	}
	type chunkWant struct {
		fixes []Fix
		used  int // prompt tokens (placeholders included) before EOS padding
	}
	tests := []struct {
		name  string
		spans []Span
		want  []chunkWant
		mult  map[[2]int]float64 // (chunk, pos) -> multiplier
	}{
		{"plain", []Span{{"1 900 901 2", 1}},
			[]chunkWant{{[]Fix{{2, "three", 3}}, 5}}, nil},
		{"longest match", []Span{{"900 901 902", 1}},
			[]chunkWant{{[]Fix{{1, "long", 5}}, 5}}, nil},
		{"weight of the surrounding text", []Span{{"1", 1}, {"900 901", 1.3}, {"2", 1}},
			[]chunkWant{{[]Fix{{2, "three", 3}}, 5}},
			map[[2]int]float64{{0, 1}: 1, {0, 2}: 1.3, {0, 3}: 1.3, {0, 4}: 1.3, {0, 5}: 1}},
		{"fits exactly at the end", []Span{{words(72, 1) + "900 901", 1}},
			[]chunkWant{{[]Fix{{73, "three", 3}}, 75}}, nil},
		{"moves whole to the next chunk", []Span{{words(73, 1) + "900 901 5", 1.1}},
			[]chunkWant{{nil, 73}, {[]Fix{{1, "three", 3}}, 4}},
			map[[2]int]float64{{0, 74}: 1, {1, 1}: 1.1, {1, 3}: 1.1, {1, 4}: 1.1}},
		{"a full chunk closes first", []Span{{words(75, 1) + "960", 1}},
			[]chunkWant{{nil, 75}, {[]Fix{{1, "single", 1}}, 1}}, nil},
		{"comma backtrack carries it", []Span{{words(70, 1) + ", 960 900 901 7", 1}},
			[]chunkWant{{nil, 71}, {[]Fix{{1, "single", 1}, {2, "three", 3}}, 5}}, nil},
		{"too long: own chunk, cut", []Span{{"1 950 2", 1}},
			[]chunkWant{{nil, 1}, {[]Fix{{1, "huge", 75}}, 75}, {nil, 1}}, nil},
		{"after BREAK", []Span{{"1", 1}, {"BREAK", -1}, {"960", 1}},
			[]chunkWant{{nil, 1}, {[]Fix{{1, "single", 1}}, 1}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewChunker(clipEOS)
			c.Embeddings = embs
			got := c.Chunks(tt.spans, fakeTokenize)
			if len(got) != len(tt.want) {
				t.Fatalf("%d chunks, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, ch := range got {
				if len(ch.Tokens) != 77 || len(ch.Multipliers) != 77 {
					t.Fatalf("chunk %d has %d tokens", i, len(ch.Tokens))
				}
				if !reflect.DeepEqual(ch.Fixes, tt.want[i].fixes) {
					t.Errorf("chunk %d fixes %+v, want %+v", i, ch.Fixes, tt.want[i].fixes)
				}
				for _, f := range ch.Fixes {
					for p := f.Pos; p < f.Pos+f.Vectors; p++ {
						if ch.Tokens[p] != 0 {
							t.Errorf("chunk %d: token %d is %d, want placeholder 0", i, p, ch.Tokens[p])
						}
					}
				}
				if _, used := body(ch); used != tt.want[i].used {
					t.Errorf("chunk %d uses %d tokens, want %d", i, used, tt.want[i].used)
				}
			}
			for at, w := range tt.mult {
				if m := got[at[0]].Multipliers[at[1]]; m != w {
					t.Errorf("chunk %d multiplier %d = %v, want %v", at[0], at[1], m, w)
				}
			}
		})
	}
}

func TestChunksWithoutEmbeddingsUnchanged(t *testing.T) {
	spans := []Span{{words(70, 1) + ", 960 900 901 7", 1}}
	plain := NewChunker(clipEOS).Chunks(spans, fakeTokenize)
	c := NewChunker(clipEOS)
	c.Embeddings = fakeEmbeddings{}
	if got := c.Chunks(spans, fakeTokenize); !reflect.DeepEqual(got, plain) {
		t.Errorf("an empty finder changed the chunks")
	}
}
