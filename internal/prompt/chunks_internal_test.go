package prompt

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fakeTokenize maps each space-separated word to one id: "," is 267, a
// number is itself, any other word 1000.
func fakeTokenize(s string) []int {
	var out []int
	for _, w := range strings.Fields(s) {
		switch n, err := strconv.Atoi(w); {
		case w == ",":
			out = append(out, clipComma)
		case err == nil:
			out = append(out, n)
		default:
			out = append(out, 1000)
		}
	}
	return out
}

func words(n, from int) string {
	var sb strings.Builder
	for i := range n {
		sb.WriteString(strconv.Itoa(from + i))
		sb.WriteByte(' ')
	}
	return sb.String()
}

// body returns the 75 tokens between BOS and EOS, and the count of those
// that are not padding.
func body(c Chunk) ([]int, int) {
	b := c.Tokens[1:76]
	n := 0
	for _, t := range b {
		if t != clipEOS {
			n++
		}
	}
	return b, n
}

func TestChunker(t *testing.T) {
	t.Run("empty prompt is one padded chunk", func(t *testing.T) {
		got := Chunks(ParseAttention(""), fakeTokenize, clipEOS)
		if len(got) != 1 || got[0].Tokens[0] != clipBOS || got[0].Tokens[1] != clipEOS || len(got[0].Tokens) != 77 || len(got[0].Multipliers) != 77 {
			t.Fatalf("%v", got)
		}
	})
	t.Run("exactly 75 tokens is one chunk", func(t *testing.T) {
		got := Chunks(ParseAttention(words(75, 1)), fakeTokenize, clipEOS)
		if len(got) != 1 {
			t.Fatalf("%d chunks", len(got))
		}
	})
	t.Run("76 tokens is two chunks", func(t *testing.T) {
		got := Chunks(ParseAttention(words(76, 1)), fakeTokenize, clipEOS)
		if _, n := body(got[1]); len(got) != 2 || n != 1 || got[1].Tokens[1] != 76 {
			t.Fatalf("%v", got)
		}
	})
	t.Run("comma backtracking", func(t *testing.T) {
		// 60 words, a comma, 20 words: the chunk fills up 14 tokens after
		// the comma (<= 20), so those 14 move on.
		got := Chunks(ParseAttention(words(60, 1)+", "+words(20, 100)), fakeTokenize, clipEOS)
		b0, n0 := body(got[0])
		b1, n1 := body(got[1])
		if len(got) != 2 || n0 != 61 || b0[60] != clipComma || n1 != 20 || b1[0] != 100 {
			t.Fatalf("chunk sizes %d, %d; %v / %v", n0, n1, b0, b1)
		}
	})
	t.Run("comma too far back", func(t *testing.T) {
		got := Chunks(ParseAttention(words(50, 1)+", "+words(40, 100)), fakeTokenize, clipEOS)
		_, n0 := body(got[0])
		if n0 != 75 {
			t.Fatalf("first chunk %d tokens, want 75", n0)
		}
	})
	t.Run("backtracking disabled", func(t *testing.T) {
		c := NewChunker(clipEOS)
		c.CommaBacktrack = 0
		got := c.Chunks(ParseAttention(words(60, 1)+", "+words(20, 100)), fakeTokenize)
		_, n0 := body(got[0])
		if n0 != 75 {
			t.Fatalf("first chunk %d tokens, want 75", n0)
		}
	})
	t.Run("weights follow relocated tokens", func(t *testing.T) {
		got := Chunks(ParseAttention(words(60, 1)+", ("+words(20, 100)+":1.5)"), fakeTokenize, clipEOS)
		if got[1].Multipliers[1] != 1.5 || got[1].Multipliers[20] != 1.5 || got[1].Multipliers[21] != 1 || got[0].Multipliers[61] != 1 {
			t.Fatalf("multipliers %v / %v", got[0].Multipliers, got[1].Multipliers)
		}
	})
	t.Run("BREAK", func(t *testing.T) {
		for _, tc := range []struct {
			in    string
			sizes []int
		}{
			{"a BREAK b", []int{1, 1}},
			{"a BREAK", []int{1}},
			{"BREAK b", []int{0, 1}},
			{"a BREAK BREAK b", []int{1, 0, 1}},
			{"(a BREAK b:1.2)", []int{3}},            // weight -1.2: BREAK is text
			{words(75, 1) + "BREAK b", []int{75, 1}}, // a full chunk is closed by BREAK, not before
		} {
			got := Chunks(ParseAttention(tc.in), fakeTokenize, clipEOS)
			var sizes []int
			for _, c := range got {
				_, n := body(c)
				sizes = append(sizes, n)
			}
			if !slices.Equal(sizes, tc.sizes) {
				t.Errorf("%q: chunk sizes %v, want %v", tc.in, sizes, tc.sizes)
			}
		}
	})
	t.Run("SD2 padding after the first EOS", func(t *testing.T) {
		got := Chunks([]Span{{"1 2", 1}}, fakeTokenize, 0)
		want := append([]int{clipBOS, 1, 2, clipEOS}, make([]int, 73)...)
		if !slices.Equal(got[0].Tokens, want) {
			t.Fatalf("%v", got[0].Tokens)
		}
		full := Chunks(ParseAttention(words(75, 1)), fakeTokenize, 0)
		if full[0].Tokens[76] != clipEOS {
			t.Fatalf("full chunk lost its EOS: %v", full[0].Tokens)
		}
	})
}
